"""Renewals: license terms ending soon, with the last day to cancel or resize and what to renew.

For every license pool with a term end date, the deadline is the last day notice can be given
(``term_end`` minus ``notice_days``), or the term end itself when the pool does not renew
automatically. When the deadline is ``windows_days`` away or closer (default 120, 90, 60 and 30 days;
exactly 30 days away is inside the 30-day window), the pool gets a finding with:

- seats purchased, assigned, active and *needed*. Active: holders seen in the app within
  ``active_days`` (default 60, the unused-seats threshold; set both alike) by a fresh source, not
  leavers. Needed: the active ones, plus seats assigned within
  ``active_days`` (new joiners), bot and service accounts (they need their seat without signing in)
  and holders no source reports usage for at all (nothing says they could go). Holders the identity
  provider marks suspended or deprovisioned are never needed.
- a recommended quantity: needed seats plus a buffer of ``buffer_percent`` (default 10 %, rounded up,
  at least ``min_buffer_seats`` = 1) for joiners, never more than purchased; 0 when nobody needs it.

Money: the monthly saving if the pool were renewed at the recommended quantity instead of the
purchased one, at the pool's monthly price in the tenant currency, is in the title and in
``evidence["monthly_saving"]``. It is *not* the finding's ``monthly_waste`` unless
``saving_counts_as_waste`` is set: the saving is made of exactly the seats the unused-seats analyzer
already counts (unassigned, inactive, held by leavers), seen from the contract's side, and every
total of saaswatch (metrics, showback, ``saaswatch findings``) adds ``monthly_waste`` across
analyzers, so counting it here too would report that money twice. Set it for a tenant that does not
run ``unused_seats``. This finding says *when* the money can be had and by which date to act.

Severity rises as the deadline nears: in the narrowest window (30 days) a saving is HIGH, in the next
(60) MEDIUM, further out LOW; without a saving a reminder is LOW in the narrowest window and INFO
before.

One finding per pool and term (subject ``<app>/<sku> term ending <date>``): it keeps its identity
while the deadline moves from window to window (severity and title follow) and while the notice
deadline is past. A deadline that has passed on an auto-renewing pool is locked in: the finding stays,
as INFO with no money, naming the next term and the saving to plan for it, until the term ends. After
that an auto-renewing term is projected forward (one year, or one month for monthly commitments)
until the contract is updated; a pool that does not renew is left alone once its term is over.

UNKNOWN with no money when a source of the pool or of the app's activity is stale.

Example policy::

    policy:
      renewals:
        windows_days: [120, 90, 60, 30]
        active_days: 60
        buffer_percent: 10
        apps:
          zoom: {active_days: 30}
          salesforce: {buffer_percent: 0}
          legacy_erp: {exclude: true}
"""

from __future__ import annotations

import calendar
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import and_, case, false, func, null, or_, select
from sqlalchemy.orm import Session

from analyzers.base import Analyzer, AnalyzerSettings, FindingDraft, Severity, TenantView, Verdict
from analyzers.sql import distinct_lists, fresh_last_seen, usage_key
from analyzers.unused_seats import KEY_SEPARATOR, monthly_price
from collector.models import Account, App, AppUsage, Person, Seat
from collector.pools import EffectivePool
from collector.usage import SEPARATOR as LIST_SEPARATOR

CENT = Decimal("0.01")
OFFBOARDED = ("suspended", "deprovisioned")


class AppPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    exclude: bool = False
    exclude_skus: list[str] = []
    active_days: int | None = Field(default=None, ge=1)
    buffer_percent: int | None = Field(default=None, ge=0, le=100)


class RenewalsSettings(AnalyzerSettings):
    windows_days: list[int] = Field(default=[120, 90, 60, 30], min_length=1)
    active_days: int = Field(default=60, ge=1)
    buffer_percent: int = Field(default=10, ge=0, le=100)
    min_buffer_seats: int = Field(default=1, ge=0)
    # Put the saving in monthly_waste (it is in the evidence either way): only for tenants that do not
    # run unused_seats, which counts the same seats.
    saving_counts_as_waste: bool = False
    # Account kinds that need their seat without ever signing in (integration users, bots).
    needed_account_kinds: list[str] = ["bot", "service"]
    apps: dict[str, AppPolicy] = {}

    @field_validator("windows_days")
    @classmethod
    def _positive_descending(cls, value: list[int]) -> list[int]:
        if any(days < 0 for days in value):
            raise ValueError("windows are days before the deadline: 0 or more")
        return sorted(set(value), reverse=True)

    def policy(self, app_id: str) -> AppPolicy:
        return self.apps.get(app_id, AppPolicy())

    def excludes(self, pool: EffectivePool) -> bool:
        policy = self.policy(pool.app_id)
        return policy.exclude or any(pool.sku.casefold() == s.casefold() for s in policy.exclude_skus)

    def active_days_for(self, app_id: str) -> int:
        return self.policy(app_id).active_days or self.active_days

    def buffer_for(self, app_id: str) -> int:
        override = self.policy(app_id).buffer_percent
        return self.buffer_percent if override is None else override


@dataclass(frozen=True)
class Term:
    """Where a pool stands against its renewal on the evaluation day."""

    term_end: date
    deadline: date
    days_left: int  # until the deadline; negative once it has passed
    window: int | None  # the narrowest window the deadline is in; None when locked in
    auto_renew: bool
    projected: bool  # term_end was rolled forward from an ended term the contract still names

    @property
    def locked_in(self) -> bool:
        return self.window is None


@dataclass(frozen=True)
class Usage:
    assigned: int = 0
    needed: int = 0
    without_usage_data: int = 0
    offboarded: int = 0
    active: int = 0  # seen within active_days by a fresh source, not leavers
    # The sources reporting usage of the pool's holders (the usage summary's lists).
    sources: frozenset[str] = frozenset()


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_of(pool: EffectivePool, today: date, windows: list[int]) -> Term | None:
    """The pool's renewal position, or None when it has no term or is outside every window."""
    if pool.term_end is None:
        return None
    auto = pool.auto_renew is not False  # unknown: assume it renews, the costly case
    term_end, projected = pool.term_end, False
    months = 1 if pool.commitment == "monthly" else 12
    while term_end < today:
        if not auto:
            return None  # the term is over and was not renewed
        term_end, projected = add_months(term_end, months), True
    notice = pool.notice_days or 0
    deadline = term_end - timedelta(days=notice) if auto else term_end
    days_left = (deadline - today).days
    if days_left < 0:
        return Term(term_end, deadline, days_left, None, auto, projected)
    inside = [w for w in windows if days_left <= w]
    if not inside:
        return None
    return Term(term_end, deadline, days_left, min(inside), auto, projected)


def recommended_quantity(needed: int, purchased: int, buffer_percent: int, min_buffer: int) -> int:
    if needed == 0:
        return 0
    buffer = max(min_buffer, math.ceil(needed * buffer_percent / 100))
    return min(purchased, needed + buffer)


class Renewals(Analyzer):
    id = "renewals"
    title = "Upcoming renewals and notice deadlines"
    settings_model = RenewalsSettings
    relative_cost = 2

    def run(self, session: Session, tenant: TenantView) -> list[FindingDraft]:
        settings = self.settings
        assert isinstance(settings, RenewalsSettings)
        today = tenant.now.date()
        due: list[tuple[EffectivePool, Term]] = []
        for pool in tenant.license_pools(session):
            if settings.excludes(pool):
                continue
            term = term_of(pool, today, settings.windows_days)
            if term is not None:
                due.append((pool, term))
        if not due:
            return []
        usage = self._usage(session, tenant, settings, [pool for pool, _ in due])
        names = dict(session.execute(select(App.id, App.name).where(App.tenant_id == tenant.tenant_id)).all())
        return [
            self._draft(
                pool,
                term,
                counted,
                sorted(set(pool.sources) | counted.sources),
                names.get(pool.app_id, pool.app_id),
                tenant,
                settings,
            )
            for pool, term in sorted(due, key=lambda d: (d[1].deadline, d[0].key))
            for counted in [usage.get(pool.key, Usage())]
        ]

    def _usage(
        self, session: Session, tenant: TenantView, settings: RenewalsSettings, pools: list[EffectivePool]
    ) -> dict[tuple[str, str], Usage]:
        """Seats assigned, needed, without usage data and held by leavers, per pool, counted in SQL,
        with the sources reporting the holders' usage.

        Only the seats of ``pools`` are read (matched on app and SKU spelling in one key column), so
        the lookups of each holder's activity are done for the pools that renew, not whole apps.
        """
        tid = tenant.tenant_id
        by_days: dict[int, list[str]] = defaultdict(list)
        for pool in pools:
            by_days[settings.active_days_for(pool.app_id)] += [
                f"{pool.app_id}{KEY_SEPARATOR}{sku}" for sku in pool.seat_skus
            ]
        fresh_last, _stale = fresh_last_seen(AppUsage, tenant.stale_sources)
        holder = func.coalesce(Account.person_id, -Account.id)
        leaver = func.coalesce(Person.status, "").in_(OFFBOARDED)
        kinds = settings.needed_account_kinds
        by_kind = Account.kind.in_(kinds) if kinds else false()
        result: dict[tuple[str, str], Usage] = {}
        for days, keys in sorted(by_days.items()):
            if not keys:
                continue
            since = datetime.combine(tenant.now.date() - timedelta(days=days), time.min, tzinfo=UTC)
            # The holder's usage of the app from the usage summary, by its key: NULL when no source
            # knows it, 2 when a fresh source saw them since ``since``, else 1.
            usage = case((AppUsage.sources.is_(None), null()), (fresh_last >= since, 2), else_=1)
            # Materialized: each seat's facts are worked out once, not once per count below.
            seats = (
                select(
                    Seat.app_id,
                    func.lower(Seat.sku).label("sku"),
                    holder.label("holder"),
                    leaver.label("leaver"),
                    by_kind.label("by_kind"),
                    (Seat.assigned_at >= since).label("joined"),  # new joiners have not had the time
                    usage.label("usage"),
                    AppUsage.sources.label("sources"),
                )
                .join(Account, Seat.account_id == Account.id)
                .outerjoin(Person, Account.person_id == Person.id)
                .outerjoin(AppUsage, usage_key(tid, Account.person_id, Seat.app_id))
                .where(Seat.tenant_id == tid, (Seat.app_id + KEY_SEPARATOR + Seat.sku).in_(sorted(keys)))
                .cte("seats")
                .prefix_with("MATERIALIZED")
            )
            c = seats.c
            stayed = ~c.leaver
            recent = func.coalesce(c.usage, 0) == 2
            no_data = c.usage.is_(None)
            needed = and_(stayed, or_(c.by_kind, recent, c.joined, no_data))
            stmt = select(
                c.app_id,
                c.sku,
                func.count(func.distinct(c.holder)),
                func.count(func.distinct(case((needed, c.holder)))),
                func.count(func.distinct(case((and_(stayed, no_data), c.holder)))),
                func.count(func.distinct(case((c.leaver, c.holder)))),
                func.count(func.distinct(case((and_(stayed, recent), c.holder)))),
                # Read here, not off every activity row of the apps (a pass over the whole table).
                distinct_lists(c.sources),
            ).group_by(c.app_id, c.sku)
            for app_id, sku, assigned, need, without, gone, seen, lists in session.execute(stmt):
                sources = frozenset(filter(None, (lists or "").split(LIST_SEPARATOR)))
                result[(app_id, sku.casefold())] = Usage(assigned, need, without, gone, seen, sources)
        return result

    def _draft(
        self,
        pool: EffectivePool,
        term: Term,
        usage: Usage,
        sources: list[str],
        app_name: str,
        tenant: TenantView,
        settings: RenewalsSettings,
    ) -> FindingDraft:
        label = f"{app_name} ({pool.sku})"
        price, price_note = monthly_price(pool, tenant)
        purchased = pool.seats_purchased
        assigned = usage.assigned or pool.seats_assigned or 0
        buffer = settings.buffer_for(pool.app_id)
        recommended = (
            recommended_quantity(usage.needed, purchased, buffer, settings.min_buffer_seats)
            if purchased is not None
            else None
        )
        spare = purchased - recommended if purchased is not None and recommended is not None else 0
        saving = (price * spare).quantize(CENT, ROUND_HALF_UP) if price is not None else Decimal("0.00")
        evidence: dict[str, Any] = {
            "app": pool.app_id,
            "sku": pool.sku,
            "term_end": term.term_end.isoformat(),
            "auto_renew": term.auto_renew,
            "notice_days": pool.notice_days or 0,
            "deadline": term.deadline.isoformat(),
            "days_to_deadline": term.days_left,
            "window_days": term.window,
            "seats_purchased": purchased,
            "seats_assigned": assigned,
            "seats_active": usage.active,
            "seats_needed": usage.needed,
            "active_days": settings.active_days_for(pool.app_id),
            "held_by_leavers": usage.offboarded,
            "without_usage_data": usage.without_usage_data,
            "buffer_percent": buffer,
            "recommended_seats": recommended,
            "monthly_price_per_seat": None if price is None else str(price.quantize(CENT)),
            "currency": tenant.currency,
            "reported_by": sources,
        }
        if term.projected:
            evidence["term_note"] = (
                f"projected: the contract says the term ended on {pool.term_end}; update its dates"
            )
        if price_note:
            evidence["price_note"] = price_note
        if purchased is None:
            evidence["note"] = "no source says how many seats were bought: no saving can be computed"
        subject = f"{pool.app_id}/{pool.sku} term ending {term.term_end.isoformat()}"
        stale = {s: tenant.stale_sources[s] for s in sources if s in tenant.stale_sources}
        when = _when(term)
        if stale:
            evidence["stale_sources"] = stale
            return FindingDraft(
                rule="renewal",
                subject=subject,
                title=f"{label} {when}; how many seats to renew is unknown: "
                + "; ".join(f"{s} {r}" for s, r in sorted(stale.items())),
                verdict=Verdict.UNKNOWN,
                severity=Severity.INFO,
                monthly_waste=Decimal("0.00"),
                evidence=evidence,
                app_id=pool.app_id,
                sku=pool.sku,
            )
        evidence["monthly_saving"] = str(saving)
        if term.locked_in:
            next_end = add_months(term.term_end, 1 if pool.commitment == "monthly" else 12)
            evidence["next_term_end"] = next_end.isoformat()
            evidence["action"] = (
                f"The notice deadline passed on {term.deadline.isoformat()}: {label} renews on "
                f"{(term.term_end + timedelta(days=1)).isoformat()} as it is. Plan the next term "
                f"(to {next_end.isoformat()}) at {recommended} seats"
                + (f", saving {saving} {tenant.currency}/month." if saving else ".")
            )
            money, severity = Decimal("0.00"), Severity.INFO
            title = f"{label}: the notice deadline {term.deadline.isoformat()} has passed; it renews"
            title += f" on {(term.term_end + timedelta(days=1)).isoformat()} until {next_end.isoformat()}"
        else:
            money = saving if settings.saving_counts_as_waste else Decimal("0.00")
            severity = _severity(term.window, settings.windows_days, bool(saving))
            evidence["action"] = _action(term, label, recommended, purchased, usage.needed, saving, tenant)
            title = f"{label} {when}: "
            if saving:
                title += (
                    f"renew {recommended} of {purchased} seats ({usage.needed} needed) and pay "
                    f"{saving} {tenant.currency}/month less"
                )
            else:
                title += f"{purchased if purchased is not None else assigned} seats, {usage.needed} needed"
        return FindingDraft(
            rule="renewal",
            subject=subject,
            title=title,
            verdict=Verdict.FAIL,
            severity=severity,
            monthly_waste=money,
            evidence=evidence,
            app_id=pool.app_id,
            sku=pool.sku,
        )


def _when(term: Term) -> str:
    if term.locked_in:
        return f"renews on {(term.term_end + timedelta(days=1)).isoformat()}"
    if term.auto_renew:
        return (
            f"renews on {(term.term_end + timedelta(days=1)).isoformat()}; give notice by "
            f"{term.deadline.isoformat()} ({term.days_left} days)"
        )
    return f"ends on {term.term_end.isoformat()} without renewing ({term.days_left} days)"


def _severity(window: int | None, windows: list[int], saving: bool) -> Severity:
    rank = sorted(windows).index(window) if window is not None else len(windows)
    if not saving:
        return Severity.LOW if rank == 0 else Severity.INFO
    return (Severity.HIGH, Severity.MEDIUM)[rank] if rank < 2 else Severity.LOW


def _action(
    term: Term,
    label: str,
    recommended: int | None,
    purchased: int | None,
    needed: int,
    saving: Decimal,
    tenant: TenantView,
) -> str:
    by = term.deadline.isoformat()
    if recommended == 0:
        if term.auto_renew:
            return f"Nobody needs {label}: give notice to cancel by {by}."
        return f"Nobody needs {label}: let it end on {term.term_end.isoformat()}."
    if saving and term.auto_renew:
        return (
            f"Tell the vendor by {by} to renew {label} at {recommended} seats instead of {purchased}: "
            f"{saving} {tenant.currency}/month less from {(term.term_end + timedelta(days=1)).isoformat()}."
        )
    if saving:
        return f"Renew {label} at {recommended} seats instead of {purchased} before {term.term_end}."
    why = "all needed" if needed == purchased else f"{needed} needed, the rest a buffer for joiners"
    if purchased is None:
        why = "how many were bought is unknown"
    if term.auto_renew:
        return f"Confirm by {by} that {label} should renew at {purchased} seats ({why})."
    return f"Renew {label} at {purchased} seats ({why}) before {term.term_end.isoformat()} or it lapses."
