"""Reading the timing and rate-limit headers vendors send."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx

# Reset headers and Date both have one-second resolution, so the window may open up to a second after
# the computed instant; the okta SDK adds the same second (okta/request_executor.py calculate_backoff).
RESET_PADDING = 1.0

REMAINING_HEADERS = ("x-rate-limit-remaining", "x-ratelimit-remaining")  # Okta; GitHub, Zoom
RESET_HEADERS = ("x-rate-limit-reset", "x-ratelimit-reset")  # both UTC epoch seconds


def server_now(response: httpx.Response, clock: Callable[[], float]) -> float:
    """The server's clock (its ``Date`` header) in epoch seconds, or ``clock()`` without one.

    Waits until an absolute time are measured against the server's own clock so that local clock
    skew neither shortens nor stretches them (developer.okta.com/docs/reference/rl-best-practices).
    """
    date = response.headers.get("date")
    parsed = _http_date(date) if date else None
    return clock() if parsed is None else parsed


def retry_after(response: httpx.Response, clock: Callable[[], float]) -> float | None:
    """Seconds to wait from ``Retry-After``, given as delta-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    when = _http_date(value)
    return None if when is None else max(0.0, when - server_now(response, clock))


def reset_in(response: httpx.Response, clock: Callable[[], float]) -> float | None:
    """Seconds until the vendor's rate-limit window resets, from an epoch reset header."""
    reset = _number(_first(response, RESET_HEADERS))
    if reset is None:
        return None
    return max(0.0, reset - server_now(response, clock)) + RESET_PADDING


def remaining(response: httpx.Response) -> int | None:
    """Requests left in the current rate-limit window, when the vendor says."""
    value = _number(_first(response, REMAINING_HEADERS))
    return None if value is None else int(value)


def _first(response: httpx.Response, names: tuple[str, ...]) -> str | None:
    return next((response.headers[n] for n in names if n in response.headers), None)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _http_date(value: str) -> float | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:  # RFC 5322 "-0000": UTC with no claim about the local zone
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
