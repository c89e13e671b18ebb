"""A fake of the Atlassian organization REST API (``https://api.atlassian.com/admin``).

It serves ``GET /admin/v1/orgs/{orgId}/users``: managed accounts with ``product_access[]`` and
``last_active`` per product, paged by an opaque cursor inside the absolute ``links.next`` URL (the
envelope is ``{data, links: {self, prev, next}, meta: {total}}``). Users come from
``data/atlassian/users.json`` (scrubbed, example.com). Auth is the organization API key as a Bearer
token. Knobs: 429 with and without ``Retry-After`` (and the ``X-RateLimit-*`` headers Atlassian
sends), 5xx, a key revoked mid-sync (401, which no retry fixes), a cursor handed out twice, and
injected responses.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx

DATA = Path(__file__).with_name("data") / "atlassian"

ORG_ID = "4j1ack42-6c9d-1552-k55a-c2j536j31066"
API_KEY = "ATCTT3xFfGN0fakeAdminApiKey0123456789abcdefGHIJ=A1B2C3D4"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def error(status: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"code": status, "message": message}, headers=headers)


def rate_limited(retry_after: str | None = "3") -> httpx.Response:
    headers = {"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0", "RateLimit-Reason": "org-quota"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return error(429, "Too Many Requests", headers)


def server_error(status: int = 502) -> httpx.Response:
    return error(status, "Bad Gateway")


class AtlassianFake:
    """``__call__(request) -> response``; mount with httpx.MockTransport or FakeServer."""

    def __init__(self, users: list[Any] | None = None, *, page_size: int = 100) -> None:
        self.users: list[Any] = load("users.json") if users is None else users
        self.page_size = page_size
        self.requests: list[httpx.Request] = []
        self.injected: list[httpx.Response] = []  # served, in order, before the real answers
        self.revoke_key_after: int | None = None  # calls, then the key is refused (401)
        self.repeat_cursor = False  # hand out the second page's cursor again and again

    def inject(self, *responses: httpx.Response) -> None:
        self.injected.extend(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.injected:
            return self.injected.pop(0)
        if self.revoke_key_after is not None and len(self.requests) > self.revoke_key_after:
            return error(401, "Unauthorized")
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return error(401, "Unauthorized")
        if request.method != "GET" or request.url.path != f"/admin/v1/orgs/{ORG_ID}/users":
            return error(404, "Not Found")
        offset = 0
        cursor = request.url.params.get("cursor")
        if cursor is not None:
            try:
                offset = int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("offset:"))
            except ValueError:
                return error(400, "Invalid cursor")
        end = offset + self.page_size
        self_url = str(request.url)
        links: dict[str, str] = {"self": self_url}
        if offset:
            links["prev"] = str(
                request.url.copy_set_param("cursor", self._cursor(max(0, offset - self.page_size)))
            )
        if end < len(self.users):
            following = self.page_size if self.repeat_cursor else end
            links["next"] = str(request.url.copy_set_param("cursor", self._cursor(following)))
        body = {"data": self.users[offset:end], "links": links, "meta": {"total": len(self.users)}}
        remaining = str(max(0, 200 - len(self.requests)))
        return httpx.Response(
            200, json=body, headers={"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": remaining}
        )

    @staticmethod
    def _cursor(offset: int) -> str:
        return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()
