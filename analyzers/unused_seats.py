"""Unused seats: paid licenses nobody uses.

Flags three things, each with the monthly money it costs:

- ``inactive``: the holder's latest sign-in to the app, taken across every fresh source, is more than
  ``inactive_days`` days old (default 60; override per app under ``apps``).
- ``never_active``: every fresh source says the holder never signed in, and the seat is older than
  ``never_active_grace_days`` (new joiners get time to start).
- ``unassigned``: the pool has more seats purchased than assigned.

A seat whose usage comes only from stale or failed sources is reported as UNKNOWN with no money, never
as unused; so is a pool for which no source reports usage at all.

Example policy::

    policy:
      unused_seats:
        inactive_days: 60
        never_active_grace_days: 14
        apps:
          zoom: {inactive_days: 30}
          adobe_cc: {exclude: true}
        exclude_people: ["ceo@example.com", "svc-*@example.com"]
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    column,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
    values,
)
from sqlalchemy.orm import Session, aliased

from analyzers.base import Analyzer, AnalyzerSettings, FindingDraft, Severity, TenantView, Verdict
from collector.models import Account, Activity, App, Person, Seat
from collector.pools import EffectivePool, MissingExchangeRate, effective_pools, to_currency
from collector.timeutil import UtcDateTime

CENT = Decimal("0.01")
# Inside SQL, a fresh source's "never signed in" (a NULL last seen) counts as this instant, so that
# one MAX tells "no fresh row" (NULL), "only nevers" (NEVER) and "last seen at" apart.
NEVER = datetime(1, 1, 1, tzinfo=UTC)
# VALUES rows (5 parameters each) per statement: far below SQLite's limit of 32,766 parameters.
POOLS_PER_STATEMENT = 1000
# (person, app) pairs per sightings query.
PAIRS_PER_QUERY = 500

NO_DATA, UNKNOWN, NEVER_ACTIVE, INACTIVE = "no_data", "unknown", "never_active", "inactive"


class AppPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    inactive_days: int | None = Field(default=None, ge=1)
    never_active_grace_days: int | None = Field(default=None, ge=0)
    exclude: bool = False
    # SKUs of this app never judged (e.g. free or viral SKUs nobody is assigned on purpose).
    exclude_skus: list[str] = []


class UnusedSeatsSettings(AnalyzerSettings):
    inactive_days: int = Field(default=60, ge=1)
    never_active_grace_days: int = Field(default=14, ge=0)
    apps: dict[str, AppPolicy] = {}
    # E-mail addresses or shell-style patterns of people whose seats are never flagged
    # (named people, shared mailboxes, service accounts that hold a user license).
    exclude_people: list[str] = []
    # Account kinds that are not people: their seats are never "unused" (bots and API-only
    # integration users do not sign in; whether they need a paid seat is a separate question).
    exclude_account_kinds: list[str] = ["bot", "service"]

    def excludes_sku(self, app_id: str, sku: str) -> bool:
        override = self.apps.get(app_id, AppPolicy())
        return any(sku.casefold() == s.casefold() for s in override.exclude_skus)

    def for_app(self, app_id: str) -> tuple[int, int, bool]:
        override = self.apps.get(app_id, AppPolicy())
        return (
            override.inactive_days or self.inactive_days,
            self.never_active_grace_days
            if override.never_active_grace_days is None
            else override.never_active_grace_days,
            override.exclude,
        )

    def excludes(self, email: str | None) -> bool:
        return email is not None and any(fnmatch.fnmatch(email, p.lower()) for p in self.exclude_people)


def severity_for(monthly: Decimal) -> Severity:
    if monthly >= 1000:
        return Severity.HIGH
    if monthly >= 100:
        return Severity.MEDIUM
    return Severity.LOW


@dataclass(slots=True)
class Holder:
    """One holder of seats in a pool, as the flagging statement returns it (merged across sources)."""

    key: tuple[str, str]  # the pool: (app, casefolded SKU)
    bucket: str  # inactive | never_active | unknown | no_data
    person_id: int | None
    email: str | None
    display_name: str | None
    idp_status: str | None
    assigned_at: datetime | None  # the earliest assignment any source reports
    account_created_at: datetime | None
    person_created_at: datetime | None
    seat_sources: set[str]

    @property
    def label(self) -> str:
        return self.email or "an account without e-mail"

    @property
    def since(self) -> datetime | None:
        return self.assigned_at or self.account_created_at or self.person_created_at


@dataclass(frozen=True, slots=True)
class Sighting:
    source: str
    kind: str
    last_seen_at: datetime | None
    observed_at: datetime
    feature: str = ""

    def as_evidence(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "last_seen": self.last_seen_at.isoformat() if self.last_seen_at else "never",
            "reported_at": self.observed_at.isoformat(),
        }


def _days(now: datetime, then: datetime) -> int:
    return (now.date() - then.date()).days


def _day_start(now: datetime, days_before: int) -> datetime:
    """Midnight UTC ``days_before`` days before ``now``'s date: ``_days(now, t) > days_before``
    exactly when ``t`` is earlier than this."""
    return datetime.combine(now.date() - timedelta(days=days_before), time(0), tzinfo=UTC)


class UnusedSeats(Analyzer):
    id = "unused_seats"
    title = "Unused seats"
    settings_model = UnusedSeatsSettings

    def run(self, session: Session, tenant: TenantView) -> list[FindingDraft]:
        settings = self.settings
        assert isinstance(settings, UnusedSeatsSettings)
        app_names = dict(
            session.execute(select(App.id, App.name).where(App.tenant_id == tenant.tenant_id)).all()
        )
        pools = {pool.key: pool for pool in effective_pools(session, tenant.tenant_id)}
        judged = [
            pool
            for _key, pool in sorted(pools.items())
            if pool.seat_skus
            and not settings.for_app(pool.app_id)[2]
            and not settings.excludes_sku(pool.app_id, pool.sku)
        ]
        flagged = [
            h for h in self._flagged(session, tenant, settings, judged) if not settings.excludes(h.email)
        ]
        flagged.sort(key=lambda h: (h.key, h.label))
        sightings = self._sightings(
            session, tenant.tenant_id, {(h.person_id, h.key[0]) for h in flagged if h.bucket != NO_DATA}
        )
        findings: list[FindingDraft] = []
        contexts: dict[tuple[str, str], _PoolContext] = {}
        no_data: dict[tuple[str, str], list[Holder]] = defaultdict(list)
        for holder in flagged:
            if holder.bucket == NO_DATA:
                no_data[holder.key].append(holder)
                continue
            pool = pools[holder.key]
            context = contexts.get(holder.key)
            if context is None:
                context = contexts[holder.key] = _PoolContext(
                    pool, app_names.get(pool.app_id, pool.app_id), tenant
                )
            inactive_days, grace_days, _ = settings.for_app(pool.app_id)
            seen = sightings.get((holder.person_id, pool.app_id), []) if holder.person_id else []
            finding = self._judge(holder, seen, context, inactive_days, grace_days)
            if isinstance(finding, FindingDraft):
                findings.append(finding)
        for key, missing in sorted(no_data.items()):
            pool = pools[key]
            findings.append(
                _no_usage_data(pool, app_names.get(key[0], key[0]), missing, pool.seats_assigned or 0)
            )
        for _key, pool in sorted(pools.items()):
            if settings.for_app(pool.app_id)[2] or settings.excludes_sku(pool.app_id, pool.sku):
                continue
            unassigned = _unassigned(pool, app_names.get(pool.app_id, pool.app_id), tenant)
            if unassigned is not None:
                findings.append(unassigned)
        return findings

    def _flagged(
        self,
        session: Session,
        tenant: TenantView,
        settings: UnusedSeatsSettings,
        pools: Sequence[EffectivePool],
    ) -> Iterable[Holder]:
        """The holders the statement flags, pool batch by pool batch (usually one batch)."""
        for start in range(0, len(pools), POOLS_PER_STATEMENT):
            batch = pools[start : start + POOLS_PER_STATEMENT]
            stmt = _flagging_statement(tenant, settings, batch)
            for row in session.execute(stmt):
                holder_id = row.holder
                yield Holder(
                    key=batch[row.pool_no].key,
                    bucket=row.bucket,
                    person_id=holder_id if holder_id > 0 else None,
                    email=row.person_email or row.account_email,
                    display_name=row.display_name,
                    idp_status=row.idp_status,
                    assigned_at=row.assigned_at,
                    account_created_at=row.account_created_at,
                    person_created_at=row.person_created_at,
                    seat_sources=set(row.seat_sources.split(",")),
                )

    def _sightings(
        self, session: Session, tenant_id: str, pairs: set[tuple[int | None, str]]
    ) -> dict[tuple[int, str], list[Sighting]]:
        """Every source's sighting of the flagged (person, app) pairs only, fetched in chunks."""
        ordered = sorted((pid, app) for pid, app in pairs if pid is not None)
        result: dict[tuple[int, str], list[Sighting]] = defaultdict(list)
        for start in range(0, len(ordered), PAIRS_PER_QUERY):
            stmt = select(
                Activity.person_id,
                Activity.app_id,
                Activity.source,
                Activity.source_kind,
                Activity.last_seen_at,
                Activity.observed_at,
                Activity.feature,
            ).where(
                Activity.tenant_id == tenant_id,
                tuple_(Activity.person_id, Activity.app_id).in_(ordered[start : start + PAIRS_PER_QUERY]),
            )
            for person_id, app_id, source, kind, last_seen, observed, feature in session.execute(stmt):
                result[(person_id, app_id)].append(Sighting(source, kind, last_seen, observed, feature))
        for seen in result.values():
            seen.sort(key=lambda s: (s.source, s.kind, s.feature))
        return result

    def _judge(
        self,
        holder: Holder,
        seen: list[Sighting],
        context: _PoolContext,
        inactive_days: int,
        grace_days: int,
    ) -> FindingDraft | None:
        now = context.tenant.now
        fresh = [s for s in seen if s.source not in context.tenant.stale_sources]
        stale = [s for s in seen if s.source in context.tenant.stale_sources]
        evidence: dict[str, Any] = {
            "person": holder.email,
            "name": holder.display_name,
            "idp_status": holder.idp_status,
            "seat_assigned": holder.assigned_at.date().isoformat() if holder.assigned_at else None,
            "seat_reported_by": sorted(holder.seat_sources),
            "sources": [s.as_evidence() for s in seen],
            **context.pool_evidence,
        }
        if not fresh:
            if not stale:
                return None  # the statement said otherwise: the data changed under it
            reasons = {s.source: context.tenant.stale_sources[s.source] for s in stale}
            evidence["stale_sources"] = reasons
            return context.draft(
                rule="inactive",
                holder=holder,
                verdict=Verdict.UNKNOWN,
                title=f"Usage of {context.app_label} by {holder.label} is unknown: "
                + "; ".join(f"{source} {reason}" for source, reason in sorted(reasons.items())),
                evidence=evidence,
            )
        times = [s.last_seen_at for s in fresh if s.last_seen_at is not None]
        if not times:
            since = holder.since
            if since is not None and _days(now, since) <= grace_days:
                return None
            evidence["grace_days"] = grace_days
            assigned = f", seat held since {since.date().isoformat()}" if since else ""
            return context.draft(
                rule="never_active",
                holder=holder,
                verdict=Verdict.FAIL,
                title=f"{holder.label} has never used {context.app_label}{assigned}",
                evidence=evidence,
            )
        last = max(times)
        freshest = max((s for s in fresh if s.last_seen_at == last), key=lambda s: s.observed_at)
        days = _days(now, last)
        if days <= inactive_days:
            return None
        evidence |= {
            "last_seen": last.isoformat(),
            "last_seen_by": freshest.source,
            "days_inactive": days,
            "threshold_days": inactive_days,
        }
        return context.draft(
            rule="inactive",
            holder=holder,
            verdict=Verdict.FAIL,
            title=f"{holder.label} has not used {context.app_label} for {days} days "
            f"(last seen {last.date().isoformat()}, per {freshest.source})",
            evidence=evidence,
        )


def _flagging_statement(
    tenant: TenantView, settings: UnusedSeatsSettings, pools: Sequence[EffectivePool]
) -> Select[Any]:
    """One statement: the holders of ``pools`` whose seats look unused, with what the finding needs.

    Per seat row it fuses the holder's fresh sightings of the app (the latest last seen; NEVER when
    every fresh source says "never"; NULL without any fresh row) and keeps the rows judged by it:
    older than the app's threshold, never, or no fresh data. Only those rows are then grouped per
    (pool, holder) -- a person, or an account without one -- where the holder's earliest assignment
    decides the new-joiner grace, and bots and service accounts drop out. Each row comes back with a
    bucket: inactive, never_active, unknown (only stale sources know) or no_data (nobody knows).
    """
    tid = tenant.tenant_id
    stale = sorted(tenant.stale_sources)
    fresh: ColumnElement[bool] = Activity.source.not_in(stale) if stale else true()
    never = literal(NEVER, UtcDateTime())
    usage = (
        select(
            Activity.person_id,
            Activity.app_id,
            type_coerce(
                func.max(case((fresh, func.coalesce(Activity.last_seen_at, never)))), UtcDateTime()
            ).label("fresh_last"),
            func.max(case((~fresh, 1), else_=0)).label("stale"),
        )
        .where(Activity.tenant_id == tid)
        .group_by(Activity.person_id, Activity.app_id)
        .subquery("usage")
    )
    rows = []
    for pool_no, pool in enumerate(pools):
        inactive_days, grace_days, _ = settings.for_app(pool.app_id)
        cutoff, grace = _day_start(tenant.now, inactive_days), _day_start(tenant.now, grace_days)
        # CAST: gives the VALUES columns text affinity on SQLite, so it can index them for the join.
        rows += [
            (cast(literal(pool.app_id), String), cast(literal(sku), String), pool_no, cutoff, grace)
            for sku in pool.seat_skus
        ]
    judged = (
        values(
            column("app_id", String),
            column("sku", String),
            column("pool_no", Integer),
            column("cutoff", UtcDateTime()),
            column("grace", UtcDateTime()),
            name="judged",
        )
        .data(rows)
        .cte("judged")
    )
    kinds = settings.exclude_account_kinds
    candidates = (
        select(
            judged.c.pool_no,
            func.coalesce(Account.person_id, -Account.id).label("holder"),
            Account.person_id,
            Account.email,
            Account.created_at,
            case((Account.kind.in_(kinds), 1), else_=0).label("excluded")
            if kinds
            else literal(0).label("excluded"),
            Seat.source,
            Seat.assigned_at,
            usage.c.fresh_last,
            usage.c.stale,
            judged.c.grace,
        )
        .select_from(Seat)
        .join(judged, and_(judged.c.app_id == Seat.app_id, judged.c.sku == Seat.sku))
        .join(Account, Account.id == Seat.account_id)
        .outerjoin(usage, and_(usage.c.person_id == Account.person_id, usage.c.app_id == Seat.app_id))
        .where(Seat.tenant_id == tid, or_(usage.c.fresh_last.is_(None), usage.c.fresh_last < judged.c.cutoff))
        .subquery("candidates")
    )
    c = candidates.c
    held = (
        select(
            c.pool_no,
            c.holder,
            func.min(c.person_id).label("person_id"),
            func.min(c.email).label("account_email"),
            type_coerce(func.min(c.assigned_at), UtcDateTime()).label("assigned_at"),
            type_coerce(func.min(c.created_at), UtcDateTime()).label("account_created_at"),
            func.aggregate_strings(c.source, ",").label("seat_sources"),
            type_coerce(func.max(c.fresh_last), UtcDateTime()).label("fresh_last"),
            func.max(c.stale).label("stale"),
            type_coerce(func.max(c.grace), UtcDateTime()).label("grace"),
        )
        .group_by(c.pool_no, c.holder)
        .having(func.max(c.excluded) == 0)
        .subquery("held")
    )
    h = held.c
    person = aliased(Person)
    since = func.coalesce(h.assigned_at, h.account_created_at, person.created_at)
    bucket = case(
        (and_(h.fresh_last.is_(None), func.coalesce(h.stale, 0) == 0), NO_DATA),
        (h.fresh_last.is_(None), UNKNOWN),
        (h.fresh_last == never, NEVER_ACTIVE),
        else_=INACTIVE,
    )
    # A seat nobody has used yet is left alone while it is new (the grace period).
    outside_grace = or_(h.fresh_last.is_(None), h.fresh_last != never, since.is_(None), since < h.grace)
    return (
        select(
            h.pool_no,
            h.holder,
            bucket.label("bucket"),
            person.email.label("person_email"),
            h.account_email,
            person.display_name,
            person.status.label("idp_status"),
            h.assigned_at,
            h.account_created_at,
            person.created_at.label("person_created_at"),
            h.seat_sources,
        )
        .select_from(held)
        .outerjoin(person, person.id == h.person_id)
        .where(outside_grace)
    )


class _PoolContext:
    """Per-pool facts shared by every finding about the pool's seats."""

    def __init__(self, pool: EffectivePool, app_name: str, tenant: TenantView) -> None:
        self.pool = pool
        self.tenant = tenant
        self.app_label = f"{app_name} ({pool.sku})"
        self.seat_price, price_note = monthly_price(pool, tenant)
        self.pool_evidence: dict[str, Any] = {
            "app": pool.app_id,
            "sku": pool.sku,
            "monthly_price_per_seat": _money(self.seat_price),
            "currency": tenant.currency,
        }
        if price_note:
            self.pool_evidence["price_note"] = price_note
        if pool.commitment == "annual" and pool.term_end:
            self.pool_evidence["reclaimable"] = _reclaim_note(pool.term_end, pool.notice_days)
        self.pool_evidence["saving_from"] = _saving_from(pool, tenant)

    def action(self, holder: Holder) -> str:
        pool = self.pool
        if pool.commitment == "annual" and pool.term_end:
            return (
                f"Reclaim {holder.label}'s {self.app_label} seat and lower the seat count at the renewal "
                f"on {pool.term_end.isoformat()}; until then the seat can go to a new joiner."
            )
        return f"Remove {holder.label}'s {self.app_label} seat: the saving starts with the next bill."

    def draft(
        self, rule: str, holder: Holder, verdict: Verdict, title: str, evidence: dict[str, Any]
    ) -> FindingDraft:
        money = self.seat_price if verdict is Verdict.FAIL and self.seat_price is not None else Decimal(0)
        money = money.quantize(CENT, ROUND_HALF_UP)
        if verdict is Verdict.FAIL:
            evidence = {**evidence, "action": self.action(holder)}
        return FindingDraft(
            rule=rule,
            subject=holder.email or f"account:{holder.label}",
            title=title,
            verdict=verdict,
            severity=severity_for(money) if verdict is Verdict.FAIL else Severity.INFO,
            monthly_waste=money,
            evidence=evidence,
            app_id=self.pool.app_id,
            sku=self.pool.sku,
        )


def monthly_price(pool: EffectivePool, tenant: TenantView) -> tuple[Decimal | None, str | None]:
    """One seat's monthly price in the tenant currency, or why it is not known."""
    price = pool.monthly_unit_price
    if price is None:
        return None, "no price known for this SKU: add a contract or a license_pools row"
    try:
        return to_currency(price, pool.currency, tenant.currency, tenant.exchange_rates), None
    except MissingExchangeRate as exc:
        return None, str(exc)


def _no_usage_data(pool: EffectivePool, app_name: str, missing: list[Holder], total: int) -> FindingDraft:
    people = [h.label for h in missing]
    return FindingDraft(
        rule="no_usage_data",
        subject=f"{pool.app_id}/{pool.sku}",
        title=f"{len(missing)} of {total} {app_name} ({pool.sku}) seats have no usage data from any source",
        verdict=Verdict.UNKNOWN,
        severity=Severity.INFO,
        monthly_waste=Decimal("0.00"),
        evidence={"app": pool.app_id, "sku": pool.sku, "seats_without_usage_data": people[:100]},
        app_id=pool.app_id,
        sku=pool.sku,
    )


def _unassigned(pool: EffectivePool, app_name: str, tenant: TenantView) -> FindingDraft | None:
    count = pool.unassigned
    if not count:
        return None
    price, note = monthly_price(pool, tenant)
    money = (price * count).quantize(CENT, ROUND_HALF_UP) if price is not None else Decimal("0.00")
    stale = sorted(s for s in pool.sources if s in tenant.stale_sources)
    verdict = Verdict.UNKNOWN if stale else Verdict.FAIL
    evidence: dict[str, Any] = {
        "app": pool.app_id,
        "sku": pool.sku,
        "seats_purchased": pool.seats_purchased,
        "seats_assigned": pool.seats_assigned,
        "unassigned": count,
        "monthly_price_per_seat": _money(price),
        "currency": tenant.currency,
        "reported_by": list(pool.sources),
    }
    if note:
        evidence["price_note"] = note
    if stale:
        evidence["stale_sources"] = {s: tenant.stale_sources[s] for s in stale}
    if pool.commitment == "annual" and pool.term_end:
        evidence["reclaimable"] = _reclaim_note(pool.term_end, pool.notice_days)
    evidence["saving_from"] = _saving_from(pool, tenant)
    evidence["action"] = (
        f"Lower the {pool.sku} seat count by {count} at the renewal on {pool.term_end.isoformat()}."
        if pool.commitment == "annual" and pool.term_end
        else f"Lower the {pool.sku} seat count by {count}: the saving starts with the next bill."
    )
    return FindingDraft(
        rule="unassigned",
        subject=f"{pool.app_id}/{pool.sku}",
        title=f"{count} of {pool.seats_purchased} {app_name} ({pool.sku}) seats are paid for "
        "but not assigned",
        verdict=verdict,
        severity=severity_for(money) if verdict is Verdict.FAIL else Severity.INFO,
        monthly_waste=money if verdict is Verdict.FAIL else Decimal("0.00"),
        evidence=evidence,
        app_id=pool.app_id,
        sku=pool.sku,
    )


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount.quantize(CENT, ROUND_HALF_UP))


def _saving_from(pool: EffectivePool, tenant: TenantView) -> str:
    """When removing a seat starts saving money: now for monthly seats, at renewal for annual ones."""
    if pool.commitment == "annual" and pool.term_end and pool.term_end >= tenant.now.date():
        return pool.term_end.isoformat()
    return tenant.now.date().isoformat()


def _reclaim_note(term_end: date, notice_days: int | None) -> str:
    notice = f", give notice {notice_days} days before" if notice_days else ""
    return f"at the renewal on {term_end.isoformat()} (annual commitment{notice})"
