"""A fake of the GitHub REST API endpoints the github connector reads.

It serves, under any base path (``/api/v3`` as on GitHub Enterprise Server, or none):
``GET /orgs/{org}`` (the plan only while ``plan_visible``), ``GET /orgs/{org}/members`` (``role``),
``GET /orgs/{org}/outside_collaborators`` (both ``page``/``per_page`` with a ``Link`` header),
``GET /orgs/{org}/copilot/billing`` and ``GET /orgs/{org}/copilot/billing/seats`` (``total_seats``,
``page``/``per_page``, default 50, also with ``Link``). Data comes from ``data/github/*.json``
(scrubbed: fake logins and ids, example.com). Like the real API it wants ``X-GitHub-Api-Version``,
answers 401 "Bad credentials", sends ``x-ratelimit-*`` on every response and, given a clock, spends a
primary budget that ends in 403 with ``x-ratelimit-remaining: 0`` until the reset. Knobs: injected
responses (secondary-limit 403/429 with ``retry-after``, 5xx), a failing page, Copilot missing, a
repeated next link.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

DATA = Path(__file__).with_name("data") / "github"

ORG = "acme-fake"
TOKEN = "github_pat_11FAKEFAKE0fakefakefake_0123456789abcdefFAKEfakeFAKEfake0123456789abcdefABCD"
DOCS = "https://docs.github.com/rest"
ADMINS = frozenset({"octo-alice", "grace-h"})


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def gh_error(status: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, json={"message": message, "documentation_url": DOCS, "status": str(status)}, headers=headers
    )


def secondary_limit(status: int = 403, retry_after: str = "60") -> httpx.Response:
    """A secondary rate limit: 403 (or 429) with retry-after, and a primary budget still left."""
    return gh_error(
        status,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        {"retry-after": retry_after, "x-ratelimit-remaining": "4321", "x-ratelimit-limit": "5000"},
    )


def primary_limit(reset: int, status: int = 403) -> httpx.Response:
    """The primary budget spent: 403 (or 429) with x-ratelimit-remaining 0 and the reset instant."""
    return gh_error(
        status,
        "API rate limit exceeded for user ID 90001.",
        {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "5000",
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": "core",
        },
    )


def server_error(status: int = 502) -> httpx.Response:
    return gh_error(status, "Server Error")


class GitHubFake:
    """``__call__(request) -> response``; mount with httpx.MockTransport or FakeServer."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self.org: dict[str, Any] = load("org.json")
        self.members: list[Any] = load("members.json")
        self.outside: list[Any] = load("outside_collaborators.json")
        self.admins = set(ADMINS)
        self.copilot_billing: dict[str, Any] | None = load("copilot_billing.json")
        self.seats: list[Any] = load("copilot_seats.json")
        self.plan_visible = True
        # A fine-grained token always has an expiry and GitHub says it on every answer; None = a
        # classic token made without one.
        self.token_expiration: str | None = "2027-01-15 09:30:00 UTC"
        self.requests: list[httpx.Request] = []
        # (path suffix, response): served instead of the real answer to the next matching call.
        self.injected: list[tuple[str, httpx.Response]] = []
        self.fail_at: tuple[str, int, httpx.Response] | None = None  # (path suffix, page, answer)
        self.repeat_next_link = False
        # The primary rate limit, spent one request at a time; it resets an hour after it started.
        self.clock = clock
        self.limit = 5000
        self.remaining = 5000
        self.reset_at = (clock() if clock else 1_700_000_000) + 3600

    def inject(self, path_suffix: str, *responses: httpx.Response) -> None:
        self.injected.extend((path_suffix, r) for r in responses)

    def calls(self, path_suffix: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith(path_suffix)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        for index, (suffix, response) in enumerate(self.injected):
            if path.endswith(suffix):
                del self.injected[index]
                return response
        if request.headers.get("x-github-api-version") != "2022-11-28":
            return gh_error(400, "Unsupported 'X-GitHub-Api-Version' header")
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return gh_error(401, "Bad credentials")
        spent = self._spend()
        if spent is not None:
            return spent
        response = self._route(request)
        response.headers.update(self._rate_headers())
        response.headers["x-github-api-version-selected"] = "2022-11-28"
        if self.token_expiration is not None:
            response.headers["github-authentication-token-expiration"] = self.token_expiration
        return response

    # -- routing -------------------------------------------------------------------------------------

    def _route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        prefix = f"/orgs/{ORG}"
        if request.method != "GET" or prefix not in path:
            return gh_error(404, "Not Found")
        rest = path[path.index(prefix) + len(prefix) :]
        if rest == "":
            return httpx.Response(200, json=self._org())
        if rest == "/members":
            role = request.url.params.get("role", "all")
            users = [
                u
                for u in self.members
                if role == "all" or (self._login(u) in self.admins) == (role == "admin")
            ]
            return self._listing(request, users, "/members")
        if rest == "/outside_collaborators":
            return self._listing(request, self.outside, "/outside_collaborators")
        if rest in ("/copilot/billing", "/copilot/billing/seats") and self.copilot_billing is None:
            return gh_error(404, "Copilot Business is not enabled for this organization.")
        if rest == "/copilot/billing":
            return httpx.Response(200, json=self.copilot_billing)
        if rest == "/copilot/billing/seats":
            return self._seats(request)
        return gh_error(404, "Not Found")

    def _org(self) -> dict[str, Any]:
        if self.plan_visible:
            return self.org
        owner_only = {"plan", "billing_email", "total_private_repos", "owned_private_repos", "disk_usage"}
        return {k: v for k, v in self.org.items() if k not in owner_only}

    def _page_of(
        self, request: httpx.Request, items: list[Any], default_size: int
    ) -> tuple[int, int, list[Any]]:
        params = request.url.params
        size = min(int(params.get("per_page", default_size)), 100)
        page = max(int(params.get("page", 1)), 1)
        return page, size, items[(page - 1) * size : page * size]

    def _failure(self, suffix: str, page: int) -> httpx.Response | None:
        if self.fail_at is not None and self.fail_at[0] == suffix and self.fail_at[1] == page:
            return self.fail_at[2]
        return None

    def _listing(self, request: httpx.Request, users: list[Any], suffix: str) -> httpx.Response:
        page, size, chunk = self._page_of(request, users, 30)
        failed = self._failure(suffix, page)
        if failed is not None:
            return failed
        return httpx.Response(200, json=chunk, headers=self._link(request, page, size, len(users)))

    def _seats(self, request: httpx.Request) -> httpx.Response:
        page, size, chunk = self._page_of(request, self.seats, 50)
        failed = self._failure("/copilot/billing/seats", page)
        if failed is not None:
            return failed
        body = {"total_seats": len(self.seats), "seats": chunk}
        return httpx.Response(200, json=body, headers=self._link(request, page, size, len(self.seats)))

    def _link(self, request: httpx.Request, page: int, size: int, total: int) -> dict[str, str]:
        last = max(1, math.ceil(total / size))
        if last == 1:
            return {}

        def url(number: int) -> str:
            return str(request.url.copy_set_param("page", number).copy_set_param("per_page", size))

        links = []
        if page < last:
            links.append(f'<{url(2 if self.repeat_next_link else page + 1)}>; rel="next"')
            links.append(f'<{url(last)}>; rel="last"')
        if page > 1:
            links.append(f'<{url(1)}>; rel="first"')
            links.append(f'<{url(page - 1)}>; rel="prev"')
        return {"Link": ", ".join(links)}

    # -- the primary rate limit ------------------------------------------------------------------------

    def _spend(self) -> httpx.Response | None:
        now = self.clock() if self.clock else None
        if now is not None and now >= self.reset_at:
            self.remaining, self.reset_at = self.limit, now + 3600
        if self.remaining <= 0:
            return primary_limit(int(self.reset_at))
        self.remaining -= 1
        return None

    def _rate_headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-used": str(self.limit - self.remaining),
            "x-ratelimit-reset": str(int(self.reset_at)),
            "x-ratelimit-resource": "core",
        }

    @staticmethod
    def _login(user: Any) -> str | None:
        return user.get("login") if isinstance(user, dict) else None
