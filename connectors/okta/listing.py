"""Following one Okta listing page by page (``Link: rel="next"``), with the where of each page."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from collector.http import (
    LinkHeaderPaginator,
    Page,
    PaginationError,
    PaginationLoopError,
    VendorClient,
    paginate,
)
from collector.http.client import QueryParams


class OktaPayloadError(Exception):
    """A page that is not what the endpoint returns (not a JSON array): the listing cannot go on."""


def json_array(where: str) -> Callable[[Any], Sequence[Any]]:
    """The items of a page whose body must be a JSON array, as every Okta listing's is."""

    def items(body: Any) -> Sequence[Any]:
        if not isinstance(body, list):
            raise OktaPayloadError(f"{where}: expected a JSON array, got {type(body).__name__}")
        return body

    return items


def pages(
    client: VendorClient,
    path: str,
    params: QueryParams,
    where: str,
    *,
    stop_on_empty_page: bool = False,
) -> Iterator[Page]:
    """The pages of ``GET path?params``; ``where`` names the listing in errors and problems."""
    return paginate(
        client,
        path,
        LinkHeaderPaginator(stop_on_empty_page=stop_on_empty_page),
        items=json_array(where),
        params=params,
    )


def decoded_pages(
    client: VendorClient,
    path: str,
    params: QueryParams,
    where: str,
    decoder: json.JSONDecoder,
    *,
    stop_on_empty_page: bool = False,
) -> Iterator[Page]:
    """Like :func:`pages`, each body parsed with ``decoder`` (one with an ``object_hook``).

    :func:`collector.http.paginate` parses with ``response.json()``; the System Log's pages are
    2 MB each and millions of events a sync, and a hook that keeps only what is needed of each
    event as it is parsed saves half the parsing time (the garbage collector otherwise walks every
    nested object of the page). Same checks as ``paginate``: same host, no page fetched twice.
    """
    paginator = LinkHeaderPaginator(stop_on_empty_page=stop_on_empty_page)
    response = client.get(path, params=params)
    fetched = {str(response.request.url)}
    number = 1
    while True:
        try:
            body = decoder.decode(response.content.decode("utf-8")) if response.content else None
        except ValueError:
            url = client.redactor.redact(str(response.request.url))
            raise PaginationError(f"{client.vendor}: page {number} of {url} is not JSON") from None
        items = json_array(where)(body)
        next_url = paginator.next_url(response, body, items)
        if next_url is not None:
            _check_next(client, response.request.url, next_url, fetched)
        yield Page(number, response, body, list(items), next_url)
        if next_url is None:
            return
        fetched.add(str(next_url))
        response = client.get(next_url)
        number += 1


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
