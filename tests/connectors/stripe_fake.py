"""A fake of the Stripe REST API (v1) as stripe-python 16 calls it; serve it with FakeServer.

It serves, read-only: ``GET /v1/issuing/transactions``, ``/v1/customers/{id}``, ``/v1/subscriptions``,
``/v1/subscription_items``, ``/v1/invoices`` and ``/v1/invoices/{id}/lines``. Lists are Stripe list
objects (``{object: "list", data, has_more, url}``) newest first, paged with ``limit`` (1-100) and
``starting_after``, filtered by ``created[gte|gt|lte|lt]``, ``customer``, ``status`` and
``subscription``; ``expand[]`` of the price's product is honoured, other expansions are refused the
way Stripe refuses them. Embedded sub-lists (a subscription's items, an invoice's lines) carry only
their first page, like the real API. Errors use Stripe's body ``{"error": {type, code, message}}``.

Knobs reproduce what the real API does: 401 for a wrong key, 403 for a restricted key without a
permission (Stripe's own wording, naming the ``rak_..._read`` permission), 429 with and without
``Stripe-Should-Retry``, 5xx, and a page that keeps failing in the middle of a listing.
Data comes from ``data/stripe/*.json``: scrubbed, fake ids, example.com addresses.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

DATA = Path(__file__).with_name("data") / "stripe"
API_KEY = "rk_test_51FakeKeyAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
ACCOUNT = "acct_1FakeAccount0001"
API_VERSION = "2026-10-28.endive"

# The permission Stripe names in a 403 for each endpoint (its wording: "Having the 'rak_..._read'
# permission would allow this request to continue").
PERMISSIONS = {
    "/v1/issuing/transactions": "rak_issuing_transaction_read",
    "/v1/customers": "rak_customer_read",
    "/v1/subscriptions": "rak_subscription_read",
    "/v1/subscription_items": "rak_subscription_read",
    "/v1/invoices": "rak_invoice_read",
}
EXPANDABLE = {
    "/v1/subscriptions": {"data.items.data.price.product"},
    "/v1/subscription_items": {"data.price.product"},
}


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def stripe_error(
    status: int,
    message: str,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    error: dict[str, Any] = {"type": type, "message": message}
    if code:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    return httpx.Response(
        status, json={"error": error}, headers={"Request-Id": "req_fakeError0001", **(headers or {})}
    )


def rate_limited(should_retry: bool | None = None) -> httpx.Response:
    """Stripe's 429. It sends ``Stripe-Should-Retry`` only sometimes; stripe-python retries only then."""
    headers = {} if should_retry is None else {"Stripe-Should-Retry": "true" if should_retry else "false"}
    return stripe_error(
        429,
        "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
        type="invalid_request_error",
        code="rate_limit",
        headers=headers,
    )


def server_error(status: int = 500) -> httpx.Response:
    return stripe_error(
        status,
        "An unknown error occurred",
        type="api_error",
        headers={"Stripe-Should-Retry": "true"} if status == 503 else None,
    )


class StripeFake:
    """``__call__(request) -> response``; serve it with ``harness.FakeServer``."""

    def __init__(
        self,
        transactions: list[Any] | None = None,
        subscriptions: list[Any] | None = None,
        invoices: list[Any] | None = None,
    ) -> None:
        self.transactions: list[Any] = load("transactions.json") if transactions is None else transactions
        self.subscriptions: list[Any] = load("subscriptions.json") if subscriptions is None else subscriptions
        self.invoices: list[Any] = load("invoices.json") if invoices is None else invoices
        self.customers: dict[str, Any] = load("customers.json")
        self.products: dict[str, Any] = load("products.json")
        self.api_key = API_KEY
        self.requests: list[httpx.Request] = []
        # (path prefix, response): served instead of the real answer to the next matching request.
        self.injected: list[tuple[str, httpx.Response]] = []
        self.denied: set[str] = set()  # path prefixes the restricted key has no permission for
        # (path, page number): that page of a listing fails with HTTP 500 on every try.
        self.broken_page: tuple[str, int] | None = None
        self.embedded_items = 10  # a subscription carries its first 10 items, like Stripe's
        self.embedded_lines = 10  # an invoice carries its first 10 lines

    # -- plumbing ------------------------------------------------------------------------------------

    def inject(self, path_prefix: str, *responses: httpx.Response) -> None:
        self.injected.extend((path_prefix, r) for r in responses)

    def calls_to(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        for index, (prefix, response) in enumerate(self.injected):
            if path.startswith(prefix):
                del self.injected[index]
                return response
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        if key != self.api_key:
            shown = f"{key[:8]}{'*' * max(0, len(key) - 12)}{key[-4:]}" if len(key) > 12 else "***"
            return stripe_error(401, f"Invalid API Key provided: {shown}")
        denied = next((p for p in self.denied if path.startswith(p)), None)
        if denied is not None:
            return stripe_error(
                403,
                f"The provided key '{key[:8]}{'*' * 24}{key[-6:]}' does not have the required permissions "
                f"for this endpoint on account '{ACCOUNT}'. Having the '{PERMISSIONS[denied]}' permission "
                "would allow this request to continue.",
            )
        if request.method != "GET":
            return stripe_error(405, "This fake is read-only.")
        route = self._route(path)
        if route is None:
            return stripe_error(404, f"Unrecognized request URL (GET: {path}).", code="resource_missing")
        response = route(request)
        response.headers["Request-Id"] = f"req_fake{len(self.requests):06d}"
        response.headers["Stripe-Version"] = request.headers.get("stripe-version", API_VERSION)
        return response

    def _route(self, path: str) -> Callable[[httpx.Request], httpx.Response] | None:
        parts = path.strip("/").split("/")
        if path == "/v1/issuing/transactions":
            return self._transactions
        if path == "/v1/subscriptions":
            return self._subscriptions
        if path == "/v1/subscription_items":
            return self._subscription_items
        if path == "/v1/invoices":
            return self._invoices
        if len(parts) == 3 and parts[:2] == ["v1", "customers"]:
            return lambda request: self._customer(parts[2])
        if len(parts) == 4 and parts[:2] == ["v1", "invoices"] and parts[3] == "lines":
            return lambda request: self._invoice_lines(request, parts[2])
        return None

    # -- endpoints -----------------------------------------------------------------------------------

    def _transactions(self, request: httpx.Request) -> httpx.Response:
        return self._list(request, _by_created(self.transactions), "issuing transaction")

    def _customer(self, customer_id: str) -> httpx.Response:
        customer = self.customers.get(customer_id)
        if customer is None:
            return stripe_error(404, f"No such customer: '{customer_id}'", code="resource_missing")
        return httpx.Response(200, json=customer)

    def _subscriptions(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        status = params.get("status")
        subs = [s for s in self.subscriptions if params.get("customer") in (None, s.get("customer"))]
        if status is None:
            subs = [s for s in subs if s.get("status") not in ("canceled", "incomplete_expired")]
        elif status != "all":
            subs = [s for s in subs if s.get("status") == status]
        expand = "data.items.data.price.product" in _expand(params)
        shown = [self._subscription(s, expand) for s in _by_created(subs)]
        return self._list(request, shown, "subscription")

    def _subscription(self, sub: Any, expand: bool) -> Any:
        sub = copy.deepcopy(sub)
        items = sub.get("items") if isinstance(sub, dict) else None
        if isinstance(items, dict) and isinstance(items.get("data"), list):
            data = [self._expand_price(i) if expand else i for i in items["data"]]
            items["data"] = data[: self.embedded_items]
            items["has_more"] = len(data) > self.embedded_items
        return sub

    def _subscription_items(self, request: httpx.Request) -> httpx.Response:
        sub_id = request.url.params.get("subscription")
        sub = next((s for s in self.subscriptions if s.get("id") == sub_id), None)
        if sub is None:
            return stripe_error(404, f"No such subscription: '{sub_id}'", code="resource_missing")
        expand = "data.price.product" in _expand(request.url.params)
        items = [self._expand_price(i) if expand else i for i in sub["items"]["data"]]
        return self._list(request, items, "subscription item")

    def _expand_price(self, item: Any) -> Any:
        item = copy.deepcopy(item)
        price = item.get("price") if isinstance(item, dict) else None
        if isinstance(price, dict) and isinstance(price.get("product"), str):
            price["product"] = self.products.get(price["product"], price["product"])
        return item

    def _invoices(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        invoices = [i for i in self.invoices if params.get("customer") in (None, i.get("customer"))]
        if params.get("status"):
            invoices = [i for i in invoices if i.get("status") == params["status"]]
        shown = []
        for invoice in _by_created(invoices):
            invoice = copy.deepcopy(invoice)
            lines = invoice["lines"]
            lines["has_more"] = len(lines["data"]) > self.embedded_lines
            lines["data"] = lines["data"][: self.embedded_lines]
            shown.append(invoice)
        return self._list(request, shown, "invoice")

    def _invoice_lines(self, request: httpx.Request, invoice_id: str) -> httpx.Response:
        invoice = next((i for i in self.invoices if i.get("id") == invoice_id), None)
        if invoice is None:
            return stripe_error(404, f"No such invoice: '{invoice_id}'", code="resource_missing")
        return self._list(request, invoice["lines"]["data"], "invoice line item")

    # -- lists ---------------------------------------------------------------------------------------

    def _list(self, request: httpx.Request, items: list[Any], noun: str) -> httpx.Response:
        """A Stripe list object: ``items`` filtered by ``created[...]``, paged by ``starting_after``."""
        params = request.url.params
        path = request.url.path
        unknown = _expand(params) - EXPANDABLE.get(path, set())
        if unknown:
            field = sorted(unknown)[0]
            return stripe_error(400, f"This property cannot be expanded ({field}).", code="parameter_invalid")
        try:
            limit = int(params.get("limit", "10"))
            bounds = {
                op: int(params[f"created[{op}]"])
                for op in ("gt", "gte", "lt", "lte")
                if f"created[{op}]" in params
            }
        except ValueError:
            return stripe_error(400, "Invalid integer", code="parameter_invalid_integer")
        if not 1 <= limit <= 100:
            return stripe_error(
                400, "Invalid limit: must be between 1 and 100", code="parameter_invalid_integer"
            )
        items = [i for i in items if _created_within(i, bounds)]
        start = 0
        after = params.get("starting_after")
        if after:
            ids = [i.get("id") if isinstance(i, dict) else None for i in items]
            if after not in ids:
                return stripe_error(400, f"No such {noun}: '{after}'", code="resource_missing")
            start = ids.index(after) + 1
        page = start // limit + 1 if start % limit == 0 else None
        if self.broken_page is not None and self.broken_page == (path, page):
            return server_error(500)
        chunk = items[start : start + limit]
        return httpx.Response(
            200,
            json={"object": "list", "data": chunk, "has_more": start + limit < len(items), "url": path},
        )


def _expand(params: httpx.QueryParams) -> set[str]:
    # stripe-python sends expand[0]=...&expand[1]=...; curl users send expand[]=...
    return {
        v for k, v in params.multi_items() if k == "expand[]" or (k.startswith("expand[") and k.endswith("]"))
    }


def _by_created(items: list[Any]) -> list[Any]:
    """Newest first, like every Stripe list (a malformed ``created`` sorts as 0)."""

    def key(item: Any) -> tuple[int, str]:
        created = item.get("created") if isinstance(item, dict) else None
        return (
            created if isinstance(created, int) else 0,
            str(item.get("id", "")) if isinstance(item, dict) else "",
        )

    return sorted(items, key=key, reverse=True)


def _created_within(item: Any, bounds: dict[str, int]) -> bool:
    created = item.get("created") if isinstance(item, dict) else None
    if not bounds:
        return True
    if not isinstance(created, int):
        return True  # a malformed item: the connector's problem, not the filter's
    checks = {
        "gt": lambda b: created > b,
        "gte": lambda b: created >= b,
        "lt": lambda b: created < b,
        "lte": lambda b: created <= b,
    }
    return all(checks[op](bound) for op, bound in bounds.items())
