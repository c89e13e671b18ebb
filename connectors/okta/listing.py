"""Following one Okta listing page by page (``Link: rel="next"``), with the where of each page."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from collector.http import LinkHeaderPaginator, Page, VendorClient, paginate
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
