"""Billing reconciliation: seats an MSP bills vs seats bought, assigned and active."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fakes import ScriptedConnector
from sqlalchemy import select
from test_unused_seats import NOW, days_ago, seat, tenant_with

from analyzers.billing_reconciliation import BillingReconciliationSettings
from collector.analysis import run_analyzers
from collector.config import Config, TenantConfig
from collector.models import Finding, SyncRun
from collector.records import BilledItemRecord, BillingPeriod, Checkpoint, Record
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

pytestmark = pytest.mark.usefixtures("scripted_connector")


def billed(quantity: int, status: str = "active", price: str = "20") -> BilledItemRecord:
    return BilledItemRecord(
        external_id=f"si_{status}",  # one subscription item per status; a later sync updates it
        app_id="slack",
        sku="Business+",
        quantity=quantity,
        unit_price=Decimal(price),
        currency="usd",
        billing_period=BillingPeriod.MONTHLY,
        status=status,
        customer_id="cus_123",
    )


def analyze(store: Store, records: list[Record], tenant: TenantConfig | None = None) -> dict[str, Finding]:
    tenant = tenant or tenant_with(seats=4)
    ScriptedConnector.scripts["s"] = lambda ctx: iter([*records, Checkpoint("all")])
    apply_tenant_config(store, tenant)
    SyncRunner(
        store, Config(tenants=[tenant], base_dir=__import__("pathlib").Path(".")), clock=lambda: NOW
    ).run(tenant, tenant.connectors[0])
    run_analyzers(store, tenant, now=NOW)
    with store.sessions() as session:
        query = select(Finding).where(Finding.analyzer == "billing_reconciliation", Finding.state == "open")
        return {f.rule: f for f in session.scalars(query)}


def people(n: int) -> list[Record]:
    return [r for i in range(n) for r in seat(f"p{i}@x.io", "slack", "Business+", days_ago(i * 40))]


def test_over_billing_is_client_waste_at_the_billed_price(store: Store) -> None:
    # 4 seats bought (contract), 3 assigned; the client is billed for 6 (plus a cancelled item).
    found = analyze(store, [*people(3), billed(6), billed(9, status="canceled")])
    assert set(found) == {"over_billed"}
    over = found["over_billed"]
    assert over.monthly_waste == Decimal("40.00")  # 2 surplus x 20
    assert over.evidence["seats_billed"] == 6
    assert over.evidence["seats_purchased"] == 4
    assert over.evidence["seats_assigned"] == 3
    assert over.evidence["seats_active"] == 2  # seen 0 and 40 days ago; 80 days is past 60
    assert over.severity == "medium"


def test_under_billing_is_a_revenue_gap_not_client_waste(store: Store) -> None:
    found = analyze(store, [*people(4), billed(1)])
    assert set(found) == {"under_billed"}
    under = found["under_billed"]
    assert under.monthly_waste == Decimal("0.00")
    assert under.evidence["unbilled_seats"] == 3
    assert under.evidence["monthly_unbilled"] == "60.00"
    assert "only 1 are billed" in under.title


def test_matching_counts_and_tolerance_give_nothing(store: Store) -> None:
    assert analyze(store, [*people(4), billed(4)]) == {}
    policy = BillingReconciliationSettings(tolerance_seats=2)
    tenant = tenant_with(seats=4).model_copy(update={"policy": {"billing_reconciliation": policy}})
    assert analyze(store, [*people(4), billed(6)], tenant) == {}


def test_a_stale_billing_source_gives_unknown(store: Store) -> None:
    analyze(store, [*people(3), billed(6)])
    with store.transaction() as session:
        for run in session.scalars(select(SyncRun)):
            run.status = "failed"
    tenant = tenant_with(seats=4)
    run_analyzers(store, tenant, now=NOW)
    with store.sessions() as session:
        query = select(Finding).where(Finding.analyzer == "billing_reconciliation", Finding.state == "open")
        found = list(session.scalars(query))
    assert [(f.verdict, f.monthly_waste) for f in found] == [("unknown", Decimal("0.00"))]
