"""Runs the analyzers for a tenant and keeps their findings across runs.

A finding keeps its identity (fingerprint) from run to run: its first-seen time survives, a finding
no longer produced is resolved (its money is then a realised saving), and one that comes back is
reopened. A finding matching an unexpired ``mute`` entry of the tenant's config is ``suppressed``:
kept current but out of the open totals; when the mute expires or is removed it is open again.
"""

from __future__ import annotations

import gc
import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from analyzers.base import Analyzer, FindingDraft, TenantView, Verdict
from analyzers.registry import analyzer_ids, get_analyzer
from collector.catalog import Catalog, builtin_catalog
from collector.config import Mute, TenantConfig
from collector.health import source_health
from collector.job_state import job_cursors, save_job_cursor
from collector.models import Finding
from collector.pools import effective_pools
from collector.store import BulkUpsert, Store
from collector.timeutil import utcnow

log = logging.getLogger("saaswatch.analysis")

FINDING_KEY = ("tenant_id", "analyzer", "fingerprint")
# Each analyzer's last run, in ``sync_state`` under this reserved name (connector names are slugs,
# like ``:report`` and ``:digest``), one stream per analyzer.
ANALYSIS_CONNECTOR = ":analysis"
WRITE_CHUNK = 2000  # findings per upsert / fingerprints per resolving UPDATE


@dataclass
class AnalysisResult:
    analyzer: str
    open: int
    opened: int
    resolved: int
    monthly_waste: Decimal


def evaluation_time(tenant: TenantConfig, now: datetime) -> datetime:
    """The time analyzers judge against: ``now``, or the end of the tenant's ``as_of`` day."""
    if tenant.as_of is None:
        return now
    return datetime.combine(tenant.as_of, time(23, 59, 59), tzinfo=UTC)


def tenant_view(
    store: Store, tenant: TenantConfig, now: datetime, catalog: Catalog | None = None
) -> TenantView:
    with store.sessions() as session:
        health = source_health(session, tenant, now)
        pools = tuple(effective_pools(session, tenant.id))
    stale = {source: h.reason or "is stale" for source, h in health.items() if h.stale}
    return TenantView(
        tenant_id=tenant.id,
        currency=tenant.currency,
        now=evaluation_time(tenant, now),
        exchange_rates=dict(tenant.exchange_rates),
        stale_sources=stale,
        catalog=catalog or builtin_catalog(),
        pools=pools,
    )


def build_analyzers(tenant: TenantConfig) -> list[Analyzer]:
    analyzers = []
    for analyzer_id in analyzer_ids():
        cls = get_analyzer(analyzer_id)
        settings = tenant.policy.get(analyzer_id) or cls.settings_model()
        analyzers.append(cls(settings))
    return analyzers


def run_analyzers(
    store: Store, tenant: TenantConfig, now: datetime | None = None, catalog: Catalog | None = None
) -> list[AnalysisResult]:
    now = now or utcnow()
    view = tenant_view(store, tenant, now, catalog)
    produced: list[tuple[str, list[FindingDraft]]] = []
    for analyzer in build_analyzers(tenant):
        try:
            with store.sessions() as session, gc_paused():
                produced.append((analyzer.id, analyzer.run(session, view)))
        except Exception:
            # One broken analyzer must not stop the others; its findings stay as they were.
            log.exception("analyzer %s failed; its findings are left as they were", analyzer.id)
    # Every analyzer's findings are written in one transaction: a scrape or report in the middle of
    # an analysis sees the previous results or the new ones, never a total that is half of each.
    results = []
    with store.transaction() as session, gc_paused():
        for analyzer_id, drafts in produced:
            results.append(_persist(session, view, analyzer_id, drafts, now, tenant.mute))
    for result in results:
        log.info(
            "analyzer %s: %d open findings (%d new, %d resolved), %s %s/month",
            result.analyzer,
            result.open,
            result.opened,
            result.resolved,
            result.monthly_waste,
            tenant.currency,
            extra={"tenant": tenant.id},
        )
    return results


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an analyzer runs and its findings are written.

    On a large tenant that is millions of short-lived rows, dicts and strings, none of them in a
    reference cycle; the collector's repeated passes over them (and over the growing list of
    findings) cost a quarter of the analysis. Reference counting still frees everything at once.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _mute_for(mutes: Sequence[Mute], analyzer_id: str, draft: FindingDraft) -> Mute | None:
    """The first of ``mutes`` (in force today) that matches ``draft``."""
    for mute in mutes:
        if mute.matches(analyzer_id, draft.rule, draft.app_id, draft.sku, draft.subject):
            return mute
    return None


def _persist(
    session: Session,
    view: TenantView,
    analyzer_id: str,
    drafts: list[FindingDraft],
    now: datetime,
    mutes: Sequence[Mute] = (),
) -> AnalysisResult:
    """Merge ``drafts`` into the stored findings of ``analyzer_id``, in bulk.

    Reads only (fingerprint, state, digest) of what is stored. A draft whose digest and state match
    its stored row is the same finding as last run and is not touched at all (on a large tenant
    most of them, and rewriting a quarter of a million rows costs seconds): an open finding is
    current as of its analyzer's last run, recorded by ``record_analysis``. New and changed ones go
    through one compiled upsert (the first-seen time of a known finding is never overwritten); what
    is no longer produced is resolved with chunked UPDATEs. A few statements whatever the number of
    findings.
    """
    tenant_id = view.tenant_id
    previous = analysis_time(session, tenant_id, analyzer_id)
    stored = select(Finding.fingerprint, Finding.state, Finding.digest).where(
        Finding.tenant_id == tenant_id, Finding.analyzer == analyzer_id
    )
    existing: dict[str, tuple[str, str | None]] = {
        fingerprint: (state, digest) for fingerprint, state, digest in session.execute(stored)
    }
    writer = BulkUpsert(
        session,
        _table(Finding),
        columns=WRITTEN_COLUMNS,
        key=FINDING_KEY,
        update=[*WRITTEN_COLUMNS[1:], "last_seen_at", "resolved_at"],  # all but first_seen_at
        constants={
            "tenant_id": tenant_id,
            "analyzer": analyzer_id,
            "currency": view.currency,
            "first_seen_at": now,
            "last_seen_at": now,
            "resolved_at": None,
        },
        encoded=("evidence",),
    )
    # Mutes expire on the wall clock, not the tenant's as_of: they are decisions taken today.
    today = now.date()
    mutes = [m for m in mutes if m.expires >= today and m.analyzer in (None, analyzer_id)]
    seen: set[str] = set()
    opened = open_count = 0
    waste = Decimal(0)
    rows: list[tuple[Any, ...]] = []
    for draft in drafts:
        fingerprint = draft.fingerprint
        if fingerprint in seen:
            raise ValueError(f"analyzer {analyzer_id} produced {fingerprint!r} twice")
        seen.add(fingerprint)
        mute = _mute_for(mutes, analyzer_id, draft) if mutes else None
        evidence = draft.evidence
        if mute:
            evidence = {**evidence, "muted": {"reason": mute.reason, "expires": mute.expires.isoformat()}}
        else:
            open_count += 1
            if draft.verdict is Verdict.FAIL:
                waste += draft.monthly_waste
        state = "suppressed" if mute else "open"
        before = existing.get(fingerprint)
        # New, or back from resolved or suppressed (a state change also clears resolved_at).
        opened += state == "open" and (before is None or before[0] != "open")
        encoded = writer.encode("evidence", evidence)
        digest = _digest(draft, view.currency, state, encoded)
        if before is not None and before == (state, digest):
            continue  # the same finding as last run, word for word
        rows.append(
            (
                fingerprint,
                draft.rule,
                draft.app_id,
                draft.sku,
                draft.subject,
                draft.verdict.value,
                draft.severity.value,
                draft.title,
                draft.monthly_waste,
                encoded,
                state,
                digest,
            )
        )
        if len(rows) >= WRITE_CHUNK:
            writer.write(rows)
            rows = []
    writer.write(rows)
    # No longer produced: resolved, keeping its money as the realised saving.
    gone = sorted(
        fp for fp, (state, _) in existing.items() if fp not in seen and state in ("open", "suppressed")
    )
    for start in range(0, len(gone), WRITE_CHUNK):
        session.execute(
            update(Finding)
            .where(
                Finding.tenant_id == tenant_id,
                Finding.analyzer == analyzer_id,
                Finding.fingerprint.in_(gone[start : start + WRITE_CHUNK]),
            )
            # Last produced by the previous run, when it is known.
            .values(state="resolved", resolved_at=now, **({"last_seen_at": previous} if previous else {}))
        )
    record_analysis(session, tenant_id, analyzer_id, now)
    return AnalysisResult(
        analyzer=analyzer_id, open=open_count, opened=opened, resolved=len(gone), monthly_waste=waste
    )


def analysis_time(session: Session, tenant_id: str, analyzer_id: str) -> datetime | None:
    """When ``analyzer_id`` last ran for the tenant: the time its open findings are current as of."""
    cursors = job_cursors(session, tenant_id, ANALYSIS_CONNECTOR, analyzer_id)
    try:
        return datetime.fromisoformat(cursors[0]["ran_at"]) if cursors else None
    except (KeyError, TypeError, ValueError):
        return None  # written by another version: the next run overwrites it


def record_analysis(session: Session, tenant_id: str, analyzer_id: str, ran_at: datetime) -> None:
    cursor = {"ran_at": ran_at.isoformat()}
    save_job_cursor(session, tenant_id, ANALYSIS_CONNECTOR, analyzer_id, cursor, ran_at)


# What a run writes per finding, in BulkUpsert row order (tenant, analyzer, currency and times are
# the same on every row).
WRITTEN_COLUMNS = (
    "fingerprint",
    "rule",
    "app_id",
    "sku",
    "subject",
    "verdict",
    "severity",
    "title",
    "monthly_waste",
    "evidence",
    "state",
    "digest",
)


def _digest(draft: FindingDraft, currency: str, state: str, evidence: Any) -> str:
    """A hash of everything a run writes about a finding besides its times."""
    text = (
        f"{draft.rule}\x1f{draft.title}\x1f{draft.verdict.value}\x1f{draft.severity.value}\x1f"
        f"{draft.monthly_waste}\x1f{currency}\x1f{state}\x1f{evidence}"
    )
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _table(model: type[Any]) -> Table:
    result = model.__table__
    assert isinstance(result, Table)
    return result
