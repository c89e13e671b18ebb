"""The tenant's waste total, counting each seat or subject once across analyzers.

Analyzers look at the same seat from different angles: a leaver's idle seat is both an offboarding
gap and an unused seat, with the same money. Each keeps its own finding (the reasons differ, and
both must be fixed), but a total that adds them would count that money twice. The total here takes,
for each (app, SKU, subject), the largest money of its open ``fail`` findings.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
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
