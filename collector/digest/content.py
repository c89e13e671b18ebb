"""What a digest says, read from the store: the figures every channel renders alike.

Money counts each seat once (:mod:`collector.waste`), so the digest's total is the same as
``saaswatch findings`` and ``saaswatch_tenant_monthly_waste``. "New" and "resolved" are measured
from the last digest the channel received (a week back for the first one): new findings are those
first seen since then and still open, resolved ones those resolved since then (realised savings).
A finding that comes back after being resolved keeps its first-seen time, so it is not "new" again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analyzers.renewals import term_of
from collector.analysis import evaluation_time
from collector.config import TenantConfig
from collector.health import source_health
from collector.models import App, Finding, SyncRun
from collector.pools import MissingExchangeRate, effective_pools, to_currency
from collector.waste import Tally, deduplicated_waste, tally

CENT = Decimal("0.01")
WEEK = timedelta(days=7)
MAX_ERROR = 200  # characters of a failed sync's (already redacted) error quoted in a digest


@dataclass(frozen=True)
class Baseline:
    """The figures of the last digest a channel received."""

    sent_at: datetime
    monthly_waste: Decimal
    currency: str


@dataclass(frozen=True)
class TopFinding:
    app: str
    sku: str | None
    title: str  # what: the analyzer's sentence
    action: str | None  # what to do, when the analyzer says
    monthly_waste: Decimal
    analyzer: str
    severity: str


@dataclass(frozen=True)
class StaleSource:
    source: str
    last_success_at: datetime | None  # None: it never synced successfully
    reason: str
    error: str | None  # the last failed sync's error, trimmed


@dataclass(frozen=True)
class Deadline:
    app: str
    sku: str
    deadline: date  # last day to give notice (auto-renewing) or the term end (not renewing)
    days_left: int
    term_end: date
    auto_renew: bool
    seats: int | None
    monthly_cost: Decimal | None  # the pool at its current size, in the tenant's currency
    action: str | None  # the renewals analyzer's advice for this term, when it has one


@dataclass(frozen=True)
class Digest:
    tenant_id: str
    tenant_name: str
    currency: str
    generated_at: datetime
    since: datetime  # the last digest of the channel, or a week before generated_at
    evaluated_on: date | None  # the tenant's as_of, when its findings are judged as of another day
    monthly_waste: Decimal
    open_findings: int  # open waste findings (verdict fail)
    unknown_findings: int  # open findings that could not be judged (verdict unknown)
    previous: Baseline | None
    new: Tally
    resolved: Tally
    top: list[TopFinding]
    stale: list[StaleSource]
    deadlines: list[Deadline]
    deadline_days: int

    @property
    def annual_waste(self) -> Decimal:
        return self.monthly_waste * 12

    @property
    def change(self) -> Decimal | None:
        """Monthly waste now minus at the last digest, when there was one in the same currency."""
        if self.previous is None or self.previous.currency != self.currency:
            return None
        return self.monthly_waste - self.previous.monthly_waste


def build_digest(
    session: Session,
    tenant: TenantConfig,
    now: datetime,
    previous: Baseline | None = None,
    top: int = 10,
    deadline_days: int = 30,
) -> Digest:
    """The digest of ``tenant`` at ``now`` (wall clock), compared with ``previous``."""
    since = previous.sent_at if previous is not None else now - WEEK
    return Digest(
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        currency=tenant.currency,
        generated_at=now,
        since=since,
        evaluated_on=tenant.as_of,
        monthly_waste=deduplicated_waste(session, [tenant.id])[tenant.id],
        open_findings=_count(session, tenant.id, "open", "fail"),
        unknown_findings=_count(session, tenant.id, "open", "unknown"),
        previous=previous,
        new=tally(session, tenant.id, Finding.state == "open", Finding.first_seen_at >= since),
        resolved=tally(session, tenant.id, Finding.state == "resolved", Finding.resolved_at >= since),
        top=top_findings(session, tenant.id, top),
        stale=stale_sources(session, tenant, now),
        deadlines=deadlines(session, tenant, now, deadline_days),
        deadline_days=deadline_days,
    )


def _count(session: Session, tenant_id: str, state: str, verdict: str) -> int:
    stmt = select(func.count()).where(
        Finding.tenant_id == tenant_id, Finding.state == state, Finding.verdict == verdict
    )
    return int(session.scalar(stmt) or 0)


def app_names(session: Session, tenant_id: str) -> dict[str, str]:
    rows = session.execute(select(App.id, App.name).where(App.tenant_id == tenant_id))
    return {app_id: name for app_id, name in rows}


def top_findings(session: Session, tenant_id: str, limit: int) -> list[TopFinding]:
    """The ``limit`` open waste findings with the most money, one per seat (the larger finding of a
    seat two analyzers flag), largest first."""
    ranked = (
        select(Finding.id, Finding.app_id, Finding.sku, Finding.subject)
        .where(
            Finding.tenant_id == tenant_id,
            Finding.state == "open",
            Finding.verdict == "fail",
            Finding.monthly_waste > 0,
        )
        .order_by(Finding.monthly_waste.desc(), Finding.app_id, Finding.subject, Finding.id)
        .execution_options(yield_per=500)  # stops reading once ``limit`` seats are found
    )
    chosen: list[int] = []
    seen: set[tuple[str | None, str | None, str]] = set()
    result = session.execute(ranked)
    try:
        for finding_id, app_id, sku, subject in result:
            if (app_id, sku, subject) in seen:
                continue
            seen.add((app_id, sku, subject))
            chosen.append(finding_id)
            if len(chosen) == limit:
                break
    finally:
        result.close()
    if not chosen:
        return []
    names = app_names(session, tenant_id)
    rows = {f.id: f for f in session.scalars(select(Finding).where(Finding.id.in_(chosen)))}
    top = []
    for finding_id in chosen:
        f = rows[finding_id]
        action = f.evidence.get("action") if isinstance(f.evidence, dict) else None
        top.append(
            TopFinding(
                app=names.get(f.app_id or "", f.app_id or "(no app)"),
                sku=f.sku,
                title=f.title,
                action=str(action) if action else None,
                monthly_waste=f.monthly_waste.quantize(CENT),
                analyzer=f.analyzer,
                severity=f.severity,
            )
        )
    return top


def stale_sources(session: Session, tenant: TenantConfig, now: datetime) -> list[StaleSource]:
    """Connectors whose data must not be trusted, with the last failed sync's error when it failed."""
    stale = []
    for source, health in sorted(source_health(session, tenant, now).items()):
        if not health.stale:
            continue
        error = None
        if health.last_status in ("failed", "aborted"):
            error = session.scalar(
                select(SyncRun.error)
                .where(
                    SyncRun.tenant_id == tenant.id, SyncRun.connector == source, SyncRun.status != "running"
                )
                .order_by(SyncRun.id.desc())
                .limit(1)
            )
        if error and len(error) > MAX_ERROR:
            error = error[: MAX_ERROR - 1] + "…"
        stale.append(StaleSource(source, health.last_success_at, health.reason or "is stale", error))
    return stale


def deadlines(session: Session, tenant: TenantConfig, now: datetime, days: int) -> list[Deadline]:
    """License terms whose last day to cancel or resize is within ``days`` of the evaluation day."""
    today = evaluation_time(tenant, now).date()
    names = app_names(session, tenant.id)
    advice = _renewal_advice(session, tenant.id)
    due = []
    for pool in effective_pools(session, tenant.id):
        term = term_of(pool, today, [days])
        if term is None or term.locked_in:
            continue  # no term, further out, or the notice deadline has already passed
        seats = pool.seats_purchased if pool.seats_purchased is not None else pool.seats_assigned
        price = pool.monthly_unit_price
        cost = None
        if price is not None and seats is not None:
            try:
                cost = to_currency(price * seats, pool.currency, tenant.currency, dict(tenant.exchange_rates))
            except MissingExchangeRate:
                cost = None
        evidence = advice.get((pool.app_id, pool.sku.casefold()), {})
        action = evidence.get("action") if evidence.get("deadline") == term.deadline.isoformat() else None
        due.append(
            Deadline(
                app=names.get(pool.app_id, pool.app_id),
                sku=pool.sku,
                deadline=term.deadline,
                days_left=term.days_left,
                term_end=term.term_end,
                auto_renew=term.auto_renew,
                seats=seats,
                monthly_cost=None if cost is None else cost.quantize(CENT),
                action=str(action) if action else None,
            )
        )
    return sorted(due, key=lambda d: (d.deadline, d.app, d.sku))


def _renewal_advice(session: Session, tenant_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    rows = session.execute(
        select(Finding.app_id, Finding.sku, Finding.evidence).where(
            Finding.tenant_id == tenant_id,
            Finding.analyzer == "renewals",
            Finding.state == "open",
            Finding.verdict == "fail",
        )
    )
    return {
        (app_id or "", (sku or "").casefold()): evidence
        for app_id, sku, evidence in rows
        if isinstance(evidence, dict)
    }
