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
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal
from time import perf_counter
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from analyzers.base import Analyzer, FindingDraft, SharedPools, TenantView, Verdict
from analyzers.registry import analyzer_ids, get_analyzer
from collector.catalog import Catalog, builtin_catalog
from collector.config import Mute, TenantConfig
from collector.health import source_health
from collector.job_state import job_cursors, save_job_cursor
from collector.models import Finding, SyncState
from collector.store import BulkUpsert, Store, column_encoder
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
    findings: int = 0  # produced by this run, muted ones included
    seconds: float = 0.0  # the analyzer's run and the preparation of its findings, not the write


@dataclass
class Prepared:
    """An analyzer's findings made ready to write: what changed since its last run, worked out in
    the analyzer's own (reading) session, so that the one writing transaction has little to do."""

    analyzer: str
    currency: str
    rows: list[tuple[Any, ...]]  # new or changed findings, in ``WRITTEN_COLUMNS`` order
    gone: list[str]  # fingerprints stored as open or suppressed that this run no longer produced
    previous: datetime | None  # the analyzer's last run before this one
    result: AnalysisResult


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
    stale = {source: h.reason or "is stale" for source, h in health.items() if h.stale}
    return TenantView(
        tenant_id=tenant.id,
        currency=tenant.currency,
        now=evaluation_time(tenant, now),
        exchange_rates=dict(tenant.exchange_rates),
        stale_sources=stale,
        catalog=catalog or builtin_catalog(),
        pools=SharedPools(),  # read by the first analyzer that needs them
    )


def build_analyzers(tenant: TenantConfig) -> list[Analyzer]:
    analyzers = []
    for analyzer_id in analyzer_ids():
        cls = get_analyzer(analyzer_id)
        settings = tenant.policy.get(analyzer_id) or cls.settings_model()
        analyzers.append(cls(settings))
    return analyzers


def default_workers() -> int:
    """Analyzers run side by side on up to this many threads: one per core, at most four.

    Most of an analyzer's time is spent in the database (SQLite's C code, which releases the GIL,
    or a PostgreSQL backend), so threads overlap well; beyond the cores they would only queue.
    """
    return max(1, min(4, os.cpu_count() or 1))


def run_analyzers(
    store: Store,
    tenant: TenantConfig,
    now: datetime | None = None,
    catalog: Catalog | None = None,
    workers: int | None = None,
) -> list[AnalysisResult]:
    now = now or utcnow()
    view = tenant_view(store, tenant, now, catalog)
    return analyse(store, view, build_analyzers(tenant), now, tenant.mute, workers)


def analyse(
    store: Store,
    view: TenantView,
    analyzers: Sequence[Analyzer],
    now: datetime,
    mutes: Sequence[Mute] = (),
    workers: int | None = None,
) -> list[AnalysisResult]:
    """Run ``analyzers`` for the tenant of ``view`` and write their findings, stamped ``now``.

    Each analyzer runs in a session of its own, on ``workers`` threads (``default_workers()``),
    the one that took longest last time first; it also works out which of its findings changed
    (``prepare``). A broken analyzer does not stop the others; its findings stay as they were.
    Then every analyzer's changes are written in one transaction: a scrape or report in the middle
    of an analysis sees the previous results or the new ones, never a total that is half of each.
    """
    results = write_all(store, view, produce_all(store, view, analyzers, now, mutes, workers), now)
    for result in results:
        log.info(
            "analyzer %s: %d open findings (%d new, %d resolved), %s %s/month, %.1f s",
            result.analyzer,
            result.open,
            result.opened,
            result.resolved,
            result.monthly_waste,
            view.currency,
            result.seconds,
            extra={"tenant": view.tenant_id},
        )
    return results


def produce_all(
    store: Store,
    view: TenantView,
    analyzers: Sequence[Analyzer],
    now: datetime,
    mutes: Sequence[Mute] = (),
    workers: int | None = None,
) -> list[Prepared]:
    """Every analyzer's run and prepared findings, on ``workers`` threads, longest first; in the
    order of ``analyzers``, without the ones that failed."""
    workers = default_workers() if workers is None else max(1, workers)
    if not store.concurrent_reads:
        workers = 1
    order = _longest_first(store, view.tenant_id, analyzers)
    with gc_paused():
        if workers == 1 or len(order) <= 1:
            outcomes = [_produce(store, view, analyzer, now, mutes) for analyzer in order]
        else:
            with ThreadPoolExecutor(min(workers, len(order)), thread_name_prefix="analysis") as pool:
                futures = [pool.submit(_produce, store, view, analyzer, now, mutes) for analyzer in order]
            outcomes = [future.result() for future in futures]
    done = {outcome.analyzer: outcome for outcome in outcomes if outcome is not None}
    return [done[analyzer.id] for analyzer in analyzers if analyzer.id in done]


def write_all(
    store: Store, view: TenantView, prepared: Sequence[Prepared], now: datetime
) -> list[AnalysisResult]:
    """Write every analyzer's prepared findings in one transaction."""
    with store.transaction() as session, gc_paused():
        return [write(session, view.tenant_id, outcome, now) for outcome in prepared]


def _produce(
    store: Store, view: TenantView, analyzer: Analyzer, now: datetime, mutes: Sequence[Mute]
) -> Prepared | None:
    """One analyzer's run and the preparation of its findings, or None when it failed."""
    started = perf_counter()
    try:
        with store.sessions() as session:
            existing = stored_findings(session, view.tenant_id, analyzer.id)
            drafts = analyzer.run_since(session, view, existing)
            outcome = prepare(session, view, analyzer.id, drafts, now, mutes, existing)
    except Exception:
        log.exception(
            "analyzer %s failed; its findings are left as they were",
            analyzer.id,
            extra={"tenant": view.tenant_id},
        )
        return None
    outcome.result.seconds = perf_counter() - started
    return outcome


def _longest_first(store: Store, tenant_id: str, analyzers: Sequence[Analyzer]) -> list[Analyzer]:
    """``analyzers`` in the order to start them: longest first, so that no long one starts last
    while the other threads sit idle.

    How long is the previous run's time. One without a recorded time (a first run, an analyzer
    new in this version) is estimated from its class's ``relative_cost``, at the seconds per unit
    of cost the timed ones took (in units of cost when none was timed): put first regardless, a
    few short new ones would start before the longest and leave it running alone at the end."""
    with store.sessions() as session:
        took = analysis_seconds(session, tenant_id)
    timed = [analyzer for analyzer in analyzers if analyzer.id in took]
    units = sum(analyzer.relative_cost for analyzer in timed)
    per_unit = sum(took[analyzer.id] for analyzer in timed) / units if timed and units > 0 else 1.0

    def estimate(analyzer: Analyzer) -> float:
        return took.get(analyzer.id, analyzer.relative_cost * per_unit)

    return sorted(analyzers, key=lambda analyzer: -estimate(analyzer))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while analyzers run and their findings are written.

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


def _mute_finder(mutes: Sequence[Mute], analyzer_id: str) -> Callable[[FindingDraft], Mute | None]:
    """A function giving the first of ``mutes`` (in force today) that matches a draft of
    ``analyzer_id``. Which mutes can match a rule and pool is worked out once per (rule, app, SKU):
    a large tenant's findings are a quarter of a million, of a few hundred pools."""
    by_kind: dict[tuple[str, str | None, str | None], list[Mute]] = {}

    def mute_for(draft: FindingDraft) -> Mute | None:
        kind = (draft.rule, draft.app_id, draft.sku)
        candidates = by_kind.get(kind)
        if candidates is None:
            candidates = by_kind[kind] = [m for m in mutes if m.matches_kind(analyzer_id, *kind)]
        for mute in candidates:
            if mute.matches_subject(draft.subject):
                return mute
        return None

    return mute_for


def prepare(
    session: Session,
    view: TenantView,
    analyzer_id: str,
    drafts: list[FindingDraft],
    now: datetime,
    mutes: Sequence[Mute] = (),
    existing: Mapping[str, tuple[str, str | None]] | None = None,
) -> Prepared:
    """What writing ``drafts`` as the findings of ``analyzer_id`` changes; reads, never writes.

    Reads only (fingerprint, state, digest) of what is stored. A draft whose digest and state match
    its stored row is the same finding as last run and is left out (on a large tenant most of
    them, and rewriting a quarter of a million rows costs seconds): an open finding is current as
    of its analyzer's last run, recorded by ``record_analysis``. The others are the rows to write;
    what is stored as open or suppressed and no longer produced is to be resolved.
    """
    tenant_id = view.tenant_id
    previous = analysis_time(session, tenant_id, analyzer_id)
    if existing is None:
        existing = stored_findings(session, tenant_id, analyzer_id)
    encode = column_encoder(session, _table(Finding), "evidence")
    # Mutes expire on the wall clock, not the tenant's as_of: they are decisions taken today.
    today = now.date()
    mute_for = _mute_finder([m for m in mutes if m.expires >= today], analyzer_id)
    seen: set[str] = set()
    opened = open_count = 0
    waste = Decimal(0)
    rows: list[tuple[Any, ...]] = []
    for draft in drafts:
        fingerprint = draft.fingerprint
        if fingerprint in seen:
            raise ValueError(f"analyzer {analyzer_id} produced {fingerprint!r} twice")
        seen.add(fingerprint)
        mute = mute_for(draft)
        muted = {"reason": mute.reason, "expires": mute.expires.isoformat()} if mute else None
        if not mute:
            open_count += 1
            if draft.verdict is Verdict.FAIL:
                waste += draft.monthly_waste
        state = "suppressed" if mute else "open"
        before = existing.get(fingerprint)
        # New, or back from resolved or suppressed (a state change also clears resolved_at).
        opened += state == "open" and (before is None or before[0] != "open")
        if draft.input_digest is not None:
            # Worded from the same inputs as the stored finding: the same finding, not worded again.
            # An open finding's digest is its input digest (most findings: nothing more to hash).
            digest = draft.input_digest if muted is None else _muted_digest(draft.input_digest, muted)
            if before is not None and before == (state, digest):
                continue
            if draft.reword is not None:
                draft = draft.reword()
        evidence = {**draft.evidence, "muted": muted} if muted else draft.evidence
        encoded = encode(evidence)
        if draft.input_digest is None:
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
    gone = sorted(
        fp for fp, (state, _) in existing.items() if fp not in seen and state in ("open", "suppressed")
    )
    result = AnalysisResult(
        analyzer=analyzer_id,
        open=open_count,
        opened=opened,
        resolved=len(gone),
        monthly_waste=waste,
        findings=len(drafts),
    )
    return Prepared(analyzer_id, view.currency, rows, gone, previous, result)


def write(session: Session, tenant_id: str, prepared: Prepared, now: datetime) -> AnalysisResult:
    """Write what ``prepare`` found: the new and changed findings through one compiled upsert (the
    first-seen time of a known finding is never overwritten), the ones no longer produced resolved
    with chunked UPDATEs, and the analyzer's run recorded. A few statements whatever the number of
    findings."""
    analyzer_id = prepared.analyzer
    writer = BulkUpsert(
        session,
        _table(Finding),
        columns=WRITTEN_COLUMNS,
        key=FINDING_KEY,
        update=[*WRITTEN_COLUMNS[1:], "last_seen_at", "resolved_at"],  # all but first_seen_at
        constants={
            "tenant_id": tenant_id,
            "analyzer": analyzer_id,
            "currency": prepared.currency,
            "first_seen_at": now,
            "last_seen_at": now,
            "resolved_at": None,
        },
        encoded=("evidence",),
    )
    rows = prepared.rows
    for start in range(0, len(rows), WRITE_CHUNK):
        writer.write(rows[start : start + WRITE_CHUNK])
    # No longer produced: resolved, keeping its money as the realised saving.
    gone = prepared.gone
    previous = prepared.previous
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
    record_analysis(session, tenant_id, analyzer_id, now, prepared.result.seconds)
    return prepared.result


@dataclass(frozen=True)
class AnalyzerRun:
    """An analyzer's last run for a tenant, as ``record_analysis`` keeps it (None: not known)."""

    ran_at: datetime | None
    seconds: float | None


def _analyzer_run(cursor: Any) -> AnalyzerRun:
    ran_at = seconds = None
    if isinstance(cursor, dict):
        # A cursor written by another version may lack a field: the next run overwrites it.
        with suppress(KeyError, TypeError, ValueError):
            ran_at = datetime.fromisoformat(cursor["ran_at"])
        if isinstance(value := cursor.get("seconds"), int | float):
            seconds = float(value)
    return AnalyzerRun(ran_at, seconds)


def analysis_runs(session: Session, tenant_id: str | None = None) -> dict[tuple[str, str], AnalyzerRun]:
    """Each analyzer's last run by (tenant, analyzer): of one tenant, or of every tenant."""
    stmt = select(SyncState.tenant_id, SyncState.stream, SyncState.cursor).where(
        SyncState.connector == ANALYSIS_CONNECTOR
    )
    if tenant_id is not None:
        stmt = stmt.where(SyncState.tenant_id == tenant_id)
    return {(tenant, analyzer): _analyzer_run(cursor) for tenant, analyzer, cursor in session.execute(stmt)}


def analysis_time(session: Session, tenant_id: str, analyzer_id: str) -> datetime | None:
    """When ``analyzer_id`` last ran for the tenant: the time its open findings are current as of."""
    cursors = job_cursors(session, tenant_id, ANALYSIS_CONNECTOR, analyzer_id)
    return _analyzer_run(cursors[0]).ran_at if cursors else None


def analysis_seconds(session: Session, tenant_id: str) -> dict[str, float]:
    """How long each analyzer's last run for the tenant took (run and preparation), by analyzer."""
    return {
        analyzer: run.seconds
        for (_, analyzer), run in analysis_runs(session, tenant_id).items()
        if run.seconds is not None
    }


def record_analysis(
    session: Session, tenant_id: str, analyzer_id: str, ran_at: datetime, seconds: float | None = None
) -> None:
    cursor: dict[str, Any] = {"ran_at": ran_at.isoformat()}
    if seconds is not None:
        cursor["seconds"] = round(seconds, 3)
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


def stored_findings(session: Session, tenant_id: str, analyzer_id: str) -> dict[str, tuple[str, str | None]]:
    """The stored findings of ``analyzer_id``: (state, digest) by fingerprint."""
    stored = select(Finding.fingerprint, Finding.state, Finding.digest).where(
        Finding.tenant_id == tenant_id, Finding.analyzer == analyzer_id
    )
    return {fingerprint: (state, digest) for fingerprint, state, digest in session.execute(stored)}


def _muted_digest(input_digest: str, muted: dict[str, str]) -> str:
    """The stored digest of a suppressed finding whose analyzer gave the digest of its inputs:
    that, with the mute's reason and expiry (an open one stores its input digest as it is)."""
    text = f"muted\x1f{input_digest}\x1f{muted['reason']}\x1f{muted['expires']}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


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
