"""A run of every analyzer: one broken analyzer leaves its findings as they were and the others run;
all findings of a run are written together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import ScriptedConnector
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_unused_seats import NOW, days_ago, seat, tenant_with

import collector.analysis as analysis
from analyzers.base import FindingDraft, TenantView
from analyzers.offboarding import Offboarding
from analyzers.unused_seats import UnusedSeats
from collector.analysis import run_analyzers
from collector.config import Config, TenantConfig
from collector.models import Finding
from collector.records import Checkpoint
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

pytestmark = pytest.mark.usefixtures("scripted_connector")


def synced(store: Store) -> TenantConfig:
    tenant = tenant_with(seats=3)
    records = [
        *seat("idle@x.io", "slack", "Business+", days_ago(90)),
        *seat("busy@x.io", "slack", "Business+", days_ago(2)),
    ]
    ScriptedConnector.scripts["s"] = lambda ctx: iter([*records, Checkpoint("all")])
    apply_tenant_config(store, tenant)
    SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, tenant.connectors[0]
    )
    return tenant


def open_counts(store: Store) -> dict[str, int]:
    with store.sessions() as session:
        rows = session.execute(
            select(Finding.analyzer, func.count()).where(Finding.state == "open").group_by(Finding.analyzer)
        )
        return {analyzer: count for analyzer, count in rows}


def test_a_broken_analyzer_keeps_its_findings_and_the_others_still_run(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = synced(store)
    run_analyzers(store, tenant, now=NOW)
    before = open_counts(store)
    assert before["unused_seats"] == 2  # idle@x.io, and the unassigned third seat

    def broken(self: UnusedSeats, session: Session, view: TenantView, stored: Any) -> list[FindingDraft]:
        raise RuntimeError("analyzer bug")

    monkeypatch.setattr(UnusedSeats, "run_since", broken)  # what the runner calls
    ran: list[str] = []
    original = Offboarding.run_since

    def tracked(self: Offboarding, session: Session, view: TenantView, stored: Any) -> list[FindingDraft]:
        ran.append("offboarding")
        return original(self, session, view, stored)

    monkeypatch.setattr(Offboarding, "run_since", tracked)
    results = run_analyzers(store, tenant, now=NOW)
    assert "unused_seats" not in {r.analyzer for r in results}
    assert ran == ["offboarding"]
    assert open_counts(store) == before  # nothing resolved because the analyzer broke
    assert "analyzer unused_seats failed" in caplog.text


def test_a_failure_while_writing_leaves_every_previous_finding(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = synced(store)
    run_analyzers(store, tenant, now=NOW)
    before = open_counts(store)
    real_write = analysis.write

    def write_then_crash(session: Session, tenant_id: str, prepared: Any, now: Any) -> Any:
        if prepared.analyzer == "vendor_risk":  # the last analyzer: the others' are written by now
            raise RuntimeError("disk full")
        return real_write(session, tenant_id, prepared, now)

    monkeypatch.setattr(analysis, "write", write_then_crash)
    # unused_seats now finds nothing, so its write resolves both findings; the crash after it must
    # take that back with everything else.
    monkeypatch.setattr(UnusedSeats, "run_since", lambda self, session, view, stored: [])
    with pytest.raises(RuntimeError, match="disk full"):
        run_analyzers(store, tenant, now=NOW)
    assert open_counts(store) == before
