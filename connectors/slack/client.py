"""HTTP for Slack: a client that treats ``{"ok": false}`` as the error it is.

The Web API answers almost every failure with HTTP 200 and ``{"ok": false, "error": "<code>"}``
(docs.slack.dev/apis/web-api, "Evaluating responses"): a revoked token, a missing scope, a bad
cursor. :class:`SlackClient` raises :class:`SlackAPIError` for those, so a listing can never read an
error body as an empty page. Rate limits are the exception: HTTP 429 with ``Retry-After`` (seconds),
which :class:`~collector.http.VendorClient` already waits out and retries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from collector.http import VendorClient, VendorHTTPError
from collector.http.client import QueryParams

VENDOR = "slack"

# Error codes that mean the credential itself is wrong, as opposed to one method being refused.
BAD_TOKEN = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"})


class SlackAPIError(VendorHTTPError):
    """Slack answered ``ok: false``; ``vendor_code`` is Slack's error code (``missing_scope`` ...)."""


class SlackClient(VendorClient):
    """A :class:`VendorClient` that raises :class:`SlackAPIError` for a 200 with ``ok: false``."""

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
        """Send the request (with the base client's retries) and check Slack's ``ok`` flag."""
        response = super().request(method, url, params=params, json=json, data=data, headers=headers)
        body = _json_body(response)
        if isinstance(body, dict) and body.get("ok") is False:
            raise self._not_ok(response, body)
        return response

    def _not_ok(self, response: httpx.Response, body: Mapping[str, Any]) -> SlackAPIError:
        redact = self.redactor.redact
        code = str(body.get("error") or "unknown_error")
        return SlackAPIError(
            vendor=self.vendor,
            method=response.request.method,
            url=redact(str(response.request.url)),
            status=response.status_code,
            vendor_code=redact(code),
            detail=redact(_hint(code, body)),
        )


def _json_body(response: httpx.Response) -> Any:
    # admin.analytics.getFile answers a gzip file on success and JSON only on error.
    is_json = "json" in response.headers.get("content-type", "") or response.content[:1] == b"{"
    if not is_json:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _hint(code: str, body: Mapping[str, Any]) -> str:
    if code == "missing_scope":
        needed, provided = body.get("needed"), body.get("provided")
        return f"the token lacks the scope {needed or '?'}; it has: {provided or '?'}"
    if code in BAD_TOKEN:
        return "the token is not valid any more (revoked, expired, or its user was deactivated)"
    if code == "not_allowed_token_type":
        return "this method needs a user token (xoxp-) of an admin or owner"
    if code == "ratelimited":
        return "Slack refused the call as rate limited"
    return "Slack answered ok: false"
