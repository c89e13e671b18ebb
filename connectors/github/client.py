"""HTTP for GitHub's REST API: the client, the JSON of a response, and Copilot seat paging.

Rate limits need nothing GitHub-specific here: :class:`~collector.http.VendorClient` reads
``x-ratelimit-remaining`` / ``x-ratelimit-reset`` on every response (its limiter pauses until the
reset when few requests are left), retries a 403 or 429 with ``x-ratelimit-remaining: 0`` after the
reset, and a secondary-limit 403 or 429 after its ``retry-after``
(docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api). A 403 with neither is a
permission error and is not retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from collector.http import VendorClient

VENDOR = "github"
API_VERSION = "2022-11-28"
HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": API_VERSION,
    "User-Agent": "saaswatch",  # GitHub refuses requests without a User-Agent
}


# Sent on every response to a request made with an expiring token (fine-grained, or a classic token
# given an expiry), e.g. "2026-12-31 23:59:59 UTC"; some answers carry a numeric offset instead.
TOKEN_EXPIRATION = "github-authentication-token-expiration"
EXPIRATION_FORMATS = ("%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%d %H:%M:%S %z")


def parse_token_expiration(value: str) -> datetime | None:
    """The header's time in UTC, or None when it is not one of the shapes GitHub sends."""
    for layout in EXPIRATION_FORMATS:
        try:
            parsed = datetime.strptime(value.strip(), layout)
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


class GitHubClient(VendorClient):
    """The shared vendor client, also noting when the token expires: GitHub says so on each answer."""

    token_expires_at: datetime | None = None

    def observe_response(self, response: httpx.Response) -> None:
        header = response.headers.get(TOKEN_EXPIRATION)
        if header:
            self.token_expires_at = parse_token_expiration(header) or self.token_expires_at
        super().observe_response(response)


class GitHubShapeError(Exception):
    """A GitHub answer is not shaped as documented; nothing after it can be trusted."""


def json_object(response: httpx.Response, where: str) -> dict[str, Any]:
    """The response's JSON object, or :class:`GitHubShapeError` naming the request."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise GitHubShapeError(f"{VENDOR}: {where} did not answer a JSON object")
    return body


class TotalCountPaginator:
    """``page``/``per_page`` paging that stops once ``total`` items are covered.

    ``GET /orgs/{org}/copilot/billing/seats`` says how many seats there are (``total_seats``); a
    count that is a multiple of the page size would otherwise cost one more request for an empty page.
    Without the count, a short or empty page ends the listing.
    """

    def __init__(self, total: str, *, default_per_page: int = 50) -> None:
        self.total = total
        self.default_per_page = default_per_page

    def next_url(self, response: httpx.Response, body: Any, items: Sequence[Any]) -> httpx.URL | None:
        """The request URL with ``page`` advanced, or None after the last page."""
        url = response.request.url
        per_page = int(url.params.get("per_page", self.default_per_page))
        page = int(url.params.get("page", 1))
        total = body.get(self.total) if isinstance(body, dict) else None
        if not items:
            return None
        if isinstance(total, int) and not isinstance(total, bool):
            if page * per_page >= total:
                return None
        elif len(items) < per_page:
            return None
        return url.copy_set_param("page", page + 1)
