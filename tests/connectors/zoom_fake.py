"""A fake of the Zoom REST API v2 and its Server-to-Server OAuth token endpoint.

It serves ``POST /oauth/token`` and, under ``/v2``, ``GET /users`` (``status``, ``page_size`` up to
300, ``next_page_token`` paging, the page envelope Zoom sends) and ``GET /accounts/me/plans/usage``.
Users and plan usage come from ``data/zoom/*.json`` (scrubbed, example.com). Knobs reproduce what the
real API does: rate-limit 429s per second and per day (with Zoom's ``X-RateLimit-*`` headers and an
ISO 8601 ``Retry-After``), 5xx, an access token revoked mid-sync (401 code 124, refresh once),
a missing scope (code 4711), a next_page_token handed out twice, and one that expired mid-sync.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import httpx

DATA = Path(__file__).with_name("data") / "zoom"

ACCOUNT_ID = "Xq7zAcC0unT-fake01"
CLIENT_ID = "zFakeClientId0001"
CLIENT_SECRET = "zfake-client-secret-0123456789abcdef"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def zoom_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message}, headers=headers)


def qps_limited(retry_after: str | None = "1") -> httpx.Response:
    """A per-second limit: Zoom answers 429, sometimes with Retry-After in seconds."""
    headers = {"X-RateLimit-Category": "Medium", "X-RateLimit-Type": "QPS"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return zoom_error(
        429, 429, "You have reached the maximum per-second rate limit for this API. Try again later.", headers
    )


def daily_limited(documented_headers: bool = True) -> httpx.Response:
    """A daily limit. Zoom's docs show the headers below; responses seen in the field carry only the
    message and the category counters (devforum.zoom.us/t/18928)."""
    headers = {"X-RateLimit-Category": "Medium", "X-RateLimit-Limit": "2000", "X-RateLimit-Remaining": "0"}
    if documented_headers:
        headers |= {"X-RateLimit-Type": "Daily-limit", "Retry-After": "2026-11-21T00:00:00Z"}
    return zoom_error(
        429,
        429,
        "You have exceeded the daily rate limit (2000) of Medium API requests permitted for this "
        "particular account. You may resume these requests at GMT 00:00:00.",
        headers,
    )


def server_error(status: int = 503) -> httpx.Response:
    return zoom_error(status, status, "The service is temporarily unavailable.")


def missing_scope(scope: str = "billing:read:plan_usage:admin") -> httpx.Response:
    return zoom_error(400, 4711, f"Invalid access token, does not contain scopes:[{scope}].")


class ZoomFake:
    """``__call__(request) -> response``; mount with httpx.MockTransport or FakeServer."""

    def __init__(self, users: list[Any] | None = None, plan_usage: Any = None) -> None:
        self.users: list[Any] = load("users.json") if users is None else users
        self.plan_usage: Any = load("plan_usage.json") if plan_usage is None else plan_usage
        self.requests: list[httpx.Request] = []
        self.tokens_issued: list[str] = []
        self._valid_tokens: set[str] = set()
        # (path suffix, response): served instead of the real answer to the next matching API call.
        self.injected: list[tuple[str, httpx.Response]] = []
        # (status, page number): its next_page_token has expired (Zoom keeps them 15 minutes)
        self.expire_token_at_page: tuple[str, int] | None = None
        self.repeat_next_page_token = False  # hand out the first page's token again and again
        self.revoke_tokens_after: int | None = None  # revoke every token after this many API calls
        self.token_error: httpx.Response | None = None
        self.api_calls = 0

    # -- plumbing ------------------------------------------------------------------------------------

    def inject(self, path_suffix: str, *responses: httpx.Response) -> None:
        self.injected.extend((path_suffix, r) for r in responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path.endswith("/oauth/token"):
            return self._token(request)
        self.api_calls += 1
        for index, (suffix, response) in enumerate(self.injected):
            if path.endswith(suffix):
                del self.injected[index]
                return response
        if self.revoke_tokens_after is not None and self.api_calls > self.revoke_tokens_after:
            self._valid_tokens.clear()
            self.revoke_tokens_after = None
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self._valid_tokens:
            return zoom_error(401, 124, "Invalid access token.")
        if request.method != "GET":
            return zoom_error(405, 405, "Method not allowed.")
        if path.endswith("/v2/users"):
            return self._users(request)
        if path.endswith("/v2/accounts/me/plans/usage"):
            return httpx.Response(200, json=self.plan_usage, headers={"X-RateLimit-Category": "Heavy"})
        return zoom_error(404, 404, "Not found.")

    # -- endpoints -----------------------------------------------------------------------------------

    def _token(self, request: httpx.Request) -> httpx.Response:
        if self.token_error is not None:
            return self.token_error
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        params = request.url.params
        if (
            request.method != "POST"
            or params.get("grant_type") != "account_credentials"
            or params.get("account_id") != ACCOUNT_ID
            or request.headers.get("authorization") != f"Basic {expected}"
        ):
            return httpx.Response(
                400, json={"reason": "Invalid client_id or client_secret", "error": "invalid_client"}
            )
        token = f"eyJzbV9mYWtlIjoiem9vbSJ9.fake-zoom-access-{len(self.tokens_issued) + 1:04d}-0123456789"
        self.tokens_issued.append(token)
        self._valid_tokens.add(token)
        return httpx.Response(
            200,
            json={
                "access_token": token,
                "token_type": "bearer",
                "expires_in": 3599,
                "scope": "user:read:list_users:admin billing:read:plan_usage:admin",
                "api_url": "https://api.zoom.us",
            },
        )

    def _users(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        status = params.get("status", "active")
        size = int(params.get("page_size", "30"))
        if not 1 <= size <= 300:
            return zoom_error(400, 300, "Invalid field: page_size.")
        listed = [u for u in self.users if self._status_of(u) == status]
        offset = 0
        if params.get("next_page_token"):
            decoded = self._decode(params["next_page_token"])
            if decoded is None or decoded[0] != status:
                return zoom_error(400, 300, "The next page token is invalid or expired.")
            offset = decoded[1]
        page = offset // size + 1
        if self.expire_token_at_page == (status, page):
            return zoom_error(400, 300, "The next page token is invalid or expired.")
        chunk = listed[offset : offset + size]
        more = offset + size < len(listed)
        next_token = ""
        if more:
            next_token = self._encode(status, size if self.repeat_next_page_token else offset + size)
        body = {
            "page_count": max(1, math.ceil(len(listed) / size)),
            "page_number": page,
            "page_size": size,
            "total_records": len(listed),
            "next_page_token": next_token,
            "users": chunk,
        }
        return httpx.Response(200, json=body, headers={"X-RateLimit-Category": "Medium"})

    @staticmethod
    def _status_of(user: Any) -> str:
        return str(user.get("status", "active")) if isinstance(user, dict) else "active"

    @staticmethod
    def _encode(status: str, offset: int) -> str:
        return base64.urlsafe_b64encode(f"{status}:{offset}".encode()).decode().rstrip("=") + "Zm"

    @staticmethod
    def _decode(token: str) -> tuple[str, int] | None:
        raw = token.removesuffix("Zm")
        try:
            status, _, offset = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().partition(":")
            return status, int(offset)
        except ValueError:
            return None
