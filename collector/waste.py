"""The tenant's waste total, counting each seat or subject once across analyzers.

Analyzers look at the same seat from different angles: a leaver's idle seat is both an offboarding
gap and an unused seat, with the same money. Each keeps its own finding (the reasons differ, and
both must be fixed), but a total that adds them would count that money twice. The total here takes,
for each (app, SKU, subject), the largest money of its open ``fail`` findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from collector.models import Finding


def deduplicated_waste(session: Session, tenant_ids: list[str]) -> dict[str, Decimal]:
    """Monthly waste per tenant with each (app, SKU, subject) counted once."""
    per_subject = (
        select(
            Finding.tenant_id,
            func.max(Finding.monthly_waste).label("money"),
        )
        .where(Finding.tenant_id.in_(tenant_ids), Finding.state == "open", Finding.verdict == "fail")
        .group_by(Finding.tenant_id, Finding.app_id, Finding.sku, Finding.subject)
        .subquery()
    )
    rows = session.execute(
        select(per_subject.c.tenant_id, func.sum(per_subject.c.money)).group_by(per_subject.c.tenant_id)
    )
    totals = {tenant_id: Decimal(0) for tenant_id in tenant_ids}
    for tenant_id, amount in rows:
        totals[tenant_id] = Decimal(amount or 0).quantize(Decimal("0.01"))
    return totals


@dataclass(frozen=True)
class Tally:
    """Findings and their monthly money, each seat counted once."""

    findings: int
    monthly: Decimal

    @property
    def annual(self) -> Decimal:
        return self.monthly * 12


def tally(session: Session, tenant_id: str, *conditions: ColumnElement[bool]) -> Tally:
    """The tenant's waste findings matching ``conditions`` (any state): how many, and their money
    with each (app, SKU, subject) counted once, as in :func:`deduplicated_waste`."""
    per_subject = (
        select(func.count().label("findings"), func.max(Finding.monthly_waste).label("money"))
        .where(Finding.tenant_id == tenant_id, Finding.verdict == "fail", *conditions)
        .group_by(Finding.app_id, Finding.sku, Finding.subject)
        .subquery()
    )
    findings, money = session.execute(
        select(func.sum(per_subject.c.findings), func.sum(per_subject.c.money))
    ).one()
    return Tally(int(findings or 0), Decimal(money or 0).quantize(Decimal("0.01"), ROUND_HALF_UP))
