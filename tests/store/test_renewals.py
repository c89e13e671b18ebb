"""The renewals analyzer on a real store (SQLite and PostgreSQL): deadline windows and their edges,
seats needed and the recommended quantity, locked-in and projected terms, stale sources."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fakes import ScriptedConnector, ScriptedSettings

from analyzers.base import FindingDraft, Severity, Verdict
from analyzers.renewals import Renewals, RenewalsSettings, add_months, recommended_quantity
from collector.analysis import tenant_view
from collector.config import Config, ConnectorConfig, Contract, TenantConfig
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    IdpStatus,
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
    return datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC) - timedelta(days=n) + timedelta(hours=9)


def contract(app: str, deadline_in: int, notice: int = 30, **extra: Any) -> Contract:
    """An annual contract whose notice deadline is ``deadline_in`` days after AS_OF."""
    term_end = AS_OF + timedelta(days=deadline_in + notice)
    fields = {
        "app": app,
        "sku": "Pro",
        "seats": 10,
        "unit_price": Decimal("120"),
        "billing_period": "annual",
        "commitment": "annual",
        "term_start": term_end - timedelta(days=364),
        "term_end": term_end,
        "auto_renew": True,
        "notice_days": notice,
    }
    return Contract.model_validate(fields | extra)


def tenant_with(
    contracts: list[Contract], policy: RenewalsSettings | None = None, as_of: date = AS_OF
) -> TenantConfig:
    return TenantConfig(
        id="acme",
        name="Acme",
        as_of=as_of,
        exchange_rates={"EUR": Decimal("1.10")},
        connectors=[ConnectorConfig(id="scripted", name="apps", settings=ScriptedSettings(script="apps"))],
        contracts=contracts,
        policy={"renewals": policy} if policy else {},
    )


def sync(store: Store, tenant: TenantConfig, records: list[Record]) -> None:
    apply_tenant_config(store, tenant)
    ScriptedConnector.scripts["apps"] = lambda ctx: iter([*records, Checkpoint("all")])
    SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, tenant.connectors[0]
    )


def analyze(store: Store, tenant: TenantConfig) -> dict[str, FindingDraft]:
    settings = tenant.policy.get("renewals") or RenewalsSettings()
    view = tenant_view(store, tenant, NOW)
    with store.sessions() as session:
        return {d.app_id or "": d for d in Renewals(settings).run(session, view)}


def holder(
    email: str, app: str, last_seen: datetime | None, assigned: int = 300, **account: Any
) -> list[Record]:
    return [
        AccountRecord(app_id=app, external_id=email, email=email, **account),
        SeatRecord(app_id=app, sku="Pro", account_external_id=email, assigned_at=days_ago(assigned)),
        ActivityRecord(email, app, last_seen, ActivitySource.APP_LOGIN),
    ]


def active(app: str, count: int) -> list[Record]:
    return [r for i in range(count) for r in holder(f"{app}{i}@x.io", app, days_ago(2))]


def test_deadline_windows_and_their_edges(store: Store) -> None:
    tenant = tenant_with(
        [
            contract("today", 0),
            contract("thirty", 30),  # exactly 30 days: inside the 30-day window
            contract("thirtyone", 31),
            contract("edge", 120),
            contract("far", 121),  # outside every window
            contract("monthly", 5, term_end=None, term_start=None, commitment="monthly"),  # no term
        ]
    )
    sync(
        store, tenant, [r for app in ("today", "thirty", "thirtyone", "edge", "far") for r in active(app, 10)]
    )
    found = analyze(store, tenant)
    assert {app: d.evidence["window_days"] for app, d in found.items()} == {
        "today": 30,
        "thirty": 30,
        "thirtyone": 60,
        "edge": 120,
    }
    thirty = found["thirty"]
    assert thirty.subject == "thirty/Pro term ending 2027-01-19"
    assert thirty.evidence["deadline"] == "2026-12-20"
    assert thirty.evidence["days_to_deadline"] == 30
    # All 10 seats are used: no saving, a reminder (LOW in the last window, INFO before).
    assert (thirty.verdict, thirty.severity, thirty.monthly_waste) == (
        Verdict.FAIL,
        Severity.LOW,
        Decimal("0.00"),
    )
    assert found["thirtyone"].severity is Severity.INFO
    assert (
        thirty.evidence["action"]
        == "Confirm by 2026-12-20 that thirty (Pro) should renew at 10 seats (all needed)."
    )
    assert thirty.title == (
        "thirty (Pro) renews on 2027-01-20; give notice by 2026-12-20 (30 days): 10 seats, 10 needed"
    )


def test_needed_seats_recommended_quantity_and_saving(store: Store) -> None:
    # 25 seats at 1980 a year (165.00 a month), notice deadline in 10 days.
    tenant = tenant_with([contract("crm", 10, seats=25, unit_price=Decimal("1980"), notice=45)])
    records: list[Record] = [
        *active("crm", 16),
        *holder("idle@x.io", "crm", days_ago(61)),  # past the 60-day line: not needed
        *holder("sixty@x.io", "crm", days_ago(60)),  # exactly 60 days: needed
        *holder("never@x.io", "crm", None),  # never used, seat a year old: not needed
        *holder("joiner@x.io", "crm", None, assigned=10),  # new joiner: needed
        *holder("api@x.io", "crm", None, kind="service"),  # integration user: needed
        AccountRecord(app_id="crm", external_id="nodata@x.io", email="nodata@x.io"),
        SeatRecord(app_id="crm", sku="Pro", account_external_id="nodata@x.io"),  # nobody reports usage
        PersonRecord(email="left@x.io", status=IdpStatus.SUSPENDED),
        *holder("left@x.io", "crm", days_ago(1)),  # active last week, but gone from the IdP
    ]
    sync(store, tenant, records)
    draft = analyze(store, tenant)["crm"]
    # 16 + sixty + joiner + api + nodata = 20 needed; 10 % buffer = 2; 22 of 25; 3 x 165.00 saved.
    assert {k: draft.evidence[k] for k in ("seats_purchased", "seats_assigned", "seats_needed")} == {
        "seats_purchased": 25,
        "seats_assigned": 23,
        "seats_needed": 20,
    }
    assert (draft.evidence["held_by_leavers"], draft.evidence["without_usage_data"]) == (1, 1)
    assert draft.evidence["seats_active"] == 17  # 16 + sixty: used within 60 days
    assert draft.evidence["recommended_seats"] == 22
    assert draft.evidence["monthly_saving"] == "495.00"
    assert (draft.severity, draft.monthly_waste) == (Severity.HIGH, Decimal("0.00"))
    assert "renew 22 of 25 seats (20 needed) and pay 495.00 USD/month less" in draft.title
    assert draft.evidence["action"] == (
        "Tell the vendor by 2026-11-30 to renew crm (Pro) at 22 seats instead of 25: "
        "495.00 USD/month less from 2027-01-15."
    )

    counted = tenant_with(tenant.contracts, RenewalsSettings(saving_counts_as_waste=True))
    assert analyze(store, counted)["crm"].monthly_waste == Decimal("495.00")


def test_severity_rises_with_the_window_and_currency_is_converted(store: Store) -> None:
    # 10 seats at 100 EUR a month (110.00 USD), 5 needed: 5 + 1 buffer, 4 seats = 440.00 USD saved.
    eur = {"unit_price": Decimal("100"), "billing_period": "monthly", "currency": "EUR"}
    tenant = tenant_with(
        [contract("near", 25, **eur), contract("mid", 45, **eur), contract("far", 100, **eur)]
    )
    sync(store, tenant, [r for app in ("near", "mid", "far") for r in active(app, 5)])
    found = analyze(store, tenant)
    assert {app: (d.severity, d.evidence["monthly_saving"]) for app, d in found.items()} == {
        "near": (Severity.HIGH, "440.00"),
        "mid": (Severity.MEDIUM, "440.00"),
        "far": (Severity.LOW, "440.00"),
    }
    assert found["near"].evidence["monthly_price_per_seat"] == "110.00"


def test_nobody_needs_it_and_no_auto_renewal(store: Store) -> None:
    tenant = tenant_with(
        [contract("dead", 20), contract("lapses", 50, auto_renew=False, notice=0, seats=4)],
    )
    records = [*holder("a@x.io", "dead", days_ago(200)), *active("lapses", 4)]
    sync(store, tenant, records)
    found = analyze(store, tenant)
    dead = found["dead"]
    assert (dead.evidence["recommended_seats"], dead.evidence["monthly_saving"]) == (0, "100.00")
    assert dead.evidence["action"] == "Nobody needs dead (Pro): give notice to cancel by 2026-12-10."
    lapses = found["lapses"]
    assert lapses.evidence["action"] == (
        "Renew lapses (Pro) at 4 seats (all needed) before 2027-01-09 or it lapses."
    )
    assert lapses.evidence["deadline"] == lapses.evidence["term_end"] == "2027-01-09"
    assert lapses.title == "lapses (Pro) ends on 2027-01-09 without renewing (50 days): 4 seats, 4 needed"


def test_passed_deadline_is_locked_in_then_the_term_is_projected(store: Store) -> None:
    locked = contract("locked", -5, seats=10)  # notice was due 5 days ago; the term ends in 25 days
    ended = contract("ended", 0, term_end=date(2025, 12, 31), term_start=date(2025, 1, 1), notice=30)
    over = contract("over", 0, term_end=date(2026, 10, 31), term_start=date(2025, 11, 1), auto_renew=False)
    tenant = tenant_with([locked, ended, over])
    sync(store, tenant, [*active("locked", 5), *active("ended", 10), *active("over", 10)])
    found = analyze(store, tenant)
    assert set(found) == {"locked", "ended"}  # "over" did not renew: nothing to decide any more
    # "ended" auto-renewed on 2026-01-01: projected to end 2026-12-31, notice due 2026-12-01.
    assert (found["ended"].evidence["term_end"], found["ended"].evidence["deadline"]) == (
        "2026-12-31",
        "2026-12-01",
    )
    assert "update its dates" in found["ended"].evidence["term_note"]
    draft = found["locked"]
    assert (draft.verdict, draft.severity, draft.monthly_waste) == (
        Verdict.FAIL,
        Severity.INFO,
        Decimal("0.00"),
    )
    assert draft.evidence["next_term_end"] == "2027-12-15"
    assert draft.evidence["monthly_saving"] == "40.00"  # 6 of 10 seats next term, at 10.00
    assert draft.title == (
        "locked (Pro): the notice deadline 2026-11-15 has passed; it renews on 2026-12-16 until 2027-12-15"
    )
    assert draft.subject == "locked/Pro term ending 2026-12-15"

    # A year on, the contract still says the term ended 2025-12-31: it is projected to 2027-12-31.
    later = tenant_with([ended], as_of=date(2027, 11, 20))
    projected = analyze(store, later)["ended"]
    assert projected.evidence["term_end"] == "2027-12-31"
    assert "update its dates" in projected.evidence["term_note"]


def test_identity_is_kept_while_the_deadline_moves_through_windows(store: Store) -> None:
    tenant = tenant_with([contract("crm", 61)])
    sync(store, tenant, active("crm", 3))
    before = analyze(store, tenant)["crm"]
    after = analyze(store, tenant_with(tenant.contracts, as_of=AS_OF + timedelta(days=31)))["crm"]
    assert (before.evidence["window_days"], after.evidence["window_days"]) == (90, 30)
    assert before.fingerprint == after.fingerprint
    assert (before.severity, after.severity) == (Severity.LOW, Severity.HIGH)


def test_policy_overrides_and_exclusions(store: Store) -> None:
    policy = RenewalsSettings.model_validate(
        {
            "windows_days": [45, 14],
            "buffer_percent": 0,
            "min_buffer_seats": 0,
            "apps": {
                "zoom": {"active_days": 30},
                "skip": {"exclude": True},
                "slack": {"exclude_skus": ["pro"]},
            },
        }
    )
    tenant = tenant_with([contract("zoom", 40), contract("skip", 10), contract("slack", 10)], policy)
    sync(store, tenant, [*active("zoom", 3), *holder("z@x.io", "zoom", days_ago(31)), *active("skip", 1)])
    found = analyze(store, tenant)
    assert set(found) == {"zoom"}
    zoom = found["zoom"]
    assert (zoom.evidence["window_days"], zoom.evidence["active_days"]) == (45, 30)
    assert (zoom.evidence["seats_needed"], zoom.evidence["recommended_seats"]) == (3, 3)
    assert zoom.evidence["monthly_saving"] == "70.00"  # 7 of 10 seats at 10.00
    assert zoom.severity is Severity.MEDIUM  # the wider of two windows


def test_stale_source_gives_unknown(store: Store) -> None:
    tenant = tenant_with([contract("crm", 10)])
    sync(store, tenant, active("crm", 2))

    def broken(ctx: object) -> Iterator[Record]:
        raise ConnectionError("HTTP 503")
        yield  # pragma: no cover

    ScriptedConnector.scripts["apps"] = broken
    SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, tenant.connectors[0]
    )
    draft = analyze(store, tenant)["crm"]
    assert (draft.verdict, draft.severity, draft.monthly_waste) == (
        Verdict.UNKNOWN,
        Severity.INFO,
        Decimal("0.00"),
    )
    assert draft.evidence["stale_sources"] == {"apps": "last sync failed"}
    assert "how many seats to renew is unknown" in draft.title


def test_quantity_and_month_helpers() -> None:
    assert [recommended_quantity(n, 100, 10, 1) for n in (0, 1, 6, 20, 95)] == [0, 2, 7, 22, 100]
    assert recommended_quantity(20, 100, 0, 0) == 20
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)


def test_reported_by_names_the_sources_of_the_pools_holders(store: Store) -> None:
    # "sso" reports usage of crm only for someone holding no crm seat: the pool's numbers do not
    # come from it, so it is not among the pool's sources (and its outage could not make them unknown).
    tenant = tenant_with([contract("crm", 10)])
    tenant = tenant.model_copy(
        update={
            "connectors": [
                *tenant.connectors,
                ConnectorConfig(id="scripted", name="sso", settings=ScriptedSettings(script="sso")),
            ]
        }
    )
    sync(store, tenant, active("crm", 2))
    ScriptedConnector.scripts["sso"] = lambda ctx: iter(
        [
            AccountRecord(app_id="crm", external_id="guest@x.io", email="guest@x.io"),
            ActivityRecord("guest@x.io", "crm", days_ago(1), ActivitySource.IDP_SSO),
            Checkpoint("all"),
        ]
    )
    SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, tenant.connectors[1]
    )
    draft = analyze(store, tenant)["crm"]
    assert "apps" in draft.evidence["reported_by"]
    assert "sso" not in draft.evidence["reported_by"]
    assert draft.evidence["seats_active"] == 2
