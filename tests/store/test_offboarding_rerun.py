"""Offboarding on a rerun: a finding already stored comes as a stand-in, worded only when what it
is worded from changed; an unchanged one is not written again, and a stand-in words to exactly
what a first run says."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from test_offboarding import NOW, days_ago, idp_user, seat, sync, tenant_with

import analyzers.offboarding as module
from analyzers.offboarding import Offboarding, OffboardingSettings
from collector.analysis import run_analyzers, stored_findings, tenant_view
from collector.models import Finding
from collector.records import ActivityRecord, ActivitySource, IdpStatus, Record
from collector.store import Store

pytestmark = pytest.mark.usefixtures("scripted_connector")

OKTA: list[Record] = [
    *idp_user("gone@x.io", IdpStatus.SUSPENDED, days_ago(40)),
    *idp_user("left@x.io", IdpStatus.DEPROVISIONED, days_ago(50)),
    *idp_user("here@x.io", IdpStatus.ACTIVE, days_ago(1)),
]
APPS: list[Record] = [
    *seat("gone@x.io", "slack", "Business+"),
    *seat("left@x.io", "zoom", "Pro"),
    *seat("here@x.io", "slack", "Business+"),
    *seat("ghost@x.io", "github", "Enterprise"),  # in the company's domain, not in the IdP
]


def titles(store: Store) -> dict[str, str]:
    with store.sessions() as session:
        rows = session.execute(
            select(Finding.subject, Finding.title).where(Finding.analyzer == "offboarding")
        )
        return dict(rows.all())


def mark_all(store: Store) -> None:
    """Overwrite every stored title behind the analysis' back: a rewrite restores it."""
    with store.transaction() as session:
        session.execute(update(Finding).values(title="untouched"))


def test_stand_ins_reword_to_exactly_the_first_runs_findings(store: Store) -> None:
    tenant = tenant_with()
    sync(store, tenant, okta=OKTA, apps=APPS)
    run_analyzers(store, tenant, now=NOW)
    view = tenant_view(store, tenant, NOW)
    analyzer = Offboarding(OffboardingSettings())
    with store.sessions() as session:
        first = {d.fingerprint: d for d in analyzer.run(session, view)}
        stand_ins = analyzer.run_since(session, view, stored_findings(session, "acme", "offboarding"))
    assert {d.subject for d in stand_ins} == {"gone@x.io", "left@x.io", "ghost@x.io"}
    assert all(d.title == "" and d.evidence == {} and d.reword is not None for d in stand_ins)
    for stand_in in stand_ins:
        draft = first[stand_in.fingerprint]
        # The stand-in's verdict and money are the worded finding's, before any wording.
        assert (stand_in.verdict, stand_in.severity, stand_in.monthly_waste, stand_in.input_digest) == (
            draft.verdict,
            draft.severity,
            draft.monthly_waste,
            draft.input_digest,
        )
        assert stand_in.reword is not None
        assert stand_in.reword() == draft


def test_an_unchanged_finding_is_not_worded_or_written_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = tenant_with()
    sync(store, tenant, okta=OKTA, apps=APPS)
    run_analyzers(store, tenant, now=NOW)
    first = titles(store)
    assert len(first) == 3
    mark_all(store)
    worded: list[str] = []
    real = module.Offboarding._draft

    def counting(self: Offboarding, holding: module.Holding, *args: object, **kw: object) -> object:
        worded.append(holding.email)
        return real(self, holding, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(module.Offboarding, "_draft", counting)
    run_analyzers(store, tenant, now=NOW + timedelta(hours=1))
    assert worded == []
    assert set(titles(store).values()) == {"untouched"}

    # A new sighting of one leaver in the app words and writes that finding, and only that one.
    sync(
        store,
        tenant,
        okta=OKTA,
        apps=[*APPS, ActivityRecord("left@x.io", "zoom", days_ago(3), ActivitySource.APP_LOGIN)],
    )
    run_analyzers(store, tenant, now=NOW + timedelta(hours=2))
    assert worded == ["left@x.io"]
    again = titles(store)
    assert again["left@x.io"] == first["left@x.io"]
    assert again["gone@x.io"] == again["ghost@x.io"] == "untouched"
    with store.sessions() as session:
        left = session.scalars(select(Finding).where(Finding.subject == "left@x.io")).one()
    assert left.evidence["last_seen_in_app"] == days_ago(3).isoformat()


def test_a_stale_source_turns_a_stand_in_unknown_without_money(store: Store) -> None:
    tenant = tenant_with()
    sync(store, tenant, okta=OKTA, apps=APPS)
    run_analyzers(store, tenant, now=NOW)
    view = tenant_view(store, tenant, NOW)
    stale = view.__class__(**{**view.__dict__, "stale_sources": {"okta": "last sync failed"}})
    with store.sessions() as session:
        stand_ins = Offboarding(OffboardingSettings()).run_since(
            session, stale, stored_findings(session, "acme", "offboarding")
        )
        worded = {d.fingerprint: d for d in Offboarding(OffboardingSettings()).run(session, stale)}
    for stand_in in stand_ins:
        draft = worded[stand_in.fingerprint]
        assert (stand_in.verdict, stand_in.monthly_waste) == (draft.verdict, draft.monthly_waste)
        assert stand_in.input_digest == draft.input_digest
    assert {d.verdict.value for d in stand_ins} == {"unknown"}
