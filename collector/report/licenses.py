"""What the tenant pays for and uses, from its effective license pools: spend per app and category,
seats bought, assigned and used per app, and the license terms ending in the next twelve months."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from analyzers.renewals import add_months, term_of
from analyzers.unused_seats import AppPolicy, UnusedSeatsSettings
from collector.config import TenantConfig
from collector.models import Account, Activity, Seat, SpendLine
from collector.pools import EffectivePool, MissingExchangeRate, to_currency
from collector.report.data import AppSpend, AppUsage, CategorySpend, RenewalTerm

CENT = Decimal("0.01")
SPEND_WINDOW_DAYS = 90  # card and invoice spend of apps without a priced pool: the last 90 days ...
MONTHS_IN_WINDOW = Decimal(3)  # ... as a monthly average, like the shadow-IT and overlap analyzers
UNCATEGORISED = "uncategorised"
PoolKey = tuple[str, str]


def pool_cost(pool: EffectivePool, tenant: TenantConfig) -> Decimal | None:
    """The pool's monthly cost in the tenant's currency: its seats (bought, or assigned when more are
    assigned than bought) at the monthly unit price. None without a price or an exchange rate."""
    price = pool.monthly_unit_price
    if price is None:
        return None
    seats = max(pool.seats_purchased or 0, pool.seats_assigned or 0)
    try:
        return to_currency(price * seats, pool.currency, tenant.currency, dict(tenant.exchange_rates))
    except MissingExchangeRate:
        return None


def app_spend(
    session: Session,
    tenant: TenantConfig,
    pools: list[EffectivePool],
    evaluated_on: date,
    apps: Mapping[str, tuple[str, str | None]],
    shadow_spend: Mapping[str, tuple[str, Decimal]],
) -> list[AppSpend]:
    """Monthly spend per app, biggest first.

    An app with a priced license pool costs what its pools cost; one without costs its average
    monthly card and invoice spend of the last 90 days; an unapproved app only the shadow-IT analyzer
    recognised (card charges under a merchant name) costs what that finding says.
    """
    spend: dict[str, Decimal] = defaultdict(Decimal)
    basis: dict[str, str] = {}
    for pool in pools:
        cost = pool_cost(pool, tenant)
        if cost is not None and cost > 0:
            spend[pool.app_id] += cost
            basis[pool.app_id] = "license pools"
    first_day = evaluated_on - timedelta(days=SPEND_WINDOW_DAYS)
    lines = session.execute(
        select(SpendLine.app_id, SpendLine.currency, func.sum(SpendLine.amount))
        .where(
            SpendLine.tenant_id == tenant.id,
            SpendLine.app_id.is_not(None),
            SpendLine.spent_on > first_day,
            SpendLine.spent_on <= evaluated_on,
        )
        .group_by(SpendLine.app_id, SpendLine.currency)
    )
    for app_id, currency, total in lines:
        if app_id in basis and basis[app_id] == "license pools":
            continue  # the pools say what it costs; its invoices would count it twice
        try:
            monthly = to_currency(
                Decimal(total) / MONTHS_IN_WINDOW, currency, tenant.currency, dict(tenant.exchange_rates)
            )
        except MissingExchangeRate:
            continue
        spend[str(app_id)] += monthly
        basis[str(app_id)] = f"card and invoice spend, last {SPEND_WINDOW_DAYS} days"
    names = {app_id: name for app_id, (name, _category) in apps.items()}
    for app_id, (name, monthly) in shadow_spend.items():
        if app_id not in spend and monthly > 0:
            spend[app_id] = monthly
            basis[app_id] = "unapproved card spend (shadow IT)"
            names.setdefault(app_id, name)
    result = [
        AppSpend(
            app_id=app_id,
            name=names.get(app_id, app_id),
            category=(apps.get(app_id, ("", None))[1] or UNCATEGORISED),
            monthly=amount.quantize(CENT, ROUND_HALF_UP),
            basis=basis[app_id],
        )
        for app_id, amount in spend.items()
    ]
    return sorted(result, key=lambda a: (-a.monthly, a.name))


def categories(spend: Iterable[AppSpend]) -> list[CategorySpend]:
    grouped: dict[str, list[AppSpend]] = defaultdict(list)
    for app in spend:
        grouped[app.category].append(app)
    result = [
        CategorySpend(category, sum((a.monthly for a in apps), Decimal(0)), tuple(a.name for a in apps))
        for category, apps in grouped.items()
    ]
    return sorted(result, key=lambda c: (-c.monthly, c.category))


def unused_settings(tenant: TenantConfig) -> UnusedSeatsSettings:
    settings = tenant.policy.get("unused_seats")
    return settings if isinstance(settings, UnusedSeatsSettings) else UnusedSeatsSettings()


def usage(
    session: Session,
    tenant: TenantConfig,
    pools: list[EffectivePool],
    evaluated_at: datetime,
    names: Mapping[str, str],
) -> list[AppUsage]:
    """Seats per app over its paid pools (free pools left out): bought, assigned, and held by people
    seen in the app within the tenant's unused-seats line (``inactive_days``, per-app overrides)."""
    settings = unused_settings(tenant)
    paid = [p for p in pools if p.monthly_unit_price is None or p.monthly_unit_price > 0]
    days = {
        p.app_id: settings.apps.get(p.app_id, AppPolicy()).inactive_days or settings.inactive_days
        for p in paid
    }
    active = _active_holders(session, tenant.id, days, evaluated_at)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for pool in paid:
        assigned = pool.seats_assigned or 0
        purchased = pool.seats_purchased if pool.seats_purchased is not None else assigned
        entry = totals[pool.app_id]
        entry[0] += purchased
        entry[1] += assigned
        entry[2] += min(active.get(pool.key, 0), assigned)
    result = [
        AppUsage(app_id, names.get(app_id, app_id), purchased, assigned, used, days[app_id])
        for app_id, (purchased, assigned, used) in totals.items()
        if purchased or assigned
    ]
    return sorted(result, key=lambda u: (-(u.unassigned + u.idle), u.name))


def _active_holders(
    session: Session, tenant_id: str, days: Mapping[str, int], evaluated_at: datetime
) -> dict[PoolKey, int]:
    """People holding a seat of each pool who were seen in its app since the app's line; one
    statement per distinct line (the default and each override), counted in SQL."""
    by_days: dict[int, list[str]] = defaultdict(list)
    for app_id, n in days.items():
        by_days[n].append(app_id)
    result: dict[PoolKey, int] = defaultdict(int)
    for n, app_ids in sorted(by_days.items()):
        # The unused-seats analyzer's line: seen on or after midnight UTC n days before the evaluation day.
        cutoff = datetime.combine(evaluated_at.date() - timedelta(days=n), time(0), tzinfo=UTC)
        seen = exists().where(
            and_(
                Activity.tenant_id == tenant_id,
                Activity.person_id == Account.person_id,
                Activity.app_id == Seat.app_id,
                Activity.last_seen_at >= cutoff,
            )
        )
        stmt = (
            select(Seat.app_id, Seat.sku, func.count(func.distinct(Account.person_id)))
            .join(Account, Seat.account_id == Account.id)
            .where(Seat.tenant_id == tenant_id, Seat.app_id.in_(sorted(app_ids)), seen)
            .group_by(Seat.app_id, Seat.sku)
        )
        for app_id, sku, holders in session.execute(stmt):
            result[(app_id, sku.casefold())] += holders
    return result


def renewal_terms(
    tenant: TenantConfig,
    pools: list[EffectivePool],
    evaluated_on: date,
    names: Mapping[str, str],
    unused: Mapping[PoolKey, int],
    advice: Mapping[PoolKey, dict[str, Any]],
) -> tuple[list[RenewalTerm], date]:
    """Terms whose notice deadline (or end, for a term that does not renew) falls within twelve
    months of the evaluation day, or whose deadline has passed and whose term has not ended yet."""
    horizon = add_months(evaluated_on, 12)
    window = (horizon - evaluated_on).days
    terms = []
    for pool in pools:
        term = term_of(pool, evaluated_on, [window])
        if term is None:
            continue
        seats = pool.seats_purchased if pool.seats_purchased is not None else pool.seats_assigned
        evidence = advice.get(pool.key, {})
        if evidence.get("deadline") != term.deadline.isoformat():
            evidence = {}  # the analyzer judged another term of this pool
        saving = evidence.get("monthly_saving")
        recommended = evidence.get("recommended_seats")
        action = evidence.get("action")
        terms.append(
            RenewalTerm(
                app_id=pool.app_id,
                app=names.get(pool.app_id, pool.app_id),
                sku=pool.sku,
                term_end=term.term_end,
                deadline=term.deadline,
                days_left=term.days_left,
                auto_renew=term.auto_renew,
                projected=term.projected,
                seats=seats,
                unused_seats=unused.get(pool.key, 0),
                monthly_cost=_quantized(pool_cost(pool, tenant)),
                recommended_seats=int(recommended) if isinstance(recommended, int) else None,
                monthly_saving=Decimal(str(saving)) if saving is not None else None,
                action=str(action) if action else None,
            )
        )
    return sorted(terms, key=lambda t: (t.deadline, t.app, t.sku)), horizon


def _quantized(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else amount.quantize(CENT, ROUND_HALF_UP)
