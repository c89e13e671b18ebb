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
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzers.base import Analyzer, AnalyzerSettings, FindingDraft, Severity, TenantView, Verdict
from collector.models import Account, Activity, App, Person, Seat
from collector.pools import EffectivePool, MissingExchangeRate, effective_pools, to_currency

CENT = Decimal("0.01")


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


@dataclass
class Holder:
    """One holder of a seat in a pool (several sources may report the same seat)."""

    app_id: str
    sku: str
    person_id: int | None
    email: str | None
    display_name: str | None
    idp_status: str | None
    assigned_at: datetime | None
    account_created_at: datetime | None
    person_created_at: datetime | None
    seat_sources: set[str]
    kind: str | None = None  # the account kind: user, guest, bot, service or unknown

    @property
    def label(self) -> str:
        return self.email or "an account without e-mail"

    @property
    def since(self) -> datetime | None:
        return self.assigned_at or self.account_created_at or self.person_created_at


@dataclass(frozen=True)
class Sighting:
    source: str
    kind: str
    last_seen_at: datetime | None
    observed_at: datetime

    def as_evidence(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "last_seen": self.last_seen_at.isoformat() if self.last_seen_at else "never",
            "reported_at": self.observed_at.isoformat(),
        }


def _days(now: datetime, then: datetime) -> int:
    return (now.date() - then.date()).days


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
        holders = self._holders(session, tenant.tenant_id)
        sightings = self._sightings(session, tenant.tenant_id)
        findings: list[FindingDraft] = []
        no_data: dict[tuple[str, str], list[Holder]] = defaultdict(list)
        for key, pool_holders in sorted(holders.items()):
            pool = pools[key]
            inactive_days, grace_days, excluded = settings.for_app(pool.app_id)
            if excluded or settings.excludes_sku(pool.app_id, pool.sku):
                continue
            context = _PoolContext(pool, app_names.get(pool.app_id, pool.app_id), tenant)
            for holder in pool_holders:
                if settings.excludes(holder.email) or holder.kind in settings.exclude_account_kinds:
                    continue
                seen = sightings.get((holder.person_id, pool.app_id), []) if holder.person_id else []
                finding = self._judge(holder, seen, context, inactive_days, grace_days)
                if isinstance(finding, FindingDraft):
                    findings.append(finding)
                elif finding == "no data":
                    no_data[key].append(holder)
        for key, missing in sorted(no_data.items()):
            findings.append(
                _no_usage_data(pools[key], app_names.get(key[0], key[0]), missing, len(holders[key]))
            )
        for _key, pool in sorted(pools.items()):
            if settings.for_app(pool.app_id)[2] or settings.excludes_sku(pool.app_id, pool.sku):
                continue
            unassigned = _unassigned(pool, app_names.get(pool.app_id, pool.app_id), tenant)
            if unassigned is not None:
                findings.append(unassigned)
        return findings

    def _holders(self, session: Session, tenant_id: str) -> dict[tuple[str, str], list[Holder]]:
        stmt = (
            select(
                Seat.app_id,
                Seat.sku,
                Seat.assigned_at,
                Seat.source,
                Account.id,
                Account.email,
                Account.created_at,
                Account.kind,
                Person.id,
                Person.email,
                Person.display_name,
                Person.status,
                Person.created_at,
            )
            .join(Account, Seat.account_id == Account.id)
            .outerjoin(Person, Account.person_id == Person.id)
            .where(Seat.tenant_id == tenant_id)
        )
        merged: dict[tuple[str, str, object], Holder] = {}
        for row in session.execute(stmt):
            app_id, sku, assigned_at, source, account_id, account_email, account_created, kind = row[:8]
            person_id, person_email, display_name, idp_status, person_created = row[8:]
            who: object = person_id if person_id is not None else ("account", account_id)
            key = (app_id, sku.casefold(), who)
            holder = merged.get(key)
            if holder is None:
                merged[key] = Holder(
                    app_id, sku, person_id, person_email or account_email, display_name, idp_status,
                    assigned_at, account_created, person_created, {source}, kind,
                )  # fmt: skip
                continue
            holder.seat_sources.add(source)
            if assigned_at and (holder.assigned_at is None or assigned_at < holder.assigned_at):
                holder.assigned_at = assigned_at
        grouped: dict[tuple[str, str], list[Holder]] = defaultdict(list)
        for (app_id, sku_key, _), holder in sorted(merged.items(), key=lambda kv: (kv[0][:2], kv[1].label)):
            grouped[(app_id, sku_key)].append(holder)
        return grouped

    def _sightings(self, session: Session, tenant_id: str) -> dict[tuple[int, str], list[Sighting]]:
        stmt = select(
            Activity.person_id,
            Activity.app_id,
            Activity.source,
            Activity.source_kind,
            Activity.last_seen_at,
            Activity.observed_at,
        ).where(Activity.tenant_id == tenant_id)
        result: dict[tuple[int, str], list[Sighting]] = defaultdict(list)
        for person_id, app_id, source, kind, last_seen, observed in session.execute(stmt):
            result[(person_id, app_id)].append(Sighting(source, kind, last_seen, observed))
        return result

    def _judge(
        self,
        holder: Holder,
        seen: list[Sighting],
        context: _PoolContext,
        inactive_days: int,
        grace_days: int,
    ) -> FindingDraft | str | None:
        now = context.tenant.now
        fresh = [s for s in seen if s.source not in context.tenant.stale_sources]
        stale = [s for s in seen if s.source in context.tenant.stale_sources]
        evidence: dict[str, Any] = {
            "person": holder.email,
            "name": holder.display_name,
            "idp_status": holder.idp_status,
            "seat_assigned": holder.assigned_at.date().isoformat() if holder.assigned_at else None,
            "seat_reported_by": sorted(holder.seat_sources),
            "sources": [s.as_evidence() for s in sorted(seen, key=lambda s: (s.source, s.kind))],
            **context.pool_evidence,
        }
        if not fresh:
            if not stale:
                return "no data"
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
