"""The unused-seats analyzer end to end through the runner and the findings table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import ScriptedConnector, ScriptedSettings
from sqlalchemy import select

from analyzers.unused_seats import UnusedSeatsSettings
from collector.analysis import run_analyzers
from collector.config import Config, ConnectorConfig, Contract, TenantConfig
from collector.models import Finding
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    LicensePoolRecord,
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


def seat(
    email: str, app: str, sku: str, last_seen: datetime | None, assigned_days_ago: int = 300
) -> list[Record]:
    return [
        AccountRecord(app_id=app, external_id=email, email=email),
        SeatRecord(app_id=app, sku=sku, account_external_id=email, assigned_at=days_ago(assigned_days_ago)),
        ActivityRecord(email=email, app_id=app, last_seen_at=last_seen, source_kind=ActivitySource.EXPORT),
    ]


def tenant_with(policy: UnusedSeatsSettings | None = None, **contract_overrides: object) -> TenantConfig:
    contract = {
        "app": "slack",
        "sku": "Business+",
        "seats": 6,
        "unit_price": Decimal("180"),
        "billing_period": "annual",
        "commitment": "annual",
        "term_end": date(2027, 2, 28),
        "notice_days": 30,
    } | contract_overrides
    return TenantConfig(
        id="acme",
        name="Acme",
        as_of=AS_OF,
        connectors=[ConnectorConfig(id="scripted", name="exports", settings=ScriptedSettings(script="s"))],
        contracts=[Contract.model_validate(contract)],
        policy={"unused_seats": policy} if policy else {},
    )


def sync_and_analyze(store: Store, tenant: TenantConfig, records: list[Record]) -> dict[str, Finding]:
    ScriptedConnector.scripts["s"] = lambda ctx: iter([*records, Checkpoint("all")])
    apply_tenant_config(store, tenant)
    config = Config(tenants=[tenant], base_dir=Path("."))
    SyncRunner(store, config, clock=lambda: NOW).run(tenant, tenant.connectors[0])
    run_analyzers(store, tenant, now=NOW)
    with store.sessions() as session:
        query = select(Finding).where(Finding.state == "open", Finding.analyzer == "unused_seats")
        return {f.fingerprint: f for f in session.scalars(query)}


def by_subject(findings: dict[str, Finding]) -> dict[tuple[str, str], Finding]:
    return {(f.rule, f.subject): f for f in findings.values()}


def test_flags_inactive_never_and_unassigned_with_money(store: Store) -> None:
    records = [
        *seat("active@x.io", "slack", "Business+", days_ago(3)),
        *seat("boundary60@x.io", "slack", "Business+", days_ago(60)),
        *seat("old@x.io", "slack", "Business+", days_ago(61)),
        *seat("never@x.io", "slack", "Business+", None),
        *seat("newjoiner@x.io", "slack", "Business+", None, assigned_days_ago=5),
    ]
    found = by_subject(sync_and_analyze(store, tenant_with(), records))
    assert set(found) == {
        ("inactive", "old@x.io"),
        ("never_active", "never@x.io"),
        ("unassigned", "slack/Business+"),
    }
    old = found[("inactive", "old@x.io")]
    assert old.monthly_waste == Decimal("15.00")  # 180 a year per seat
    assert old.verdict == "fail"
    assert old.evidence["days_inactive"] == 61
    assert old.evidence["last_seen_by"] == "exports"
    assert "2027-02-28" in old.evidence["reclaimable"]
    assert "has not used slack (Business+) for 61 days" in old.title
    unassigned = found[("unassigned", "slack/Business+")]
    assert unassigned.evidence["unassigned"] == 1
    assert unassigned.monthly_waste == Decimal("15.00")


def test_new_seats_get_a_30_day_grace_by_default(store: Store) -> None:
    records = [
        *seat("day30@x.io", "slack", "Business+", None, assigned_days_ago=30),
        *seat("day31@x.io", "slack", "Business+", None, assigned_days_ago=31),
    ]
    found = by_subject(sync_and_analyze(store, tenant_with(seats=2), records))
    assert set(found) == {("never_active", "day31@x.io")}
    assert found[("never_active", "day31@x.io")].evidence["grace_days"] == 30


def test_max_over_sources_wins(store: Store) -> None:
    records = [
        *seat("a@x.io", "slack", "Business+", days_ago(200)),
        ActivityRecord("a@x.io", "slack", days_ago(2), ActivitySource.IDP_SSO),
    ]
    assert not [
        k for k in by_subject(sync_and_analyze(store, tenant_with(seats=1), records)) if k[0] != "unassigned"
    ]


def test_per_app_override_and_exclusions(store: Store) -> None:
    policy = UnusedSeatsSettings.model_validate(
        {"apps": {"zoom": {"inactive_days": 30}}, "exclude_people": ["ceo@x.io", "svc-*@x.io"]}
    )
    records = [
        *seat("z@x.io", "zoom", "Pro", days_ago(45)),
        *seat("s@x.io", "slack", "Business+", days_ago(45)),
        *seat("ceo@x.io", "slack", "Business+", days_ago(300)),
        *seat("svc-bot@x.io", "slack", "Business+", None),
    ]
    found = by_subject(sync_and_analyze(store, tenant_with(policy, seats=3), records))
    assert set(found) == {("inactive", "z@x.io")}
    assert found[("inactive", "z@x.io")].monthly_waste == Decimal("0.00")  # zoom has no price yet
    assert "no price known" in found[("inactive", "z@x.io")].evidence["price_note"]


@pytest.mark.parametrize(
    "excluded",
    [
        ["figma"],  # fewer apps left out than judged: their seats are kept out by name
        ["figma", "zoom"],  # more left out than judged: the judged apps' seats are picked by name
    ],
)
def test_excluded_apps_are_never_judged(store: Store, excluded: list[str]) -> None:
    policy = UnusedSeatsSettings.model_validate({"apps": {app: {"exclude": True} for app in excluded}})
    records = [
        *seat("z@x.io", "zoom", "Pro", days_ago(90)),
        *seat("s@x.io", "slack", "Business+", days_ago(90)),
        *seat("n@x.io", "figma", "Professional", None),
        *seat("o@x.io", "figma", "Professional", days_ago(200)),
    ]
    found = by_subject(sync_and_analyze(store, tenant_with(policy, seats=1), records))
    flagged = {"zoom": ("inactive", "z@x.io"), "slack": ("inactive", "s@x.io")}
    assert set(found) == {key for app, key in flagged.items() if app not in excluded}


def test_stale_source_gives_unknown_not_waste(store: Store) -> None:
    tenant = tenant_with(seats=1)
    sync_and_analyze(store, tenant, seat("old@x.io", "slack", "Business+", days_ago(90)))

    def broken(ctx: object) -> Iterator[Record]:
        raise ConnectionError("HTTP 503")
        yield  # pragma: no cover

    ScriptedConnector.scripts["s"] = broken
    config = Config(tenants=[tenant], base_dir=Path("."))
    SyncRunner(store, config, clock=lambda: NOW).run(tenant, tenant.connectors[0])
    run_analyzers(store, tenant, now=NOW)
    with store.sessions() as session:
        finding = session.scalars(select(Finding).where(Finding.subject == "old@x.io")).one()
    assert (finding.verdict, finding.monthly_waste, finding.state) == ("unknown", Decimal("0.00"), "open")
    assert finding.evidence["stale_sources"] == {"exports": "last sync failed"}
    assert "unknown" in finding.title


def test_seats_without_any_usage_source_are_one_unknown_per_pool(store: Store) -> None:
    records: list[Record] = [
        AccountRecord(app_id="figma", external_id="a@x.io", email="a@x.io"),
        SeatRecord(app_id="figma", sku="Professional", account_external_id="a@x.io"),
        LicensePoolRecord(app_id="figma", sku="Professional", seats_purchased=1, unit_price=Decimal(15)),
    ]
    found = by_subject(sync_and_analyze(store, tenant_with(seats=0), records))
    unknown = found[("no_usage_data", "figma/Professional")]
    assert unknown.verdict == "unknown"
    assert unknown.evidence["seats_without_usage_data"] == ["a@x.io"]


def test_findings_resolve_and_reopen_across_runs(store: Store) -> None:
    tenant = tenant_with(seats=1)
    sync_and_analyze(store, tenant, seat("old@x.io", "slack", "Business+", days_ago(90)))
    sync_and_analyze(store, tenant, seat("old@x.io", "slack", "Business+", days_ago(1)))
    with store.sessions() as session:
        finding = session.scalars(select(Finding).where(Finding.analyzer == "unused_seats")).one()
        first_seen = finding.first_seen_at
    assert (finding.state, finding.resolved_at) == ("resolved", NOW)
    # Sixty days later the same person has gone quiet again: the finding comes back with its history.
    later = tenant.model_copy(update={"as_of": AS_OF + timedelta(days=60)})
    reopened = sync_and_analyze(store, later, seat("old@x.io", "slack", "Business+", days_ago(1)))
    (again,) = reopened.values()
    assert again.state == "open" and again.first_seen_at == first_seen


def test_a_seat_reported_by_two_sources_counts_once(store: Store) -> None:
    from collector.pools import effective_pools

    export = ConnectorConfig(id="scripted", name="exports", settings=ScriptedSettings(script="a"))
    api = ConnectorConfig(id="scripted", name="api", settings=ScriptedSettings(script="b"))
    tenant = tenant_with(seats=3).model_copy(update={"connectors": [export, api]})
    ScriptedConnector.scripts["a"] = lambda ctx: iter([*seat("a@x.io", "slack", "Business+", days_ago(1))])
    ScriptedConnector.scripts["b"] = lambda ctx: iter(
        [
            *seat("a@x.io", "slack", "Business+", days_ago(2)),
            *seat("b@x.io", "slack", "Business+", days_ago(3)),
        ]
    )
    apply_tenant_config(store, tenant)
    runner = SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW)
    for connector in tenant.connectors:
        runner.run(tenant, connector)
    with store.sessions() as session:
        (pool,) = effective_pools(session, "acme")
    assert (pool.seats_purchased, pool.seats_assigned, pool.unassigned) == (3, 2, 1)
    assert pool.sources == ("api", "contract", "exports")


def test_bots_service_accounts_and_excluded_skus_are_never_unused(store: Store) -> None:
    records: list[Record] = [
        AccountRecord(app_id="slack", external_id="bot", email="deploybot@x.io", kind="bot"),
        SeatRecord(app_id="slack", sku="Business+", account_external_id="bot", assigned_at=days_ago(300)),
        ActivityRecord(
            email="deploybot@x.io", app_id="slack", last_seen_at=None, source_kind=ActivitySource.EXPORT
        ),
        *seat("old@x.io", "slack", "Business+", days_ago(90)),
        *seat("trial@x.io", "slack", "Free trial", days_ago(90)),
    ]
    policy = UnusedSeatsSettings.model_validate({"apps": {"slack": {"exclude_skus": ["free TRIAL"]}}})
    found = by_subject(sync_and_analyze(store, tenant_with(policy, seats=2), records))
    assert set(found) == {("inactive", "old@x.io")}


def test_monthly_seats_save_now_and_annual_seats_at_renewal(store: Store) -> None:
    records = [*seat("old@x.io", "slack", "Business+", days_ago(90))]
    annual = by_subject(sync_and_analyze(store, tenant_with(seats=1), records))[("inactive", "old@x.io")]
    assert annual.evidence["saving_from"] == "2027-02-28"
    assert "at the renewal on 2027-02-28" in annual.evidence["action"]
    monthly = by_subject(
        sync_and_analyze(store, tenant_with(seats=1, commitment="monthly", billing_period="monthly"), records)
    )[("inactive", "old@x.io")]
    assert monthly.evidence["saving_from"] == AS_OF.isoformat()
    assert "starts with the next bill" in monthly.evidence["action"]
    assert monthly.monthly_waste == Decimal("180.00")  # 180 per month now


def two_sources(
    store: Store, tenant: TenantConfig, exports: list[Record], api: list[Record]
) -> dict[str, Finding]:
    """Sync the same tenant from an export and an API source, then analyze."""
    export = ConnectorConfig(id="scripted", name="exports", settings=ScriptedSettings(script="a"))
    api_source = ConnectorConfig(id="scripted", name="api", settings=ScriptedSettings(script="b"))
    tenant = tenant.model_copy(update={"connectors": [export, api_source]})
    ScriptedConnector.scripts["a"] = lambda ctx: iter([*exports, Checkpoint("all")])
    ScriptedConnector.scripts["b"] = lambda ctx: iter([*api, Checkpoint("all")])
    apply_tenant_config(store, tenant)
    runner = SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW)
    for connector in tenant.connectors:
        runner.run(tenant, connector)
    run_analyzers(store, tenant, now=NOW)
    with store.sessions() as session:
        query = select(Finding).where(Finding.state == "open", Finding.analyzer == "unused_seats")
        return {f.fingerprint: f for f in session.scalars(query)}


def test_sku_spellings_are_one_pool_and_the_earliest_assignment_decides(store: Store) -> None:
    # The export spells the SKU in lower case and saw the seat assigned a year ago; the API only
    # knows it since last week. One holder, one finding under the pool's name, and no grace.
    exports = seat("never@x.io", "slack", "business+", None, assigned_days_ago=365)
    api = seat("never@x.io", "slack", "Business+", None, assigned_days_ago=5)
    found = by_subject(two_sources(store, tenant_with(seats=1), exports, api))
    assert set(found) == {("never_active", "never@x.io")}
    finding = found[("never_active", "never@x.io")]
    assert finding.sku == "Business+"
    assert finding.evidence["seat_reported_by"] == ["api", "exports"]
    assert finding.evidence["seat_assigned"] == days_ago(365).date().isoformat()
    assert [s["source"] for s in finding.evidence["sources"]] == ["api", "exports"]


def test_a_holder_is_a_bot_when_any_of_its_accounts_says_so(store: Store) -> None:
    exports = seat("deploy@x.io", "slack", "Business+", None)  # the export cannot tell a bot apart
    api: list[Record] = [
        AccountRecord(app_id="slack", external_id="U1", email="deploy@x.io", kind="bot"),
        SeatRecord(app_id="slack", sku="Business+", account_external_id="U1", assigned_at=days_ago(300)),
        *seat("old@x.io", "slack", "Business+", days_ago(90)),
    ]
    found = by_subject(two_sources(store, tenant_with(seats=2), exports, api))
    assert set(found) == {("inactive", "old@x.io")}


def test_the_latest_fresh_sighting_decides_and_every_sighting_is_evidence(store: Store) -> None:
    records = [
        *seat("old@x.io", "slack", "Business+", days_ago(80)),
        ActivityRecord("old@x.io", "slack", days_ago(70), ActivitySource.IDP_SSO),
        ActivityRecord("old@x.io", "slack", None, ActivitySource.APP_LOGIN),
        ActivityRecord("old@x.io", "slack", days_ago(65), ActivitySource.REPORT, feature="huddles"),
    ]
    (finding,) = [
        f for f in sync_and_analyze(store, tenant_with(seats=1), records).values() if f.rule != "unassigned"
    ]
    assert (finding.rule, finding.evidence["days_inactive"], finding.evidence["last_seen_by"]) == (
        "inactive",
        65,
        "exports",
    )
    assert [(s["kind"], s["last_seen"][:10]) for s in finding.evidence["sources"]] == [
        ("app_login", "never"),
        ("export", days_ago(80).date().isoformat()),
        ("idp_sso", days_ago(70).date().isoformat()),
        ("report", days_ago(65).date().isoformat()),
    ]


def test_pools_judged_in_batches_give_the_same_findings(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import analyzers.unused_seats as unused_seats

    policy = UnusedSeatsSettings.model_validate({"apps": {"zoom": {"inactive_days": 30}}})
    records = [
        *seat("z@x.io", "zoom", "Pro", days_ago(45)),
        *seat("s@x.io", "slack", "Business+", days_ago(45)),
        *seat("n@x.io", "figma", "Professional", None),
        *seat("o@x.io", "slack", "Business+", days_ago(61)),
    ]
    tenant = tenant_with(policy, seats=2)
    whole = {(f.rule, f.subject, f.title) for f in sync_and_analyze(store, tenant, records).values()}
    monkeypatch.setattr(unused_seats, "POOLS_PER_STATEMENT", 1)
    batched = {(f.rule, f.subject, f.title) for f in sync_and_analyze(store, tenant, records).values()}
    assert batched == whole
    assert {(rule, subject) for rule, subject, _ in whole} == {
        ("inactive", "z@x.io"),
        ("inactive", "o@x.io"),
        ("never_active", "n@x.io"),
    }


def test_sqlite_reaches_every_joined_table_through_an_index(store: Store) -> None:
    """Without statistics SQLite's planner guesses; a guess that scans a joined table once per seat
    turns seconds into hours on a large tenant. Every table but the driving one must be searched.
    (With fewer than ~50 pools SQLite may scan the tiny pool list instead: bounded and cheap.)"""
    from analyzers.unused_seats import _flagging_statement
    from collector.analysis import tenant_view
    from collector.pools import effective_pools

    if store.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite query plan")
    tenant = tenant_with()
    sync_and_analyze(store, tenant, [r for n in range(60) for r in seat("a@x.io", f"app{n}", "Pro", None)])
    view = tenant_view(store, tenant, NOW)
    with store.sessions() as session:
        pools = [pool for pool in effective_pools(session, "acme") if pool.seat_skus]
        compiled = _flagging_statement(view, UnusedSeatsSettings(), pools, set()).compile(
            store.engine, compile_kwargs={"render_postcompile": True}
        )
        processors = compiled._bind_processors
        params = [
            processors[name](compiled.params[name]) if name in processors else compiled.params[name]
            for name in compiled.positiontup or []
        ]
        raw = session.connection().connection.driver_connection
        assert raw is not None
        plan = [(row[1], row[3]) for row in raw.execute(f"EXPLAIN QUERY PLAN {compiled}", params)]
    # Per query block, the lines reading a table list the loops outermost first: only the outermost
    # may scan; every inner loop must search an index (an automatic one for the CTEs).
    loops: dict[int, list[str]] = {}
    for parent, line in plan:
        if line.startswith(("SCAN", "SEARCH")) and "CONSTANT ROWS" not in line:
            loops.setdefault(parent, []).append(line)
    assert len(pools) == 60 and len(loops) >= 3, plan
    assert all(line.startswith("SEARCH") for lines in loops.values() for line in lines[1:]), loops
    # The holder's usage comes from the summary, by its whole key; activity only for the evidence.
    key = "(tenant_id=? AND person_id=? AND app_id=?)"
    assert any(line.startswith("SEARCH app_usage") and key in line for _, line in plan), plan
