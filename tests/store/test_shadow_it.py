"""The shadow IT analyzer on a real store (SQLite and PostgreSQL): unsanctioned spend and OAuth grants,
risky scopes, what counts as sanctioned, the spend window's edges, currencies, stale sources."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fakes import ScriptedConnector, ScriptedSettings

from analyzers.base import FindingDraft, Severity, Verdict
from analyzers.shadow_it import RiskyScope, ShadowIt, ShadowItSettings
from collector.analysis import tenant_view
from collector.catalog import Catalog, CatalogEntry
from collector.config import AppMeta, Config, ConnectorConfig, Contract, TenantConfig
from collector.records import Checkpoint, OAuthGrantRecord, Record, SpendRecord
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# A fixed catalog, so that these tests do not depend on what the built-in one learns.
CATALOG = Catalog(
    [
        CatalogEntry(
            id="miro", name="Miro", vendor="Miro", category="whiteboard", aliases=("realtimeboard",)
        ),
        CatalogEntry(id="mural", name="Mural", vendor="Mural", category="whiteboard", domains=("mural.co",)),
    ]
)
GMAIL = "https://mail.google.com/"
DRIVE_FILE = "https://www.googleapis.com/auth/drive.file"

pytestmark = pytest.mark.usefixtures("scripted_connector")


def tenant_with(policy: ShadowItSettings | None = None, **apps: AppMeta) -> TenantConfig:
    return TenantConfig(
        id="acme",
        name="Acme",
        as_of=AS_OF,
        exchange_rates={"EUR": Decimal("1.10")},
        apps=apps,
        connectors=[ConnectorConfig(id="scripted", name="feed", settings=ScriptedSettings(script="feed"))],
        contracts=[Contract(app="slack", sku="Pro", seats=5, unit_price=Decimal("8"))],
        policy={"shadow_it": policy} if policy else {},
    )


def sync(store: Store, tenant: TenantConfig, records: list[Record]) -> None:
    apply_tenant_config(store, tenant)
    ScriptedConnector.scripts["feed"] = lambda ctx: iter([*records, Checkpoint("all")])
    SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, tenant.connectors[0]
    )


def analyze(store: Store, tenant: TenantConfig) -> dict[str, FindingDraft]:
    settings = tenant.policy.get("shadow_it") or ShadowItSettings()
    catalog = CATALOG.with_aliases({a: m.aliases for a, m in tenant.apps.items() if m.aliases})
    view = tenant_view(store, tenant, NOW, catalog)
    with store.sessions() as session:
        return {d.subject: d for d in ShadowIt(settings).run(session, view)}


_ids = iter(range(10**6))


def charge(merchant: str, days_ago: int, amount: str, app: str | None = None, **extra: Any) -> SpendRecord:
    fields = {"kind": "card", "currency": "USD", "description": None} | extra
    return SpendRecord(
        external_id=f"tx{next(_ids)}",
        spent_on=AS_OF - timedelta(days=days_ago),
        amount=Decimal(amount),
        merchant=merchant,
        app_id=app,
        **fields,
    )


def monthly(merchant: str, amount: str, **extra: Any) -> list[Record]:
    """A subscription charged 10, 40 and 70 days ago: three charges in the 90-day window."""
    return [charge(merchant, d, amount, **extra) for d in (10, 40, 70)]


def test_unknown_merchants_count_when_they_recur_or_say_they_are_software(store: Store) -> None:
    tenant = tenant_with()
    sync(
        store,
        tenant,
        [
            *monthly("QUILLWORKS* PRO", "16.00", description="card 4417 (Sales)"),
            charge("BISTRO MARGOT", 5, "84.50"),  # a one-off dinner
            charge("BISTRO MARGOT", 20, "61.00"),  # twice, but 15 days apart: not a subscription
            charge("FROBNICATE CLOUD", 3, "300.00"),  # once, but it says cloud
        ],
    )
    found = analyze(store, tenant)
    assert set(found) == {"quillworks-pro", "frobnicate-cloud"}
    quill = found["quillworks-pro"]
    assert (quill.verdict, quill.severity, quill.monthly_waste) == (
        Verdict.FAIL,
        Severity.LOW,
        Decimal("16.00"),
    )
    assert quill.rule == "unsanctioned_app"
    assert quill.app_id == "quillworks-pro"
    assert quill.title == "QUILLWORKS* PRO is not a sanctioned app: paid 16.00 USD/month (last 90 days)"
    assert quill.evidence["charges"] == [
        {
            "merchant": "QUILLWORKS* PRO",
            "description": "card 4417 (Sales)",
            "kind": "card",
            "charges": 3,
            "total": "48.00",
            "currency": "USD",
            "first": "2026-09-11",
            "last": "2026-11-10",
        }
    ]
    assert "cancel the charges (16.00 USD/month)" in quill.evidence["action"]
    cloud = found["frobnicate-cloud"]
    assert (cloud.monthly_waste, cloud.severity) == (Decimal("100.00"), Severity.MEDIUM)  # 300 over 3 months


def test_spend_window_edges_and_currencies(store: Store) -> None:
    tenant = tenant_with()
    sync(
        store,
        tenant,
        [
            charge("ZEPHYRDOCS", 90, "900.00"),  # exactly 90 days ago: outside the window
            charge("ZEPHYRDOCS", 89, "30.00"),
            charge("ZEPHYRDOCS", 0, "30.00"),  # today: inside
            charge("ZEPHYRDOCS", -1, "500.00"),  # tomorrow (a pre-dated invoice): outside
            charge("ZEPHYRDOCS", 30, "100.00", currency="EUR"),  # 110.00 USD
            charge("ZEPHYRDOCS", 31, "99.00", currency="GBP"),  # no exchange rate: left out, said so
        ],
    )
    draft = analyze(store, tenant)["zephyrdocs"]
    assert draft.evidence["spend_in_window"] == "170.00"
    assert draft.monthly_waste == Decimal("56.67")  # 170 / 3
    assert draft.evidence["price_note"] == "spend in GBP is left out: add exchange_rates for it"


def test_what_counts_as_sanctioned(store: Store) -> None:
    policy = ShadowItSettings(sanctioned=["approved", "vetoed"], ignore=["uber*"])
    tenant = tenant_with(
        policy,
        flagged=AppMeta(name="Flagged", sanctioned=True),
        vetoed=AppMeta(name="Vetoed", sanctioned=False),  # false wins over the policy list
        unlisted=AppMeta(name="Unlisted"),
        miro=AppMeta(sanctioned=True, aliases=["RTB INC"]),
    )
    sync(
        store,
        tenant,
        [
            *monthly("Flagged Inc", "10.00", app="flagged"),
            *monthly("Approved Inc", "10.00", app="approved"),
            *monthly("Vetoed Inc", "10.00", app="vetoed"),
            *monthly("Unlisted Inc", "10.00", app="unlisted"),  # known to the config, never approved
            *monthly("SLACK", "40.00", app="slack"),  # managed: the tenant buys it under a contract
            *monthly("RTB INC*BOARD", "8.00"),  # unmapped, but the catalog knows it: sanctioned miro
            *monthly("UBER *TRIP", "25.00"),
        ],
    )
    found = analyze(store, tenant)
    assert set(found) == {"vetoed", "unlisted"}
    assert found["unlisted"].evidence["name"] == "Unlisted"
    assert found["unlisted"].evidence["sanctioned"] is None

    strict = tenant_with(ShadowItSettings(managed_apps_are_sanctioned=False))
    assert "slack" in analyze(store, strict)


def test_catalog_maps_unmapped_merchants_and_suggests_alternatives(store: Store) -> None:
    tenant = tenant_with(miro=AppMeta(sanctioned=True, category="whiteboard"))
    sync(store, tenant, [charge("https://app.mural.co/billing", 12, "45.00")])  # a one-off, but catalogued
    draft = analyze(store, tenant)["mural"]
    assert draft.monthly_waste == Decimal("15.00")
    assert draft.evidence["category"] == "whiteboard"
    assert draft.evidence["sanctioned_alternatives"] == ["miro"]
    assert "The tenant already pays for miro in the same category." in draft.evidence["action"]


def test_grants_with_risky_scopes_and_who_granted_them(store: Store) -> None:
    tenant = tenant_with()
    grants: list[Record] = [
        OAuthGrantRecord("a@x.io", "c1", "Inbox Zero Pro", (GMAIL, "openid", "email")),
        OAuthGrantRecord(
            "b@x.io", "c1", "Inbox Zero Pro", ("https://graph.microsoft.com/Mail.Read", "offline_access")
        ),
        OAuthGrantRecord("c@x.io", "c1", "Inbox Zero Pro", ("openid",)),
        OAuthGrantRecord("d@x.io", "c2", "Doc Helper", (DRIVE_FILE, "offline_access")),
        OAuthGrantRecord("e@x.io", "c3", "Org Chart Tool", ("Directory.Read.All",)),
        OAuthGrantRecord("f@x.io", "c4", "Slack", ("https://mail.google.com/",)),  # a sanctioned app
    ]
    sync(store, tenant, grants)
    found = analyze(store, tenant)
    assert set(found) == {"inbox-zero-pro", "doc-helper", "org-chart-tool"}
    inbox = found["inbox-zero-pro"]
    assert (inbox.verdict, inbox.severity, inbox.monthly_waste) == (
        Verdict.FAIL,
        Severity.HIGH,
        Decimal("0.00"),
    )
    assert inbox.evidence["granted_by"] == ["a@x.io", "b@x.io", "c@x.io"]
    assert inbox.evidence["risky_scopes"] == {"full mail access": ["a@x.io", "b@x.io"]}
    assert inbox.title == (
        "Inbox Zero Pro is not a sanctioned app: 3 people granted it access, with full mail access (2)"
    )
    assert "Revoke the grants with full mail access" in inbox.evidence["action"]
    # drive.file (files the app created) and offline_access are not risky: a LOW finding.
    doc = found["doc-helper"]
    assert (doc.severity, doc.evidence["risky_scopes"]) == (Severity.LOW, {})
    assert found["org-chart-tool"].evidence["risky_scopes"] == {"the directory": ["e@x.io"]}


def test_risky_scope_table_is_configurable(store: Store) -> None:
    policy = ShadowItSettings(
        risky_scopes=[RiskyScope(label="calendars", severity=Severity.MEDIUM, patterns=["*calendar*"])]
    )
    tenant = tenant_with(policy)
    sync(
        store,
        tenant,
        [
            OAuthGrantRecord("a@x.io", "c1", "Meet Bot", ("https://www.googleapis.com/auth/calendar",)),
            OAuthGrantRecord("b@x.io", "c2", "Mail Bot", (GMAIL,)),
            *monthly("Meet Bot", "400.00"),  # the same app also paid for: spend makes it MEDIUM too
        ],
    )
    found = analyze(store, tenant)
    assert (found["meet-bot"].severity, found["meet-bot"].monthly_waste) == (
        Severity.MEDIUM,
        Decimal("400.00"),
    )
    assert found["meet-bot"].evidence["grants"] == 1
    assert (found["mail-bot"].severity, found["mail-bot"].evidence["risky_scopes"]) == (Severity.LOW, {})


def test_stale_source_gives_unknown(store: Store) -> None:
    tenant = tenant_with()
    sync(
        store,
        tenant,
        [*monthly("QUILLWORKS", "16.00"), OAuthGrantRecord("a@x.io", "c1", "Quillworks", (GMAIL,))],
    )

    def broken(ctx: object) -> Iterator[Record]:
        raise ConnectionError("HTTP 503")
        yield  # pragma: no cover

    ScriptedConnector.scripts["feed"] = broken
    SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, tenant.connectors[0]
    )
    (draft,) = analyze(store, tenant).values()
    assert (draft.subject, draft.verdict, draft.severity, draft.monthly_waste) == (
        "quillworks",
        Verdict.UNKNOWN,
        Severity.INFO,
        Decimal("0.00"),
    )
    assert draft.evidence["stale_sources"] == {"feed": "last sync failed"}
    assert "action" not in draft.evidence
