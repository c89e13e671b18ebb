"""The effective license pools of a tenant: one per (app, SKU), merged across the sources that know it.

A pool may be known from a contract in the config, an export and a vendor API at once. Seat counts
prefer what a source observed over what a contract says; price and terms prefer the contract, which
is where the money was agreed. Assigned seats are counted from the seat rows when there are any.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collector.models import Account, LicensePool, Seat
from collector.tenants import CONTRACT_SOURCE

T = TypeVar("T")
MONTHS_PER_PERIOD = {"monthly": Decimal(1), "annual": Decimal(12)}


class MissingExchangeRate(LookupError):
    pass


@dataclass(frozen=True)
class EffectivePool:
    app_id: str
    sku: str
    seats_purchased: int | None
    seats_assigned: int | None
    unit_price: Decimal | None
    currency: str | None
    billing_period: str | None
    commitment: str | None
    term_start: date | None
    term_end: date | None
    auto_renew: bool | None
    notice_days: int | None
    sources: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.app_id, self.sku.casefold())

    @property
    def monthly_unit_price(self) -> Decimal | None:
        """Price of one seat per month in the pool's currency (annual prices spread over 12 months)."""
        if self.unit_price is None:
            return None
        return self.unit_price / MONTHS_PER_PERIOD.get(self.billing_period or "monthly", Decimal(1))

    @property
    def unassigned(self) -> int | None:
        if self.seats_purchased is None or self.seats_assigned is None:
            return None
        return max(self.seats_purchased - self.seats_assigned, 0)


def to_currency(
    amount: Decimal, currency: str | None, tenant_currency: str, rates: dict[str, Decimal]
) -> Decimal:
    """Convert ``amount`` into the tenant's reporting currency with the configured rates."""
    if currency is None or currency == tenant_currency:
        return amount
    rate = rates.get(currency)
    if rate is None:
        raise MissingExchangeRate(
            f"no exchange rate from {currency} to {tenant_currency} (exchange_rates.{currency})"
        )
    return amount * rate


def _first(values: Iterable[T | None]) -> T | None:
    return next((v for v in values if v is not None), None)


def effective_pools(session: Session, tenant_id: str) -> list[EffectivePool]:
    rows = session.scalars(select(LicensePool).where(LicensePool.tenant_id == tenant_id)).all()
    grouped: dict[tuple[str, str], list[LicensePool]] = defaultdict(list)
    for row in rows:
        grouped[(row.app_id, row.sku.casefold())].append(row)
    # A holder is a person (or, without one, an account): two sources reporting the same person's
    # seat (an export and later the API) are one assigned seat, not two.
    holders: dict[tuple[str, str], set[int]] = defaultdict(set)
    seat_sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    stmt = (
        select(Seat.app_id, Seat.sku, Seat.source, func.coalesce(Account.person_id, -Account.id))
        .join(Account, Seat.account_id == Account.id)
        .where(Seat.tenant_id == tenant_id)
        .distinct()
    )
    for app_id, sku, source, holder in session.execute(stmt):
        holders[(app_id, sku.casefold())].add(holder)
        seat_sources[(app_id, sku.casefold())].add(source)
    seat_counts = {key: len(members) for key, members in holders.items()}
    pools = []
    for key in sorted(set(grouped) | set(seat_counts)):
        members = grouped.get(key, [])
        observed = [p for p in members if p.source != CONTRACT_SOURCE]
        contract = [p for p in members if p.source == CONTRACT_SOURCE]
        by_count = observed + contract  # seat counts: what a source saw beats what was signed
        by_money = contract + observed  # price and terms: the contract is where they were agreed
        assigned = seat_counts.get(key) or _first([p.seats_assigned for p in by_count])
        sku = members[0].sku if members else _sku_spelling(session, tenant_id, key)
        pools.append(
            EffectivePool(
                app_id=key[0],
                sku=sku,
                seats_purchased=_first([p.seats_purchased for p in by_count]),
                seats_assigned=assigned,
                unit_price=_first([p.unit_price for p in by_money]),
                currency=_first([p.currency for p in by_money if p.unit_price is not None]),
                billing_period=_first([p.billing_period for p in by_money if p.unit_price is not None]),
                commitment=_first([p.commitment for p in by_money]),
                term_start=_first([p.term_start for p in by_money]),
                term_end=_first([p.term_end for p in by_money]),
                auto_renew=_first([p.auto_renew for p in by_money]),
                notice_days=_first([p.notice_days for p in by_money]),
                sources=tuple(sorted({p.source for p in members} | seat_sources.get(key, set()))),
            )
        )
    return pools


def _sku_spelling(session: Session, tenant_id: str, key: tuple[str, str]) -> str:
    skus = session.scalars(select(Seat.sku).where(Seat.tenant_id == tenant_id, Seat.app_id == key[0])).all()
    return next((s for s in skus if s.casefold() == key[1]), key[1])
