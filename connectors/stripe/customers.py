"""Reading one billed customer: a check that it exists, its subscriptions and its recent invoices."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import stripe

from collector.connector import SyncContext
from collector.http import VendorHTTPError
from collector.records import BilledItemRecord, Checkpoint, Record, RowProblem
from connectors.stripe.billing import PriceMap, billed_item, invoice_spend
from connectors.stripe.client import Call, StripeCalls, StripeShapeError, list_body, pages, plain
from connectors.stripe.settings import StripeSettings
from connectors.stripe.values import FieldError, show

SUBSCRIPTIONS = "/v1/subscriptions"
INVOICES = "/v1/invoices"
# The product behind each price, for its name in messages and invoice lines. Four levels is Stripe's
# limit for expand (VENDOR_APIS.md 4.4); the list's own "data." does not count.
SUBSCRIPTION_EXPAND = ["data.items.data.price.product"]


class CustomerReader:
    """Reads the billing of the customers in the settings; shares one :class:`PriceMap` across them."""

    def __init__(
        self, calls: StripeCalls, api: stripe.StripeClient, settings: StripeSettings, ctx: SyncContext
    ) -> None:
        self.calls = calls
        self.api = api
        self.settings = settings
        self.ctx = ctx
        self.prices = PriceMap(settings, ctx.catalog)

    def exists(self, customer: str) -> Iterator[Record]:
        """A problem when ``customer`` is not (or no longer) in the account; raises on other errors."""
        call = Call(f"/v1/customers/{customer}", {})
        try:
            raw = plain(self.calls.call(call, lambda: self.api.v1.customers.retrieve(customer)))
        except VendorHTTPError as exc:
            if exc.status != 404:
                raise
            yield RowProblem(
                where="settings.customers",
                reason=f"customer {customer} is not in this Stripe account (a typo, or a test-mode "
                f"customer read with a live key?): {exc}",
            )
            return
        if isinstance(raw, Mapping) and raw.get("deleted") is True:
            yield RowProblem(
                where="settings.customers",
                reason=f"customer {customer} was deleted in Stripe; remove it from customers",
            )

    def subscriptions(self, customer: str) -> Iterator[Record]:
        stream = f"subscriptions:{customer}"
        call = Call(
            SUBSCRIPTIONS,
            {
                "customer": customer,
                "status": "all",  # canceled and ended ones too: the analyzer filters by status
                "limit": self.settings.page_size,
                "expand": SUBSCRIPTION_EXPAND,
            },
        )
        listing = pages(self.calls, call, lambda params: self.api.v1.subscriptions.list(params=params))
        count = 0
        for page in listing:
            where = f"GET {SUBSCRIPTIONS}?customer={customer} page {page.number}"
            for index, raw in enumerate(page.items):
                label = f"data[{index}]{_id_note(raw)}"
                try:
                    items = self._items(raw)
                except (FieldError, StripeShapeError) as exc:
                    yield RowProblem(where=where, reason=f"{label}: {exc}")
                    continue
                for position, item in enumerate(items):
                    try:
                        record = billed_item(item, raw, self.prices, where, customer)
                    except FieldError as exc:
                        yield RowProblem(
                            where=where, reason=f"{label} items[{position}]{_id_note(item)}: {exc}"
                        )
                        continue
                    if record is not None:
                        count += isinstance(record, BilledItemRecord)
                        yield record
            yield Checkpoint(stream, complete=not page.has_more)
            if self.ctx.stop.is_set():
                return
        self.ctx.log.info("stripe billing: %s: %d billed item(s)", customer, count)

    def _items(self, subscription: Any) -> list[Any]:
        """Every item of a subscription: the embedded first page, then the rest if there is more."""
        if not isinstance(subscription, Mapping):
            raise FieldError(f"expected an object, got {show(subscription)}")
        sub_id = subscription.get("id")
        embedded = subscription.get("items")
        items, has_more = list_body(embedded, "items")
        if not has_more:
            return items
        if not isinstance(sub_id, str) or not items:
            raise FieldError("items: has_more without a subscription id or a first item")
        call = Call(
            "/v1/subscription_items",
            {"subscription": sub_id, "limit": 100, "expand": ["data.price.product"]},
        )
        rest = pages(
            self.calls,
            call,
            lambda params: self.api.v1.subscription_items.list(params=params),
            starting_after=_last_id(items),
        )
        return items + [item for page in rest for item in page.items]

    def invoices(self, customer: str) -> Iterator[Record]:
        stream = f"invoices:{customer}"
        since = int((self.ctx.clock() - timedelta(days=self.settings.invoice_days)).timestamp())
        call = Call(
            INVOICES, {"customer": customer, "created": {"gte": since}, "limit": self.settings.page_size}
        )
        listing = pages(self.calls, call, lambda params: self.api.v1.invoices.list(params=params))
        lines_read = 0
        for page in listing:
            where = f"GET {INVOICES}?customer={customer} page {page.number}"
            for index, invoice in enumerate(page.items):
                label = f"data[{index}]{_id_note(invoice)}"
                try:
                    lines = self._lines(invoice)
                except (FieldError, StripeShapeError) as exc:
                    yield RowProblem(where=where, reason=f"{label}: {exc}")
                    continue
                if lines is None:
                    continue  # a draft: not billed yet, and its lines may still change
                for position, line in enumerate(lines):
                    try:
                        record, problem = invoice_spend(line, invoice, self.prices, where, customer)
                    except FieldError as exc:
                        yield RowProblem(
                            where=where, reason=f"{label} lines[{position}]{_id_note(line)}: {exc}"
                        )
                        continue
                    if problem is not None:
                        yield problem
                    lines_read += 1
                    yield record
            yield Checkpoint(stream, complete=not page.has_more)
            if self.ctx.stop.is_set():
                return
        self.ctx.log.info("stripe billing: %s: %d invoice line(s)", customer, lines_read)

    def _lines(self, invoice: Any) -> list[Any] | None:
        """Every line of a finalized invoice (None for a draft): the embedded page, then the rest."""
        if not isinstance(invoice, Mapping):
            raise FieldError(f"expected an object, got {show(invoice)}")
        if invoice.get("status") == "draft":
            return None
        invoice_id = invoice.get("id")
        lines, has_more = list_body(invoice.get("lines"), "lines")
        if not has_more:
            return lines
        if not isinstance(invoice_id, str) or not lines:
            raise FieldError("lines: has_more without an invoice id or a first line")
        call = Call(f"{INVOICES}/{invoice_id}/lines", {"limit": 100})

        def send(params: Any) -> object:
            return self.api.v1.invoices.line_items.list(invoice_id, params=params)

        rest = pages(self.calls, call, send, starting_after=_last_id(lines))
        return lines + [line for page in rest for line in page.items]


def _id_note(raw: Any) -> str:
    value = raw.get("id") if isinstance(raw, Mapping) else None
    return f" ({value})" if isinstance(value, str) and value else ""


def _last_id(items: list[Any]) -> str | None:
    last = items[-1]
    value = last.get("id") if isinstance(last, Mapping) else None
    return value if isinstance(value, str) else None
