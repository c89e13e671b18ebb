"""The sync runner against a real store (SQLite and PostgreSQL): pages, cursors, failures, retirement."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes import ScriptedConnector, ScriptedSettings
from sqlalchemy import func, select

from collector.config import Config, ConnectorConfig, TenantConfig
from collector.connector import SyncContext
from collector.health import source_health
from collector.models import Account, Activity, Person, Seat, SyncRun, SyncState
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    IdpStatus,
    PersonRecord,
    Record,
    RowProblem,
    SeatRecord,
)
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("scripted_connector")


def setup(store: Store, script: str) -> tuple[SyncRunner, TenantConfig, ConnectorConfig]:
    connector = ConnectorConfig(id="scripted", name="hr", settings=ScriptedSettings(script=script))
    tenant = TenantConfig(id="acme", name="Acme", connectors=[connector])
    config = Config(tenants=[tenant], base_dir=Path("."))
    apply_tenant_config(store, tenant)
    return SyncRunner(store, config, clock=lambda: NOW), tenant, connector


def seat_page(*emails: str) -> list[Record]:
    records: list[Record] = []
    for email in emails:
        records.append(PersonRecord(email=email.upper(), status=IdpStatus.ACTIVE))
        records.append(AccountRecord(app_id="slack", external_id=email, email=email))
        records.append(SeatRecord(app_id="slack", sku="Pro", account_external_id=email))
    return records


def count(store: Store, model: type) -> int:
    with store.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_rerun_never_duplicates(store: Store) -> None:
    ScriptedConnector.scripts["s"] = lambda ctx: iter([*seat_page("a@x.io", "b@x.io"), Checkpoint("users")])
    runner, tenant, connector = setup(store, "s")
    first = runner.run(tenant, connector)
    second = runner.run(tenant, connector)
    assert (first.status, second.status) == ("success", "success")
    assert (count(store, Person), count(store, Account), count(store, Seat)) == (2, 2, 2)
    with store.sessions() as session:
        emails = sorted(session.scalars(select(Person.email)))
    assert emails == ["a@x.io", "b@x.io"]  # joined by normalised e-mail


def test_crash_mid_sync_keeps_committed_pages_and_next_run_resumes(store: Store) -> None:
    seen_cursors: list[object] = []

    def crashing(ctx: SyncContext) -> Iterator[Record]:
        seen_cursors.append(ctx.cursor("users"))
        yield from seat_page("a@x.io")
        yield Checkpoint("users", cursor={"after": "a"})
        yield from seat_page("b@x.io")
        raise ConnectionError("vendor went away")

    ScriptedConnector.scripts["s"] = crashing
    runner, tenant, connector = setup(store, "s")
    result = runner.run(tenant, connector)
    assert result.status == "failed"
    assert "vendor went away" in (result.error or "")
    assert count(store, Account) == 1  # page 1 committed, page 2 rolled back
    with store.sessions() as session:
        state = session.scalar(select(SyncState.cursor).where(SyncState.stream == "users"))
    assert state == {"after": "a"}
    runner.run(tenant, connector)
    assert seen_cursors == [None, {"after": "a"}]


def test_stop_request_rolls_back_page_in_flight(store: Store) -> None:
    def slow(ctx: SyncContext) -> Iterator[Record]:
        yield from seat_page("a@x.io")
        yield Checkpoint("users", cursor={"page": 1})
        yield from seat_page("b@x.io")
        ctx.stop.set()  # SIGTERM arrives in the middle of page 2
        yield from seat_page("c@x.io")
        yield Checkpoint("users", cursor={"page": 2})

    ScriptedConnector.scripts["s"] = slow
    runner, tenant, connector = setup(store, "s")
    result = runner.run(tenant, connector)
    assert result.status == "aborted"
    assert count(store, Account) == 1
    with store.sessions() as session:
        assert session.scalar(select(SyncState.cursor)) == {"page": 1}


def test_clean_snapshot_retires_missing_rows_but_partial_run_does_not(store: Store) -> None:
    runner, tenant, connector = setup(store, "s")
    ScriptedConnector.scripts["s"] = lambda ctx: iter([*seat_page("a@x.io", "b@x.io"), Checkpoint("u")])
    runner.run(tenant, connector)
    ScriptedConnector.scripts["s"] = lambda ctx: iter(
        [*seat_page("a@x.io"), RowProblem("users.csv row 3", "email: empty"), Checkpoint("u")]
    )
    partial = runner.run(tenant, connector)
    assert partial.status == "partial"
    assert count(store, Seat) == 2  # b's row was unreadable, not gone: keep b's seat
    ScriptedConnector.scripts["s"] = lambda ctx: iter([*seat_page("a@x.io"), Checkpoint("u")])
    runner.run(tenant, connector)
    assert (count(store, Seat), count(store, Account)) == (1, 1)
    with store.sessions() as session:
        run = session.scalars(select(SyncRun).where(SyncRun.status == "partial")).one()
    assert run.problems == [{"where": "users.csv row 3", "reason": "email: empty"}]
    assert run.problem_count == 1


def test_failed_sync_keeps_previous_data_and_marks_source_stale(store: Store) -> None:
    runner, tenant, connector = setup(store, "s")
    ScriptedConnector.scripts["s"] = lambda ctx: iter([*seat_page("a@x.io"), Checkpoint("u")])
    runner.run(tenant, connector)

    def down(ctx: SyncContext) -> Iterator[Record]:
        raise TimeoutError("read timed out")
        yield  # pragma: no cover

    ScriptedConnector.scripts["s"] = down
    assert runner.run(tenant, connector).status == "failed"
    assert count(store, Seat) == 1
    with store.sessions() as session:
        health = source_health(session, tenant, NOW)["hr"]
    assert health.stale and health.reason == "last sync failed"
    assert health.last_success_at == NOW


def test_activity_only_moves_forward_and_never_does_not_erase(store: Store) -> None:
    runner, tenant, connector = setup(store, "s")
    early = datetime(2026, 9, 1, tzinfo=UTC)
    late = datetime(2026, 11, 1, tzinfo=UTC)

    def events(*times: datetime | None) -> list[Record]:
        return [ActivityRecord("a@x.io", "slack", t, ActivitySource.IDP_SSO) for t in times] + [
            Checkpoint("e")
        ]

    for batch in ([early, late, None], [early], [None]):
        ScriptedConnector.scripts["s"] = lambda ctx, b=batch: iter(events(*b))
        runner.run(tenant, connector)
    with store.sessions() as session:
        rows = session.scalars(select(Activity)).all()
    assert [(r.last_seen_at, r.source_kind) for r in rows] == [(late, "idp_sso")]


def test_person_fields_from_one_source_are_not_erased_by_another(store: Store) -> None:
    runner, tenant, connector = setup(store, "s")
    ScriptedConnector.scripts["s"] = lambda ctx: iter(
        [PersonRecord("a@x.io", department="Finance", status=IdpStatus.SUSPENDED), Checkpoint("p")]
    )
    runner.run(tenant, connector)
    ScriptedConnector.scripts["s"] = lambda ctx: iter(
        [PersonRecord("a@x.io", display_name="Ann"), Checkpoint("p")]
    )
    runner.run(tenant, connector)
    with store.sessions() as session:
        person = session.scalars(select(Person)).one()
    assert (person.display_name, person.department, person.status) == ("Ann", "Finance", "suspended")


def test_runs_left_running_by_a_dead_process_are_closed_as_aborted(store: Store) -> None:
    runner, tenant, _connector = setup(store, "s")
    with store.transaction() as session:
        session.add(SyncRun(tenant_id="acme", connector="hr", started_at=NOW, status="running", problems=[]))
    assert runner.close_interrupted_runs() == 1
    with store.sessions() as session:
        run = session.scalars(select(SyncRun)).one()
    assert (run.status, run.error) == ("aborted", "the process stopped during this run")
    with store.sessions() as session:
        assert source_health(session, tenant, NOW)["hr"].reason == "has never synced successfully"


def test_a_secret_in_a_failure_never_reaches_the_run_record_or_the_log(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    from pydantic import SecretStr

    from collector.logs import configure_logging

    secret = "s3cr3t-token-value-42"
    connector = ConnectorConfig(
        id="scripted", name="hr", settings=ScriptedSettings(script="leak", token=SecretStr(secret))
    )
    tenant = TenantConfig(id="acme", name="Acme", connectors=[connector])
    apply_tenant_config(store, tenant)

    def leaky(ctx: SyncContext) -> Iterator[Record]:
        raise PermissionError(f"HTTP 401: credential {secret} was refused")
        yield  # pragma: no cover

    ScriptedConnector.scripts["leak"] = leaky
    configure_logging("INFO")
    result = SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, connector
    )
    assert result.status == "failed" and "401" in (result.error or "")
    with store.sessions() as session:
        stored = session.scalars(select(SyncRun)).one().error or ""
    assert secret not in stored and "***" in stored
    logged = capsys.readouterr().err  # what the daemon's log handler wrote
    assert "sync failed" in logged and "401" in logged
    assert secret not in logged
