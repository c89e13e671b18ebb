"""An MSP's Stripe billing of this tenant: subscription items as billed seats, invoice lines as spend.

Shapes are those of the API version stripe-python 16.1.0 pins (2026-10-28.endive, VENDOR_APIS.md
4.3): the billing period (``current_period_start/end``) lives on each subscription *item*, not on the
subscription; an invoice line names its price under ``pricing.price_details`` (the old
``line.price`` is gone). Older shapes are read as a fallback, since an account's webhooks and an
old pinned SDK may still show them.

A price becomes an app and SKU only through the settings (``prices``, else ``products``): the SKU
must equal the vendor SKU the seat sources report, or reconciliation compares nothing. Each price
without a mapping is reported once per run, naming the settings key to add.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from collector.catalog import Catalog
from collector.records import BilledItemRecord, BillingPeriod, RowProblem, SpendRecord
from connectors.stripe.settings import BilledAs, StripeSettings
from connectors.stripe.values import (
    FieldError,
    currency,
    day_of,
    decimal,
    epoch,
    integer,
    major_units,
    mapping,
    object_id,
    required_epoch,
    required_integer,
    required_text,
    show,
    text,
)

# Invoices in these states no longer ask for money: their lines are stored at 0, so a line read while
# the invoice was open is corrected when it is voided (spend lines are never deleted by a run).
CANCELLED_INVOICES = frozenset({"void", "uncollectible"})
MAX_MERCHANT_CHARS = 200


class PriceMap:
    """Settings' price -> app/SKU mapping, the product names seen so far, and the prices reported."""

    def __init__(self, settings: StripeSettings, catalog: Catalog) -> None:
        self.settings = settings
        self.catalog = catalog
        self.product_names: dict[str, str] = {}
        self._reported: set[str] = set()

    def learn_product(self, product: Any) -> tuple[str | None, str | None]:
        """The id and name of an expandable ``product`` (an id, or the expanded object)."""
        if isinstance(product, Mapping):
            product_id, name = text(product, "id"), text(product, "name")
            if product_id and name:
                self.product_names[product_id] = name
            return product_id, name
        if isinstance(product, str) and product:
            return product, self.product_names.get(product)
        return None, None

    def unmapped(
        self, where: str, price_id: str, product_id: str | None, product_name: str | None, customer: str
    ) -> RowProblem | None:
        """A problem for an unmapped price the first time it is met in this run, else None."""
        if price_id in self._reported or self.settings.ignored(price_id, product_id):
            return None
        self._reported.add(price_id)
        product = f"product {product_id}" if product_id else "no product"
        if product_name:
            product += f" {product_name!r}"
        hint = f"prices: {{{price_id}: {{app: <app id>, sku: <SKU name>}}}}"
        if product_id:
            hint += f" (or the same under products: {product_id})"
        return RowProblem(
            where=where,
            reason=(
                f"price {price_id} ({product}, customer {customer}) is not mapped to an app and SKU: "
                f"add {hint} to the stripe settings, or list it under ignore_prices"
            ),
        )


# -- subscriptions -----------------------------------------------------------------------------------


def period_of(price: Mapping[str, Any]) -> BillingPeriod | None:
    """Monthly or annual from ``price.recurring``; other cadences (weekly, quarterly) have no match."""
    recurring = mapping(price, "recurring")
    if recurring is None:
        return None
    interval = text(recurring, "interval")
    count = integer(recurring, "interval_count") or 1
    if (interval, count) == ("month", 1):
        return BillingPeriod.MONTHLY
    if (interval, count) in {("year", 1), ("month", 12)}:
        return BillingPeriod.ANNUAL
    return None


def unit_price(price: Mapping[str, Any], code: str) -> Decimal | None:
    """The per-unit price in whole currency units; None for tiered prices, which have no single one."""
    minor = decimal(price, "unit_amount_decimal")
    if minor is None:
        whole = integer(price, "unit_amount")
        minor = Decimal(whole) if whole is not None else None
    return None if minor is None else major_units(minor, code)


def billed_item(
    item: Any, subscription: Mapping[str, Any], prices: PriceMap, where: str, customer: str
) -> BilledItemRecord | RowProblem | None:
    """A subscription item as a billed item; a problem for an unmapped price; None to skip it.

    Raises :class:`FieldError` naming the field when the item cannot be read.
    """
    if not isinstance(item, Mapping):
        raise FieldError(f"expected an object, got {show(item)}")
    item_id = required_text(item, "id")
    price = mapping(item, "price")
    if price is None:
        raise FieldError("price: missing")
    price_id = required_text(price, "id")
    product_id, product_name = prices.learn_product(price.get("product"))
    mapped: BilledAs | None = prices.settings.billed_as(price_id, product_id)
    if mapped is None:
        return prices.unmapped(where, price_id, product_id, product_name, customer)
    quantity = integer(item, "quantity")
    if quantity is None:
        return None  # a metered (usage-based) price bills usage, not seats
    code = currency(price) if price.get("currency") is not None else currency(subscription)
    # The period end moved from the subscription to its items in API version 2025-03-31.basil.
    period_end: datetime | None = epoch(item, "current_period_end") or epoch(
        subscription, "current_period_end"
    )
    return BilledItemRecord(
        external_id=item_id,
        app_id=mapped.app,
        sku=mapped.sku,
        quantity=quantity,
        unit_price=unit_price(price, code),
        currency=code.upper(),
        billing_period=period_of(price),
        status=required_text(subscription, "status"),
        customer_id=object_id(subscription, "customer") or customer,
        current_period_end=period_end,
    )


# -- invoices ----------------------------------------------------------------------------------------


def line_price(line: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The price and product ids of an invoice line, in the current shape or the pre-2025 one."""
    pricing = mapping(line, "pricing")
    details = mapping(pricing, "price_details") if pricing is not None else None
    if details is not None:
        return object_id(details, "price"), object_id(details, "product")
    legacy = mapping(line, "price")  # before 2025-03-31.basil
    if legacy is not None:
        return object_id(legacy, "id"), object_id(legacy, "product")
    return None, None


def invoice_spend(
    line: Any, invoice: Mapping[str, Any], prices: PriceMap, where: str, customer: str
) -> tuple[SpendRecord, RowProblem | None]:
    """One invoice line as invoice spend, and a problem when its price is not mapped.

    Raises :class:`FieldError` naming the field when the line or its invoice cannot be read.
    """
    if not isinstance(line, Mapping):
        raise FieldError(f"expected an object, got {show(line)}")
    line_id = required_text(line, "id")
    amount = required_integer(line, "amount")
    code = currency(line) if line.get("currency") is not None else currency(invoice)
    status = required_text(invoice, "status")
    billed_on = epoch(invoice, "effective_at") or required_epoch(invoice, "created")
    price_id, product_id = line_price(line)
    product_name = prices.product_names.get(product_id or "")
    label = text(line, "description")
    problem = None
    number = text(invoice, "number") or text(invoice, "id") or "?"
    note = f"invoice {number} ({status})"
    mapped = prices.settings.billed_as(price_id, product_id)
    if mapped is not None:
        app_id: str | None = mapped.app
    elif prices.settings.ignored(price_id, product_id):
        app_id = None  # said not to be a software license: no guessing
    else:
        # A guess from the product name or the line text; the price is still reported, since a
        # guess can be wrong ("Backup for M365" is not Microsoft 365) and billed seats need the map.
        entry = prices.catalog.match(product_name) or prices.catalog.match(label)
        app_id = entry.id if entry else None
        if entry is not None:
            note += f", app {entry.id} guessed from the product name"
        if price_id:
            problem = prices.unmapped(where, price_id, product_id, product_name, customer)
    if status in CANCELLED_INVOICES:
        amount = 0
    record = SpendRecord(
        external_id=line_id,
        spent_on=day_of(billed_on),
        amount=major_units(amount, code),
        currency=code.upper(),
        merchant=(product_name or label or f"Stripe invoice {number}")[:MAX_MERCHANT_CHARS],
        app_id=app_id,
        description=f"{note}: {label}" if label else note,
        kind="invoice",
    )
    return record, problem
