"""Department showback: what each department (or cost centre) holds, costs and wastes per month.

Seats are counted per holder (a person reported by two sources holds one seat), priced with the
effective pool's monthly price in the tenant currency. Waste is the money of open ``fail`` findings
whose subject is a person, charged to that person's department, each (app, SKU, subject) counted
once as in the tenant total, so the departments add up to it. Seats and waste that belong to no
person (unassigned seats, pool-level findings) go to ``(unassigned)``; people without a department
go to ``(unknown)``. Everything is aggregated in SQL; only one row per (department, app, SKU) comes
back to Python.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collector.config import TenantConfig
from collector.models import Account, Finding, Person, Seat
from collector.pools import EffectivePool, MissingExchangeRate, effective_pools, to_currency

UNASSIGNED = "(unassigned)"
UNKNOWN = "(unknown)"
CENT = Decimal("0.01")


@dataclass
class DepartmentShowback:
    department: str
    seats: int = 0
    monthly_spend: Decimal = Decimal(0)
    monthly_waste: Decimal = Decimal(0)
    apps: dict[str, int] = field(default_factory=dict)  # seats per app
    unpriced_seats: int = 0


def showback(session: Session, tenant: TenantConfig, by: str = "department") -> list[DepartmentShowback]:
    """Per-department seats, monthly spend and monthly waste of ``tenant``, biggest spender first.

    ``by`` is ``department`` or ``cost_center``.
    """
    column = Person.department if by == "department" else Person.cost_center
    group = func.coalesce(column, UNKNOWN)
    holder = func.coalesce(Account.person_id, -Account.id)
    held = (
        select(Seat.app_id, Seat.sku, holder.label("holder"), group.label("dept"))
        .join(Account, Seat.account_id == Account.id)
        .outerjoin(Person, Account.person_id == Person.id)
        .where(Seat.tenant_id == tenant.id)
        .distinct()
        .subquery()
    )
    counts = session.execute(
        select(held.c.dept, held.c.app_id, held.c.sku, func.count()).group_by(
            held.c.dept, held.c.app_id, held.c.sku
        )
    ).all()
    result: dict[str, DepartmentShowback] = {}

    def dept(name: str) -> DepartmentShowback:
        return result.setdefault(name, DepartmentShowback(name))

    pools = {pool.key: pool for pool in effective_pools(session, tenant.id)}
    assigned: dict[tuple[str, str], int] = defaultdict(int)
    for name, app_id, sku, count in counts:
        entry = dept(name)
        entry.seats += count
        entry.apps[app_id] = entry.apps.get(app_id, 0) + count
        key = (app_id, sku.casefold())
        assigned[key] += count
        price = _price(pools.get(key), tenant)
        if price is None:
            entry.unpriced_seats += count
        else:
            entry.monthly_spend += price * count
    for key, pool in pools.items():
        spare = (pool.seats_purchased or 0) - assigned.get(key, 0)
        price = _price(pool, tenant)
        if spare > 0:
            entry = dept(UNASSIGNED)
            entry.seats += spare
            entry.apps[pool.app_id] = entry.apps.get(pool.app_id, 0) + spare
            if price is None:
                entry.unpriced_seats += spare
            else:
                entry.monthly_spend += price * spare
    # Each (app, SKU, subject) once, at its largest money: a leaver's idle seat is an offboarding and
    # an unused-seat finding, and the departments must add up to the tenant total (collector/waste.py).
    per_subject = (
        select(Finding.subject, func.max(Finding.monthly_waste).label("money"))
        .where(Finding.tenant_id == tenant.id, Finding.state == "open", Finding.verdict == "fail")
        .group_by(Finding.app_id, Finding.sku, Finding.subject)
        .subquery()
    )
    no_person = Person.id.is_(None)
    waste = session.execute(
        select(column, no_person, func.sum(per_subject.c.money))
        .select_from(per_subject)
        .outerjoin(Person, (Person.tenant_id == tenant.id) & (Person.email == per_subject.c.subject))
        .group_by(column, no_person)
    ).all()
    for name, without_person, amount in waste:
        dept(UNASSIGNED if without_person else name or UNKNOWN).monthly_waste += Decimal(amount or 0)
    for entry in result.values():
        entry.monthly_spend = entry.monthly_spend.quantize(CENT, ROUND_HALF_UP)
        entry.monthly_waste = entry.monthly_waste.quantize(CENT, ROUND_HALF_UP)
    return sorted(result.values(), key=lambda d: (-d.monthly_spend, d.department))


def _price(pool: EffectivePool | None, tenant: TenantConfig) -> Decimal | None:
    if pool is None or pool.monthly_unit_price is None:
        return None
    try:
        return to_currency(
            pool.monthly_unit_price, pool.currency, tenant.currency, dict(tenant.exchange_rates)
        )
    except MissingExchangeRate:
        return None
