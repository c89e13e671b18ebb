"""At-risk vendors: catalog facts, observed spend signals and the renewal calendar make a score."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import ScriptedConnector, ScriptedSettings
from sqlalchemy import select
from test_unused_seats import AS_OF, NOW, days_ago, seat

from collector.analysis import run_analyzers
from collector.catalog import Catalog, CatalogEntry
from collector.config import AppMeta, Config, ConnectorConfig, Contract, TenantConfig
from collector.models import Finding
from collector.records import Checkpoint, PersonRecord, Record, SpendRecord
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

pytestmark = pytest.mark.usefixtures("scripted_connector")

CATALOG = Catalog(
    [
        CatalogEntry(
            id="oldwiki", name="OldWiki", vendor="OldWiki Inc", category="knowledge-base", sso="none",
            end_of_life=date(2027, 1, 31), founded=2008, ownership="private",
        ),
        CatalogEntry(
            id="confluence", name="Confluence", vendor="Atlassian", category="knowledge-base", sso="saml"
        ),
        CatalogEntry(
            id="slack", name="Slack", vendor="Salesforce", category="team-chat", sso="saml",
            ownership="acquired", acquired_by="Salesforce", founded=2009,
        ),
        CatalogEntry(
            id="newai", name="NewAI", vendor="NewAI Labs", category="ai-assistant", sso="oidc", founded=2025
        ),
    ]
)  # fmt: skip


def spend(app: str, days: int, amount: str, kind: str = "card") -> SpendRecord:
    return SpendRecord(
        external_id=f"{app}-{days}-{kind}",
        spent_on=AS_OF - timedelta(days=days),
        amount=Decimal(amount),
        currency="USD",
        merchant=app.upper(),
        app_id=app,
        kind=kind,
    )


def analyze(store: Store, records: list[Record]) -> dict[str, Finding]:
    tenant = TenantConfig(
        id="acme",
        name="Acme",
        as_of=AS_OF,
        apps={
            "oldwiki": AppMeta(name="OldWiki", category="knowledge-base"),
            "confluence": AppMeta(name="Confluence", category="knowledge-base"),
            "slack": AppMeta(name="Slack", category="team-chat"),
            "newai": AppMeta(name="NewAI", category="ai-assistant"),
        },
        connectors=[ConnectorConfig(id="scripted", name="feed", settings=ScriptedSettings(script="s"))],
        contracts=[
            Contract(
                app="oldwiki", sku="Team", seats=10, unit_price=Decimal("5"), term_end=date(2027, 1, 31)
            ),
            Contract(app="confluence", sku="Standard", seats=20, unit_price=Decimal("6")),
            Contract(app="slack", sku="Pro", seats=20, unit_price=Decimal("8")),
        ],
    )
    ScriptedConnector.scripts["s"] = lambda ctx: iter([*records, Checkpoint("all")])
    apply_tenant_config(store, tenant)
    SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, tenant.connectors[0]
    )
    run_analyzers(store, tenant, now=NOW, catalog=CATALOG)
    with store.sessions() as session:
        query = select(Finding).where(Finding.analyzer == "vendor_risk", Finding.state == "open")
        return {f.subject: f for f in session.scalars(query)}


def test_scores_reasons_and_migration_readiness(store: Store) -> None:
    records: list[Record] = [
        PersonRecord(email="a@x.io", department="Sales"),
        PersonRecord(email="b@x.io", department="Sales"),
        PersonRecord(email="c@x.io", department="Legal"),
        *seat("a@x.io", "oldwiki", "Team", days_ago(1)),
        *seat("b@x.io", "oldwiki", "Team", days_ago(2)),
        *seat("c@x.io", "oldwiki", "Team", days_ago(3)),
        # NewAI: young, spend tripled over the last 90 days, and partly paid on personal cards.
        spend("newai", 150, "100"),
        spend("newai", 30, "300"),
        spend("newai", 20, "40", kind="expense"),
    ]
    found = analyze(store, records)
    assert set(found) == {"oldwiki", "newai"}  # slack is only "acquired": 15 < 30

    old = found["oldwiki"]
    assert old.evidence["score"] == 60 + 15 + 10  # end of life, no SSO, renewal due
    assert old.severity == "high"
    assert old.monthly_waste == Decimal("0.00")
    assert old.evidence["monthly_spend_at_risk"] == "50.00"
    assert old.evidence["people_depending"] == 3
    assert old.evidence["departments"] == {"Sales": 2, "Legal": 1}
    assert old.evidence["alternatives_already_paid_for"] == ["confluence"]
    assert "confluence" in old.evidence["action"]
    assert "end of life announced for 2027-01-31" in old.title

    new = found["newai"]
    reasons = [r["reason"] for r in new.evidence["reasons"]]
    assert reasons == [
        "young company (founded 2025)",
        "spend up 240% over the last 90 days",
        "40.00 USD paid on personal cards",
    ]
    assert new.evidence["score"] == 40
    assert new.severity == "low"
