"""When to retry a response, and how long to wait first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from collector.http import headers
from collector.http.errors import vendor_error

SERVER_ERRORS = frozenset({500, 502, 503, 504})

# Google answers rate and quota limits with 403 and one of these reasons in the body; its docs say to
# retry them with exponential backoff (developers.google.com/admin-sdk/directory/v1/limits).
GOOGLE_RATE_LIMIT_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"})

# Network failures worth another try; the rest of httpx.TransportError (unsupported protocol, proxy
# and local protocol errors) would fail the same way again.
RETRYABLE_TRANSPORT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a client retries.

    ``max_attempts`` counts every try, the first included. Backoff is "full jitter": a uniform draw in
    ``[0, min(backoff_cap, backoff_base * 2 ** (attempt - 1))]``, which spreads clients that failed
    together (aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter). ``max_wait`` caps any
    single wait a server asks for; a longer one fails the request instead of stalling the sync.
    """

    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    max_wait: float = 300.0

    def backoff(self, attempt: int, draw: Callable[[], float]) -> float:
        """The jittered wait after failed try number ``attempt`` (1-based); ``draw`` returns [0, 1)."""
        return draw() * min(self.backoff_cap, self.backoff_base * 2.0 ** (attempt - 1))


@dataclass(frozen=True)
class RetryDecision:
    """Why a response is worth retrying, and the wait the server asked for (``None``: back off)."""

    reason: str
    wait: float | None
    rate_limited: bool


def classify(response: httpx.Response, clock: Callable[[], float]) -> RetryDecision | None:
    """A :class:`RetryDecision` when ``response`` is a rate limit or a transient server error, else None."""
    status = response.status_code
    if status == 429:
        return RetryDecision("rate limited (HTTP 429)", _server_wait(response, clock), rate_limited=True)
    if status == 403:
        reason = _rate_limit_403(response)
        if reason is not None:
            return RetryDecision(reason, _server_wait(response, clock), rate_limited=True)
    if status in SERVER_ERRORS:
        return RetryDecision(f"server error (HTTP {status})", headers.retry_after(response, clock), False)
    return None


def _rate_limit_403(response: httpx.Response) -> str | None:
    # GitHub signals its primary limit with remaining 0 and its secondary limits with retry-after,
    # on 403 as well as 429 (docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api);
    # a 403 without either is a real permission error.
    if headers.remaining(response) == 0:
        return "rate limit exhausted (HTTP 403, remaining 0)"
    if "retry-after" in response.headers:
        return "secondary rate limit (HTTP 403 with Retry-After)"
    code, _ = vendor_error(response)
    if code in GOOGLE_RATE_LIMIT_REASONS:
        return f"rate limited (HTTP 403 {code})"
    return None


def _server_wait(response: httpx.Response, clock: Callable[[], float]) -> float | None:
    explicit = headers.retry_after(response, clock)
    return explicit if explicit is not None else headers.reset_in(response, clock)
