"""Exceptions raised by the HTTP client layer, and the vendor error details they carry.

Every message is built from values the client has already passed through its
:class:`~collector.http.redact.Redactor`, so ``str(exc)`` and ``repr(exc)`` are safe to log or store.
"""

from __future__ import annotations

from typing import Any

import httpx

MAX_VENDOR_MESSAGE = 300  # characters of a vendor's error message kept in an exception


class HTTPClientError(Exception):
    """Base of everything :mod:`collector.http` raises."""


class VendorHTTPError(HTTPClientError):
    """A request failed: an error status, or a transport error, after any retries.

    ``status`` is ``None`` when no response arrived. ``url`` is redacted. ``vendor_code`` and
    ``vendor_message`` come from the JSON error body when the vendor sent one. ``retry_after`` is the
    wait in seconds the vendor asked for, when it said, so a scheduler can come back later.
    """

    def __init__(
        self,
        *,
        vendor: str,
        method: str,
        url: str,
        status: int | None = None,
        vendor_code: str | None = None,
        vendor_message: str | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
        detail: str | None = None,
    ) -> None:
        self.vendor = vendor
        self.method = method
        self.url = url
        self.status = status
        self.vendor_code = vendor_code
        self.vendor_message = vendor_message
        self.retry_after = retry_after
        self.attempts = attempts
        self.detail = detail
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"{self.vendor}: {self.method} {self.url}"]
        if self.status is not None:
            parts.append(f"-> HTTP {self.status}")
        if self.vendor_code:
            parts.append(f"[{self.vendor_code}]")
        if self.vendor_message:
            parts.append(self.vendor_message)
        if self.detail:
            parts.append(f"({self.detail})")
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        return " ".join(parts)


class RateLimitError(VendorHTTPError):
    """The vendor kept rate-limiting us, or asked for a longer wait than the client may sleep."""


class WaitTooLongError(HTTPClientError):
    """A rate limiter would have to wait longer than the caller allows."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        super().__init__(f"rate limiter would wait {wait:.1f}s")


class PaginationError(HTTPClientError):
    """A listing cannot be followed safely (for example its next page points at another host)."""


class PaginationLoopError(PaginationError):
    """The vendor handed out a next page (cursor, token or URL) that was already fetched."""


def vendor_error(response: httpx.Response) -> tuple[str | None, str | None]:
    """The vendor's error code and message from a JSON error body, or ``(None, None)``.

    Shapes seen across the vendors we call (see VENDOR_APIS.md):
    Graph ``{"error": {"code", "message"}}``; Google ``{"error": {"errors": [{"reason"}], "status",
    "message"}}``; OAuth token endpoints ``{"error", "error_description"}``; Slack ``{"ok": false,
    "error"}``; Okta ``{"errorCode", "errorSummary"}``; Zoom ``{"code", "message"}``; GitHub
    ``{"message"}``; Salesforce ``[{"errorCode", "message"}]``.
    """
    try:
        body: Any = response.json()
    except ValueError:
        return None, None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if isinstance(error, dict):
        reasons = [e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)]
        code = next((r for r in reasons if r), None) or error.get("status") or error.get("code")
        return _text(code), _text(error.get("message"))
    if isinstance(error, str):
        return error, _text(body.get("error_description"))
    code = body.get("errorCode") or body.get("code")
    message = body.get("errorSummary") or body.get("message")
    return _text(code), _text(message)


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)[:MAX_VENDOR_MESSAGE]
