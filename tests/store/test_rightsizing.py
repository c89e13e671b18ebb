"""Rightsizing: premium-tier holders who only use what a cheaper tier covers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import ScriptedConnector, ScriptedSettings
from sqlalchemy import select

from analyzers.rightsizing import RightsizingSettings
from collector.analysis import run_analyzers
from collector.config import Config, ConnectorConfig, Contract, TenantConfig
from collector.models import Finding
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    PersonRecord,
    Record,
    SeatRecord,
)
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("scripted_connector")


def days_ago(n: int) -> datetime:
    return datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC) - timedelta(days=n)


def holder(email: str, sku: str, features: dict[str, int | None]) -> list[Record]:
    records: list[Record] = [
        PersonRecord(email=email, department="Sales"),
        AccountRecord(app_id="m365", external_id=email, email=email),
        SeatRecord(app_id="m365", sku=sku, account_external_id=email),
    ]
    for feature, ago in features.items():
        records.append(
            ActivityRecord(
                email=email,
                app_id="m365",
                last_seen_at=None if ago is None else days_ago(ago),
                source_kind=ActivitySource.REPORT,
                observed_at=days_ago(1),
                feature=feature,
            )
        )
    return records


def analyze(
    store: Store,
    records: list[Record],
    policy: RightsizingSettings | None = None,
    extra: list[Contract] | None = None,
) -> dict[str, Finding]:
    contracts = [
        *(extra or []),
        Contract(app="m365", sku="Microsoft 365 E5", seats=10, unit_price=Decimal("57.00")),
        Contract(
            app="m365",
            sku="Microsoft 365 E3",
            seats=10,
            unit_price=Decimal("432.00"),
            billing_period="annual",
            commitment="annual",
            term_end=date(2027, 6, 30),
        ),
    ]
    tenant = TenantConfig(
        id="acme",
        name="Acme",
        as_of=AS_OF,
        connectors=[ConnectorConfig(id="scripted", name="graph", settings=ScriptedSettings(script="s"))],
        contracts=contracts,
        policy={"rightsizing": policy} if policy else {},
    )
    ScriptedConnector.scripts["s"] = lambda ctx: iter([*records, Checkpoint("all")])
    apply_tenant_config(store, tenant)
    SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, tenant.connectors[0]
    )
    run_analyzers(store, tenant, now=NOW)
    with store.sessions() as session:
        query = select(Finding).where(Finding.analyzer == "rightsizing", Finding.state == "open")
        return {f.subject: f for f in session.scalars(query)}


def test_mail_and_chat_only_holders_are_downgrade_candidates(store: Store) -> None:
    records = [
        *holder("mail@x.io", "Microsoft 365 E5", {"exchange": 1, "teams": 3}),
        *holder("files@x.io", "Microsoft 365 E5", {"exchange": 1, "onedrive": 2}),
        # OneDrive use long ago is outside the 30-day window: mail and chat only now.
        *holder("oldfiles@x.io", "Microsoft 365 E5", {"exchange": 1, "onedrive": 45}),
        *holder("idle@x.io", "Microsoft 365 E5", {"exchange": None, "teams": 90}),
        *holder("nodata@x.io", "Microsoft 365 E5", {}),
        *holder("annual@x.io", "Microsoft 365 E3", {"teams": 2}),
    ]
    found = analyze(store, records)
    assert set(found) == {"mail@x.io", "oldfiles@x.io", "annual@x.io"}
    mail = found["mail@x.io"]
    assert mail.monthly_waste == Decimal("47.00")  # 57 - 10 (Office 365 E1 list price)
    assert mail.sku == "Microsoft 365 E5"
    assert mail.evidence["used_features"] == {"exchange": "2026-11-19", "teams": "2026-11-17"}
    assert mail.evidence["saving_from"] == "2026-11-20"
    assert "Office 365 E1" in mail.evidence["action"]
    assert "desktop-app" in mail.evidence["caveat"]
    annual = found["annual@x.io"]
    assert annual.monthly_waste == Decimal("26.00")  # 432 / 12 - 10
    assert annual.evidence["saving_from"] == "2027-06-30"


def test_a_bought_cheaper_sku_uses_its_price_and_exclusions_apply(store: Store) -> None:
    records = [
        *holder("mail@x.io", "Microsoft 365 E5", {"exchange": 1}),
        *holder("boss@x.io", "Microsoft 365 E5", {"exchange": 1}),
        *holder("e1@x.io", "Office 365 E1", {"exchange": 1}),
    ]
    policy = RightsizingSettings.model_validate(
        {
            "exclude_people": ["boss@*"],
            "rules": [
                {
                    "app": "m365",
                    "from_skus": ["Microsoft 365 E5"],
                    "to_sku": "Office 365 E1",
                    "to_price": "99",
                    "covers": ["exchange"],
                }
            ],
        }
    )
    # The rule's list price (99) is above E5's 57: nothing is cheaper, nothing is flagged.
    assert analyze(store, records, policy) == {}
    # The tenant already buys E1 at a negotiated 8.00: that price wins over the rule's list price.
    e1 = Contract(app="m365", sku="Office 365 E1", seats=5, unit_price=Decimal("8.00"))
    found = analyze(store, records, policy, extra=[e1])
    assert set(found) == {"mail@x.io"}  # boss@ is excluded; e1@ already holds the cheaper SKU
    assert found["mail@x.io"].monthly_waste == Decimal("49.00")


def test_a_stale_usage_source_gives_unknown(store: Store) -> None:
    from collector.models import SyncRun

    records = holder("mail@x.io", "Microsoft 365 E5", {"exchange": 1})
    analyze(store, records)
    with store.transaction() as session:
        for run in session.scalars(select(SyncRun)):
            run.status = "failed"
    tenant_findings = analyze_again(store)
    assert tenant_findings["mail@x.io"].verdict == "unknown"
    assert tenant_findings["mail@x.io"].monthly_waste == Decimal("0.00")


def analyze_again(store: Store) -> dict[str, Finding]:
    tenant = TenantConfig(
        id="acme",
        name="Acme",
        as_of=AS_OF,
        connectors=[ConnectorConfig(id="scripted", name="graph", settings=ScriptedSettings(script="s"))],
        contracts=[Contract(app="m365", sku="Microsoft 365 E5", seats=10, unit_price=Decimal("57.00"))],
    )
    run_analyzers(store, tenant, now=NOW)
    with store.sessions() as session:
        query = select(Finding).where(Finding.analyzer == "rightsizing", Finding.state == "open")
        return {f.subject: f for f in session.scalars(query)}
