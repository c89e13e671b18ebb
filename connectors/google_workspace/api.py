"""Calls to Google's APIs through google-api-python-client, with the retries and paging the connector
needs.

Credentials: the service account signs a JWT naming the admin it acts for (domain-wide delegation,
``sub``) and the scopes, and google-auth trades it at the token endpoint for an access token. Each
API gets credentials of its own with only its own scope, so a scope the delegation lacks fails only
the part of the sync that needs it (the token endpoint answers ``unauthorized_client`` when a
scope asked for is not delegated, and a token request names all its scopes). A 401 is answered by
one token renewal and one retry (``AuthorizedHttp(max_refresh_attempts=1)``); a second 401 fails
the call.

Retries are owned here: requests run with ``execute(num_retries=0)``. googleapiclient's own retry
sleeps with ``time.sleep`` (no test could skip it), ignores ``Retry-After`` and leaves Google's
``quotaExceeded`` 403 alone. Here a 429, a 5xx, a 403 whose reason is ``rateLimitExceeded``,
``userRateLimitExceeded`` or ``quotaExceeded`` (developers.google.com/admin-sdk/directory/v1/limits)
and a dropped connection are retried with full-jitter backoff from a :class:`RetryPolicy`, classified
exactly as the httpx connectors' responses are (``collector.http.retry.classify``). Anything else is
final, and every error message is redacted.
"""

from __future__ import annotations

import http.client
import itertools
import logging
import random
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import google.auth.exceptions
import google_auth_httplib2  # type: ignore[import-untyped]
import httplib2
import httpx
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from collector.http import PaginationLoopError, RateLimiter, RateLimitError, RetryPolicy, VendorHTTPError
from collector.http.errors import vendor_error
from collector.http.redact import Redactor, default_redactor
from collector.http.retry import classify
from connectors.google_workspace.key import ServiceAccountKey, parse_key
from connectors.google_workspace.settings import GoogleWorkspaceSettings

VENDOR = "google_workspace"

DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
AUDIT_SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
USAGE_SCOPE = "https://www.googleapis.com/auth/admin.reports.usage.readonly"
# The License Manager has no read-only scope (VENDOR_APIS.md 1.1): this one could also assign and
# revoke licenses. The connector only ever lists.
LICENSING_SCOPE = "https://www.googleapis.com/auth/apps.licensing"

# Network failures worth another try (a dropped or reset connection, a timeout, a TLS hiccup).
TRANSIENT_ERRORS = (TimeoutError, ConnectionError, ssl.SSLError, http.client.HTTPException)


@dataclass(frozen=True)
class Api:
    """One Google API as the connector uses it: its discovery document and the scope it needs."""

    name: str
    version: str
    scope: str
    label: str


DIRECTORY = Api("admin", "directory_v1", DIRECTORY_SCOPE, "Directory API")
AUDIT = Api("admin", "reports_v1", AUDIT_SCOPE, "Reports API (audit logs)")
USAGE = Api("admin", "reports_v1", USAGE_SCOPE, "Reports API (usage reports)")
LICENSING = Api("licensing", "v1", LICENSING_SCOPE, "Enterprise License Manager API")


class AccessDenied(VendorHTTPError):
    """Google refused this API to these credentials: the token endpoint would not issue a token for
    its scope, or the API answered 403 for a reason other than a rate limit."""


class ShapeError(Exception):
    """A Google answer is not shaped as documented; nothing after it can be trusted."""


@dataclass(frozen=True)
class Plumbing:
    """What tests swap: the clocks, the backoff jitter, the retry policy and the rate limiter."""

    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    draw: Callable[[], float] = random.random  # backoff jitter in [0, 1)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limiter: RateLimiter | None = None


@dataclass(frozen=True)
class Page:
    number: int
    body: Mapping[str, Any]
    where: str  # "GET /admin/directory/v1/users page 3", for problems
    last: bool


@dataclass
class _Client:
    resource: Any
    http: Any


class GoogleApi:
    """The three APIs of one tenant, their credentials, and every call made to them."""

    def __init__(
        self,
        settings: GoogleWorkspaceSettings,
        plumbing: Plumbing,
        log: logging.Logger,
        redactor: Redactor | None = None,
    ) -> None:
        self.settings = settings
        self.plumbing = plumbing
        self.log = log
        self.redactor = redactor or default_redactor()
        self.key = parse_key(settings.service_account_key.get_secret_value(), settings.token_uri)
        self._remember_key(self.key)
        self._clients: dict[Api, _Client] = {}
        self._base_credentials: Any = None
        self.requests = 0

    def _remember_key(self, key: ServiceAccountKey) -> None:
        pem = key.private_key.get_secret_value()
        # The key as it is and as it looks inside JSON or a repr (the whole key file is registered by
        # the runner, as a secret setting). Access tokens are not registered one by one (each would
        # recompile the redactor's pattern of every secret, this long key included): they only ever
        # travel in Authorization headers and token responses, which the redactor masks by their shape.
        self.redactor.add(key.private_key, pem.replace("\n", "\\n"), key.private_key_id)

    def _delegated(self) -> Any:
        """The service account acting as the admin, with no scope yet; the key is parsed once."""
        if self._base_credentials is None:
            try:
                self._base_credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                    self.key.info
                ).with_subject(self.settings.admin_email)
            except ValueError:
                raise ShapeError("service_account_key: private_key is not an RSA private key") from None
        return self._base_credentials

    def client(self, api: Api) -> Any:
        """The googleapiclient resource of ``api``, built on first use (no network: static discovery)."""
        found = self._clients.get(api)
        if found is None:
            # Credentials of each API share one signer (the parsed key), and carry only its scope.
            credentials = self._delegated().with_scopes([api.scope])
            authorized = google_auth_httplib2.AuthorizedHttp(
                credentials,
                http=httplib2.Http(timeout=self.settings.timeout_seconds),
                max_refresh_attempts=1,
            )
            options = {"api_endpoint": self.settings.api_endpoint} if self.settings.api_endpoint else None
            resource = build(
                api.name,
                api.version,
                http=authorized,
                client_options=options,
                static_discovery=True,
                cache_discovery=False,
            )
            found = self._clients[api] = _Client(resource, authorized)
        return found.resource

    def call(self, api: Api, request: Any) -> Mapping[str, Any]:
        """Execute one request, retrying what is worth retrying; the JSON object it answered."""
        method = str(request.method)
        url = self.redactor.redact(str(request.uri))
        retry = self.plumbing.retry
        attempt = 0
        while True:
            attempt += 1
            if self.plumbing.limiter is not None:
                self.plumbing.limiter.acquire(max_wait=retry.max_wait)
            self.requests += 1
            try:
                body = request.execute(num_retries=0)
            except HttpError as exc:
                wait, reason = self._retry_or_raise(api, exc, method, url, attempt)
            except google.auth.exceptions.RefreshError as exc:
                # google-auth has already retried what its token endpoint called retryable.
                raise self._token_refused(api, exc) from None
            except (*TRANSIENT_ERRORS, google.auth.exceptions.TransportError) as exc:
                # A dropped connection, to the API or to the token endpoint (google-auth wraps those).
                if attempt >= retry.max_attempts:
                    raise VendorHTTPError(
                        vendor=VENDOR, method=method, url=url, detail=type(exc).__name__, attempts=attempt
                    ) from None
                wait, reason = retry.backoff(attempt, self.plumbing.draw), type(exc).__name__
            else:
                if not isinstance(body, Mapping):
                    raise ShapeError(f"{method} {url}: the answer is not a JSON object")
                return body
            self.log.info("%s %s: %s; retry %d in %.1fs", method, url, reason, attempt, wait)
            self.plumbing.sleep(wait)

    def _retry_or_raise(
        self, api: Api, exc: HttpError, method: str, url: str, attempt: int
    ) -> tuple[float, str]:
        """The wait before the next try, or the error to raise when there is no next try."""
        response = _as_httpx(exc)
        code, message = vendor_error(response)
        message = self.redactor.redact(message) if message else None
        status = response.status_code
        decision = classify(response, self.plumbing.clock)
        if decision is None:
            error_class = AccessDenied if status == 403 else VendorHTTPError
            detail = None
            if status == 403:
                detail = (
                    f"the {api.label} refused: check that {self.settings.admin_email} holds an admin role "
                    f"that may use it and that the API is enabled in the service account's project"
                )
            raise error_class(
                vendor=VENDOR,
                method=method,
                url=url,
                status=status,
                vendor_code=code,
                vendor_message=message,
                attempts=attempt,
                detail=detail,
            ) from None
        retry = self.plumbing.retry
        wait = decision.wait if decision.wait is not None else retry.backoff(attempt, self.plumbing.draw)
        if attempt >= retry.max_attempts or wait > retry.max_wait:
            error_class = RateLimitError if decision.rate_limited else VendorHTTPError
            detail = (
                decision.reason if wait <= retry.max_wait else f"{decision.reason}, asked to wait {wait:.0f}s"
            )
            raise error_class(
                vendor=VENDOR,
                method=method,
                url=url,
                status=status,
                vendor_code=code,
                vendor_message=message,
                retry_after=decision.wait,
                attempts=attempt,
                detail=detail,
            ) from None
        if decision.rate_limited and decision.wait is not None and self.plumbing.limiter is not None:
            self.plumbing.limiter.pause(decision.wait)
        return wait, decision.reason

    def _token_refused(self, api: Api, exc: google.auth.exceptions.RefreshError) -> AccessDenied:
        """The token endpoint's refusal, with what to check in the Admin console."""
        code: str | None = None
        message: str | None = None
        details = exc.args[1] if len(exc.args) > 1 else None
        if isinstance(details, Mapping):
            code = str(details.get("error") or "") or None
            message = str(details.get("error_description") or "") or None
        elif exc.args:
            message = str(exc.args[0])
        client = (
            f"client id {self.key.client_id}" if self.key.client_id else "the service account's client id"
        )
        detail = (
            f"no token for the {api.label}: domain-wide delegation of {client} must grant "
            f"{api.scope}, and {self.settings.admin_email} must be an admin allowed to use it"
        )
        return AccessDenied(
            vendor=VENDOR,
            method="POST",
            url=self.redactor.redact(self.key.token_uri),
            vendor_code=code,
            vendor_message=self.redactor.redact(message)[:300] if message else None,
            detail=detail,
        )

    def pages(self, api: Api, make: Callable[[str | None], Any], where: str) -> Iterator[Page]:
        """Follow ``nextPageToken`` from the request ``make(None)``; ``make(token)`` asks for a page."""
        token: str | None = None
        followed: set[str] = set()
        for number in itertools.count(1):
            body = self.call(api, make(token))
            following = body.get("nextPageToken")
            following = following if isinstance(following, str) and following else None
            yield Page(number, body, f"{where} page {number}", following is None)
            if following is None:
                return
            if following in followed:
                raise PaginationLoopError(f"{where}: page {number} handed out a pageToken already followed")
            followed.add(following)
            token = following

    def close(self) -> None:
        for client in self._clients.values():
            client.http.close()
        self._clients.clear()

    def __enter__(self) -> GoogleApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _as_httpx(exc: HttpError) -> httpx.Response:
    """The error response as httpx sees responses, so the shared classifier can read it."""
    status = int(exc.resp.status)
    # httplib2 has already decoded the body; its length and encoding headers no longer apply.
    headers = {
        k: str(v)
        for k, v in exc.resp.items()
        if k not in ("status", "content-length", "content-encoding", "-content-encoding", "transfer-encoding")
    }
    content = exc.content if isinstance(exc.content, bytes) else str(exc.content or "").encode()
    return httpx.Response(status, headers=headers, content=content)
