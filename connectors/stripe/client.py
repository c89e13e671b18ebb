"""Calls to the Stripe API through stripe-python, with the retries and paging the connector needs.

stripe-python retries connection errors, 409 and 5xx, and any response whose ``Stripe-Should-Retry``
header says ``true``; a plain 429 is not retried (``HTTPClient._should_retry`` in stripe-python
16.1.0; VENDOR_APIS.md 4.6), and its waits are ``time.sleep`` calls a test cannot skip. So the
client is built with ``max_network_retries=0`` and :class:`StripeCalls` owns every retry: the same
cases plus a 429 without the header, with full-jitter backoff from a :class:`RetryPolicy`, an
injectable sleep, and ``Stripe-Should-Retry: false`` honoured as "do not retry".
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import stripe

from collector.http import PaginationLoopError, RateLimiter, RetryPolicy, VendorHTTPError
from collector.http import RateLimitError as HTTPRateLimitError
from collector.http.redact import Redactor

VENDOR = "stripe"
T = TypeVar("T")

# The restricted-key permission each endpoint needs, as the Dashboard names it, so a 403 says what
# to grant. Stripe's own message names the internal permission (e.g. 'rak_subscription_read').
PERMISSIONS = {
    "/v1/issuing/transactions": "Issuing Transactions: Read",
    "/v1/customers": "Customers: Read",
    "/v1/subscriptions": "Subscriptions: Read (and Products: Read for the product names)",
    "/v1/subscription_items": "Subscriptions: Read (and Products: Read for the product names)",
    "/v1/invoices": "Invoices: Read",
}


class StripeShapeError(Exception):
    """A Stripe answer is not shaped as documented; nothing after it can be trusted."""


@dataclass(frozen=True)
class Call:
    """One request, described for messages: ``GET /v1/subscriptions?customer=cus_1&status=all``."""

    path: str
    params: Mapping[str, Any]

    def __str__(self) -> str:
        shown: list[str] = []
        for key, value in self.params.items():
            if key in ("expand", "limit"):
                continue  # the same on every call: noise in a message
            if isinstance(value, Mapping):
                shown.extend(f"{key}[{inner}]={v}" for inner, v in value.items())
            else:
                shown.append(f"{key}={value}")
        return f"GET {self.path}" + ("?" + "&".join(shown) if shown else "")

    @property
    def permission(self) -> str | None:
        return next((p for prefix, p in PERMISSIONS.items() if self.path.startswith(prefix)), None)


def key_fingerprint(api_key: str) -> str:
    """A short, non-reversible name of the key: one Stripe account, whichever tenants use it, shares
    one rate limiter (an MSP bills many tenants from the same account)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]


def plain(value: object) -> Any:
    """A stripe-python object as the plain JSON-like dicts and lists it was built from."""
    if isinstance(value, stripe.StripeObject):
        return value.to_dict()
    return value


class StripeCalls:
    """Runs stripe-python calls with a proactive rate limit and bounded, jittered retries."""

    def __init__(
        self,
        *,
        retry: RetryPolicy,
        limiter: RateLimiter,
        redactor: Redactor,
        log: logging.Logger,
        sleep: Callable[[float], None],
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.retry = retry
        self.limiter = limiter
        self.redactor = redactor
        self.log = log
        self.sleep = sleep
        self.draw = draw

    def call(self, call: Call, send: Callable[[], T]) -> T:
        """``send()``, retried while Stripe's answer is worth another try; a final error is raised as a
        :class:`VendorHTTPError` (or :class:`collector.http.RateLimitError`) with a redacted message."""
        attempt = 1
        while True:
            self.limiter.acquire()
            try:
                return send()
            except stripe.StripeError as exc:
                reason = retry_reason(exc)
                if reason is None or attempt >= self.retry.max_attempts:
                    raise self._error(call, exc, attempt) from exc
                wait = self._wait(exc, attempt)
                if wait is None:
                    raise self._error(call, exc, attempt, "Stripe asked for a longer wait") from exc
                if isinstance(exc, stripe.RateLimitError):
                    self.limiter.pause(wait)  # every client of this account waits, not just this one
                self.log.warning(
                    "%s: %s -> %s; try %d of %d in %.1fs",
                    VENDOR,
                    self.redactor.redact(str(call)),
                    reason,
                    attempt + 1,
                    self.retry.max_attempts,
                    wait,
                )
                self.sleep(wait)
                attempt += 1

    def _wait(self, exc: stripe.StripeError, attempt: int) -> float | None:
        asked = _retry_after(exc)
        if asked is None:
            return self.retry.backoff(attempt, self.draw)
        return asked if asked <= self.retry.max_wait else None

    def _error(
        self, call: Call, exc: stripe.StripeError, attempts: int, detail: str | None = None
    ) -> VendorHTTPError:
        status = exc.http_status
        if detail is None and status == 401:
            detail = "the API key was refused: revoked, mistyped, or a test key against live data?"
        elif detail is None and status == 403 and call.permission:
            detail = f"the restricted key needs {call.permission}"
        elif detail is None and isinstance(exc, stripe.APIConnectionError):
            detail = "no answer from Stripe"
        # RateLimitError and a few others do not copy the body's code onto the exception.
        error_code = exc.code or (exc.error.code if exc.error is not None else None)
        error_type = exc.error.type if exc.error is not None else None
        cls = HTTPRateLimitError if isinstance(exc, stripe.RateLimitError) else VendorHTTPError
        return cls(
            vendor=VENDOR,
            method="GET",
            url=self.redactor.redact(str(call).removeprefix("GET ")),
            status=status,
            vendor_code=error_code or error_type,
            vendor_message=self.redactor.redact(exc.user_message) if exc.user_message else None,
            retry_after=_retry_after(exc),
            attempts=attempts,
            detail=detail,
        )


def retry_reason(exc: stripe.StripeError) -> str | None:
    """Why ``exc`` is worth another try, or None. Mirrors stripe-python's own rules, plus plain 429s."""
    should = _header(exc, "stripe-should-retry")
    if should == "false":
        return None  # Stripe says a retry would not help (docs.stripe.com/error-low-level)
    if should == "true":
        return f"HTTP {exc.http_status} with Stripe-Should-Retry: true"
    if isinstance(exc, stripe.RateLimitError):
        return "rate limited (HTTP 429)"
    if isinstance(exc, stripe.APIConnectionError):
        return "connection error" if exc.should_retry else None
    status = exc.http_status or 0
    if status == 409:
        return "conflict (HTTP 409)"
    if status >= 500:
        return f"server error (HTTP {status})"
    return None


def _header(exc: stripe.StripeError, name: str) -> str | None:
    # stripe-python hands over the HTTP client's header mapping, case-insensitive for requests and
    # httpx; a plain dict (a test's) is searched by hand.
    headers: Mapping[str, str] = exc.headers or {}
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value.strip().lower() if isinstance(value, str) else None


def _retry_after(exc: stripe.StripeError) -> float | None:
    value = _header(exc, "retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Page:
    """One page of a Stripe list: its raw items, and where the next one starts."""

    number: int
    items: list[Any]
    has_more: bool
    last_id: str | None


def pages(
    calls: StripeCalls,
    call: Call,
    send: Callable[[Any], object],
    *,
    starting_after: str | None = None,
) -> Iterator[Page]:
    """Follow a Stripe list object (``{object: "list", data, has_more, url}``) page by page.

    Each next page asks for ``starting_after=<id of the last item>``, the way stripe-python's
    ``auto_paging_iter()`` does; paging by hand lets each page be checkpointed and retried on its own.
    """
    seen: set[str] = set()
    after = starting_after
    number = 0
    while True:
        number += 1
        params = dict(call.params) | ({"starting_after": after} if after else {})
        body = plain(calls.call(call, functools.partial(send, params)))
        items, has_more = list_body(body, f"{call} page {number}")
        last_id = _id_of(items[-1]) if items else None
        yield Page(number, items, has_more, last_id)
        if not has_more:
            return
        if last_id is None:
            raise StripeShapeError(
                f"{VENDOR}: {call} page {number} says has_more but its last item has no id"
            )
        if last_id in seen or last_id == starting_after:
            raise PaginationLoopError(f"{VENDOR}: {call} handed out {last_id} as the last item twice")
        seen.add(last_id)
        after = last_id


def list_body(body: Any, where: str) -> tuple[list[Any], bool]:
    """The ``data`` and ``has_more`` of a list object, or :class:`StripeShapeError` naming ``where``."""
    if not isinstance(body, Mapping) or body.get("object") != "list":
        raise StripeShapeError(f"{VENDOR}: {where} did not answer a list object")
    items, has_more = body.get("data"), body.get("has_more")
    if not isinstance(items, list) or not isinstance(has_more, bool):
        raise StripeShapeError(f"{VENDOR}: {where}: a list object without data or has_more")
    return items, has_more


def _id_of(item: Any) -> str | None:
    value = item.get("id") if isinstance(item, Mapping) else None
    return value if isinstance(value, str) and value else None
