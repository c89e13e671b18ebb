"""Unused seats on a rerun: a seat's finding already stored comes as a stand-in, worded only when
its inputs changed. Unchanged findings are left alone; any change to what a finding says is
written, word for word the same as a first run would."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from fakes import ScriptedConnector
from sqlalchemy import select, update
from test_unused_seats import NOW, days_ago, seat, tenant_with

from analyzers.unused_seats import UnusedSeats, UnusedSeatsSettings
from collector.analysis import run_analyzers, stored_findings, tenant_view
from collector.config import Config, Mute, TenantConfig
from collector.models import Finding, Person
from collector.records import Checkpoint, Record
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

pytestmark = pytest.mark.usefixtures("scripted_connector")

RECORDS: list[Record] = [
    *seat("old@x.io", "slack", "Business+", days_ago(90)),
    *seat("never@x.io", "slack", "Business+", None),
    *seat("busy@x.io", "slack", "Business+", days_ago(2)),
]


def synced(store: Store, tenant: TenantConfig, records: list[Record] = RECORDS) -> None:
    ScriptedConnector.scripts["s"] = lambda ctx: iter([*records, Checkpoint("all")])
    apply_tenant_config(store, tenant)
    SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, tenant.connectors[0]
    )


def mark_all(store: Store) -> None:
    """Overwrite every stored title behind the analysis' back: a rewrite restores it."""
    with store.transaction() as session:
        session.execute(update(Finding).values(title="untouched"))


def titles(store: Store) -> dict[str, str]:
    with store.sessions() as session:
        rows = session.execute(
            select(Finding.subject, Finding.title).where(
                Finding.analyzer == "unused_seats", Finding.rule != "unassigned"
            )
        )
        return dict(rows.all())


def test_stand_ins_reword_to_exactly_the_first_runs_findings(store: Store) -> None:
    tenant = tenant_with()
    synced(store, tenant)
    run_analyzers(store, tenant, now=NOW)
    view = tenant_view(store, tenant, NOW)
    analyzer = UnusedSeats(UnusedSeatsSettings())
    with store.sessions() as session:
        full = analyzer.run(session, view)
        stand_ins = analyzer.run_since(session, view, stored_findings(session, "acme", "unused_seats"))
    seats = [d for d in stand_ins if d.reword is not None]
    assert {d.subject for d in seats} == {"old@x.io", "never@x.io"}
    assert all(d.title == "" and d.evidence == {} for d in seats)
    reworded = {d.fingerprint: d.reword() if d.reword else d for d in stand_ins}
    first = {d.fingerprint: d for d in full}
    assert reworded.keys() == first.keys()
    for fingerprint, draft in first.items():
        again = reworded[fingerprint]
        assert (again.title, again.evidence, again.input_digest) == (
            draft.title,
            draft.evidence,
            draft.input_digest,
        )
        assert (again.verdict, again.severity, again.monthly_waste) == (
            draft.verdict,
            draft.severity,
            draft.monthly_waste,
        )


def test_an_unchanged_seat_is_not_worded_or_written_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = tenant_with()
    synced(store, tenant)
    run_analyzers(store, tenant, now=NOW)
    mark_all(store)
    worded: list[str] = []
    import analyzers.unused_seats as module

    real_word = module._word

    def counting(*args: object) -> object:
        worded.append(args[0].email)  # type: ignore[attr-defined]
        return real_word(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "_word", counting)
    run_analyzers(store, tenant, now=NOW + timedelta(hours=1))
    assert worded == []
    assert titles(store) == {"old@x.io": "untouched", "never@x.io": "untouched"}


def test_a_changed_holder_is_worded_and_written_again(store: Store) -> None:
    tenant = tenant_with()
    synced(store, tenant)
    run_analyzers(store, tenant, now=NOW)
    mark_all(store)
    with store.transaction() as session:
        session.execute(update(Person).where(Person.email == "old@x.io").values(display_name="Old Timer"))
    run_analyzers(store, tenant, now=NOW + timedelta(hours=1))
    assert titles(store) == {
        "old@x.io": "old@x.io has not used slack (Business+) for 90 days (last seen 2026-08-22, per exports)",
        "never@x.io": "untouched",
    }
    with store.sessions() as session:
        old = session.scalars(select(Finding).where(Finding.subject == "old@x.io")).one()
    assert old.evidence["name"] == "Old Timer"


def test_a_new_price_or_a_new_day_words_every_seat_again(store: Store) -> None:
    tenant = tenant_with()
    synced(store, tenant)
    run_analyzers(store, tenant, now=NOW)

    # A new price changes every seat's money (the same day).
    mark_all(store)
    dearer = tenant_with(unit_price="240")
    apply_tenant_config(store, dearer)
    run_analyzers(store, dearer, now=NOW + timedelta(hours=1))
    with store.sessions() as session:
        money = session.execute(
            select(Finding.monthly_waste).where(
                Finding.analyzer == "unused_seats", Finding.rule != "unassigned"
            )
        )
        assert {str(m) for m in money.scalars()} == {"20.0000"}  # 240 a year
    assert "untouched" not in titles(store).values()

    # The next evaluation day: "for 91 days".
    mark_all(store)
    next_day = dearer.model_copy(update={"as_of": date(2026, 11, 21)})
    run_analyzers(store, next_day, now=NOW + timedelta(hours=2))
    assert titles(store) == {
        "old@x.io": "old@x.io has not used slack (Business+) for 91 days (last seen 2026-08-22, per exports)",
        "never@x.io": "never@x.io has never used slack (Business+), seat held since 2026-01-24",
    }


def test_a_mute_on_an_unchanged_seat_is_written_with_its_reason(store: Store) -> None:
    tenant = tenant_with()
    synced(store, tenant)
    run_analyzers(store, tenant, now=NOW)
    mute = Mute(subject="old@x.io", reason="on leave", expires=date(2099, 1, 1))
    muted = tenant.model_copy(update={"mute": [mute]})
    run_analyzers(store, muted, now=NOW + timedelta(hours=1))
    with store.sessions() as session:
        old = session.scalars(select(Finding).where(Finding.subject == "old@x.io")).one()
    assert old.state == "suppressed"
    assert old.evidence["muted"] == {"reason": "on leave", "expires": "2099-01-01"}
    assert old.title.startswith("old@x.io has not used slack")

    # A new reason for the same mute is written too; lifting it opens the finding again.
    renamed = mute.model_copy(update={"reason": "sabbatical"})
    run_analyzers(store, tenant.model_copy(update={"mute": [renamed]}), now=NOW + timedelta(hours=2))
    with store.sessions() as session:
        assert (
            session.scalars(select(Finding.evidence).where(Finding.subject == "old@x.io")).one()["muted"][
                "reason"
            ]
            == "sabbatical"
        )
    run_analyzers(store, tenant, now=NOW + timedelta(hours=3))
    with store.sessions() as session:
        old = session.scalars(select(Finding).where(Finding.subject == "old@x.io")).one()
    assert old.state == "open" and "muted" not in old.evidence


def test_the_code_is_part_of_every_digest(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = tenant_with()
    synced(store, tenant)
    run_analyzers(store, tenant, now=NOW)
    mark_all(store)
    import analyzers.unused_seats as module

    monkeypatch.setattr(module, "_CODE", b"another version of the wording")
    run_analyzers(store, tenant, now=NOW + timedelta(hours=1))
    assert "untouched" not in titles(store).values()
