"""Schedules from the config become the APScheduler triggers and job options the daemon promises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from collector import daemon as daemon_module
from collector.config import Config, ConnectorConfig, Schedule, TenantConfig
from collector.daemon import Daemon, trigger_for
from collector.schedule import period_of
from collector.store import Store


def test_interval_schedule_with_jitter() -> None:
    trigger = trigger_for(
        ConnectorConfig(id="csv_import", schedule=Schedule.model_validate({"interval": "6h", "jitter": "5m"}))
    )
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(hours=6)
    assert trigger.jitter == 300


def test_cron_schedule_runs_in_utc() -> None:
    trigger = trigger_for(
        ConnectorConfig(id="csv_import", schedule=Schedule(cron="30 6 * * 1-5", jitter=timedelta(0)))
    )
    assert isinstance(trigger, CronTrigger)
    after = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)  # a Friday, after 06:30
    assert trigger.get_next_fire_time(None, after) == datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


def test_daemon_has_one_job_per_tenant_connector_with_coalesce_and_single_instance(tmp_path: Path) -> None:
    tenants = [
        TenantConfig(id=t, name=t, connectors=[ConnectorConfig(id="csv_import", name=n) for n in ("a", "b")])
        for t in ("one", "two")
    ]
    config = Config(tenants=tenants, base_dir=tmp_path, metrics={"listen": "127.0.0.1:0"})
    daemon = Daemon(config, Store(f"sqlite:///{tmp_path}/d.sqlite3"))
    daemon.scheduler.start(paused=True)
    try:
        daemon.schedule_jobs(datetime(2026, 11, 20, tzinfo=UTC))
        jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
    finally:
        daemon.scheduler.shutdown(wait=False)
    assert sorted(jobs) == [
        "analyze:one", "analyze:two", "sync:one:a", "sync:one:b", "sync:two:a", "sync:two:b",
    ]  # fmt: skip
    sync = jobs["sync:one:a"]
    assert (sync.coalesce, sync.max_instances, sync.args) == (True, 1, ("one", "a"))


def test_crontab_weekday_numbers_mean_what_cron_means() -> None:
    from collector.daemon import cron_weekdays

    assert cron_weekdays("1-5") == "mon-fri"
    assert cron_weekdays("0,6") == "sun,sat"
    assert cron_weekdays("7") == "sun"
    assert cron_weekdays("*/2") == "*/2"  # a step is a count, not a day
    assert cron_weekdays("mon-fri") == "mon-fri"


def test_the_period_of_a_cron_schedule_is_its_longest_gap() -> None:
    now = datetime(2026, 11, 18, 12, tzinfo=UTC)  # a Wednesday
    assert period_of(Schedule(cron="0 6 * * 1-5"), now) == timedelta(days=3)  # Friday to Monday
    assert period_of(Schedule(cron="*/15 * * * *"), now) == timedelta(minutes=15)
    assert period_of(Schedule(interval=timedelta(hours=6)), now) == timedelta(hours=6)


def test_analysis_waits_for_the_last_sync_of_the_tenant_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = TenantConfig(id="one", name="One", connectors=[ConnectorConfig(id="csv_import", name="a")])
    config = Config(tenants=[tenant], base_dir=tmp_path, metrics={"listen": "127.0.0.1:0"})
    daemon = Daemon(config, Store(f"sqlite:///{tmp_path}/d.sqlite3"))
    analysed: list[str] = []
    monkeypatch.setattr(
        daemon_module, "run_analyzers", lambda store, tenant, **kw: analysed.append(tenant.id)
    )
    daemon.syncing["one"] = 1  # another connector of the tenant is half-way through its sync
    daemon.analyze("one")
    assert analysed == []
    daemon.syncing["one"] = 0
    daemon.analyze("one")
    assert analysed == ["one"]


def test_the_first_analysis_waits_for_the_syncs_due_at_start(tmp_path: Path) -> None:
    start = ConnectorConfig(id="csv_import", name="a")
    later = ConnectorConfig(id="csv_import", name="b", schedule=Schedule(run_at_start=False))
    tenants = [
        TenantConfig(id="syncs", name="S", connectors=[start]),
        TenantConfig(id="waits", name="W", connectors=[later]),
    ]
    config = Config(tenants=tenants, base_dir=tmp_path, metrics={"listen": "127.0.0.1:0"})
    daemon = Daemon(config, Store(f"sqlite:///{tmp_path}/d.sqlite3"))
    now = datetime(2026, 11, 20, tzinfo=UTC)
    daemon.scheduler.start(paused=True)
    try:
        daemon.schedule_jobs(now)
        first = {job.id: job.next_run_time for job in daemon.scheduler.get_jobs()}
    finally:
        daemon.scheduler.shutdown(wait=False)
    assert first["analyze:syncs"] == now + timedelta(hours=1)  # its sync at start analyses when done
    assert first["analyze:waits"] == now  # nothing syncs now: judge the stored data at once
