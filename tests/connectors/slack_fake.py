"""A fake of the Slack Web API methods the slack connector reads.

It serves ``users.list`` and ``team.billableInfo`` (``limit`` + ``cursor`` paging, ``next_cursor`` ""
on the last page) and ``admin.analytics.getFile`` (one gzip NDJSON file per day, Content-Type
``application/gzip``; JSON errors ``file_not_yet_available`` / ``file_not_found`` /
``feature_not_enabled``). Data comes from ``data/slack/*.json`` (scrubbed, example.com). Like the
real API it answers errors as HTTP 200 with ``{"ok": false, "error": ...}`` (``invalid_auth``,
``missing_scope`` with ``needed``/``provided``), rate limits as 429 with ``Retry-After``, sends the
token's scopes in ``X-OAuth-Scopes``, and leaves ``profile.email`` out without ``users:read.email``.
Knobs: injected responses per method, a failing page, a cursor handed out again, and the org's plan.
"""

from __future__ import annotations

import base64
import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx

DATA = Path(__file__).with_name("data") / "slack"

TOKEN = "xoxp-1111111111-2222222222-3333333333-fakefakefakefakefakefake0001"
ALL_SCOPES = "admin,users:read,users:read.email,admin.analytics:read"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def analytics_ending(latest: date) -> dict[str, list[dict[str, Any]]]:
    """The recorded daily files, moved so that the newest one is ``latest``."""
    days = load("analytics_member.json")
    newest = max(date.fromisoformat(d) for d in days)
    shift = latest - newest
    moved: dict[str, list[dict[str, Any]]] = {}
    for day, rows in days.items():
        new_day = (date.fromisoformat(day) + shift).isoformat()
        moved[new_day] = [row | {"date": new_day} for row in rows]
    return moved


def not_ok(error: str, **extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"ok": False, "error": error, **extra})


def ratelimited(retry_after: str | None = "3") -> httpx.Response:
    """Slack's rate limit: HTTP 429, ``Retry-After`` in seconds, and an ok: false body."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(429, json={"ok": False, "error": "ratelimited"}, headers=headers)


def server_error(status: int = 503) -> httpx.Response:
    return httpx.Response(status, text="upstream connect error or disconnect/reset before headers")


class SlackFake:
    """``__call__(request) -> response``; mount with httpx.MockTransport or FakeServer."""

    def __init__(
        self,
        members: list[Any] | None = None,
        billable: dict[str, Any] | None = None,
        analytics: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.members: list[Any] = load("members.json") if members is None else members
        self.billable: dict[str, Any] = load("billable_info.json") if billable is None else billable
        self.analytics = load("analytics_member.json") if analytics is None else analytics
        # The newest day Slack has finished; later days answer file_not_yet_available.
        self.latest_available = max(date.fromisoformat(d) for d in self.analytics) if self.analytics else None
        self.enterprise = True  # False: admin.analytics.getFile answers feature_not_enabled
        self.scopes = ALL_SCOPES
        self.requests: list[httpx.Request] = []
        # (method, response): served instead of the real answer to the next call of that method.
        self.injected: list[tuple[str, httpx.Response]] = []
        self.users_page_error: tuple[int, httpx.Response] | None = None  # (page number, answer)
        self.repeat_cursor = False  # hand out the first page's cursor again and again

    def inject(self, method: str, *responses: httpx.Response) -> None:
        self.injected.extend((method, r) for r in responses)

    def calls(self, method: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith(f"/{method}")]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        method = request.url.path.rsplit("/", 1)[-1]
        for index, (name, response) in enumerate(self.injected):
            if name == method:
                del self.injected[index]
                return response
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return not_ok("invalid_auth")
        handler = {
            "users.list": self._users,
            "team.billableInfo": self._billable,
            "admin.analytics.getFile": self._analytics,
        }.get(method)
        if handler is None:
            return not_ok("unknown_method")
        response = handler(request)
        response.headers["X-OAuth-Scopes"] = self.scopes
        return response

    # -- methods -------------------------------------------------------------------------------------

    def _needs(self, scope: str) -> httpx.Response | None:
        if scope in self.scopes.split(","):
            return None
        return not_ok("missing_scope", needed=scope, provided=self.scopes)

    def _page(self, request: httpx.Request, items: list[Any]) -> tuple[list[Any], str, int] | httpx.Response:
        params = request.url.params
        limit = int(params.get("limit") or 100)
        offset = 0
        if params.get("cursor"):
            decoded = self._decode(params["cursor"])
            if decoded is None:
                return not_ok("invalid_cursor")
            offset = decoded
        page = offset // limit + 1
        more = offset + limit < len(items)
        cursor = self._encode(limit if self.repeat_cursor else offset + limit) if more else ""
        return items[offset : offset + limit], cursor, page

    def _users(self, request: httpx.Request) -> httpx.Response:
        refused = self._needs("users:read")
        if refused is not None:
            return refused
        paged = self._page(request, self.members)
        if isinstance(paged, httpx.Response):
            return paged
        chunk, cursor, page = paged
        if self.users_page_error is not None and self.users_page_error[0] == page:
            return self.users_page_error[1]
        if "users:read.email" not in self.scopes.split(","):
            chunk = [self._without_email(m) for m in chunk]
        body = {
            "ok": True,
            "members": chunk,
            "cache_ts": 1763600000,
            "response_metadata": {"next_cursor": cursor},
        }
        return httpx.Response(200, json=body, headers={"X-Accepted-OAuth-Scopes": "users:read"})

    def _billable(self, request: httpx.Request) -> httpx.Response:
        refused = self._needs("admin")
        if refused is not None:
            return refused
        paged = self._page(request, sorted(self.billable.items()))
        if isinstance(paged, httpx.Response):
            return paged
        chunk, cursor, _page = paged
        body = {"ok": True, "billable_info": dict(chunk), "response_metadata": {"next_cursor": cursor}}
        return httpx.Response(200, json=body, headers={"X-Accepted-OAuth-Scopes": "admin"})

    def _analytics(self, request: httpx.Request) -> httpx.Response:
        if not self.enterprise:
            return not_ok("feature_not_enabled")
        refused = self._needs("admin.analytics:read")
        if refused is not None:
            return refused
        params = request.url.params
        if params.get("type") != "member":
            return not_ok("invalid_arguments")
        try:
            day = date.fromisoformat(params.get("date", ""))
        except ValueError:
            return not_ok("invalid_date")
        if self.latest_available is None or day > self.latest_available:
            return not_ok("file_not_yet_available")
        rows = self.analytics.get(day.isoformat())
        if rows is None:
            return not_ok("file_not_found")
        ndjson = "".join(json.dumps(row) + "\n" for row in rows).encode()
        return httpx.Response(
            200,
            content=gzip.compress(ndjson),
            headers={
                "Content-Type": "application/gzip",
                "Content-Disposition": f'attachment; filename="member_analytics_{day.isoformat()}.json.gz"',
            },
        )

    # -- helpers -------------------------------------------------------------------------------------

    @staticmethod
    def _without_email(member: Any) -> Any:
        if not isinstance(member, dict) or not isinstance(member.get("profile"), dict):
            return member
        profile = {k: v for k, v in member["profile"].items() if k != "email"}
        return member | {"profile": profile}

    @staticmethod
    def _encode(offset: int) -> str:
        return base64.b64encode(f"user:U{offset:08d}".encode()).decode()

    @staticmethod
    def _decode(cursor: str) -> int | None:
        try:
            text = base64.b64decode(cursor).decode()
            return int(text.removeprefix("user:U"))
        except ValueError:
            return None
