"""Reads a client report's figures from the store.

The headline is :func:`collector.waste.deduplicated_waste`: the number ``saaswatch findings`` totals
and ``saaswatch_tenant_monthly_waste`` exports, each (app, SKU, subject) counted once. Everything that
breaks it down (reasons, top findings, departments) counts a seat once too, under its largest open
finding, so the parts add up to the headline. Realised savings are findings resolved in the report's
period (since the previous report by default), each seat once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collector.analysis import evaluation_time
from collector.config import TenantConfig
from collector.health import GOOD, source_health
from collector.models import App, Finding, SyncRun
from collector.pools import EffectivePool, effective_pools
from collector.report import evidence as ev
from collector.report.data import (
    DepartmentRow,
    FindingView,
    OverlapPair,
    Period,
    ReasonWaste,
    ReportData,
    SourceView,
    UnknownView,
    VendorRiskView,
)
from collector.report.licenses import app_spend, categories, renewal_terms, usage
from collector.report.state import last_report_at
from collector.showback import showback
from collector.waste import Tally, deduplicated_waste, tally

CENT = Decimal("0.01")
DEFAULT_PERIOD = timedelta(days=90)
TOP_FINDINGS = 10
OTHERS_LISTED = 200  # seats with money listed after the top ones; the rest are counted
IDS_PER_STATEMENT = 1000
# Analyzers whose findings on a pool's seat make that seat unused (for the renewals timeline).
SEAT_ANALYZERS = ("unused_seats", "offboarding")
SeatKey = tuple[str | None, str | None, str]


@dataclass(frozen=True)
class _Row:
    id: int
    analyzer: str
    rule: str
    money: Decimal
    severity: str


@dataclass
class _Seat:
    """The open waste findings of one (app, SKU, subject); the first is the one it is listed under."""

    key: SeatKey
    rows: list[_Row] = field(default_factory=list)

    @property
    def primary(self) -> _Row:
        return self.rows[0]

    @property
    def money(self) -> Decimal:
        return self.primary.money


def report_period(session: Session, tenant_id: str, now: datetime, since: datetime | None) -> Period:
    if since is not None:
        return Period(since, now, "the period asked for")
    previous = last_report_at(session, tenant_id)
    if previous is not None and previous < now:
        return Period(previous, now, "the time since the previous report")
    return Period(now - DEFAULT_PERIOD, now, "the last 90 days (no earlier report)")


def since_date(day: str) -> datetime:
    """``--since 2026-08-01``: from midnight UTC of that day."""
    return datetime.combine(datetime.strptime(day, "%Y-%m-%d").date(), time(0), tzinfo=UTC)


def build_report(
    session: Session, tenant: TenantConfig, now: datetime, since: datetime | None = None
) -> ReportData:
    """The report of ``tenant`` at ``now`` (wall clock); realised savings from ``since``, else from
    the previous report, else from 90 days before ``now`` (resolutions are stamped on the wall clock)."""
    evaluated_at = evaluation_time(tenant, now)
    evaluated_on = evaluated_at.date()
    period = report_period(session, tenant.id, now, since)
    apps = {
        app_id: (name, category)
        for app_id, name, category in session.execute(
            select(App.id, App.name, App.category).where(App.tenant_id == tenant.id)
        )
    }
    names = {app_id: name for app_id, (name, _) in apps.items()}
    seats = _open_seats(session, tenant.id)
    pools = effective_pools(session, tenant.id)
    spend = app_spend(session, tenant, pools, evaluated_on, apps, _shadow_spend(session, tenant.id))
    ranked = sorted(
        (s for s in seats if s.money > 0),
        key=lambda s: (
            -s.money,
            ev.SEVERITY_RANK.get(s.primary.severity, 9),
            _reason_rank(s.primary),
            names.get(s.key[0] or "", s.key[0] or ""),
            s.key[2],
        ),
    )
    listed = ranked[: TOP_FINDINGS + OTHERS_LISTED]
    views = _finding_views(session, tenant, listed, names)
    terms, horizon = renewal_terms(
        tenant,
        pools,
        evaluated_on,
        names,
        _unused_per_pool(seats, pools),
        _renewal_advice(session, tenant.id),
    )
    return ReportData(
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        currency=tenant.currency,
        generated_at=now,
        evaluated_on=evaluated_on,
        period=period,
        has_data=_has_data(session, tenant.id) or bool(pools),
        savings=Tally(
            _count(session, tenant.id, "open", "fail"), deduplicated_waste(session, [tenant.id])[tenant.id]
        ),
        realised_in_period=tally(
            session,
            tenant.id,
            Finding.state == "resolved",
            Finding.resolved_at >= period.start,
            Finding.resolved_at <= period.end,
        ),
        realised_total=tally(session, tenant.id, Finding.state == "resolved"),
        unknown_count=_count(session, tenant.id, "open", "unknown"),
        app_spend=tuple(spend),
        categories=tuple(categories(spend)),
        usage=tuple(usage(session, tenant, pools, evaluated_at, names)),
        reasons=tuple(_reasons(seats)),
        renewals=tuple(terms),
        renewal_horizon=horizon,
        overlaps=tuple(_overlaps(session, tenant.id)),
        top=tuple(views[:TOP_FINDINGS]),
        others=tuple(views[TOP_FINDINGS:]),
        others_left_off=max(len(ranked) - len(listed), 0),
        vendor_risks=tuple(_vendor_risks(session, tenant.id, names)),
        unknown=tuple(_unknown(session, tenant.id, names)),
        departments=tuple(_departments(session, tenant)),
        sources=tuple(
            SourceView(h.source, h.last_success_at, h.stale, h.reason)
            for _, h in sorted(source_health(session, tenant, now).items())
        ),
    )


def _has_data(session: Session, tenant_id: str) -> bool:
    synced = session.scalar(
        select(func.count()).where(SyncRun.tenant_id == tenant_id, SyncRun.status.in_(GOOD))
    )
    findings = session.scalar(select(func.count()).where(Finding.tenant_id == tenant_id))
    return bool(synced or findings)


def _count(session: Session, tenant_id: str, state: str, verdict: str) -> int:
    stmt = select(func.count()).where(
        Finding.tenant_id == tenant_id, Finding.state == state, Finding.verdict == verdict
    )
    return int(session.scalar(stmt) or 0)


def _reason_rank(row: _Row) -> int:
    return ev.reason_rank(row.analyzer, row.rule)


def _open_seats(session: Session, tenant_id: str) -> list[_Seat]:
    """Every open waste finding, light columns only, grouped per (app, SKU, subject); each group's
    findings ordered largest money first, then severity, then :data:`evidence.REASONS` order."""
    stmt = select(
        Finding.id,
        Finding.analyzer,
        Finding.rule,
        Finding.app_id,
        Finding.sku,
        Finding.subject,
        Finding.monthly_waste,
        Finding.severity,
    ).where(Finding.tenant_id == tenant_id, Finding.state == "open", Finding.verdict == "fail")
    grouped: dict[SeatKey, _Seat] = {}
    for finding_id, analyzer, rule, app_id, sku, subject, money, severity in session.execute(stmt):
        key = (app_id, sku, subject)
        seat = grouped.get(key) or grouped.setdefault(key, _Seat(key))
        seat.rows.append(_Row(finding_id, analyzer, rule, Decimal(money), severity))
    for seat in grouped.values():
        seat.rows.sort(key=lambda r: (-r.money, ev.SEVERITY_RANK.get(r.severity, 9), _reason_rank(r), r.id))
    return list(grouped.values())


def _reasons(seats: Iterable[_Seat]) -> list[ReasonWaste]:
    money: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for seat in seats:
        if seat.money <= 0:
            continue
        key = (seat.primary.analyzer, seat.primary.rule)
        money[key] += seat.money
        counts[key] += 1
    result = [
        ReasonWaste(a, r, ev.reason_label(a, r), counts[(a, r)], amount.quantize(CENT, ROUND_HALF_UP))
        for (a, r), amount in money.items()
    ]
    return sorted(result, key=lambda x: (-x.monthly, x.label))


def _unused_per_pool(seats: Iterable[_Seat], pools: Iterable[EffectivePool]) -> dict[tuple[str, str], int]:
    """Per pool: its seats held by people with an open unused-seat or offboarding finding, plus its
    unassigned seats when the unassigned finding is open."""
    people: dict[tuple[str, str], set[str]] = defaultdict(set)
    unassigned_flagged: set[tuple[str, str]] = set()
    for seat in seats:
        app_id, sku, subject = seat.key
        if app_id is None or sku is None:
            continue
        pool_key = (app_id, sku.casefold())
        for row in seat.rows:
            if row.analyzer == "unused_seats" and row.rule == "unassigned":
                unassigned_flagged.add(pool_key)
            elif row.analyzer in SEAT_ANALYZERS:
                people[pool_key].add(subject)
    result = {key: len(subjects) for key, subjects in people.items()}
    for pool in pools:
        if pool.key in unassigned_flagged and pool.unassigned:
            result[pool.key] = result.get(pool.key, 0) + pool.unassigned
    return result


def _findings_by_id(session: Session, ids: list[int]) -> Iterator[Finding]:
    for start in range(0, len(ids), IDS_PER_STATEMENT):
        yield from session.scalars(
            select(Finding).where(Finding.id.in_(ids[start : start + IDS_PER_STATEMENT]))
        )


def _evidence(finding: Finding) -> dict[str, Any]:
    return finding.evidence if isinstance(finding.evidence, dict) else {}


def _finding_views(
    session: Session, tenant: TenantConfig, seats: list[_Seat], names: dict[str, str]
) -> list[FindingView]:
    ids = sorted({row.id for seat in seats for row in seat.rows})
    rows = {f.id: f for f in _findings_by_id(session, ids)}
    views = []
    for seat in seats:
        finding = rows[seat.primary.id]
        evidence = _evidence(finding)
        action = evidence.get("action")
        views.append(
            FindingView(
                app=names.get(finding.app_id or "", finding.app_id or str(evidence.get("name") or "")),
                sku=finding.sku,
                reason=ev.reason_label(finding.analyzer, finding.rule),
                severity=finding.severity,
                title=finding.title,
                monthly=finding.monthly_waste.quantize(CENT, ROUND_HALF_UP),
                who=ev.who(evidence),
                person=ev.person(evidence),
                details=ev.details(evidence, tenant.currency),
                action=str(action) if action else None,
                also=tuple(rows[r.id].title for r in seat.rows[1:]),
            )
        )
    return views


def _open(session: Session, tenant_id: str, analyzer: str, *verdicts: str) -> list[Finding]:
    stmt = (
        select(Finding)
        .where(
            Finding.tenant_id == tenant_id,
            Finding.analyzer == analyzer,
            Finding.state == "open",
            Finding.verdict.in_(verdicts or ("fail",)),
        )
        .order_by(Finding.monthly_waste.desc(), Finding.subject)
    )
    return list(session.scalars(stmt))


def _shadow_spend(session: Session, tenant_id: str) -> dict[str, tuple[str, Decimal]]:
    """Unapproved apps' monthly card spend, as the shadow-IT analyzer measured it: app -> (name, money)."""
    result = {}
    for finding in _open(session, tenant_id, "shadow_it"):
        evidence = _evidence(finding)
        name = str(evidence.get("name") or finding.app_id or finding.subject)
        result[finding.app_id or finding.subject] = (name, finding.monthly_waste.quantize(CENT))
    return result


def _renewal_advice(session: Session, tenant_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (f.app_id or "", (f.sku or "").casefold()): _evidence(f)
        for f in _open(session, tenant_id, "renewals")
    }


def _overlaps(session: Session, tenant_id: str) -> list[OverlapPair]:
    pairs = []
    for finding in _open(session, tenant_id, "overlap", "fail", "unknown"):
        evidence = _evidence(finding)
        apps = evidence.get("apps")
        keep, drop = evidence.get("keep"), evidence.get("drop")
        if not isinstance(apps, dict) or keep not in apps or drop not in apps:
            continue
        kept, dropped = apps[keep], apps[drop]
        action = evidence.get("action")
        pairs.append(
            OverlapPair(
                category=str(evidence.get("category") or ""),
                keep=str(kept.get("name") or keep),
                drop=str(dropped.get("name") or drop),
                only_keep=int(kept.get("active_only_here") or 0),
                only_drop=int(dropped.get("active_only_here") or 0),
                both=int(evidence.get("active_in_both") or 0),
                monthly=finding.monthly_waste.quantize(CENT),
                judged=finding.verdict == "fail",
                title=finding.title,
                action=str(action) if action else None,
            )
        )
    return pairs


def _vendor_risks(session: Session, tenant_id: str, names: dict[str, str]) -> list[VendorRiskView]:
    risks = []
    for finding in _open(session, tenant_id, "vendor_risk"):
        evidence = _evidence(finding)
        reasons = tuple(
            (int(r.get("points") or 0), str(r.get("reason") or ""))
            for r in evidence.get("reasons") or []
            if isinstance(r, dict)
        )
        action = evidence.get("action")
        risks.append(
            VendorRiskView(
                app=names.get(finding.app_id or "", finding.app_id or finding.subject),
                score=int(evidence.get("score") or 0),
                severity=finding.severity,
                reasons=tuple(sorted(reasons, key=lambda r: -r[0])),
                monthly_at_risk=Decimal(str(evidence.get("monthly_spend_at_risk") or 0)).quantize(CENT),
                people=int(evidence.get("people_depending") or 0),
                action=str(action) if action else None,
            )
        )
    return sorted(risks, key=lambda r: (-r.score, r.app))


def _unknown(session: Session, tenant_id: str, names: dict[str, str]) -> list[UnknownView]:
    stmt = (
        select(Finding)
        .where(Finding.tenant_id == tenant_id, Finding.state == "open", Finding.verdict == "unknown")
        .order_by(Finding.app_id, Finding.subject, Finding.id)
    )
    return [
        UnknownView(
            app=names.get(f.app_id or "", f.app_id or "—"),
            subject=f.subject,
            title=f.title,
            reason=ev.unknown_reason(_evidence(f), f.title),
        )
        for f in session.scalars(stmt)
    ]


def _departments(session: Session, tenant: TenantConfig) -> list[DepartmentRow]:
    """The showback per department: seats, spend, and waste counting each seat once (its largest open
    finding, charged to the department of the person it names), departments with waste only too."""
    rows = [
        DepartmentRow(e.department, e.seats, e.monthly_spend, e.monthly_waste, e.unpriced_seats)
        for e in showback(session, tenant)
    ]
    return sorted(rows, key=lambda d: (-d.monthly_spend, -d.monthly_waste, d.department))
