"""When the tenant's last client report was made, kept in the ``sync_state`` table.

One row per tenant under the reserved connector name ``:report`` (connector names are slugs, so no
connector's cursors can share it; the digest uses ``:digest`` the same way). The next report counts
realised savings from that moment: findings resolved since the last report the client saw.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from collector.job_state import job_cursors, save_job_cursor

REPORT_CONNECTOR = ":report"
STREAM = "last"


def last_report_at(session: Session, tenant_id: str) -> datetime | None:
    cursors = job_cursors(session, tenant_id, REPORT_CONNECTOR, STREAM)
    return _generated_at(cursors[0]) if cursors else None


def record_report(
    session: Session, tenant_id: str, generated_at: datetime, monthly_savings: Decimal, currency: str
) -> None:
    cursor = {
        "generated_at": generated_at.isoformat(),
        "monthly_savings": str(monthly_savings),
        "currency": currency,
    }
    save_job_cursor(session, tenant_id, REPORT_CONNECTOR, STREAM, cursor, generated_at)


def _generated_at(cursor: Any) -> datetime | None:
    """None for no record, or one this version cannot read (the next report overwrites it)."""
    try:
        return datetime.fromisoformat(cursor["generated_at"])
    except (KeyError, TypeError, ValueError):
        return None
