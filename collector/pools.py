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

from sqlalchemy import Integer, String, and_, column, func, select, values
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
    # The SKU's spellings on seat rows ("Business+", "business+"), in (source, SKU) order.
    seat_skus: tuple[str, ...] = ()

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
    seats = seat_pools(session, tenant_id)
    pools = []
    for key in sorted(set(grouped) | set(seats)):
        members = grouped.get(key, [])
        held = seats.get(key)
        observed = [p for p in members if p.source != CONTRACT_SOURCE]
        contract = [p for p in members if p.source == CONTRACT_SOURCE]
        by_count = observed + contract  # seat counts: what a source saw beats what was signed
        by_money = contract + observed  # price and terms: the contract is where they were agreed
        assigned = (held.holders if held else None) or _first([p.seats_assigned for p in by_count])
        sku = members[0].sku if members else held.skus[0] if held else key[1]
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
                sources=tuple(sorted({p.source for p in members} | (held.sources if held else set()))),
                seat_skus=held.skus if held else (),
            )
        )
    return pools


@dataclass
class SeatPool:
    """What the seat rows say about one pool: its distinct holders, sources and SKU spellings."""

    holders: int
    sources: set[str]
    skus: tuple[str, ...]  # spellings on seat rows, in (source, SKU) order


# VALUES rows per statement (3 parameters each): far below SQLite's limit of 32,766 parameters.
KEYS_PER_STATEMENT = 2000


def seat_pools(session: Session, tenant_id: str) -> dict[tuple[str, str], SeatPool]:
    """Per pool key (app, casefolded SKU): distinct holders, seat sources and SKU spellings.

    A holder is a person (or, without one, an account): two sources reporting the same person's
    seat (an export and later the API) are one assigned seat, not two. Counted in SQL per
    (source, app, SKU spelling); only a pool reported by several sources or spellings needs a
    second count across them, since one holder may be in each.
    """
    holder = func.coalesce(Account.person_id, -Account.id)
    stmt = (
        select(Seat.source, Seat.app_id, Seat.sku, func.count(func.distinct(holder)))
        .join(Account, Seat.account_id == Account.id)
        .where(Seat.tenant_id == tenant_id)
        .group_by(Seat.source, Seat.app_id, Seat.sku)
    )
    parts: dict[tuple[str, str], list[tuple[str, str, int]]] = defaultdict(list)
    for source, app_id, sku, count in session.execute(stmt):
        parts[(app_id, sku.casefold())].append((source, sku, count))
    result: dict[tuple[str, str], SeatPool] = {}
    merged: list[tuple[str, str]] = []
    for key, found in parts.items():
        # The spelling a pool without a license_pools row is named by: the first in (source, SKU)
        # order, which keeps finding fingerprints stable.
        skus = tuple(dict.fromkeys(sku for _source, sku, _count in sorted(found)))
        result[key] = SeatPool(found[0][2], {f[0] for f in found}, skus)
        if len(found) > 1:
            merged.append(key)
    for start in range(0, len(merged), KEYS_PER_STATEMENT):
        keys = merged[start : start + KEYS_PER_STATEMENT]
        mapping = (
            values(
                column("app_id", String), column("sku", String), column("key_no", Integer), name="pool_keys"
            )
            .data([(key[0], sku, n) for n, key in enumerate(keys) for sku in result[key].skus])
            .cte("pool_keys")
        )
        across = (
            select(mapping.c.key_no, func.count(func.distinct(holder)))
            .select_from(Seat)
            .join(mapping, and_(mapping.c.app_id == Seat.app_id, mapping.c.sku == Seat.sku))
            .join(Account, Seat.account_id == Account.id)
            .where(Seat.tenant_id == tenant_id)
            .group_by(mapping.c.key_no)
        )
        for key_no, count in session.execute(across):
            result[keys[key_no]].holders = count
    return result
