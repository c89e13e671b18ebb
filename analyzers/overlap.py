"""Overlapping tools: two apps of the same category (two video tools, two CRMs) in one tenant.

Apps are compared within their category (``app.category``: from ``apps.<id>.category`` in the config,
else the vendor catalog). For every pair of apps in a category that people use -- active in the
last ``active_days`` (default 30) by any activity source; people the identity provider marks
suspended or deprovisioned do not count -- the finding gives the people active in each app alone and
in both, the monthly cost of each, and which to keep:

- the app with more active people is kept; on a tie the cheaper per seat, then the cheaper in all.
- cost: the app's license pools, seats purchased (else assigned) times the monthly price; an app
  without a priced pool costs its average monthly spend (card, invoice, subscription) over the last
  ``spend_window_days`` (default 90, the spend divided by window / 30), shared by its active people.

Two rules:

- ``duplicate_tools``: at least ``min_shared_users`` (default 1) people use both. Money: the seats of
  those people in the app to drop, at its monthly price per seat, capped at its cost. They already use
  the kept app, so these seats can go without buying anything; they are also active seats, so the
  unused-seats analyzer does not count them. Moving the people who use only the dropped app is a
  migration whose cost saaswatch cannot know; the evidence gives the net figure if they moved onto
  the kept app at its price per seat (``saving_if_everyone_moved``).
- ``parallel_tools``: nobody uses both: two teams, two tools. That may be a choice (each team's tool
  fits its work), so there is no money and the severity is INFO; the evidence has the same net
  figure for moving the smaller team.

Not compared: categories in ``exclude_categories``, apps with ``apps.<id>.exclude``, and the pairs in
``allowed_pairs`` (deliberate: desktop Office for Finance next to Google Workspace for everyone).

UNKNOWN with no money when an activity source of either app is stale: who uses what is not known;
the evidence keeps the counts as last known.

Example policy::

    policy:
      overlap:
        active_days: 30
        exclude_categories: [security]
        allowed_pairs: [[google_workspace, m365], [figma, adobe_cc]]
        apps: {legacy_wiki: {exclude: true}}
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analyzers.base import Analyzer, AnalyzerSettings, FindingDraft, Severity, TenantView, Verdict
from analyzers.unused_seats import severity_for
from collector.models import Account, Activity, App, Person, Seat, SpendLine
from collector.pools import MissingExchangeRate, effective_pools, to_currency

CENT = Decimal("0.01")
OFFBOARDED = ("suspended", "deprovisioned")
DAYS_PER_MONTH = 30
EVIDENCE_PEOPLE = 20
STREAM_ROWS = 10_000  # rows fetched at a time by the ordered walks


class AppPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    exclude: bool = False


class OverlapSettings(AnalyzerSettings):
    active_days: int = Field(default=30, ge=1)
    min_shared_users: int = Field(default=1, ge=1)
    spend_window_days: int = Field(default=90, ge=1)
    spend_kinds: list[str] = ["card", "invoice", "subscription", "expense"]
    exclude_categories: list[str] = []
    allowed_pairs: list[tuple[str, str]] = []
    apps: dict[str, AppPolicy] = {}

    @field_validator("allowed_pairs")
    @classmethod
    def _distinct(cls, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        if any(a == b for a, b in pairs):
            raise ValueError("an allowed pair names two different apps")
        return pairs

    def allows(self, a: str, b: str) -> bool:
        return any({a, b} == set(pair) for pair in self.allowed_pairs)


@dataclass(frozen=True)
class Cost:
    monthly: Decimal | None  # None: neither a priced pool nor spend says what it costs
    per_seat: Decimal | None
    seats: int | None
    basis: str
    note: str | None = None
    # Monthly price per seat in the tenant currency of each priced pool, by pool key (app, sku).
    prices: dict[tuple[str, str], Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class AppFacts:
    app_id: str
    name: str
    category: str
    active: int
    cost: Cost

    def as_evidence(self, only: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "active_people": self.active,
            "active_only_here": only,
            "monthly_cost": _money(self.cost.monthly),
            "monthly_price_per_seat": _money(self.cost.per_seat),
            "seats": self.cost.seats,
            "cost_basis": self.cost.basis,
            **({"price_note": self.cost.note} if self.cost.note else {}),
        }


@dataclass
class Usage:
    active: Counter[str] = field(default_factory=Counter)
    shared: Counter[tuple[str, str]] = field(default_factory=Counter)
    sample: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    # Per pair: the (app, sku) seats held by the people active in both.
    seats: dict[tuple[str, str], Counter[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(Counter)
    )


class _SeatsByPerson:
    """The seats of the person the ordered walk is at: a merge with the recent-activity walk."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._groups = itertools.groupby(rows, key=lambda row: int(row[0]))
        self._current: tuple[int, list[tuple[str, str]]] | None = None
        self._advance()

    def _advance(self) -> None:
        group = next(self._groups, None)
        self._current = None if group is None else (group[0], [(r[1], r[2]) for r in group[1]])

    def get(self, person_id: int) -> list[tuple[str, str]]:
        while self._current is not None and self._current[0] < person_id:
            self._advance()
        if self._current is not None and self._current[0] == person_id:
            return self._current[1]
        return []


class Overlap(Analyzer):
    id = "overlap"
    title = "Overlapping tools"
    settings_model = OverlapSettings

    def run(self, session: Session, tenant: TenantView) -> list[FindingDraft]:
        settings = self.settings
        assert isinstance(settings, OverlapSettings)
        tid = tenant.tenant_id
        categories: dict[str, list[tuple[str, str]]] = defaultdict(list)
        stmt = select(App.id, App.name, App.category).where(App.tenant_id == tid, App.category.is_not(None))
        for app_id, name, category in session.execute(stmt):
            excluded = settings.apps.get(app_id, AppPolicy()).exclude
            if category and category not in settings.exclude_categories and not excluded:
                categories[category].append((app_id, name))
        candidates = {a: (n, c) for c, apps in categories.items() if len(apps) > 1 for a, n in apps}
        if not candidates:
            return []
        usage = self._usage(session, tenant, settings, {a: c for a, (_, c) in candidates.items()})
        active = usage.active
        sources = self._activity_sources(session, tid, sorted(candidates))
        costs = self._costs(session, tenant, settings, sorted(candidates), active)
        emails = self._emails(session, sorted({p for ids in usage.sample.values() for p in ids}))
        findings = []
        for category, apps in sorted(categories.items()):
            for (a, _), (b, _) in itertools.combinations(sorted(apps), 2):
                if settings.allows(a, b) or not active.get(a) or not active.get(b):
                    continue
                facts = [
                    AppFacts(x, candidates[x][0], category, active[x], costs[x]) for x in (a, b)
                ]  # fmt: skip
                stale = {
                    s: tenant.stale_sources[s]
                    for s in sorted(sources.get(a, set()) | sources.get(b, set()))
                    if s in tenant.stale_sources
                }
                keep, drop = sorted(facts, key=_preference)
                both = usage.shared.get((a, b), 0)
                people = sorted(emails[p] for p in usage.sample.get((a, b), []) if p in emails)
                held = _seats_money(drop, both, usage.seats.get((a, b), Counter()))
                findings.append(self._draft(keep, drop, both, held, people, stale, tenant, settings))
        return findings

    def _usage(
        self, session: Session, tenant: TenantView, settings: OverlapSettings, categories: dict[str, str]
    ) -> Usage:
        """Active people per app, and per pair of same-category apps those active in both, a sample
        of them and the seats they hold in either app.

        The database filters, de-duplicates and orders (person, app) rows; one pass folds them per
        person, so the work grows with the rows, not with the square of them. (A self-join of the
        active set finds no index to use on SQLite and takes minutes on a large tenant.)

        Stale sources count here: a pair whose activity comes from one is reported UNKNOWN with what
        was last known, rather than vanishing (a vanished finding would read as a realised saving).
        """
        tid = tenant.tenant_id
        apps = sorted(categories)
        since = datetime.combine(
            tenant.now.date() - timedelta(days=settings.active_days), time.min, tzinfo=UTC
        )
        recent = (
            select(Activity.person_id, Activity.app_id)
            .join(Person, Activity.person_id == Person.id)
            .where(
                Activity.tenant_id == tid,
                Activity.app_id.in_(apps),
                Activity.last_seen_at >= since,
                func.coalesce(Person.status, "").not_in(OFFBOARDED),
            )
            .distinct()
            .order_by(Activity.person_id)
            .execution_options(yield_per=STREAM_ROWS)
        )
        held = (
            select(Account.person_id, Seat.app_id, func.lower(Seat.sku))
            .join(Account, Seat.account_id == Account.id)
            .where(Seat.tenant_id == tid, Seat.app_id.in_(apps), Account.person_id.is_not(None))
            .distinct()
            .order_by(Account.person_id)
            .execution_options(yield_per=STREAM_ROWS)
        )
        usage = Usage()
        seats_of = _SeatsByPerson(session.execute(held))
        for person_id, rows in itertools.groupby(session.execute(recent), key=lambda row: int(row[0])):
            by_category: dict[str, list[str]] = defaultdict(list)
            for _, app_id in rows:
                usage.active[app_id] += 1
                by_category[categories[app_id]].append(app_id)
            pairs = [
                pair
                for group in by_category.values()
                for pair in itertools.combinations(sorted(group), 2)
            ]  # fmt: skip
            if not pairs:
                continue
            seats = seats_of.get(person_id)
            for pair in pairs:
                usage.shared[pair] += 1
                if len(usage.sample[pair]) < EVIDENCE_PEOPLE:
                    usage.sample[pair].append(person_id)
                usage.seats[pair].update(seat for seat in seats if seat[0] in pair)
        return usage

    def _emails(self, session: Session, person_ids: list[int]) -> dict[int, str]:
        emails: dict[int, str] = {}
        for start in range(0, len(person_ids), 500):
            part = person_ids[start : start + 500]
            emails.update(session.execute(select(Person.id, Person.email).where(Person.id.in_(part))).all())
        return emails

    def _activity_sources(self, session: Session, tid: str, apps: list[str]) -> dict[str, set[str]]:
        result: dict[str, set[str]] = defaultdict(set)
        stmt = (
            select(Activity.app_id, Activity.source)
            .where(Activity.tenant_id == tid, Activity.app_id.in_(apps))
            .distinct()
        )
        for app_id, source in session.execute(stmt):
            result[app_id].add(source)
        return result

    def _costs(
        self,
        session: Session,
        tenant: TenantView,
        settings: OverlapSettings,
        apps: list[str],
        active: dict[str, int],
    ) -> dict[str, Cost]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        seats: dict[str, int] = defaultdict(int)
        notes: dict[str, list[str]] = defaultdict(list)
        prices: dict[tuple[str, str], Decimal] = {}
        for pool in effective_pools(session, tenant.tenant_id):
            if pool.app_id not in apps:
                continue
            count = pool.seats_purchased if pool.seats_purchased is not None else pool.seats_assigned
            price = pool.monthly_unit_price
            if price is None or count is None:
                notes[pool.app_id].append(f"{pool.sku} has no price or seat count")
                continue
            try:
                price = to_currency(price, pool.currency, tenant.currency, tenant.exchange_rates)
            except MissingExchangeRate as exc:
                notes[pool.app_id].append(str(exc))
                continue
            totals[pool.app_id] += price * count
            seats[pool.app_id] += count
            prices[pool.key] = price
        spend = self._spend(session, tenant, settings, [a for a in apps if not seats.get(a)])
        result = {}
        for app_id in apps:
            note = "; ".join(notes[app_id]) or None
            if seats.get(app_id):
                total = totals[app_id]
                basis = "license pools: seats purchased x price"
                result[app_id] = Cost(total, total / seats[app_id], seats[app_id], basis, note, prices)
            elif app_id in spend:
                total = spend[app_id]
                per = total / active[app_id] if active.get(app_id) else None
                days = settings.spend_window_days
                result[app_id] = Cost(total, per, None, f"average spend over the last {days} days", note)
            else:
                result[app_id] = Cost(None, None, None, "unknown: no priced license pool and no spend", note)
        return result

    def _spend(
        self, session: Session, tenant: TenantView, settings: OverlapSettings, apps: list[str]
    ) -> dict[str, Decimal]:
        if not apps:
            return {}
        today = tenant.now.date()
        stmt = (
            select(SpendLine.app_id, SpendLine.currency, func.sum(SpendLine.amount))
            .where(
                SpendLine.tenant_id == tenant.tenant_id,
                SpendLine.app_id.in_(apps),
                SpendLine.kind.in_(settings.spend_kinds),
                SpendLine.spent_on > today - timedelta(days=settings.spend_window_days),
                SpendLine.spent_on <= today,
            )
            .group_by(SpendLine.app_id, SpendLine.currency)
        )
        months = Decimal(settings.spend_window_days) / DAYS_PER_MONTH
        result: dict[str, Decimal] = defaultdict(Decimal)
        for app_id, currency, total in session.execute(stmt):
            try:
                amount = to_currency(Decimal(total), currency, tenant.currency, tenant.exchange_rates)
            except MissingExchangeRate:
                continue
            result[str(app_id)] += amount
        return {app_id: total / months for app_id, total in result.items()}

    def _draft(
        self,
        keep: AppFacts,
        drop: AppFacts,
        both: int,
        held: Decimal,
        people: list[str],
        stale: dict[str, str],
        tenant: TenantView,
        settings: OverlapSettings,
    ) -> FindingDraft:
        facts = [keep, drop]
        category = keep.category
        duplicate = both >= settings.min_shared_users
        rule = "duplicate_tools" if duplicate else "parallel_tools"
        only = {keep.app_id: keep.active - both, drop.app_id: drop.active - both}
        moved = None
        if drop.cost.monthly is not None and keep.cost.per_seat is not None:
            moved = drop.cost.monthly - keep.cost.per_seat * only[drop.app_id]
        evidence: dict[str, Any] = {
            "category": category,
            "active_days": settings.active_days,
            "apps": {f.app_id: f.as_evidence(only[f.app_id]) for f in sorted(facts, key=lambda f: f.app_id)},
            "active_in_both": both,
            "people_in_both": people,
            "keep": keep.app_id,
            "drop": drop.app_id,
            "why": _why(keep, drop),
            "saving_if_everyone_moved": _money(max(moved, Decimal(0)) if moved is not None else None),
            "currency": tenant.currency,
        }
        subject = f"{category}: {'+'.join(sorted(f.app_id for f in facts))}"
        if stale:
            evidence["stale_sources"] = stale
            return FindingDraft(
                rule=rule,
                subject=subject,
                title=f"{keep.name} and {drop.name} are both {category} tools; who uses which is unknown: "
                + "; ".join(f"{s} {r}" for s, r in stale.items()),
                verdict=Verdict.UNKNOWN,
                severity=Severity.INFO,
                monthly_waste=Decimal("0.00"),
                evidence=evidence,
                app_id=drop.app_id,
            )
        if duplicate:
            money = min(held, drop.cost.monthly) if drop.cost.monthly is not None else held
            money = money.quantize(CENT, ROUND_HALF_UP)
            evidence["action"] = (
                f"Consolidate {category} on {keep.name}: remove the {drop.name} seats of the {both} "
                f"people who use both ({money} {tenant.currency}/month), then move the "
                f"{_people(only[drop.app_id])} using only {drop.name} and cancel it at its renewal."
            )
            title = (
                f"{both} people use both {keep.name} and {drop.name} ({category}): keep {keep.name} "
                f"({keep.active} active), drop {drop.name} ({drop.active} active)"
            )
            severity = severity_for(money) if money else Severity.LOW
        else:
            money = Decimal("0.00")
            evidence["action"] = (
                f"Two teams use two {category} tools: {keep.name} ({keep.active} people) and "
                f"{drop.name} ({drop.active}). Check whether one tool would do for both before "
                f"{drop.name} renews."
            )
            title = (
                f"{keep.name} and {drop.name} are both {category} tools used by different people "
                f"({keep.active} and {drop.active} active, nobody uses both)"
            )
            severity = Severity.INFO
        return FindingDraft(
            rule=rule,
            subject=subject,
            title=title,
            verdict=Verdict.FAIL,
            severity=severity,
            monthly_waste=money,
            evidence=evidence,
            app_id=drop.app_id,
        )


def _seats_money(drop: AppFacts, both: int, seats: Counter[tuple[str, str]]) -> Decimal:
    """Monthly price of the seats the people active in both apps hold in ``drop``.

    An app known only from spend has no seats: each of those people costs its spend per active person.
    """
    if not drop.cost.prices:
        return (drop.cost.per_seat or Decimal(0)) * both
    return sum(
        (
            drop.cost.prices.get((app_id, sku.casefold()), Decimal(0)) * count
            for (app_id, sku), count in seats.items()
            if app_id == drop.app_id
        ),
        Decimal(0),
    )


def _preference(facts: AppFacts) -> tuple[int, Decimal, Decimal, str]:
    """Sort key: the app to keep first (most active people, then cheapest per seat, then in all)."""
    unknown = Decimal("Infinity")
    per_seat = facts.cost.per_seat if facts.cost.per_seat is not None else unknown
    monthly = facts.cost.monthly if facts.cost.monthly is not None else unknown
    return (-facts.active, per_seat, monthly, facts.app_id)


def _why(keep: AppFacts, drop: AppFacts) -> str:
    if keep.active != drop.active:
        return f"{keep.name} has more active people ({keep.active} against {drop.active})"
    if keep.cost.per_seat != drop.cost.per_seat:
        return f"as many active people; {keep.name} is cheaper per seat"
    return f"as many active people and the same price per seat; {keep.name} costs less in all"


def _people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount.quantize(CENT, ROUND_HALF_UP))
