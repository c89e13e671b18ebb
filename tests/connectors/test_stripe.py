"""stripe: card spend from Issuing transactions and an MSP's billing (subscriptions, invoices) from a
fake of the Stripe API served over HTTP to stripe-python; signs, currencies, merchant matching,
incremental and resumed listings, price mapping, retries, permissions, a failure mid-sync, and a run
through the daemon."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from harness import FakeServer, sync_through_daemon, write_config
from pydantic import ValidationError
from sqlalchemy import select
from stripe_fake import API_KEY, API_VERSION, StripeFake, rate_limited, server_error

from collector.catalog import Catalog, CatalogEntry, builtin_catalog
from collector.config import Config, ConnectorConfig, TenantConfig
from collector.connector import SyncContext
from collector.health import source_health
from collector.http import PaginationLoopError, RateLimiterRegistry, RetryPolicy, VendorHTTPError
from collector.http import RateLimitError as HTTPRateLimitError
from collector.http.testing import FakeClock
from collector.models import BilledItem, SpendLine, SyncState
from collector.records import (
    BilledItemRecord,
    BillingPeriod,
    Checkpoint,
    Record,
    RowProblem,
    SpendRecord,
)
from collector.registry import get_connector
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config
from connectors.stripe import StripeConnector
from connectors.stripe.settings import StripeSettings

R = TypeVar("R")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TXNS = "/v1/issuing/transactions"
ACME = "cus_FakeAcme000001"
ACME_EU = "cus_FakeAcmeEU0001"
TIMES = "\u00d7"  # the multiplication sign Stripe writes in line descriptions ("25 x Product")


def entry(app_id: str, name: str, **fields: Any) -> CatalogEntry:
    return CatalogEntry(id=app_id, name=name, vendor=name, category="test", **fields)


# A test-local catalog: the built-in one is still being filled in.
CATALOG = Catalog(
    [
        entry(
            "slack",
            "Slack",
            domains=("slack.com",),
            aliases=("slack technologies",),
            merchant_descriptors=("SLACK T",),
        ),
        entry("zoom", "Zoom", domains=("zoom.us",), aliases=("zoom video communications",)),
        entry("notion", "Notion", domains=("notion.so",), aliases=("notion labs",)),
        entry("figma", "Figma", domains=("figma.com",)),
        entry("m365", "Microsoft 365", aliases=("microsoft 365", "office 365")),
    ]
)

BILLING: dict[str, Any] = {
    "issuing": False,
    "customers": [ACME, ACME_EU],
    "prices": {
        "price_FakeM365BPmonthly01": {"app": "m365", "sku": "Microsoft 365 Business Premium"},
        "price_FakeM365BPeur0001": {"app": "m365", "sku": "Microsoft 365 Business Premium"},
    },
    "products": {
        "prod_FakeSlackBP0001": {"app": "slack", "sku": "Slack Business+"},
        "prod_FakeZoomPro0001": {"app": "zoom", "sku": "Zoom Workplace Pro"},
        "prod_FakeSupport0001": {"app": "helpdesk", "sku": "Hours"},
        "prod_FakeStorage0001": {"app": "storage", "sku": "Cloud storage"},
    },
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def only(records: Sequence[Record], kind: type[R]) -> list[R]:
    return [r for r in records if isinstance(r, kind)]


class Harness:
    """A fake served over HTTP, and a connector pointed at it that never sleeps."""

    def __init__(self, fake: StripeFake, server: FakeServer) -> None:
        self.fake = fake
        self.server = server
        self.sleeps: list[float] = []
        self.clock = FakeClock()

    def settings(self, **overrides: Any) -> StripeSettings:
        raw = {"api_key": API_KEY, "api_base": self.server.url, "page_size": 5, "requests_per_second": 1000}
        return StripeSettings.model_validate(raw | overrides)

    def connector(self, **overrides: Any) -> StripeConnector:
        return StripeConnector(
            self.settings(**overrides),
            retry=RetryPolicy(max_attempts=4, backoff_base=1.0),
            sleep=self.sleeps.append,
            draw=lambda: 0.5,
            limiters=RateLimiterRegistry(clock=self.clock, sleep=self.clock.sleep),
        )

    def context(
        self, cursors: dict[str, dict[str, Any]] | None = None, catalog: Catalog = CATALOG
    ) -> SyncContext:
        return SyncContext(
            tenant_id="acme",
            source="stripe",
            base_dir=Path("."),
            cursors=cursors or {},
            clock=lambda: NOW,
            catalog=catalog,
        )

    def sync(
        self, cursors: dict[str, dict[str, Any]] | None = None, catalog: Catalog = CATALOG, **overrides: Any
    ) -> list[Record]:
        return list(self.connector(**overrides).sync(self.context(cursors, catalog)))


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    # One server for the module: closing one waits out its half-second poll.
    with FakeServer(StripeFake()) as served:
        yield served


@pytest.fixture
def stripe_api(server: FakeServer) -> Harness:
    fake = StripeFake()
    server.handler = fake
    return Harness(fake, server)


def last_cursor(records: Sequence[Record], stream: str) -> dict[str, Any]:
    cursors = [c.cursor for c in only(records, Checkpoint) if c.stream == stream and c.cursor is not None]
    return dict(cursors[-1])


# -- card spend ---------------------------------------------------------------------------------------


def test_card_spend_lands_on_apps_with_stripe_signs_and_currencies(stripe_api: Harness) -> None:
    records = stripe_api.sync()

    assert only(records, RowProblem) == []
    spend = {s.external_id: (s.app_id, s.amount, s.currency, s.spent_on) for s in only(records, SpendRecord)}
    assert spend == {
        # Messy descriptors land on their apps: "SLACK T<team>", a phone number after the domain, a
        # Square prefix, a legal name.
        "ipi_1FakeTxn0001AbCdEfGh": ("slack", Decimal("875.00"), "USD", date(2026, 10, 5)),
        "ipi_1FakeTxn0002AbCdEfGh": ("zoom", Decimal("149.90"), "USD", date(2026, 10, 7)),
        "ipi_1FakeTxn0003AbCdEfGh": ("notion", Decimal("96.00"), "USD", date(2026, 10, 9)),
        "ipi_1FakeTxn0012AbCdEfGh": ("slack", Decimal("875.00"), "USD", date(2026, 11, 12)),
        # A capture is a negative amount in Stripe and positive spend; a refund reduces spend.
        "ipi_1FakeTxn0004AbCdEfGh": ("figma", Decimal("45.00"), "USD", date(2026, 10, 12)),
        "ipi_1FakeTxn0005AbCdEfGh": ("figma", Decimal("-15.00"), "USD", date(2026, 10, 15)),
        # Unknown software merchants are kept without an app; JPY has no minor unit, KWD has three.
        "ipi_1FakeTxn0006AbCdEfGh": (None, Decimal("20.00"), "USD", date(2026, 10, 20)),
        "ipi_1FakeTxn0009AbCdEfGh": (None, Decimal("12000"), "JPY", date(2026, 11, 1)),
        "ipi_1FakeTxn0010AbCdEfGh": (None, Decimal("5.250"), "KWD", date(2026, 11, 3)),
        "ipi_1FakeTxn0011AbCdEfGh": (None, Decimal("12.00"), "USD", date(2026, 11, 8)),
        # The coffee shop and the airline are not software: dropped.
    }
    by_id = {s.external_id: s for s in only(records, SpendRecord)}
    assert by_id["ipi_1FakeTxn0006AbCdEfGh"] == SpendRecord(
        external_id="ipi_1FakeTxn0006AbCdEfGh",
        spent_on=date(2026, 10, 20),
        amount=Decimal("20.00"),
        currency="USD",
        merchant="OPENAI *CHATGPT SUBSCR",
        app_id=None,
        description="shadow-IT candidate (software merchant); card spend, merchant category "
        "digital_goods_applications (MCC 5817)",
        kind="card",
    )
    assert by_id["ipi_1FakeTxn0011AbCdEfGh"].description == (
        "shadow-IT candidate (software merchant); card spend, merchant category "
        "computer_programming (MCC 7372)"
    )
    assert by_id["ipi_1FakeTxn0005AbCdEfGh"].description == (
        "card spend, merchant category computer_software_stores (MCC 5734)"  # as for its capture
    )
    assert {s.kind for s in by_id.values()} == {"card"}


def test_transactions_are_paged_with_starting_after_and_checkpointed(stripe_api: Harness) -> None:
    records = stripe_api.sync()
    calls = stripe_api.fake.calls_to(TXNS)
    initial = int(at("2025-10-16T12:00:00").timestamp())  # NOW - initial_days (400)
    assert [dict(c.url.params) for c in calls] == [
        {"limit": "5", "created[gte]": str(initial)},
        {"limit": "5", "created[gte]": str(initial), "starting_after": "ipi_1FakeTxn0008AbCdEfGh"},
        {"limit": "5", "created[gte]": str(initial), "starting_after": "ipi_1FakeTxn0003AbCdEfGh"},
    ]
    assert {c.headers["stripe-version"] for c in calls} == {API_VERSION}
    assert {c.headers["authorization"] for c in calls} == {f"Bearer {API_KEY}"}
    newest = int(at("2026-11-12T16:00:00").timestamp())
    assert [(c.cursor, c.complete) for c in only(records, Checkpoint)] == [
        ({"created_gte": initial, "resume_after": "ipi_1FakeTxn0008AbCdEfGh", "newest": newest}, False),
        ({"created_gte": initial, "resume_after": "ipi_1FakeTxn0003AbCdEfGh", "newest": newest}, False),
        ({"created_gte": newest - 3600}, True),
    ]


def test_the_real_catalog_puts_slack_descriptors_on_slack(stripe_api: Harness) -> None:
    records = stripe_api.sync(catalog=builtin_catalog())
    slack = sorted(s.external_id for s in only(records, SpendRecord) if s.app_id == "slack")
    assert slack == ["ipi_1FakeTxn0001AbCdEfGh", "ipi_1FakeTxn0012AbCdEfGh"]


def test_other_spend_is_kept_when_asked_and_marked_not_software(stripe_api: Harness) -> None:
    records = stripe_api.sync(keep_other_spend=True)
    others = {
        s.merchant: s for s in only(records, SpendRecord) if s.description and "not software" in s.description
    }
    assert sorted(others) == ["BLUE BOTTLE COFFEE", "UNITED AIRLINES 0162"]
    coffee = others["BLUE BOTTLE COFFEE"]
    assert (coffee.app_id, coffee.amount, coffee.description) == (
        None,
        Decimal("48.50"),
        "not software; card spend, merchant category eating_places_restaurants (MCC 5812)",
    )


def test_software_categories_are_configurable_by_slug_or_mcc(stripe_api: Harness) -> None:
    records = stripe_api.sync(software_categories=["5812"])
    shadow = sorted(s.merchant for s in only(records, SpendRecord) if s.app_id is None)
    assert shadow == ["BLUE BOTTLE COFFEE"]


def test_a_second_sync_reads_only_new_transactions(stripe_api: Harness) -> None:
    first = stripe_api.sync()
    cursor = last_cursor(first, "issuing_transactions")
    newest = int(at("2026-11-12T16:00:00").timestamp())
    assert cursor == {"created_gte": newest - 3600}

    new = dict(stripe_api.fake.transactions[0])
    new |= {
        "id": "ipi_1FakeTxn0099AbCdEfGh",
        "created": int(at("2026-11-19T08:00:00").timestamp()),
        "amount": -90000,
    }
    stripe_api.fake.transactions.append(new)
    stripe_api.fake.requests.clear()
    second = stripe_api.sync(cursors={"issuing_transactions": cursor})

    calls = stripe_api.fake.calls_to(TXNS)
    assert [dict(c.url.params) for c in calls] == [{"limit": "5", "created[gte]": str(newest - 3600)}]
    # The overlap re-reads the newest old transaction; it is upserted by id, so nothing doubles.
    assert sorted(s.external_id for s in only(second, SpendRecord)) == [
        "ipi_1FakeTxn0012AbCdEfGh",
        "ipi_1FakeTxn0099AbCdEfGh",
    ]
    assert last_cursor(second, "issuing_transactions") == {
        "created_gte": int(at("2026-11-19T08:00:00").timestamp()) - 3600
    }


def test_an_interrupted_listing_resumes_after_the_last_committed_page(stripe_api: Harness) -> None:
    stripe_api.fake.broken_page = (TXNS, 2)
    records: list[Record] = []
    with pytest.raises(VendorHTTPError) as caught:
        for record in stripe_api.connector().sync(stripe_api.context()):
            records.append(record)
    assert caught.value.status == 500 and caught.value.attempts == 4
    assert len(only(records, SpendRecord)) == 4  # page 1 (the runner commits it with the cursor)
    cursor = last_cursor(records, "issuing_transactions")
    assert cursor["resume_after"] == "ipi_1FakeTxn0008AbCdEfGh"

    stripe_api.fake.broken_page = None
    stripe_api.fake.requests.clear()
    resumed = stripe_api.sync(cursors={"issuing_transactions": cursor})
    first_call = stripe_api.fake.calls_to(TXNS)[0]
    assert first_call.url.params["starting_after"] == "ipi_1FakeTxn0008AbCdEfGh"
    assert first_call.url.params["created[gte]"] == str(cursor["created_gte"])
    assert len(only(resumed, SpendRecord)) == 6  # the rest, not page 1 again
    # The newest transaction of the interrupted run still moves the cursor on.
    assert last_cursor(resumed, "issuing_transactions") == {
        "created_gte": int(at("2026-11-12T16:00:00").timestamp()) - 3600
    }


def test_bad_transactions_are_row_problems_naming_the_field(stripe_api: Harness) -> None:
    good = stripe_api.fake.transactions[0]
    stripe_api.fake.transactions[:] = [
        good,
        {**good, "id": "ipi_1FakeBad0001", "amount": "-100"},
        {**good, "id": "ipi_1FakeBad0002", "currency": "dollars"},
        {**good, "id": "ipi_1FakeBad0003", "created": None},
        {**good, "id": "ipi_1FakeBad0004", "merchant_data": "SLACK"},
        "not-a-transaction",
    ]
    records = stripe_api.sync(page_size=10)
    where = f"GET {TXNS} page 1"
    # Listed newest first; a transaction without a time sorts last.
    assert only(records, RowProblem) == [
        RowProblem(where, "data[1] (ipi_1FakeBad0004): merchant_data: expected an object, got 'SLACK'"),
        RowProblem(
            where, "data[2] (ipi_1FakeBad0002): currency: not a three-letter currency code: 'dollars'"
        ),
        RowProblem(where, "data[3] (ipi_1FakeBad0001): amount: expected an integer, got '-100'"),
        RowProblem(where, "data[4] (ipi_1FakeBad0003): created: missing"),
        RowProblem(where, "data[5]: expected an object, got str"),
    ]
    assert [s.external_id for s in only(records, SpendRecord)] == ["ipi_1FakeTxn0001AbCdEfGh"]


def test_a_page_that_is_not_a_list_object_fails_the_run(stripe_api: Harness) -> None:
    stripe_api.fake.inject(TXNS, httpx.Response(200, json={"data": []}))
    with pytest.raises(Exception, match="did not answer a list object"):
        stripe_api.sync()


def test_a_repeated_page_is_a_pagination_loop(stripe_api: Harness) -> None:
    page = {"object": "list", "url": TXNS, "has_more": True, "data": stripe_api.fake.transactions[:2]}
    stripe_api.fake.inject(TXNS, httpx.Response(200, json=page), httpx.Response(200, json=page))
    with pytest.raises(PaginationLoopError):
        stripe_api.sync()


# -- billing ------------------------------------------------------------------------------------------


def test_subscriptions_become_billed_items_mapped_by_price_or_product(stripe_api: Harness) -> None:
    records = stripe_api.sync(**BILLING)
    billed = {b.external_id: b for b in only(records, BilledItemRecord)}
    assert billed["si_FakeAcmeM365BP01"] == BilledItemRecord(
        external_id="si_FakeAcmeM365BP01",
        app_id="m365",
        sku="Microsoft 365 Business Premium",
        quantity=25,
        unit_price=Decimal("22.00"),
        currency="USD",
        billing_period=BillingPeriod.MONTHLY,
        status="active",
        customer_id=ACME,
        current_period_end=at("2026-12-01T00:00:00"),  # from the item: the subscription has none
    )
    assert billed["si_FakeAcmeSlack001"].sku == "Slack Business+"  # by product
    assert billed["si_FakeAcmeSlack001"].billing_period is BillingPeriod.ANNUAL
    assert billed["si_FakeAcmeSlack001"].unit_price == Decimal("150.00")
    assert (billed["si_FakeAcmeZoomPro1"].status, billed["si_FakeAcmeZoomPro1"].quantity) == ("canceled", 5)
    eu = billed["si_FakeAcmeEUM365001"]
    # Billed every 12 months is annual; unit_amount_decimal keeps the fraction of a cent.
    assert (eu.billing_period, eu.unit_price, eu.currency, eu.status) == (
        BillingPeriod.ANNUAL,
        Decimal("20.605"),
        "EUR",
        "trialing",
    )
    assert billed["si_FakeAcmeEUStorage"].unit_price is None  # tiered: no single unit price
    assert "si_FakeAcmeEUSupport" not in billed  # metered: bills usage, not seats
    assert "si_FakeAcmeBackup01" not in billed  # not mapped
    assert sorted(billed) == [
        "si_FakeAcmeEUM365001",
        "si_FakeAcmeEUStorage",
        "si_FakeAcmeM365BP01",
        "si_FakeAcmeSlack001",
        "si_FakeAcmeZoomPro1",
    ]
    calls = stripe_api.fake.calls_to("/v1/subscriptions")
    assert [dict(c.url.params) for c in calls] == [
        {"customer": customer, "status": "all", "limit": "5", "expand[0]": "data.items.data.price.product"}
        for customer in (ACME, ACME_EU)
    ]


def test_an_unmapped_price_is_one_problem_naming_the_settings_key(stripe_api: Harness) -> None:
    records = stripe_api.sync(**BILLING)
    assert only(records, RowProblem) == [
        RowProblem(
            f"GET /v1/subscriptions?customer={ACME} page 1",
            "price price_FakeBackupMonthly1 (product prod_FakeBackup0001 'Managed Backup for M365', "
            f"customer {ACME}) is not mapped to an app and SKU: add prices: {{price_FakeBackupMonthly1: "
            "{app: <app id>, sku: <SKU name>}} (or the same under products: prod_FakeBackup0001) to the "
            "stripe settings, or list it under ignore_prices",
        )
    ]  # once, though its invoice lines name it again


def test_ignored_prices_are_not_reported(stripe_api: Harness) -> None:
    records = stripe_api.sync(**BILLING, ignore_products=["prod_FakeBackup0001"])
    assert only(records, RowProblem) == []
    backup = [s for s in only(records, SpendRecord) if s.merchant == "Managed Backup for M365"]
    assert [(s.app_id, s.amount) for s in backup] == [(None, Decimal("75.00"))] * 2  # still spend


def test_invoices_become_invoice_spend_per_line(stripe_api: Harness) -> None:
    records = stripe_api.sync(**BILLING)
    lines = {s.external_id: s for s in only(records, SpendRecord)}
    assert {k: (s.app_id, s.amount, s.spent_on) for k, s in lines.items()} == {
        "il_1FakeLine0001AbCdEf": ("m365", Decimal("550.00"), date(2026, 10, 1)),
        # Unmapped (and reported): guessed from "Managed Backup for M365", wrongly, which is why the
        # guess is marked and the price still reported.
        "il_1FakeLine0002AbCdEf": ("m365", Decimal("75.00"), date(2026, 10, 1)),
        "il_1FakeLine0003AbCdEf": ("m365", Decimal("550.00"), date(2026, 11, 1)),
        "il_1FakeLine0004AbCdEf": ("m365", Decimal("-22.00"), date(2026, 11, 1)),  # a proration credit
        "il_1FakeLine0005AbCdEf": ("m365", Decimal("75.00"), date(2026, 11, 1)),
        "il_1FakeLine0006AbCdEf": (
            "slack",
            Decimal("0.00"),
            date(2026, 9, 15),
        ),  # a void invoice asks nothing
        # The draft (not billed yet) and the invoice from 2025 (before invoice_days) are not read.
    }
    assert lines["il_1FakeLine0001AbCdEf"] == SpendRecord(
        external_id="il_1FakeLine0001AbCdEf",
        spent_on=date(2026, 10, 1),
        amount=Decimal("550.00"),
        currency="USD",
        merchant="Microsoft 365 Business Premium (CSP, monthly)",
        app_id="m365",
        description=f"invoice ACME-0010 (paid): 25 {TIMES} Microsoft 365 Business Premium (CSP, monthly) "
        "(at $22.00 / month)",
        kind="invoice",
    )
    assert (
        lines["il_1FakeLine0006AbCdEf"].description
        == f"invoice ACME-0009 (void): 40 {TIMES} Slack Business+ (at $150.00 / year)"
    )
    assert lines["il_1FakeLine0002AbCdEf"].description == (
        f"invoice ACME-0010 (paid), app m365 guessed from the product name: 25 {TIMES} Managed Backup for "
        "M365 (at $3.00 / month)"
    )
    calls = stripe_api.fake.calls_to("/v1/invoices")
    since = int(at("2025-10-16T12:00:00").timestamp())
    assert dict(calls[0].url.params) == {"customer": ACME, "created[gte]": str(since), "limit": "5"}


def test_an_invoice_line_without_a_price_mapping_falls_back_to_the_catalog(stripe_api: Harness) -> None:
    settings = BILLING | {"prices": {}, "ignore_products": ["prod_FakeBackup0001"]}
    records = stripe_api.sync(**settings)
    m365 = [s for s in only(records, SpendRecord) if s.external_id == "il_1FakeLine0001AbCdEf"]
    assert [s.app_id for s in m365] == ["m365"]  # "Microsoft 365 ..." in the catalog
    # A billed item still needs the explicit mapping: the SKU must match the seat sources'.
    assert not any(b.app_id == "m365" for b in only(records, BilledItemRecord))
    assert {p.reason.split(" ")[1] for p in only(records, RowProblem)} == {
        "price_FakeM365BPmonthly01",
        "price_FakeM365BPeur0001",
    }


def test_items_and_lines_past_the_first_embedded_page_are_fetched(stripe_api: Harness) -> None:
    expected = stripe_api.sync(**BILLING)
    stripe_api.fake.embedded_items = 1
    stripe_api.fake.embedded_lines = 1
    stripe_api.fake.requests.clear()
    records = stripe_api.sync(**BILLING)

    def key(r: Record) -> str:
        return getattr(r, "external_id", "")

    data = (BilledItemRecord, SpendRecord)
    assert sorted((r for r in records if isinstance(r, data)), key=key) == sorted(
        (r for r in expected if isinstance(r, data)), key=key
    )
    items = stripe_api.fake.calls_to("/v1/subscription_items")
    assert [dict(c.url.params) for c in items] == [
        {
            "subscription": "sub_1FakeAcmeMain000001",
            "limit": "100",
            "expand[0]": "data.price.product",
            "starting_after": "si_FakeAcmeM365BP01",
        },
        {
            "subscription": "sub_1FakeAcmeEU0000001",
            "limit": "100",
            "expand[0]": "data.price.product",
            "starting_after": "si_FakeAcmeEUM365001",
        },
    ]
    lines = stripe_api.fake.calls_to("/v1/invoices/in_1FakeAcmeNov000001/lines")
    assert [dict(c.url.params) for c in lines] == [
        {"limit": "100", "starting_after": "il_1FakeLine0003AbCdEf"}
    ]


def test_unknown_and_deleted_customers_are_problems(stripe_api: Harness) -> None:
    records = stripe_api.sync(
        **(BILLING | {"customers": ["cus_FakeNoSuch00001", "cus_FakeGone000001", ACME]})
    )
    problems = only(records, RowProblem)
    assert [p.where for p in problems[:2]] == ["settings.customers", "settings.customers"]
    assert problems[0].reason.startswith("customer cus_FakeNoSuch00001 is not in this Stripe account")
    assert "No such customer: 'cus_FakeNoSuch00001'" in problems[0].reason
    assert problems[1].reason == "customer cus_FakeGone000001 was deleted in Stripe; remove it from customers"
    assert {b.customer_id for b in only(records, BilledItemRecord)} == {ACME}


# -- rate limits, errors, permissions, secrets -----------------------------------------------------------


def test_429_without_stripe_should_retry_is_retried_with_jittered_backoff(stripe_api: Harness) -> None:
    stripe_api.fake.inject(TXNS, rate_limited(None), rate_limited(True), server_error(503))
    records = stripe_api.sync()
    assert len(only(records, SpendRecord)) == 10
    assert len(stripe_api.fake.calls_to(TXNS)) == 3 + 3  # three pages, three refused tries
    # Full jitter with a draw of 0.5: half of 1, 2 and 4 seconds.
    assert stripe_api.sleeps == [0.5, 1.0, 2.0]


def test_stripe_should_retry_false_is_not_retried(stripe_api: Harness) -> None:
    stripe_api.fake.inject(TXNS, rate_limited(False))
    with pytest.raises(HTTPRateLimitError) as caught:
        stripe_api.sync()
    assert (caught.value.status, caught.value.attempts, caught.value.vendor_code) == (429, 1, "rate_limit")
    assert stripe_api.sleeps == []


def test_a_429_that_does_not_end_gives_up_after_max_attempts(stripe_api: Harness) -> None:
    stripe_api.fake.inject(TXNS, *[rate_limited(None) for _ in range(4)])
    with pytest.raises(HTTPRateLimitError) as caught:
        stripe_api.sync()
    assert caught.value.attempts == 4
    assert "Too many requests hit the API too quickly" in str(caught.value)
    assert len(stripe_api.sleeps) == 3


def test_a_client_error_is_not_retried(stripe_api: Harness) -> None:
    bad = {
        "error": {
            "type": "invalid_request_error",
            "code": "parameter_unknown",
            "message": "Received unknown parameter: x",
        }
    }
    stripe_api.fake.inject(TXNS, httpx.Response(400, json=bad))
    with pytest.raises(VendorHTTPError) as caught:
        stripe_api.sync()
    assert (caught.value.status, caught.value.attempts, caught.value.vendor_code) == (
        400,
        1,
        "parameter_unknown",
    )
    assert stripe_api.sleeps == []


def test_a_wrong_key_fails_the_run_without_showing_the_key(
    stripe_api: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "rk_test_51WrongKeyZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210"
    with pytest.raises(VendorHTTPError) as caught:
        stripe_api.sync(api_key=wrong)
    assert caught.value.status == 401
    assert "the API key was refused" in str(caught.value)
    assert len(stripe_api.fake.requests) == 1  # not retried
    text = caplog.text + str(caught.value) + repr(caught.value)
    for secret in (wrong, wrong[8:], API_KEY):
        assert secret not in text


def test_a_missing_permission_is_a_problem_and_the_rest_still_lands(stripe_api: Harness) -> None:
    stripe_api.fake.denied = {TXNS}
    records = stripe_api.sync(**(BILLING | {"issuing": True}))
    problems = only(records, RowProblem)
    assert problems[0].where == f"GET {TXNS}"
    assert "HTTP 403" in problems[0].reason
    assert (
        "Having the 'rak_issuing_transaction_read' permission would allow this request" in problems[0].reason
    )
    assert "the restricted key needs Issuing Transactions: Read" in problems[0].reason
    assert API_KEY not in problems[0].reason and API_KEY[8:40] not in problems[0].reason
    assert len(only(records, BilledItemRecord)) == 5
    assert len(stripe_api.fake.calls_to(TXNS)) == 1


def test_a_missing_subscriptions_permission_is_reported_once(stripe_api: Harness) -> None:
    stripe_api.fake.denied = {"/v1/subscriptions"}
    records = stripe_api.sync(**BILLING)
    problems = [p for p in only(records, RowProblem) if p.where == "GET /v1/subscriptions"]
    assert len(problems) == 1
    assert "rak_subscription_read" in problems[0].reason
    assert len(stripe_api.fake.calls_to("/v1/subscriptions")) == 1  # the second customer is not tried
    assert len(only(records, SpendRecord)) == 6  # invoices still read


def test_without_customers_read_the_check_is_skipped_and_billing_still_lands(stripe_api: Harness) -> None:
    stripe_api.fake.denied = {"/v1/customers"}
    records = stripe_api.sync(**BILLING)
    problems = [p for p in only(records, RowProblem) if p.where == "GET /v1/customers"]
    assert len(problems) == 1 and "rak_customer_read" in problems[0].reason
    assert len(stripe_api.fake.calls_to(f"/v1/customers/{ACME}")) == 1
    assert stripe_api.fake.calls_to(f"/v1/customers/{ACME_EU}") == []  # not asked again
    assert len(only(records, BilledItemRecord)) == 5


def test_a_stop_request_ends_the_sync_after_the_page_in_hand(stripe_api: Harness) -> None:
    ctx = stripe_api.context()
    records: list[Record] = []
    for record in stripe_api.connector(**(BILLING | {"issuing": True})).sync(ctx):
        records.append(record)
        if isinstance(record, SpendRecord):
            ctx.stop.set()
    assert len(stripe_api.fake.calls_to(TXNS)) == 1
    assert [c.stream for c in only(records, Checkpoint)] == ["issuing_transactions"]
    assert stripe_api.fake.calls_to("/v1/subscriptions") == []


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="expected a Stripe API key") as caught:
        StripeSettings.model_validate({"api_key": "pk_live_FakePublishable123456"})
    assert "pk_live_FakePublishable123456" not in str(caught.value)
    with pytest.raises(ValidationError, match="nothing to read"):
        StripeSettings.model_validate({"api_key": API_KEY, "issuing": False})
    with pytest.raises(ValidationError, match="not a Stripe customer id"):
        StripeSettings.model_validate({"api_key": API_KEY, "customers": ["acme"]})
    with pytest.raises(ValidationError, match="extra"):
        StripeSettings.model_validate({"api_key": API_KEY, "api_version": "2020-08-27"})
    with pytest.raises(ValidationError, match="page_size"):
        StripeSettings.model_validate({"api_key": API_KEY, "page_size": 101})
    assert get_connector("stripe") is StripeConnector
    assert "Issuing Transactions: Read" in StripeConnector.scopes


# -- through the sync runner and the daemon, against the fake over real HTTP ---------------------------


def test_a_failure_mid_sync_keeps_the_previous_data_and_marks_the_source_stale(store: Store) -> None:
    fake = StripeFake()
    with FakeServer(fake) as server:
        raw = {"api_key": API_KEY, "api_base": server.url, "page_size": 5, "max_attempts": 1}
        raw |= BILLING | {"issuing": True, "ignore_products": ["prod_FakeBackup0001"]}
        connector = ConnectorConfig(id="stripe", settings=StripeSettings.model_validate(raw))
        tenant = TenantConfig(id="acme", name="Acme", connectors=[connector])
        apply_tenant_config(store, tenant)
        runner = SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW)
        first = runner.run(tenant, connector)
        assert (first.status, first.error) == ("success", None)
        # Six new card transactions, two pages; the second fails (max_attempts 1: at once).
        template = fake.transactions[0]
        for day in range(13, 19):
            created = int(at(f"2026-11-{day}T10:00:00").timestamp())
            fake.transactions.append(template | {"id": f"ipi_1FakeNew{day:04d}AbCdEfGh", "created": created})
        fake.broken_page = (TXNS, 2)
        failed = runner.run(tenant, connector)
    assert failed.status == "failed"
    assert "HTTP 500" in (failed.error or "") and API_KEY not in (failed.error or "")
    assert failed.records == 5  # the first page of new transactions was committed
    with store.sessions() as session:
        spend = session.scalars(select(SpendLine)).all()
        billed = session.scalars(select(BilledItem)).all()
        cursor = session.scalar(select(SyncState.cursor).where(SyncState.stream == "issuing_transactions"))
        health = source_health(session, tenant, NOW)["stripe"]
    # The first run's card spend (10, Zoom matched by the built-in catalog although it bills as a
    # telecom) and invoice lines (6), and the committed page.
    assert len(spend) == 10 + 6 + 5
    assert len(billed) == 5  # not retired by the failed run
    assert cursor is not None and cursor["resume_after"] == "ipi_1FakeNew0014AbCdEfGh"
    assert health.stale and health.reason == "last sync failed"


def test_sync_through_the_daemon_lands_spend_and_billed_items(tmp_path: Path, store_url: str) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        """
apps:
  - {id: zoom, name: Zoom, vendor: Zoom, category: video, domains: [zoom.us]}
  - {id: notion, name: Notion, vendor: Notion Labs, category: docs, aliases: [notion labs]}
  - {id: figma, name: Figma, vendor: Figma, category: design, domains: [figma.com]}
"""
    )
    key_file = tmp_path / "stripe_key"
    key_file.write_text(API_KEY + "\n")
    with FakeServer(StripeFake()) as server:
        config = write_config(
            tmp_path,
            f"""
database_url: "{{database_url}}"
metrics: {{listen: "{{metrics_listen}}"}}
catalog_files: [{catalog}]
tenants:
  - id: acme
    name: Acme
    connectors:
      - id: stripe
        settings:
          api_key_file: {key_file}
          api_base: {server.url}
          page_size: 4
          initial_days: 3650
          invoice_days: 3650
          customers: [{ACME}]
          prices:
            price_FakeM365BPmonthly01: {{app: m365, sku: "Microsoft 365 Business Premium"}}
          products:
            prod_FakeSlackBP0001: {{app: slack, sku: "Slack Business+"}}
            prod_FakeZoomPro0001: {{app: zoom, sku: "Zoom Workplace Pro"}}
          ignore_products: [prod_FakeBackup0001]
""",
            store_url,
        )
        run = sync_through_daemon(config, "acme", "stripe")
    assert (run.status, run.error, run.problem_count) == ("success", None, 0)
    store = Store(store_url)
    try:
        with store.sessions() as session:
            spend = {
                s.external_id: (s.kind, s.app_id, s.amount, s.currency, s.spent_on)
                for s in session.scalars(select(SpendLine).where(SpendLine.tenant_id == "acme"))
            }
            billed = {
                b.external_id: (
                    b.app_id,
                    b.sku,
                    b.quantity,
                    b.unit_price,
                    b.currency,
                    b.billing_period,
                    b.status,
                )
                for b in session.scalars(select(BilledItem).where(BilledItem.tenant_id == "acme"))
            }
    finally:
        store.dispose()
    cards = {k: v for k, v in spend.items() if v[0] == "card"}
    assert cards == {
        "ipi_1FakeTxn0001AbCdEfGh": ("card", "slack", Decimal("875.00"), "USD", date(2026, 10, 5)),
        "ipi_1FakeTxn0002AbCdEfGh": ("card", "zoom", Decimal("149.90"), "USD", date(2026, 10, 7)),
        "ipi_1FakeTxn0003AbCdEfGh": ("card", "notion", Decimal("96.00"), "USD", date(2026, 10, 9)),
        "ipi_1FakeTxn0004AbCdEfGh": ("card", "figma", Decimal("45.00"), "USD", date(2026, 10, 12)),
        "ipi_1FakeTxn0005AbCdEfGh": ("card", "figma", Decimal("-15.00"), "USD", date(2026, 10, 15)),
        "ipi_1FakeTxn0006AbCdEfGh": ("card", "chatgpt", Decimal("20.00"), "USD", date(2026, 10, 20)),
        "ipi_1FakeTxn0009AbCdEfGh": ("card", "freee", Decimal("12000"), "JPY", date(2026, 11, 1)),
        "ipi_1FakeTxn0010AbCdEfGh": ("card", None, Decimal("5.250"), "KWD", date(2026, 11, 3)),
        "ipi_1FakeTxn0011AbCdEfGh": ("card", "calendly", Decimal("12.00"), "USD", date(2026, 11, 8)),
        "ipi_1FakeTxn0012AbCdEfGh": ("card", "slack", Decimal("875.00"), "USD", date(2026, 11, 12)),
    }
    invoices = {k: v[1:] for k, v in spend.items() if v[0] == "invoice"}
    assert invoices == {
        "il_1FakeLine0001AbCdEf": ("m365", Decimal("550.00"), "USD", date(2026, 10, 1)),
        "il_1FakeLine0002AbCdEf": (None, Decimal("75.00"), "USD", date(2026, 10, 1)),
        "il_1FakeLine0003AbCdEf": ("m365", Decimal("550.00"), "USD", date(2026, 11, 1)),
        "il_1FakeLine0004AbCdEf": ("m365", Decimal("-22.00"), "USD", date(2026, 11, 1)),
        "il_1FakeLine0005AbCdEf": (None, Decimal("75.00"), "USD", date(2026, 11, 1)),
        "il_1FakeLine0006AbCdEf": ("slack", Decimal("0.00"), "USD", date(2026, 9, 15)),
        "il_1FakeLine0008AbCdEf": ("m365", Decimal("440.00"), "USD", date(2025, 1, 1)),
    }
    assert billed == {
        "si_FakeAcmeM365BP01": (
            "m365",
            "Microsoft 365 Business Premium",
            25,
            Decimal("22.00"),
            "USD",
            "monthly",
            "active",
        ),
        "si_FakeAcmeSlack001": ("slack", "Slack Business+", 40, Decimal("150.00"), "USD", "annual", "active"),
        "si_FakeAcmeZoomPro1": (
            "zoom",
            "Zoom Workplace Pro",
            5,
            Decimal("149.90"),
            "USD",
            "annual",
            "canceled",
        ),
    }
