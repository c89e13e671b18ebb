"""Finding lifecycle: identity across runs, resolution with realised savings, and the config mute list."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import ScriptedConnector
from pydantic import ValidationError
from sqlalchemy import select
from test_unused_seats import AS_OF, NOW, days_ago, seat, tenant_with

from collector.analysis import run_analyzers
from collector.config import Config, Mute
from collector.models import Finding
from collector.records import Checkpoint, Record
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

pytestmark = pytest.mark.usefixtures("scripted_connector")


def sync(store: Store, mutes: list[Mute], records: list[Record]) -> dict[str, Finding]:
    tenant = tenant_with(seats=2).model_copy(update={"mute": mutes})
    ScriptedConnector.scripts["s"] = lambda ctx: iter([*records, Checkpoint("all")])
    apply_tenant_config(store, tenant)
    SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, tenant.connectors[0]
    )
    run_analyzers(store, tenant, now=NOW)
    with store.sessions() as session:
        return {f.subject: f for f in session.scalars(select(Finding).where(Finding.rule == "inactive"))}


def mute(**fields: object) -> Mute:
    return Mute.model_validate({"reason": "on parental leave until March", **fields})


def test_a_muted_finding_is_suppressed_until_the_mute_expires(store: Store) -> None:
    records = [
        *seat("old@x.io", "slack", "Business+", days_ago(90)),
        *seat("gone@x.io", "slack", "Business+", days_ago(70)),
    ]
    found = sync(store, [mute(analyzer="unused_seats", subject="old@*", expires=date(2027, 3, 1))], records)
    assert found["old@x.io"].state == "suppressed"
    assert found["old@x.io"].evidence["muted"] == {
        "reason": "on parental leave until March",
        "expires": "2027-03-01",
    }
    assert found["gone@x.io"].state == "open"
    first_seen = found["old@x.io"].first_seen_at

    # The mute expired (mutes follow the wall clock): the finding is open again, same identity.
    found = sync(store, [mute(analyzer="unused_seats", subject="old@*", expires=date(2026, 11, 19))], records)
    assert found["old@x.io"].state == "open"
    assert "muted" not in found["old@x.io"].evidence
    assert found["old@x.io"].first_seen_at == first_seen


def test_a_resolved_finding_keeps_its_money_as_realised_saving(store: Store) -> None:
    records = [
        *seat("old@x.io", "slack", "Business+", days_ago(90)),
        *seat("b@x.io", "slack", "Business+", days_ago(1)),
    ]
    assert sync(store, [], records)["old@x.io"].state == "open"
    # The seat was reclaimed: the next snapshot no longer has it.
    found = sync(store, [], records[3:])
    assert found["old@x.io"].state == "resolved"
    assert found["old@x.io"].monthly_waste == Decimal("15.00")
    assert found["old@x.io"].resolved_at is not None


def test_a_mute_needs_a_reason_an_expiry_and_a_target() -> None:
    with pytest.raises(ValidationError, match="at least one of"):
        Mute.model_validate({"reason": "accepted risk", "expires": "2027-01-01"})
    with pytest.raises(ValidationError, match="expires"):
        Mute.model_validate({"reason": "accepted risk", "app": "slack"})
    with pytest.raises(ValidationError, match="unknown analyzer"):
        Mute.model_validate({"reason": "accepted risk", "analyzer": "nope", "expires": "2027-01-01"})


def test_bulk_writes_count_and_resolve_across_chunks(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import collector.analysis as analysis

    monkeypatch.setattr(analysis, "WRITE_CHUNK", 2)  # every write and resolve spans several chunks
    tenant = tenant_with(seats=5)
    quiet = [f"q{n}@x.io" for n in range(5)]

    def analyze(
        last_seen_days: dict[str, int], mutes: tuple[Mute, ...] = (), later_days: int = 0
    ) -> analysis.AnalysisResult:
        records = [
            r for who, days in last_seen_days.items() for r in seat(who, "slack", "Business+", days_ago(days))
        ]
        ScriptedConnector.scripts["s"] = lambda ctx: iter([*records, Checkpoint("all")])
        as_of = AS_OF + timedelta(days=later_days)
        current = tenant.model_copy(update={"mute": list(mutes), "as_of": as_of})
        apply_tenant_config(store, current)
        SyncRunner(store, Config(tenants=[current], base_dir=Path(".")), clock=lambda: NOW).run(
            current, current.connectors[0]
        )
        (result,) = [r for r in run_analyzers(store, current, now=NOW) if r.analyzer == "unused_seats"]
        return result

    first = analyze(dict.fromkeys(quiet, 90))
    assert (first.open, first.opened, first.resolved, first.monthly_waste) == (5, 5, 0, Decimal("75.00"))
    again = analyze(dict.fromkeys(quiet, 90))
    assert (again.open, again.opened, again.resolved) == (5, 0, 0)
    # Three came back to work; one of the two still quiet is muted.
    muted = mute(subject="q4@*", expires=date(2027, 3, 1))
    back = analyze({**dict.fromkeys(quiet[:2], 90), **dict.fromkeys(quiet[2:4], 1), "q4@x.io": 90}, (muted,))
    assert (back.open, back.opened, back.resolved, back.monthly_waste) == (2, 0, 2, Decimal("30.00"))
    with store.sessions() as session:
        rows = {f.subject: f for f in session.scalars(select(Finding).where(Finding.rule == "inactive"))}
    assert {s: rows[s].state for s in quiet} == {
        "q0@x.io": "open",
        "q1@x.io": "open",
        "q2@x.io": "resolved",
        "q3@x.io": "resolved",
        "q4@x.io": "suppressed",
    }
    assert rows["q2@x.io"].resolved_at == NOW and rows["q2@x.io"].monthly_waste == Decimal("15.00")
    # Sixty days on, the two who came back are quiet again and the mute is lifted: three reopen.
    later = analyze(dict.fromkeys(quiet, 90), later_days=60)
    assert (later.open, later.opened, later.resolved) == (5, 3, 0)
    with store.sessions() as session:
        reopened = session.scalars(select(Finding).where(Finding.subject == "q2@x.io")).one()
    assert (reopened.state, reopened.resolved_at, reopened.first_seen_at) == (
        "open",
        None,
        rows["q2@x.io"].first_seen_at,
    )
