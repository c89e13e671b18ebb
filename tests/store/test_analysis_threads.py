"""Analyzers run side by side on threads, each in its own session: the findings stored are the same
as one after the other, the analyzers really overlap, and the longest starts first."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from test_unused_seats import tenant_with

from analyzers.base import Analyzer, AnalyzerSettings, FindingDraft, Severity, TenantView, Verdict
from collector.analysis import ANALYSIS_CONNECTOR, analyse, analysis_seconds, record_analysis, run_analyzers
from collector.config import load_config
from collector.models import Finding, SyncState
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "samples" / "northwind.yaml"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
VIEW = TenantView(tenant_id="acme", currency="EUR", now=NOW)


def stored_findings(store: Store) -> list[tuple[Any, ...]]:
    with store.sessions() as session:
        rows = session.execute(
            select(
                Finding.analyzer, Finding.fingerprint, Finding.title, Finding.verdict, Finding.severity,
                Finding.monthly_waste, Finding.evidence, Finding.state, Finding.digest,
            ).order_by(Finding.analyzer, Finding.fingerprint)
        )  # fmt: skip
        return [tuple(row) for row in rows]


def test_threads_store_the_same_findings_as_one_thread(store: Store) -> None:
    config = load_config(SAMPLE)
    tenant = config.tenant("northwind")
    catalog = config.catalog_for(tenant)
    apply_tenant_config(store, tenant, catalog)
    assert SyncRunner(store, config, clock=lambda: NOW).run(tenant, tenant.connectors[0]).status == "success"

    run_analyzers(store, tenant, now=NOW, catalog=catalog, workers=1)
    one_thread = stored_findings(store)
    with store.transaction() as session:
        session.execute(delete(Finding))
        session.execute(delete(SyncState).where(SyncState.connector == ANALYSIS_CONNECTOR))
    results = run_analyzers(store, tenant, now=NOW, catalog=catalog, workers=4)

    assert stored_findings(store) == one_thread
    analyzers = {row[0] for row in one_thread}
    assert {"unused_seats", "offboarding", "overlap", "renewals"} <= analyzers
    # Results come back in the registry's order, whatever order the threads finished in.
    assert [r.analyzer for r in results] == sorted(r.analyzer for r in results)
    with store.sessions() as session:
        assert set(analysis_seconds(session, tenant.id)) == {r.analyzer for r in results}


class Probe(Analyzer):
    """An analyzer that records when it ran; ``wait_for`` makes it wait for another one to start."""

    settings_model = AnalyzerSettings
    started: ClassVar[list[str]] = []
    running: ClassVar[dict[str, threading.Event]] = {}

    def __init__(self, name: str, cost: int = 1, wait_for: str | None = None) -> None:
        super().__init__(AnalyzerSettings())
        self.id = name  # type: ignore[misc]  # one class, several analyzer ids
        self.relative_cost = cost  # type: ignore[misc]
        self.wait_for = wait_for
        Probe.running[name] = threading.Event()

    def run(self, session: Session, tenant: TenantView) -> list[FindingDraft]:
        Probe.started.append(self.id)
        Probe.running[self.id].set()
        if self.wait_for is not None and not Probe.running[self.wait_for].wait(timeout=10):
            raise AssertionError(f"{self.wait_for} did not run while {self.id} was running")
        return [
            FindingDraft(
                rule="probe",
                subject=f"{self.id}-finding",
                title=f"found by {self.id}",
                verdict=Verdict.FAIL,
                severity=Severity.LOW,
                monthly_waste=Decimal("1.00"),
                evidence={"by": self.id},
            )
        ]


def test_analyzers_overlap_on_two_threads(store: Store) -> None:
    apply_tenant_config(store, tenant_with())
    Probe.started.clear()
    # Each waits for the other to be running: on one thread at a time the first would time out.
    first, second = Probe("first", wait_for="second"), Probe("second", wait_for="first")
    results = analyse(store, VIEW, [first, second], NOW, workers=2)
    assert [(r.analyzer, r.open) for r in results] == [("first", 1), ("second", 1)]
    assert sorted(Probe.started) == ["first", "second"]


def test_a_failed_analyzer_on_a_thread_keeps_its_findings(store: Store) -> None:
    apply_tenant_config(store, tenant_with())
    analyse(store, VIEW, [Probe("steady"), Probe("flaky")], NOW, workers=2)
    # Now "flaky" waits for an analyzer that never runs and fails; "steady" still writes.
    later = NOW.replace(hour=13)
    results = analyse(store, VIEW, [Probe("steady"), Probe("flaky", wait_for="absent")], later, workers=2)
    assert [r.analyzer for r in results] == ["steady"]
    with store.sessions() as session:
        states = dict(session.execute(select(Finding.analyzer, Finding.state)).all())
    assert states == {"steady": "open", "flaky": "open"}  # not resolved by the failed run


def test_the_longest_analyzer_starts_first(store: Store) -> None:
    apply_tenant_config(store, tenant_with())
    with store.transaction() as session:
        record_analysis(session, "acme", "short", NOW, seconds=0.5)
        record_analysis(session, "acme", "long", NOW, seconds=7.0)
    Probe.started.clear()
    analyzers = [Probe("short"), Probe("long"), Probe("new", cost=1), Probe("new_heavy", cost=10)]
    analyse(store, VIEW, analyzers, NOW.replace(hour=13), workers=1)
    # By the last run's time; one never timed by its class's guide, at the seconds per unit of cost
    # the timed ones took (7.5 s for 2 units): "new_heavy" 37.5 s, "new" 3.75 s.
    assert Probe.started == ["new_heavy", "long", "new", "short"]
    with store.sessions() as session:
        took = analysis_seconds(session, "acme")
    assert set(took) == {"short", "long", "new", "new_heavy"}
    assert took["long"] != 7.0  # this run's time replaced the last one's


def test_an_in_memory_database_is_analysed_on_one_thread() -> None:
    # Each thread would open a database of its own, without the tables or the data.
    store = Store("sqlite://")
    store.migrate()
    assert not store.concurrent_reads
    apply_tenant_config(store, tenant_with())
    results = analyse(store, VIEW, [Probe("one"), Probe("two")], NOW, workers=4)
    assert [(r.analyzer, r.open) for r in results] == [("one", 1), ("two", 1)]
    store.dispose()
