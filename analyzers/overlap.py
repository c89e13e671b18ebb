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
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import (
    CompoundSelect,
    Integer,
    String,
    and_,
    case,
    cast,
    column,
    exists,
    func,
    literal,
    null,
    select,
    union_all,
    values,
)
from sqlalchemy.orm import Session, aliased

from analyzers.base import Analyzer, AnalyzerSettings, FindingDraft, Severity, TenantView, Verdict
from analyzers.sql import unindexed
from analyzers.unused_seats import severity_for
from collector.models import Account, App, AppUsage, Person, Seat, SpendLine
from collector.pools import MissingExchangeRate, to_currency
from collector.usage import ListsSource

CENT = Decimal("0.01")
OFFBOARDED = ("suspended", "deprovisioned")
DAYS_PER_MONTH = 30
EVIDENCE_PEOPLE = 20
# VALUES rows (3 parameters each) per statement: far below SQLite's limit of 32,766 parameters.
PAIRS_PER_STATEMENT = 2000


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


@dataclass(frozen=True)
class Pair:
    """Two apps of one category both used, and which of them to keep."""

    category: str
    keep: AppFacts
    drop: AppFacts
    stale: dict[str, str]


@dataclass
class Shared:
    """The people active in both apps of a pair: how many, the first of them (by person id), and
    how many of them hold a seat of each of the dropped app's SKUs (casefolded)."""

    people: int = 0
    sample: list[int] = field(default_factory=list)
    seats: Counter[tuple[str, str]] = field(default_factory=Counter)


class Overlap(Analyzer):
    id = "overlap"
    title = "Overlapping tools"
    settings_model = OverlapSettings
    relative_cost = 3

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
        active, sources = self._active(session, tenant, settings, sorted(candidates))
        costs = self._costs(session, tenant, settings, sorted(candidates), active)
        pairs: list[Pair] = []
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
                pairs.append(Pair(category, keep, drop, stale))
        shared = self._shared(session, tenant, settings, pairs)
        emails = self._emails(session, sorted({p for found in shared for p in found.sample}))
        findings = []
        for pair, found in zip(pairs, shared, strict=True):
            people = sorted(emails[p] for p in found.sample if p in emails)
            held = _seats_money(pair.drop, found.people, found.seats)
            findings.append(
                self._draft(pair.keep, pair.drop, found.people, held, people, pair.stale, tenant, settings)
            )
        return findings

    def _active(
        self, session: Session, tenant: TenantView, settings: OverlapSettings, apps: list[str]
    ) -> tuple[dict[str, int], dict[str, set[str]]]:
        """People active in each app in the last ``active_days`` (any source, leavers not counted), and
        which stale sources report on each app, counted in SQL.

        Stale sources count here: a pair whose activity comes from one is reported UNKNOWN with what
        was last known, rather than vanishing (a vanished finding would read as a realised saving).
        """
        tid = tenant.tenant_id
        since = _since(tenant, settings)
        recent = AppUsage.last_seen_at >= since
        stale = sorted(tenant.stale_sources)
        # One pass over the apps' usage summary (one row per person and app, its latest sighting
        # across sources); whose person has left is counted apart below (a join of every row to
        # its person would cost more than the few leavers' rows).
        stmt = (
            select(
                AppUsage.app_id,
                func.count(case((recent, 1))),
                *(func.max(case((ListsSource(AppUsage.sources, source), 1), else_=0)) for source in stale),
            )
            .where(unindexed(AppUsage.tenant_id) == tid, AppUsage.app_id.in_(apps))
            .group_by(AppUsage.app_id)
        )
        active: dict[str, int] = {}
        sources: dict[str, set[str]] = {}
        for app_id, count, *reported in session.execute(stmt):
            active[app_id] = count
            sources[app_id] = {source for source, flag in zip(stale, reported, strict=True) if flag}
        leavers = (
            select(AppUsage.app_id, func.count())
            .where(
                AppUsage.tenant_id == tid,
                # The leavers' rows by the summary's key (tenant, person): a few thousand people
                # on a large tenant. (The app list filters, it does not multiply the lookups.)
                AppUsage.person_id.in_(
                    select(Person.id).where(Person.tenant_id == tid, Person.status.in_(OFFBOARDED))
                ),
                unindexed(AppUsage.app_id).in_(apps),
                recent,
            )
            .group_by(AppUsage.app_id)
        )
        for app_id, count in session.execute(leavers):
            active[app_id] -= count
        return {app_id: count for app_id, count in active.items() if count}, sources

    def _shared(
        self, session: Session, tenant: TenantView, settings: OverlapSettings, pairs: list[Pair]
    ) -> list[Shared]:
        """For each pair: the people active in both apps, the first ``EVIDENCE_PEOPLE`` of them and
        their seats in the app to drop, in one statement per batch of pairs.

        The walk starts from the dropped app's recent usage (usually the smaller app) and looks
        each person up in the kept app through the usage summary's key (tenant, person,
        app): the work grows with the dropped apps' active people, not with the whole tenant.
        """
        result = [Shared() for _ in pairs]
        for start in range(0, len(pairs), PAIRS_PER_STATEMENT):
            batch = pairs[start : start + PAIRS_PER_STATEMENT]
            for kind, pair_no, sku, value in session.execute(_shared_statement(tenant, settings, batch)):
                found = result[start + pair_no]
                if kind == "people":
                    found.people = value
                elif kind == "sample":
                    found.sample.append(value)
                else:
                    found.seats[(batch[pair_no].drop.app_id, sku)] = value
        for found in result:
            found.sample.sort()
        return result

    def _emails(self, session: Session, person_ids: list[int]) -> dict[int, str]:
        emails: dict[int, str] = {}
        for start in range(0, len(person_ids), 500):
            part = person_ids[start : start + 500]
            emails.update(session.execute(select(Person.id, Person.email).where(Person.id.in_(part))).all())
        return emails

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
        for pool in tenant.license_pools(session):
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


def _since(tenant: TenantView, settings: OverlapSettings) -> datetime:
    return datetime.combine(tenant.now.date() - timedelta(days=settings.active_days), time.min, tzinfo=UTC)


def _shared_statement(
    tenant: TenantView, settings: OverlapSettings, pairs: list[Pair]
) -> CompoundSelect[Any]:
    """Rows ``(kind, pair_no, sku, value)``: per pair, ``people`` active in both apps (leavers not
    counted), a ``sample`` row per person among the first ``EVIDENCE_PEOPLE`` of them by id, and per
    SKU of the dropped app, how many of them hold a ``seats`` of it."""
    tid = tenant.tenant_id
    since = _since(tenant, settings)
    drops = sorted({pair.drop.app_id for pair in pairs})
    # CAST gives the app columns text affinity on SQLite, which an automatic index on them needs.
    listed = (
        values(
            column("pair_no", Integer), column("drop_app", String), column("keep_app", String), name="pairs"
        )
        .data(
            [
                (n, cast(literal(pair.drop.app_id), String), cast(literal(pair.keep.app_id), String))
                for n, pair in enumerate(pairs)
            ]
        )
        .cte("pairs")
    )
    # Materialized: one pass over the usage summary, not one per pair.
    dropped = (
        select(AppUsage.person_id, AppUsage.app_id)
        .where(
            unindexed(AppUsage.tenant_id) == tid, AppUsage.app_id.in_(drops), AppUsage.last_seen_at >= since
        )
        .cte("dropped")
        .prefix_with("MATERIALIZED")
    )
    kept = aliased(AppUsage)
    in_kept = exists().where(
        kept.tenant_id == tid,
        kept.person_id == dropped.c.person_id,
        kept.app_id == listed.c.keep_app,
        kept.last_seen_at >= since,
    )
    both = (
        select(listed.c.pair_no, dropped.c.person_id)
        .select_from(dropped)
        .join(listed, listed.c.drop_app == dropped.c.app_id)
        .join(Person, Person.id == dropped.c.person_id)
        .where(func.coalesce(Person.status, "").not_in(OFFBOARDED), in_kept)
        .cte("both")
        .prefix_with("MATERIALIZED")
    )
    ranked = select(
        both.c.pair_no,
        both.c.person_id,
        func.row_number().over(partition_by=both.c.pair_no, order_by=both.c.person_id).label("n"),
    ).subquery("ranked")
    no_sku = cast(null(), String)
    sku = func.lower(Seat.sku)
    return union_all(
        select(literal("people"), both.c.pair_no, no_sku, func.count()).group_by(both.c.pair_no),
        select(literal("sample"), ranked.c.pair_no, no_sku, ranked.c.person_id).where(
            ranked.c.n <= EVIDENCE_PEOPLE
        ),
        # The seats of the people in both, by their accounts (indexed by person, seats by account):
        # a few of the tenant's seats, not all of them. Distinct people: one may hold a SKU twice.
        select(literal("seats"), both.c.pair_no, sku, func.count(func.distinct(both.c.person_id)))
        .select_from(both)
        .join(listed, listed.c.pair_no == both.c.pair_no)
        .join(Account, Account.person_id == both.c.person_id)
        .join(Seat, and_(Seat.account_id == Account.id, unindexed(Seat.app_id) == listed.c.drop_app))
        .group_by(both.c.pair_no, sku),
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
