"""HTTP for Zoom: Server-to-Server OAuth tokens, and a client that stops at a daily rate limit.

Zoom limits each account per rate-limit category both per second (QPS) and, for some categories and
plans, per day. A per-second 429 is worth a short wait, which :class:`VendorClient` does. A daily
429 is not: the quota comes back at 00:00 UTC, possibly hours away, and every retry in the meantime
is refused again. Zoom's documented signal is ``X-RateLimit-Type: Daily-limit`` with ``Retry-After``
as an ISO 8601 instant (developers.zoom.us/docs/api/rate-limits); responses seen in the field carry
only the message "You have exceeded the daily rate limit ..." (devforum.zoom.us/t/18928). Either one
ends the run at once with :class:`ZoomDailyLimitError`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from collector.http import AccessToken, HTTPClientError, VendorClient
from collector.http.errors import vendor_error

VENDOR = "zoom"


class ZoomError(HTTPClientError):
    """Zoom answered something the connector cannot use (a token response without a token, say)."""


class ZoomDailyLimitError(ZoomError):
    """The account's daily quota for a rate-limit category is used up; retrying today is pointless."""


def is_daily_limit(response: httpx.Response) -> bool:
    """Whether ``response`` is a 429 for a daily (not a per-second) limit."""
    if response.status_code != 429:
        return False
    if "daily" in response.headers.get("x-ratelimit-type", "").lower():
        return True
    _code, message = vendor_error(response)
    return message is not None and "daily" in message.lower()


class ZoomClient(VendorClient):
    """A :class:`VendorClient` that fails fast on Zoom's daily rate limit instead of retrying it."""

    def observe_response(self, response: httpx.Response) -> None:
        # The base client calls this for every response before it decides on a retry, so a daily
        # limit raises here, before any backoff.
        if is_daily_limit(response):
            raise self._daily_limit_error(response)
        super().observe_response(response)

    def _daily_limit_error(self, response: httpx.Response) -> ZoomDailyLimitError:
        request = response.request
        url = self.redactor.redact(str(request.url))
        category = response.headers.get("x-ratelimit-category") or "this"
        _code, message = vendor_error(response)
        parts = [
            f"{VENDOR}: {request.method} {url} -> HTTP 429: the Zoom account's daily API limit for "
            f"{category} requests is used up"
        ]
        if message:
            parts.append(f"(Zoom says: {self.redactor.redact(message)})")
        retry_after = response.headers.get("retry-after")
        reset = f"Zoom allows requests again at {retry_after}" if retry_after else "it resets at 00:00 UTC"
        parts.append(
            f"; {reset}. The run stops here rather than wait; the next scheduled run reads again. "
            "Other apps on the same Zoom account share this quota."
        )
        return ZoomDailyLimitError(" ".join(parts))


def token_fetcher(
    client: VendorClient, token_url: str, account_id: str, clock: Callable[[], float]
) -> Callable[[], AccessToken]:
    """Fetches Server-to-Server OAuth tokens with ``client`` (which carries the Basic credentials).

    ``POST https://zoom.us/oauth/token?grant_type=account_credentials&account_id=...`` answers
    ``{"access_token", "token_type": "bearer", "expires_in": 3600, "scope"}``
    (developers.zoom.us/docs/internal-apps/s2s-oauth).
    """
    url = httpx.URL(token_url, params={"grant_type": "account_credentials", "account_id": account_id})

    def fetch() -> AccessToken:
        response = client.post(url)
        body: Any = response.json() if response.content else None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ZoomError(f"{VENDOR}: the token response of {token_url} has no access_token")
        client.redactor.add(token)
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 3600.0
        return AccessToken(SecretStr(token), expires_at=clock() + lifetime)

    return fetch


def basic_credentials(client_id: SecretStr, client_secret: SecretStr) -> str:
    """The ``Authorization`` value of the token request: Basic base64(client_id:client_secret)."""
    pair = f"{client_id.get_secret_value()}:{client_secret.get_secret_value()}"
    return "Basic " + base64.b64encode(pair.encode()).decode()
