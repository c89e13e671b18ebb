"""Paginators over multi-page fakes shaped like each vendor's listings (VENDOR_APIS.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from collector.http import (
    BodyUrlPaginator,
    CursorPaginator,
    LinkHeaderPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PaginationError,
    PaginationLoopError,
    Paginator,
    Redactor,
    VendorClient,
    paginate,
)
from collector.http.testing import FakeClock

Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler, base_url: str = "https://vendor.test/") -> VendorClient:
    clock = FakeClock()
    return VendorClient(
        base_url,
        vendor="fake",
        transport=httpx.MockTransport(handler),
        redactor=Redactor(),
        clock=clock,
        sleep=clock.sleep,
    )


class Recorder:
    """Answers each URL from a table and records the URLs asked for, in order."""

    def __init__(self, pages: dict[str, httpx.Response]) -> None:
        self.pages = pages
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return self.pages[str(request.url)]


def collect(
    handler: Handler,
    url: str,
    paginator: Paginator,
    items: Callable[[Any], Any],
    params: dict[str, str | int] | None = None,
    base_url: str = "https://vendor.test/",
) -> list[list[Any]]:
    client = client_for(handler, base_url)
    return [page.items for page in paginate(client, url, paginator, items, params=params)]


def json_page(body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(200, json=body, headers=headers)


def test_slack_cursor_until_the_empty_next_cursor() -> None:
    base = "https://slack.test/api/users.list?limit=2"
    fake = Recorder(
        {
            base: json_page(
                {
                    "ok": True,
                    "members": [{"id": "U1"}, {"id": "U2"}],
                    "response_metadata": {"next_cursor": "dXNlcjpVMw=="},
                }
            ),
            base + "&cursor=dXNlcjpVMw%3D%3D": json_page(
                {"ok": True, "members": [{"id": "U3"}], "response_metadata": {"next_cursor": ""}}
            ),
        }
    )
    pages = collect(
        fake,
        "users.list",
        CursorPaginator(("response_metadata", "next_cursor"), "cursor"),
        lambda body: body["members"],
        params={"limit": 2},
        base_url="https://slack.test/api/",
    )
    assert pages == [[{"id": "U1"}, {"id": "U2"}], [{"id": "U3"}]]
    assert fake.urls == [base, base + "&cursor=dXNlcjpVMw%3D%3D"]


def test_google_page_token_until_it_is_absent() -> None:
    base = "https://google.test/admin/directory/v1/users?customer=my_customer"
    fake = Recorder(
        {
            base: json_page({"users": [{"id": "1"}], "nextPageToken": "tok2"}),
            base + "&pageToken=tok2": json_page({"users": [{"id": "2"}], "nextPageToken": "tok3"}),
            base + "&pageToken=tok3": json_page({"users": [{"id": "3"}]}),
        }
    )
    pages = collect(
        fake,
        base,
        CursorPaginator("nextPageToken", "pageToken"),
        lambda body: body["users"],
    )
    assert pages == [[{"id": "1"}], [{"id": "2"}], [{"id": "3"}]]
    assert len(fake.urls) == 3


def test_zoom_next_page_token_replaces_the_previous_token() -> None:
    base = "https://zoom.test/v2/users?page_size=300"
    fake = Recorder(
        {
            base: json_page({"users": [{"id": "a"}], "next_page_token": "t1"}),
            base + "&next_page_token=t1": json_page({"users": [{"id": "b"}], "next_page_token": "t2"}),
            base + "&next_page_token=t2": json_page({"users": [{"id": "c"}], "next_page_token": ""}),
        }
    )
    pages = collect(fake, base, CursorPaginator("next_page_token", "next_page_token"), lambda b: b["users"])
    assert pages == [[{"id": "a"}], [{"id": "b"}], [{"id": "c"}]]
    assert fake.urls[2] == base + "&next_page_token=t2"


def test_okta_link_header_next() -> None:
    first = "https://corp.okta.test/api/v1/users?limit=2"
    second = "https://corp.okta.test/api/v1/users?after=00u2&limit=2"
    fake = Recorder(
        {
            first: json_page(
                [{"id": "00u1"}, {"id": "00u2"}],
                {"Link": f'<{first}>; rel="self", <{second}>; rel="next"'},
            ),
            second: json_page([{"id": "00u3"}], {"Link": f'<{second}>; rel="self"'}),
        }
    )
    pages = collect(fake, first, LinkHeaderPaginator(), lambda body: body)
    assert pages == [[{"id": "00u1"}, {"id": "00u2"}], [{"id": "00u3"}]]
    assert fake.urls == [first, second]


def test_okta_system_log_polling_stops_at_the_first_empty_page() -> None:
    base = "https://corp.okta.test/api/v1/logs?since=2024-05-01T00%3A00%3A00Z"

    def log_page(events: list[dict[str, str]], after: str) -> httpx.Response:
        # Okta sends a next link on every polling page, empty ones included (VENDOR_APIS.md 3.3).
        return json_page(events, {"Link": f'<{base}&after={after}>; rel="next"'})

    fake = Recorder(
        {
            base: log_page([{"uuid": "e1"}, {"uuid": "e2"}], "e2"),
            base + "&after=e2": log_page([{"uuid": "e3"}], "e3"),
            base + "&after=e3": log_page([], "e3"),
        }
    )
    pages = collect(fake, base, LinkHeaderPaginator(stop_on_empty_page=True), lambda body: body)
    assert pages == [[{"uuid": "e1"}, {"uuid": "e2"}], [{"uuid": "e3"}], []]
    assert len(fake.urls) == 3

    # Without the option the repeated next link of the empty page is caught as a loop.
    with pytest.raises(PaginationLoopError):
        collect(fake, base, LinkHeaderPaginator(), lambda body: body)


def test_graph_next_link_is_followed_verbatim() -> None:
    first = "https://graph.test/v1.0/users?$select=id,signInActivity&$top=2"
    second = "https://graph.test/v1.0/users?$select=id,signInActivity&$top=2&$skiptoken=RFNwdAIAAQAAAD8%3a"
    fake = Recorder(
        {
            first: json_page({"value": [{"id": "1"}, {"id": "2"}], "@odata.nextLink": second}),
            second: json_page({"value": [{"id": "3"}]}),
        }
    )
    pages = collect(fake, first, BodyUrlPaginator("@odata.nextLink"), lambda body: body["value"])
    assert pages == [[{"id": "1"}, {"id": "2"}], [{"id": "3"}]]
    assert fake.urls == [first, second]


def test_salesforce_relative_next_records_url_until_done() -> None:
    first = "https://acme.my.salesforce.test/services/data/v62.0/query?q=SELECT+Id+FROM+User"
    second = "https://acme.my.salesforce.test/services/data/v62.0/query/01gD0000002HU6KIAW-2000"
    fake = Recorder(
        {
            first: json_page(
                {
                    "totalSize": 3,
                    "done": False,
                    "nextRecordsUrl": "/services/data/v62.0/query/01gD0000002HU6KIAW-2000",
                    "records": [{"Id": "005a"}, {"Id": "005b"}],
                }
            ),
            # A stale nextRecordsUrl next to done: true must not be followed.
            second: json_page(
                {
                    "totalSize": 3,
                    "done": True,
                    "nextRecordsUrl": "/services/data/v62.0/query/x",
                    "records": [{"Id": "005c"}],
                }
            ),
        }
    )
    pages = collect(
        fake, first, BodyUrlPaginator("nextRecordsUrl", done="done"), lambda body: body["records"]
    )
    assert pages == [[{"Id": "005a"}, {"Id": "005b"}], [{"Id": "005c"}]]
    assert fake.urls == [first, second]


def test_atlassian_links_next_url() -> None:
    first = "https://atlassian.test/admin/v1/orgs/o1/users"
    second = "https://atlassian.test/admin/v1/orgs/o1/users?cursor=abc"
    fake = Recorder(
        {
            first: json_page({"data": [{"account_id": "a1"}], "links": {"self": first, "next": second}}),
            second: json_page({"data": [{"account_id": "a2"}], "links": {"self": second, "next": None}}),
        }
    )
    pages = collect(fake, first, BodyUrlPaginator(("links", "next")), lambda body: body["data"])
    assert pages == [[{"account_id": "a1"}], [{"account_id": "a2"}]]


def offset_fake(total: int) -> tuple[Handler, list[tuple[int, int]]]:
    asked: list[tuple[int, int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params.get("offset", 0)), int(request.url.params["limit"])
        asked.append((offset, limit))
        return json_page({"items": list(range(total))[offset : offset + limit]})

    return handler, asked


def test_offset_stops_on_a_short_page() -> None:
    handler, asked = offset_fake(total=5)
    pages = collect(handler, "things", OffsetPaginator(), lambda body: body["items"], params={"limit": 2})
    assert pages == [[0, 1], [2, 3], [4]]
    assert asked == [(0, 2), (2, 2), (4, 2)]


def test_offset_stops_on_an_empty_page() -> None:
    handler, asked = offset_fake(total=4)
    pages = collect(handler, "things", OffsetPaginator(), lambda body: body["items"], params={"limit": 2})
    assert pages == [[0, 1], [2, 3], []]
    assert asked == [(0, 2), (2, 2), (4, 2)]


def test_page_numbers_until_a_short_page() -> None:
    seats = [{"assignee": {"login": f"user{i}"}} for i in range(5)]
    asked: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        page, size = int(request.url.params["page"]), int(request.url.params["per_page"])
        asked.append(page)
        return json_page({"total_seats": 5, "seats": seats[(page - 1) * size : page * size]})

    pages = collect(
        handler,
        "orgs/acme/copilot/billing/seats",
        PageNumberPaginator(),
        lambda body: body["seats"],
        params={"page": 1, "per_page": 2},
    )
    assert [len(p) for p in pages] == [2, 2, 1]
    assert asked == [1, 2, 3]


def test_a_repeated_cursor_raises_a_loop_error() -> None:
    served: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(str(request.url))
        # The vendor keeps handing out the same cursor.
        return json_page({"members": [{"id": "U1"}], "response_metadata": {"next_cursor": "c1"}})

    client = client_for(handler)
    pages = paginate(
        client,
        "users.list",
        CursorPaginator(("response_metadata", "next_cursor"), "cursor"),
        lambda body: body["members"],
    )
    assert next(pages).number == 1
    with pytest.raises(PaginationLoopError, match=r"cursor=c1 was already fetched"):
        next(pages)
    assert len(served) == 2


def test_a_link_pointing_back_to_the_first_page_is_a_loop() -> None:
    url = "https://vendor.test/items"
    fake = Recorder({url: json_page([1], {"Link": f'<{url}>; rel="next"'})})
    with pytest.raises(PaginationLoopError):
        collect(fake, url, LinkHeaderPaginator(), lambda body: body)
    assert fake.urls == [url]


def test_a_next_page_on_another_host_is_refused() -> None:
    url = "https://graph.test/v1.0/users"
    fake = Recorder(
        {url: json_page({"value": [], "@odata.nextLink": "https://evil.test/v1.0/users?$skiptoken=1"})}
    )
    with pytest.raises(PaginationError, match="another host"):
        collect(fake, url, BodyUrlPaginator("@odata.nextLink"), lambda body: body["value"])
    assert fake.urls == [url]


def test_pages_carry_the_next_url_so_a_listing_can_resume_there() -> None:
    first = "https://vendor.test/items?limit=1"
    second = "https://vendor.test/items?limit=1&cursor=b"
    fake = Recorder(
        {
            first: json_page({"items": ["a"], "next": "b"}),
            second: json_page({"items": ["b"], "next": ""}),
        }
    )
    paginator = CursorPaginator("next", "cursor")
    pages = list(paginate(client_for(fake), first, paginator, lambda body: body["items"]))
    assert [(p.number, str(p.next_url) if p.next_url else None) for p in pages] == [(1, second), (2, None)]

    resumed = list(paginate(client_for(fake), str(pages[0].next_url), paginator, lambda body: body["items"]))
    assert [p.items for p in resumed] == [["b"]]


def test_a_page_that_is_not_json_is_an_error() -> None:
    fake = Recorder({"https://vendor.test/items": httpx.Response(200, text="<html>maintenance</html>")})
    with pytest.raises(PaginationError) as caught:
        collect(fake, "items", LinkHeaderPaginator(), lambda body: body)
    assert str(caught.value) == "fake: page 1 of https://vendor.test/items is not JSON"
