"""Following a vendor's listing page by page.

A paginator looks at one page and says where the next one is (a full URL) or that there is none.
Paginators keep no state, so one instance serves any number of listings. :func:`paginate` drives
them, refuses a next page on another host (it would carry our credentials there) and stops a listing
whose next page was already fetched: a vendor handing out the same cursor again would otherwise
keep a sync busy forever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from collector.http.client import QueryParams, VendorClient
from collector.http.errors import PaginationError, PaginationLoopError


class Paginator(Protocol):
    """Where the page after ``response`` is, given its parsed JSON ``body`` and extracted ``items``."""

    def next_url(self, response: httpx.Response, body: Any, items: Sequence[Any]) -> httpx.URL | None:
        """The next page's URL, or None after the last page."""


@dataclass(frozen=True)
class Page:
    """One page of a listing. ``next_url`` is None on the last page; a connector may checkpoint it."""

    number: int
    response: httpx.Response
    body: Any
    items: list[Any]
    next_url: httpx.URL | None


def paginate(
    client: VendorClient,
    url: str | httpx.URL,
    paginator: Paginator,
    items: Callable[[Any], Sequence[Any]],
    *,
    params: QueryParams | None = None,
    headers: Mapping[str, str] | None = None,
) -> Iterator[Page]:
    """GET ``url`` and the pages after it, yielding each as a :class:`Page`.

    ``items`` extracts a page's records from its parsed JSON body (``lambda body: body["members"]``).
    ``params`` go on the first request only; next URLs carry everything they need. Raises
    :class:`PaginationLoopError` when a next page was already fetched, :class:`PaginationError` when
    one points at another host or a page is not JSON, and :class:`VendorHTTPError` from the client.
    """
    response = client.get(url, params=params, headers=headers)
    fetched = {str(response.request.url)}
    number = 1
    while True:
        body = _json(client, response, number)
        page_items = list(items(body))
        next_url = paginator.next_url(response, body, page_items)
        if next_url is not None:
            _check_next(client, response.request.url, next_url, fetched)
        yield Page(number, response, body, page_items, next_url)
        if next_url is None:
            return
        fetched.add(str(next_url))
        response = client.get(next_url, headers=headers)
        number += 1


def _json(client: VendorClient, response: httpx.Response, number: int) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        url = client.redactor.redact(str(response.request.url))
        raise PaginationError(f"{client.vendor}: page {number} of {url} is not JSON") from None


def _check_next(client: VendorClient, current: httpx.URL, next_url: httpx.URL, fetched: set[str]) -> None:
    if (next_url.scheme, next_url.host, next_url.port) != (current.scheme, current.host, current.port):
        raise PaginationError(
            f"{client.vendor}: next page {client.redactor.redact(str(next_url))} is on another host "
            f"than {client.redactor.redact(str(current))}"
        )
    if str(next_url) in fetched:
        raise PaginationLoopError(
            f"{client.vendor}: next page {client.redactor.redact(str(next_url))} was already fetched"
        )


# A key, or keys into nested objects, locating a value in a JSON body.
KeyPath = str | tuple[str, ...]


def _dig(body: Any, path: KeyPath) -> Any:
    for key in (path,) if isinstance(path, str) else path:
        if not isinstance(body, Mapping):
            return None
        body = body.get(key)
    return body


class CursorPaginator:
    """A cursor or page token in the body, sent back as a query parameter; missing or "" ends it.

    Slack ``CursorPaginator(("response_metadata", "next_cursor"), "cursor")``; Google
    ``CursorPaginator("nextPageToken", "pageToken")``; Zoom ``CursorPaginator("next_page_token",
    "next_page_token")``; Atlassian's user search ``CursorPaginator(("links", "next"), "cursor")``
    (its ``links.next`` is a cursor there but a URL on ``GET /v1/orgs/{orgId}/users``, jira.atlassian.com
    AX-241: use :class:`BodyUrlPaginator` for that one).
    """

    def __init__(self, cursor: KeyPath, param: str) -> None:
        self.cursor = cursor
        self.param = param

    def next_url(self, response: httpx.Response, body: Any, items: Sequence[Any]) -> httpx.URL | None:
        """The request URL with the cursor parameter set to the body's cursor."""
        cursor = _dig(body, self.cursor)
        if cursor is None or cursor == "":
            return None
        return response.request.url.copy_set_param(self.param, str(cursor))


class BodyUrlPaginator:
    """A next-page URL in the body, absolute or relative to the request, followed verbatim.

    Graph ``BodyUrlPaginator("@odata.nextLink")`` (absolute, with ``$skiptoken``; VENDOR_APIS.md 2.4);
    Atlassian ``BodyUrlPaginator(("links", "next"))``; Salesforce
    ``BodyUrlPaginator("nextRecordsUrl", done="done")`` (a relative path, and ``done: true`` on the
    last page).
    """

    def __init__(self, link: KeyPath, *, done: KeyPath | None = None) -> None:
        self.link = link
        self.done = done

    def next_url(self, response: httpx.Response, body: Any, items: Sequence[Any]) -> httpx.URL | None:
        """The body's next URL resolved against the request URL, or None when absent or done."""
        if self.done is not None and _dig(body, self.done) is True:
            return None
        link = _dig(body, self.link)
        if not isinstance(link, str) or not link:
            return None
        return response.request.url.join(link)


class LinkHeaderPaginator:
    """The ``Link: <...>; rel="next"`` response header (RFC 8288): Okta, GitHub.

    Okta's System Log polled without ``until`` sends a next link on every page, empty ones included
    (VENDOR_APIS.md 3.3): ``stop_on_empty_page=True`` ends such a listing at its first empty page.
    """

    def __init__(self, *, stop_on_empty_page: bool = False) -> None:
        self.stop_on_empty_page = stop_on_empty_page

    def next_url(self, response: httpx.Response, body: Any, items: Sequence[Any]) -> httpx.URL | None:
        """The ``rel="next"`` URL, or None when there is none (or the page is empty, if asked)."""
        if self.stop_on_empty_page and not items:
            return None
        link = response.links.get("next", {}).get("url")
        return response.request.url.join(link) if link else None


class OffsetPaginator:
    """``offset``/``limit`` parameters: the next offset is this one plus the items received.

    An empty page ends the listing, and so does a page shorter than the request's ``limit``. Ask
    for at most the vendor's maximum page size: a vendor that silently caps a larger limit sends
    short pages that are not the last.
    """

    def __init__(self, *, offset_param: str = "offset", limit_param: str = "limit") -> None:
        self.offset_param = offset_param
        self.limit_param = limit_param

    def next_url(self, response: httpx.Response, body: Any, items: Sequence[Any]) -> httpx.URL | None:
        """The request URL with the offset advanced past this page, or None after the last page."""
        url = response.request.url
        if _last_page(url, self.limit_param, items):
            return None
        offset = int(url.params.get(self.offset_param, 0))
        return url.copy_set_param(self.offset_param, offset + len(items))


class PageNumberPaginator:
    """A page-number parameter (GitHub ``page``/``per_page``); ends like :class:`OffsetPaginator`."""

    def __init__(
        self, *, page_param: str = "page", size_param: str = "per_page", first_page: int = 1
    ) -> None:
        self.page_param = page_param
        self.size_param = size_param
        self.first_page = first_page

    def next_url(self, response: httpx.Response, body: Any, items: Sequence[Any]) -> httpx.URL | None:
        """The request URL with the page number advanced, or None after the last page."""
        url = response.request.url
        if _last_page(url, self.size_param, items):
            return None
        page = int(url.params.get(self.page_param, self.first_page))
        return url.copy_set_param(self.page_param, page + 1)


def _last_page(url: httpx.URL, size_param: str, items: Sequence[Any]) -> bool:
    size = url.params.get(size_param)
    return not items or (size is not None and size.isdigit() and len(items) < int(size))
