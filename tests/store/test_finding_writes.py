"""How a run writes its findings: an unchanged finding is left alone (it is current as of its
analyzer's recorded run), a changed one is rewritten whole, a resolved one keeps the last run that
produced it, and the stored form reads back exactly (timestamps, money, JSON)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from test_unused_seats import tenant_with

from analyzers.base import FindingDraft, Severity, TenantView, Verdict
from collector.analysis import analysis_time, prepare, write
from collector.models import Finding
from collector.store import Store
from collector.tenants import apply_tenant_config

T1 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
VIEW = TenantView(tenant_id="acme", currency="EUR", now=T1)


def draft(subject: str, money: str = "15.00", **evidence: Any) -> FindingDraft:
    return FindingDraft(
        rule="inactive",
        subject=subject,
        title=f"{subject} has not used Slack for 90 days",
        verdict=Verdict.FAIL,
        severity=Severity.LOW,
        monthly_waste=Decimal(money),
        evidence={"person": subject, "sources": [{"source": "slack", "last_seen": "2026-08-22"}], **evidence},
        app_id="slack",
        sku="Business+",
    )


def persist(store: Store, drafts: list[FindingDraft], now: datetime) -> None:
    with store.transaction() as session:
        write(session, VIEW.tenant_id, prepare(session, VIEW, "unused_seats", drafts, now), now)


def stored(store: Store) -> dict[str, Finding]:
    with store.sessions() as session:
        return {f.subject: f for f in session.scalars(select(Finding))}


def test_findings_read_back_as_written(store: Store) -> None:
    apply_tenant_config(store, tenant_with())
    persist(store, [draft("a@x.io", "12.3456", note="ünïcode ✓", days=91)], T1)
    (row,) = stored(store).values()
    assert row.monthly_waste == Decimal("12.3456")
    assert row.currency == "EUR" and row.state == "open" and row.verdict == "fail"
    assert row.evidence["note"] == "ünïcode ✓" and row.evidence["days"] == 91
    assert row.first_seen_at == row.last_seen_at == T1 and row.resolved_at is None
    assert row.digest is not None and len(row.digest) == 32


def test_an_unchanged_finding_is_not_rewritten_and_a_changed_one_is(store: Store) -> None:
    apply_tenant_config(store, tenant_with())
    persist(store, [draft("a@x.io"), draft("b@x.io")], T1)
    # Mark both rows behind the analysis' back: a rewrite would restore the title.
    with store.transaction() as session:
        session.execute(update(Finding).values(title="untouched"))

    t2 = T1 + timedelta(hours=6)
    persist(store, [draft("a@x.io"), draft("b@x.io", "20.00")], t2)
    rows = stored(store)
    assert rows["a@x.io"].title == "untouched"  # same finding word for word: left alone
    assert rows["a@x.io"].last_seen_at == T1  # when it was written ...
    with store.sessions() as session:
        assert analysis_time(session, "acme", "unused_seats") == t2  # ... and current as of this run
    assert rows["b@x.io"].title == "b@x.io has not used Slack for 90 days"  # its money changed
    assert rows["b@x.io"].monthly_waste == Decimal("20.00")
    assert rows["b@x.io"].first_seen_at == T1 and rows["b@x.io"].last_seen_at == t2

    # Evidence alone changing is a change too.
    t3 = t2 + timedelta(hours=6)
    persist(store, [draft("a@x.io", days=92), draft("b@x.io", "20.00")], t3)
    rows = stored(store)
    assert rows["a@x.io"].title == "a@x.io has not used Slack for 90 days"
    assert rows["a@x.io"].evidence["days"] == 92


def test_rows_from_before_digests_and_resolved_findings(store: Store) -> None:
    apply_tenant_config(store, tenant_with())
    persist(store, [draft("a@x.io"), draft("b@x.io")], T1)
    with store.transaction() as session:
        session.execute(update(Finding).where(Finding.subject == "a@x.io").values(digest=None, title="old"))
    t2 = T1 + timedelta(hours=6)
    persist(store, [draft("a@x.io")], t2)  # b@x.io is gone: resolved
    rows = stored(store)
    assert rows["a@x.io"].title == "a@x.io has not used Slack for 90 days" and rows["a@x.io"].digest
    b = rows["b@x.io"]
    assert (b.state, b.resolved_at, b.last_seen_at) == ("resolved", t2, T1)

    t3 = t2 + timedelta(hours=6)
    persist(store, [draft("a@x.io"), draft("b@x.io")], t3)  # back: the same digest, but it was resolved
    b = stored(store)["b@x.io"]
    assert (b.state, b.resolved_at, b.last_seen_at, b.first_seen_at) == ("open", None, t3, T1)

    # Resolved after a run that left it unchanged: last seen by that run, not when it was written.
    t4, t5 = t3 + timedelta(hours=6), t3 + timedelta(hours=12)
    persist(store, [draft("a@x.io"), draft("b@x.io")], t4)
    persist(store, [draft("a@x.io")], t5)
    b = stored(store)["b@x.io"]
    assert (b.state, b.resolved_at, b.last_seen_at) == ("resolved", t5, t4)


def test_text_the_bulk_write_must_escape_reads_back_exactly(store: Store) -> None:
    # PostgreSQL writes through COPY's text format, where tab, newline, backslash and \N mean
    # something: each must arrive as written.
    apply_tenant_config(store, tenant_with())
    awkward = 'tab\there, line\nbreak, back\\slash, \\N, "quote", NUL-free ✓'
    finding = replace(draft("odd@x.io", note=awkward), title=f"Title with {awkward}")
    persist(store, [finding], T1)
    row = stored(store)["odd@x.io"]
    assert row.title == f"Title with {awkward}"
    assert row.evidence["note"] == awkward
