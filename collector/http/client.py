"""The HTTP client every httpx-based connector talks to its vendor through."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from collector.http import headers as rl_headers
from collector.http.auth import Auth
from collector.http.errors import RateLimitError, VendorHTTPError, WaitTooLongError, vendor_error
from collector.http.ratelimit import RateLimiter
from collector.http.redact import SENSITIVE_HEADERS, Redactor, default_redactor
from collector.http.retry import RETRYABLE_TRANSPORT_ERRORS, RetryPolicy, classify

log = logging.getLogger("saaswatch.http")

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)

QueryParams = Mapping[str, str | int | float | bool | None]


class VendorClient:
    """A sync httpx client with retries, rate limiting, auth renewal and redacted errors and logs.

    Every request waits for ``limiter`` (when given), carries ``auth``'s credentials, and is retried
    per ``retry`` on connection and read failures, 429, 500/502/503/504 and vendor rate-limit 403s,
    honouring ``Retry-After`` and the vendors' reset headers. A 401 renews the credentials once. What
    still fails raises :class:`VendorHTTPError` (:class:`RateLimitError` for rate limits); a
    response that returns has a 2xx status.

    ``transport``, ``clock`` (epoch seconds), ``sleep`` and ``draw`` (backoff jitter in [0, 1)) are
    injectable so tests run against fakes without waiting.
    """

    def __init__(
        self,
        base_url: str,
        *,
        vendor: str,
        auth: Auth | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        redactor: Redactor | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.vendor = vendor
        self.redactor = redactor if redactor is not None else default_redactor()
        self._auth = auth
        self._retry = retry if retry is not None else RetryPolicy()
        self._limiter = limiter
        self._clock = clock
        self._sleep = sleep
        self._draw = draw
        for name, value in (headers or {}).items():
            if name.lower() in SENSITIVE_HEADERS:
                self.redactor.add_header(value)
        # httpx drops Authorization on redirects to another origin, so following redirects is safe.
        self._http = httpx.Client(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def get(
        self,
        url: str | httpx.URL,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """``GET url``; see :meth:`request`."""
        return self.request("GET", url, params=params, headers=headers)

    def post(
        self,
        url: str | httpx.URL,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """``POST url`` with a JSON or form body; see :meth:`request`."""
        return self.request("POST", url, json=json, data=data, headers=headers)

    def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: QueryParams | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request (``url`` relative to the base URL, or absolute) and return its 2xx response.

        saaswatch only reads, so every method is retried alike. Raises :class:`VendorHTTPError`.
        """
        attempt = 1
        refreshed = False
        while True:
            request = self._http.build_request(
                method, url, params=params, json=json, data=data, headers=headers
            )
            safe_url = self.redactor.redact(str(request.url))
            # Wait first, authorize after: a token must not expire while the request waits its turn.
            self._wait_for_limiter(method, safe_url, attempt)
            self._authorize(request)
            log.debug("%s: %s %s (attempt %d)", self.vendor, method, safe_url, attempt)
            try:
                response = self._http.send(request)
            except RETRYABLE_TRANSPORT_ERRORS as exc:
                reason = self.redactor.redact(f"{type(exc).__name__}: {exc}")
                if attempt >= self._retry.max_attempts:
                    # Not chained: httpx errors keep the request, credential headers included.
                    raise self._error(method, safe_url, attempts=attempt, detail=reason) from None
                self._back_off(method, safe_url, attempt, self._retry.backoff(attempt, self._draw), reason)
                attempt += 1
                continue
            except httpx.HTTPError as exc:
                reason = self.redactor.redact(f"{type(exc).__name__}: {exc}")
                raise self._error(method, safe_url, attempts=attempt, detail=reason) from None

            self.observe_response(response)
            if response.is_success:
                return response
            if response.status_code == 401 and self._auth is not None and not refreshed:
                refreshed = True
                if self._auth.refresh():
                    log.info(
                        "%s: %s %s got HTTP 401; credentials renewed, retrying", self.vendor, method, safe_url
                    )
                    continue

            decision = classify(response, self._clock)
            if decision is None:
                raise self._error(method, safe_url, response=response, attempts=attempt)
            if decision.wait is not None and decision.wait > self._retry.max_wait:
                raise self._error(
                    method,
                    safe_url,
                    response=response,
                    attempts=attempt,
                    retry_after=decision.wait,
                    rate_limited=decision.rate_limited,
                    detail=f"{decision.reason}: server asks to wait {decision.wait:.0f}s, "
                    f"more than the {self._retry.max_wait:.0f}s limit",
                )
            if attempt >= self._retry.max_attempts:
                raise self._error(
                    method,
                    safe_url,
                    response=response,
                    attempts=attempt,
                    retry_after=decision.wait,
                    rate_limited=decision.rate_limited,
                    detail=f"{decision.reason}; gave up",
                )
            if decision.rate_limited and decision.wait is not None and self._limiter is not None:
                # The limit is the tenant's, not this request's: hold the sibling clients too.
                self._limiter.pause(decision.wait)
            wait = decision.wait if decision.wait is not None else self._retry.backoff(attempt, self._draw)
            self._back_off(method, safe_url, attempt, wait, decision.reason)
            attempt += 1

    def _authorize(self, request: httpx.Request) -> None:
        if self._auth is None:
            return
        before = dict(request.headers)
        self._auth.apply(request)
        for name, value in request.headers.items():
            if before.get(name) != value:
                self.redactor.add_header(value)

    def _wait_for_limiter(self, method: str, safe_url: str, attempt: int) -> None:
        if self._limiter is None:
            return
        try:
            self._limiter.acquire(max_wait=self._retry.max_wait)
        except WaitTooLongError as exc:
            raise self._error(
                method,
                safe_url,
                attempts=attempt,
                retry_after=exc.wait,
                rate_limited=True,
                detail=f"rate limit window nearly spent; the next request may go in {exc.wait:.0f}s, "
                f"more than the {self._retry.max_wait:.0f}s limit",
            ) from None

    def observe_response(self, response: httpx.Response) -> None:
        """Called for every response, refused ones included, before the retry decision.

        The extension point for vendor quirks: a subclass may record a usage header (Salesforce's
        daily allocation) or raise to stop at once instead of retrying (Zoom's daily limit). Call
        ``super().observe_response`` so the rate limiter still learns what is left.
        """
        if self._limiter is None:
            return
        remaining = rl_headers.remaining(response)
        reset_in = rl_headers.reset_in(response, self._clock)
        if remaining is not None and reset_in is not None:
            self._limiter.observe(remaining, reset_in)

    def _back_off(self, method: str, safe_url: str, attempt: int, wait: float, reason: str) -> None:
        log.warning(
            "%s: %s %s failed (attempt %d/%d): %s; retrying in %.1fs",
            self.vendor,
            method,
            safe_url,
            attempt,
            self._retry.max_attempts,
            reason,
            wait,
        )
        self._sleep(wait)

    def _error(
        self,
        method: str,
        safe_url: str,
        *,
        response: httpx.Response | None = None,
        attempts: int,
        retry_after: float | None = None,
        rate_limited: bool = False,
        detail: str | None = None,
    ) -> VendorHTTPError:
        code, message = vendor_error(response) if response is not None else (None, None)
        redact = self.redactor.redact
        error_type = RateLimitError if rate_limited else VendorHTTPError
        return error_type(
            vendor=self.vendor,
            method=method,
            url=safe_url,
            status=response.status_code if response is not None else None,
            vendor_code=redact(code) if code else None,
            vendor_message=redact(message) if message else None,
            retry_after=retry_after,
            attempts=attempts,
            detail=detail,
        )
