"""The per-(person, app) usage summary stays the exact aggregate of ``activity`` through pages,
re-runs, partial runs and retirement (SQLite and PostgreSQL), and the migration fills it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from fakes import ScriptedConnector, ScriptedSettings
from sqlalchemy import select, text

from collector.config import Config, ConnectorConfig, TenantConfig
from collector.connector import SyncContext
from collector.models import Activity, AppUsage
from collector.records import ActivityRecord, ActivitySource, Checkpoint, DataKind, Record, RowProblem
from collector.runner import SyncRunner
from collector.store import Store, alembic_config
from collector.tenants import apply_tenant_config
from collector.usage import rebuild

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
Summary = dict[tuple[str, int, str], tuple[datetime | None, frozenset[str]]]


class SnapshotConnector(ScriptedConnector):
    """The scripted connector, with activity as a snapshot kind: a clean run retires unseen rows."""

    id = "scripted_snapshot"
    snapshot_kinds = frozenset(DataKind)


@pytest.fixture
def snapshot_connector(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from collector import registry

    monkeypatch.setitem(registry.BUILTIN, "scripted_snapshot", "test_app_usage:SnapshotConnector")
    ScriptedConnector.scripts.clear()
    yield
    ScriptedConnector.scripts.clear()


def stored(store: Store) -> Summary:
    with store.sessions() as session:
        rows = session.execute(
            select(
                AppUsage.tenant_id,
                AppUsage.person_id,
                AppUsage.app_id,
                AppUsage.last_seen_at,
                AppUsage.sources,
            )
        ).all()
    return {
        (t, p, a): (seen, frozenset(s.strip(",").split(",")))
        for t, p, a, seen, s in rows
        if s.startswith(",")
    } | {
        (t, p, a): (seen, frozenset({"malformed:" + s})) for t, p, a, seen, s in rows if not s.startswith(",")
    }


def expected(store: Store) -> Summary:
    """The summary worked out in Python from the activity rows."""
    result: dict[tuple[str, int, str], tuple[datetime | None, set[str]]] = {}
    with store.sessions() as session:
        for row in session.scalars(select(Activity)):
            key = (row.tenant_id, row.person_id, row.app_id)
            seen, sources = result.get(key, (None, set()))
            if row.last_seen_at is not None and (seen is None or row.last_seen_at > seen):
                seen = row.last_seen_at
            result[key] = (seen, sources | {row.source})
    return {key: (seen, frozenset(sources)) for key, (seen, sources) in result.items()}


def test_summary_follows_pages_reruns_partial_runs_and_retirement(
    store: Store, snapshot_connector: None
) -> None:
    sources = ["okta", "slack-api", "m365_eu"]  # "_" is a LIKE wildcard: matching must escape it
    connectors = [
        ConnectorConfig(id="scripted_snapshot", name=name, settings=ScriptedSettings(script=name))
        for name in sources
    ]
    tenants = [TenantConfig(id=tid, name=tid, connectors=connectors) for tid in ("acme", "globex")]
    config = Config(tenants=tenants, base_dir=Path("."))
    for tenant in tenants:
        apply_tenant_config(store, tenant)
    runner = SyncRunner(store, config, clock=lambda: NOW)
    rng = random.Random(7)
    people = [f"p{i}@x.io" for i in range(12)]
    apps = ["slack", "zoom", "m365"]
    kinds = list(ActivitySource)

    def page() -> list[Record]:
        records: list[Record] = []
        for _ in range(rng.randint(0, 25)):
            seen = None if rng.random() < 0.25 else NOW - timedelta(days=rng.randint(0, 200))
            feature = rng.choice(["", "", "teams", "exchange"])
            records.append(
                ActivityRecord(rng.choice(people), rng.choice(apps), seen, rng.choice(kinds), feature=feature)
            )
        return records

    checked = 0
    for _ in range(40):
        tenant = rng.choice(tenants)
        connector = rng.choice(connectors)
        pages = [page() for _ in range(rng.randint(1, 3))]
        partial = rng.random() < 0.2

        def script(
            ctx: SyncContext, pages: list[list[Record]] = pages, partial: bool = partial
        ) -> Iterator[Record]:
            for number, records in enumerate(pages):
                yield from records
                yield Checkpoint(f"page{number}")
            if partial:
                yield RowProblem("events.csv row 9", "bad date")

        ScriptedConnector.scripts[connector.name] = script
        runner.run(tenant, connector)
        assert stored(store) == expected(store)
        checked += 1
    # The runs above both grew and shrank the data: the comparison was not of two empty tables.
    assert checked == 40 and len(expected(store)) > 10


def test_summary_never_only_and_mixed_sources(store: Store, snapshot_connector: None) -> None:
    slack = ConnectorConfig(id="scripted_snapshot", name="slack", settings=ScriptedSettings(script="slack"))
    okta = ConnectorConfig(id="scripted_snapshot", name="okta", settings=ScriptedSettings(script="okta"))
    tenant = TenantConfig(id="acme", name="Acme", connectors=[slack, okta])
    apply_tenant_config(store, tenant)
    runner = SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW)
    late = datetime(2026, 11, 1, tzinfo=UTC)
    ScriptedConnector.scripts["slack"] = lambda ctx: iter(
        [ActivityRecord("a@x.io", "slack", None, ActivitySource.APP_LOGIN), Checkpoint("s")]
    )
    ScriptedConnector.scripts["okta"] = lambda ctx: iter(
        [ActivityRecord("a@x.io", "slack", late, ActivitySource.IDP_SSO), Checkpoint("o")]
    )
    runner.run(tenant, slack)
    assert list(stored(store).values()) == [(None, frozenset({"slack"}))]
    runner.run(tenant, okta)
    assert list(stored(store).values()) == [(late, frozenset({"slack", "okta"}))]
    # A clean okta run without the person retires okta's row: back to slack's "never".
    ScriptedConnector.scripts["okta"] = lambda ctx: iter([Checkpoint("o")])
    runner.run(tenant, okta)
    assert list(stored(store).values()) == [(None, frozenset({"slack"}))]


def test_migration_and_rebuild_summarise_activity_already_stored(store_url: str) -> None:
    store = Store(store_url)
    try:
        command.upgrade(alembic_config(store.engine), "0004")
        early, late = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO tenant (id, name, currency) VALUES ('t', 'T', 'USD')"))
            conn.execute(
                text("INSERT INTO person (tenant_id, email, updated_at) VALUES ('t', 'a@x.example', :now)"),
                {"now": NOW},
            )
            insert = text(
                "INSERT INTO activity (tenant_id, person_id, app_id, source, source_kind, feature,"
                " last_seen_at, observed_at, seen_run_id) SELECT 't', id, :app, :source, 'report', :feature,"
                " :seen, :now, 1 FROM person"
            )
            for app, source, feature, seen in [
                ("m365", "graph", "teams", early),
                ("m365", "graph", "exchange", late),
                ("m365", "okta", "", None),
                ("zoom", "zoom", "", None),
            ]:
                conn.execute(
                    insert, {"app": app, "source": source, "feature": feature, "seen": seen, "now": NOW}
                )
        store.migrate()
        want = {
            ("t", 1, "m365"): (late, frozenset({"graph", "okta"})),
            ("t", 1, "zoom"): (None, frozenset({"zoom"})),
        }
        summary = {(t, 1, a): v for (t, _p, a), v in stored(store).items()}
        assert summary == want
        with store.transaction() as session:
            session.execute(text("DELETE FROM app_usage"))
            rebuild(session, "t")
        assert {(t, 1, a): v for (t, _p, a), v in stored(store).items()} == want
    finally:
        store.dispose()


def test_summary_writers_of_a_tenant_take_turns_on_postgresql(store: Store) -> None:
    """A recompute must not interleave with another sync's page (see usage._serialise): while one
    transaction writes a tenant's summary, a second writer waits, even for another pair."""
    import threading

    from collector.usage import record

    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time anyway")
    with store.transaction() as session:
        session.execute(text("INSERT INTO tenant (id, name, currency) VALUES ('acme', 'Acme', 'USD')"))
        for email in ("a@x.io", "b@x.io"):
            session.execute(
                text("INSERT INTO person (tenant_id, email, updated_at) VALUES ('acme', :e, :now)"),
                {"e": email, "now": NOW},
            )
        ids = [row[0] for row in session.execute(text("SELECT id FROM person ORDER BY email"))]
    done = threading.Event()

    def second_writer() -> None:
        with store.transaction() as other:
            record(other, "acme", "slack", {(ids[1], "slack"): NOW})
        done.set()

    with store.transaction() as first:
        record(first, "acme", "okta", {(ids[0], "zoom"): NOW})
        writer = threading.Thread(target=second_writer)
        writer.start()
        assert not done.wait(0.5)  # waiting for the first transaction, not on a row it holds
    writer.join(10)
    assert done.is_set()
    assert len(stored(store)) == 2


@pytest.mark.parametrize(
    ("sources", "source", "listed"),
    [
        (",okta,slack,", "okta", True),
        (",okta,slack,", "slack", True),
        (",okta,slack,", "Okta", False),  # case matters (SQLite's LIKE would ignore it)
        (",okta,slack,", "kta", False),  # whole names only
        (",m365-eu,", "m365_eu", False),  # no wildcards: "_" is a character
        (",50%-off,", "50%-off", True),
        (",okta,slack,", "okta,slack", True),  # (a name with a comma is not a connector name)
    ],
)
def test_lists_source_is_an_exact_name_test(store: Store, sources: str, source: str, listed: bool) -> None:
    from sqlalchemy import literal

    from collector.usage import ListsSource

    with store.sessions() as session:
        assert bool(session.scalar(select(ListsSource(literal(sources), source)))) is listed
        assert bool(session.scalar(select(~ListsSource(literal(sources), source)))) is not listed
