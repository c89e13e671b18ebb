"""The overlap analyzer on a real store (SQLite and PostgreSQL): duplicate and parallel tools of one
category, which to keep, the money of shared people's seats, allowed pairs, stale sources."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import ScriptedConnector, ScriptedSettings

from analyzers.base import FindingDraft, Severity, Verdict
from analyzers.overlap import Overlap, OverlapSettings
from collector.analysis import tenant_view
from collector.config import AppMeta, Config, ConnectorConfig, Contract, TenantConfig
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    IdpStatus,
    PersonRecord,
    Record,
    SeatRecord,
    SpendRecord,
)
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CATEGORIES = {"zoom": "video", "loom": "video", "salesforce": "crm", "hubspot": "crm", "vidyard": "video"}

pytestmark = pytest.mark.usefixtures("scripted_connector")


def days_ago(n: int) -> datetime:
    return datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC) - timedelta(days=n) + timedelta(hours=9)


def tenant_with(
    policy: OverlapSettings | None = None, contracts: list[Contract] | None = None, tenant_id: str = "acme"
) -> TenantConfig:
    return TenantConfig(
        id=tenant_id,
        name=tenant_id.title(),
        as_of=AS_OF,
        exchange_rates={"EUR": Decimal("1.10")},
        apps={app: AppMeta(category=category) for app, category in CATEGORIES.items()},
        connectors=[ConnectorConfig(id="scripted", name="apps", settings=ScriptedSettings(script=tenant_id))],
        contracts=contracts
        if contracts is not None
        else [
            Contract(app="zoom", sku="Pro", seats=10, unit_price=Decimal("15")),
            Contract(app="loom", sku="Business", seats=5, unit_price=Decimal("144"), billing_period="annual"),
            Contract(app="salesforce", sku="Enterprise", seats=4, unit_price=Decimal("165")),
            Contract(app="hubspot", sku="Pro", seats=3, unit_price=Decimal("50")),
        ],
        policy={"overlap": policy} if policy else {},
    )


def sync(store: Store, tenant: TenantConfig, records: list[Record]) -> None:
    apply_tenant_config(store, tenant)
    ScriptedConnector.scripts[tenant.id] = lambda ctx: iter([*records, Checkpoint("all")])
    SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, tenant.connectors[0]
    )


def analyze(store: Store, tenant: TenantConfig) -> dict[str, FindingDraft]:
    settings = tenant.policy.get("overlap") or OverlapSettings()
    view = tenant_view(store, tenant, NOW)
    with store.sessions() as session:
        return {d.subject: d for d in Overlap(settings).run(session, view)}


SKUS = {"zoom": "Pro", "loom": "Business", "salesforce": "Enterprise", "hubspot": "Pro"}


def uses(email: str, app: str, days: int, seat: bool = True) -> list[Record]:
    records: list[Record] = [ActivityRecord(email, app, days_ago(days), ActivitySource.APP_LOGIN)]
    if seat:
        records += [
            AccountRecord(app_id=app, external_id=email, email=email),
            SeatRecord(app_id=app, sku=SKUS[app], account_external_id=email),
        ]
    return records


def video_team() -> list[Record]:
    """Zoom: a b c d e (5 active). Loom: a b f g (4 active; g exactly 30 days ago), c 31 days ago."""
    return [
        *(r for who in "abcde" for r in uses(f"{who}@x.io", "zoom", 2)),
        *uses("a@x.io", "loom", 1),
        *uses("b@x.io", "loom", 3),
        *uses("f@x.io", "loom", 5),
        *uses("g@x.io", "loom", 30),
        *uses("c@x.io", "loom", 31),
        PersonRecord(email="h@x.io", status=IdpStatus.SUSPENDED),  # a leaver active in both: not counted
        *uses("h@x.io", "zoom", 1),
        *uses("h@x.io", "loom", 1),
    ]


def test_duplicate_tools_keep_the_most_used_and_count_shared_seats(store: Store) -> None:
    tenant = tenant_with()
    sync(store, tenant, video_team())
    found = analyze(store, tenant)
    assert set(found) == {"video: loom+zoom"}
    draft = found["video: loom+zoom"]
    # a and b use both: their Loom seats go, at 144 a year = 12.00 a month each.
    assert (draft.rule, draft.verdict, draft.severity) == ("duplicate_tools", Verdict.FAIL, Severity.LOW)
    assert (draft.app_id, draft.monthly_waste) == ("loom", Decimal("24.00"))
    assert (
        draft.title == "2 people use both zoom and loom (video): keep zoom (5 active), drop loom (4 active)"
    )
    evidence = draft.evidence
    assert (evidence["keep"], evidence["drop"], evidence["active_in_both"]) == ("zoom", "loom", 2)
    assert evidence["people_in_both"] == ["a@x.io", "b@x.io"]
    assert evidence["apps"]["loom"] == {
        "name": "loom",
        "active_people": 4,
        "active_only_here": 2,
        "monthly_cost": "60.00",
        "monthly_price_per_seat": "12.00",
        "seats": 5,
        "cost_basis": "license pools: seats purchased x price",
    }
    assert evidence["apps"]["zoom"]["active_only_here"] == 3
    # Moving f and g onto Zoom at 15.00 each: 60.00 - 30.00.
    assert evidence["saving_if_everyone_moved"] == "30.00"
    assert evidence["why"] == "zoom has more active people (5 against 4)"
    assert evidence["action"].startswith("Consolidate video on zoom: remove the loom seats of the 2 people")


def test_parallel_tools_are_info_without_money(store: Store) -> None:
    tenant = tenant_with()
    records = [
        *(r for who in "abc" for r in uses(f"sales-{who}@x.io", "salesforce", 4)),
        *(r for who in "ab" for r in uses(f"mkt-{who}@x.io", "hubspot", 4)),
    ]
    sync(store, tenant, records)
    draft = analyze(store, tenant)["crm: hubspot+salesforce"]
    assert (draft.rule, draft.severity, draft.monthly_waste, draft.app_id) == (
        "parallel_tools",
        Severity.INFO,
        Decimal("0.00"),
        "hubspot",
    )
    assert draft.title == (
        "salesforce and hubspot are both crm tools used by different people "
        "(3 and 2 active, nobody uses both)"
    )
    assert draft.evidence["saving_if_everyone_moved"] == "0.00"  # 150.00 - 2 x 165.00: moving costs more


def test_a_tie_goes_to_the_cheaper_seat(store: Store) -> None:
    tenant = tenant_with()
    records = [*uses("a@x.io", "zoom", 1), *uses("a@x.io", "loom", 1)]
    sync(store, tenant, records)
    draft = analyze(store, tenant)["video: loom+zoom"]
    assert (draft.evidence["keep"], draft.evidence["drop"]) == ("loom", "zoom")  # 12.00 beats 15.00
    assert draft.monthly_waste == Decimal("15.00")
    assert draft.evidence["why"] == "as many active people; loom is cheaper per seat"


def test_spend_only_app_costs_its_average_spend(store: Store) -> None:
    # vidyard has no license pool: 3 monthly charges of 100 EUR (110.00 USD) over 90 days.
    tenant = tenant_with()
    spend = [
        SpendRecord(
            f"v{d}", AS_OF - timedelta(days=d), Decimal("100"), "EUR", "VIDYARD", "vidyard", kind="card"
        )
        for d in (5, 35, 65)
    ]
    records = [
        *(r for who in "abc" for r in uses(f"{who}@x.io", "zoom", 2)),
        *uses("a@x.io", "vidyard", 2, seat=False),
        *uses("b@x.io", "vidyard", 2, seat=False),
        *spend,
    ]
    sync(store, tenant, records)
    draft = analyze(store, tenant)["video: vidyard+zoom"]
    vidyard = draft.evidence["apps"]["vidyard"]
    assert (vidyard["monthly_cost"], vidyard["monthly_price_per_seat"]) == ("110.00", "55.00")
    assert vidyard["cost_basis"] == "average spend over the last 90 days"
    assert (draft.evidence["drop"], draft.monthly_waste) == ("vidyard", Decimal("110.00"))  # 2 x 55.00
    assert draft.severity is Severity.MEDIUM


def test_allowed_pairs_excluded_categories_and_apps(store: Store) -> None:
    records = [
        *video_team(),
        *uses("s@x.io", "salesforce", 1),
        *uses("s@x.io", "hubspot", 1),
        *uses("a@x.io", "vidyard", 1, seat=False),
    ]
    tenant = tenant_with(OverlapSettings(allowed_pairs=[("zoom", "loom")], exclude_categories=["crm"]))
    sync(store, tenant, records)
    # The three video apps make three pairs; zoom+loom is allowed.
    assert set(analyze(store, tenant)) == {"video: vidyard+zoom", "video: loom+vidyard"}
    no_vidyard = tenant_with(OverlapSettings.model_validate({"apps": {"vidyard": {"exclude": True}}}))
    assert set(analyze(store, no_vidyard)) == {"video: loom+zoom", "crm: hubspot+salesforce"}
    with pytest.raises(ValueError, match="two different apps"):
        OverlapSettings(allowed_pairs=[("zoom", "zoom")])


def test_an_app_nobody_uses_is_not_an_overlap(store: Store) -> None:
    tenant = tenant_with()
    sync(store, tenant, [*uses("a@x.io", "zoom", 1), *uses("b@x.io", "loom", 45)])
    assert analyze(store, tenant) == {}


def test_tenants_do_not_mix(store: Store) -> None:
    first, second = tenant_with(), tenant_with(tenant_id="globex")
    sync(store, first, video_team())
    sync(store, second, video_team())
    for tenant in (first, second):
        draft = analyze(store, tenant)["video: loom+zoom"]
        assert (draft.evidence["active_in_both"], draft.monthly_waste) == (2, Decimal("24.00"))


def test_stale_source_gives_unknown(store: Store) -> None:
    tenant = tenant_with()
    sync(store, tenant, video_team())

    def broken(ctx: object) -> Iterator[Record]:
        raise ConnectionError("HTTP 503")
        yield  # pragma: no cover

    ScriptedConnector.scripts["acme"] = broken
    SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, tenant.connectors[0]
    )
    draft = analyze(store, tenant)["video: loom+zoom"]
    assert (draft.verdict, draft.severity, draft.monthly_waste) == (
        Verdict.UNKNOWN,
        Severity.INFO,
        Decimal("0.00"),
    )
    assert draft.evidence["stale_sources"] == {"apps": "last sync failed"}
    assert draft.evidence["active_in_both"] == 2  # what was last known
    assert "who uses which is unknown" in draft.title
