"""Runs the analyzers for a tenant and keeps their findings across runs.

A finding keeps its identity (fingerprint) from run to run: its first-seen time survives, a finding
no longer produced is resolved (its money is then a realised saving), and one that comes back is
reopened. A finding matching an unexpired ``mute`` entry of the tenant's config is ``suppressed``:
kept current but out of the open totals; when the mute expires or is removed it is open again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzers.base import Analyzer, FindingDraft, TenantView, Verdict
from analyzers.registry import analyzer_ids, get_analyzer
from collector.catalog import Catalog, builtin_catalog
from collector.config import Mute, TenantConfig
from collector.health import source_health
from collector.models import Finding
from collector.store import Store
from collector.timeutil import utcnow

log = logging.getLogger("saaswatch.analysis")


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
    stale = {source: h.reason or "is stale" for source, h in health.items() if h.stale}
    return TenantView(
        tenant_id=tenant.id,
        currency=tenant.currency,
        now=evaluation_time(tenant, now),
        exchange_rates=dict(tenant.exchange_rates),
        stale_sources=stale,
        catalog=catalog or builtin_catalog(),
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
    results = []
    for analyzer in build_analyzers(tenant):
        with store.transaction() as session:
            drafts = analyzer.run(session, view)
            results.append(_persist(session, view, analyzer.id, drafts, now, tenant.mute))
        log.info(
            "analyzer %s: %d open findings (%d new, %d resolved), %s %s/month",
            analyzer.id,
            results[-1].open,
            results[-1].opened,
            results[-1].resolved,
            results[-1].monthly_waste,
            tenant.currency,
            extra={"tenant": tenant.id},
        )
    return results


def _mute_for(mutes: Sequence[Mute], analyzer_id: str, draft: FindingDraft, today: date) -> Mute | None:
    for mute in mutes:
        if mute.expires >= today and mute.matches(
            analyzer_id, draft.rule, draft.app_id, draft.sku, draft.subject
        ):
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
    tenant_id = view.tenant_id
    query = select(Finding).where(Finding.tenant_id == tenant_id, Finding.analyzer == analyzer_id)
    existing = {f.fingerprint: f for f in session.scalars(query)}
    opened = 0
    seen: set[str] = set()
    for draft in drafts:
        fingerprint = draft.fingerprint
        if fingerprint in seen:
            raise ValueError(f"analyzer {analyzer_id} produced {fingerprint!r} twice")
        seen.add(fingerprint)
        finding = existing.get(fingerprint)
        # Mutes expire on the wall clock, not the tenant's as_of: they are decisions taken today.
        mute = _mute_for(mutes, analyzer_id, draft, now.date())
        state = "suppressed" if mute else "open"
        evidence = dict(draft.evidence)
        if mute:
            evidence["muted"] = {"reason": mute.reason, "expires": mute.expires.isoformat()}
        if finding is None:
            finding = Finding(
                tenant_id=tenant_id,
                analyzer=analyzer_id,
                fingerprint=fingerprint,
                first_seen_at=now,
                state=state,
            )
            session.add(finding)
            opened += state == "open"
        elif finding.state != state:
            opened += state == "open"
            finding.state = state
            finding.resolved_at = None
        finding.rule = draft.rule
        finding.app_id = draft.app_id
        finding.sku = draft.sku
        finding.subject = draft.subject
        finding.verdict = draft.verdict.value
        finding.severity = draft.severity.value
        finding.title = draft.title
        finding.monthly_waste = draft.monthly_waste
        finding.currency = view.currency
        finding.evidence = evidence
        finding.last_seen_at = now
    resolved = 0
    for fingerprint, finding in existing.items():
        if fingerprint not in seen and finding.state in ("open", "suppressed"):
            finding.state = "resolved"
            finding.resolved_at = now
            resolved += 1
    open_drafts = [d for d in drafts if not _mute_for(mutes, analyzer_id, d, now.date())]
    fails = [d for d in open_drafts if d.verdict is Verdict.FAIL]
    return AnalysisResult(
        analyzer=analyzer_id,
        open=len(open_drafts),
        opened=opened,
        resolved=resolved,
        monthly_waste=sum((d.monthly_waste for d in fails), Decimal(0)),
    )
