"""The last digest each channel received, kept in the ``sync_state`` table across restarts.

A row per (tenant, channel) under the reserved connector name ``:digest``: connector names are slugs
(letters, digits, ``_`` and ``-``), so no connector's cursors can ever share it. The stream is
``channel:<name>`` and the cursor holds when the digest went out and its monthly total, which the
next digest compares with ("change since the last digest") and counts new and resolved findings from.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.digest.content import Baseline, Digest
from collector.ingest import table
from collector.models import SyncState
from collector.store import upsert

DIGEST_CONNECTOR = ":digest"
STREAM_PREFIX = "channel:"


def last_sent(session: Session, tenant_id: str, channel: str | None = None) -> Baseline | None:
    """The last digest ``channel`` received; without a channel, the newest any channel received."""
    stmt = select(SyncState.cursor).where(
        SyncState.tenant_id == tenant_id, SyncState.connector == DIGEST_CONNECTOR
    )
    if channel is not None:
        stmt = stmt.where(SyncState.stream == STREAM_PREFIX + channel)
    baselines = [b for b in map(_baseline, session.scalars(stmt)) if b is not None]
    return max(baselines, key=lambda b: b.sent_at, default=None)


def record_sent(session: Session, tenant_id: str, channel: str, digest: Digest, sent_at: datetime) -> None:
    cursor = {
        "sent_at": sent_at.isoformat(),
        "monthly_waste": str(digest.monthly_waste),
        "currency": digest.currency,
        "open_findings": digest.open_findings,
    }
    upsert(
        session,
        table(SyncState),
        [
            {
                "tenant_id": tenant_id,
                "connector": DIGEST_CONNECTOR,
                "stream": STREAM_PREFIX + channel,
                "cursor": cursor,
                "updated_at": sent_at,
            }
        ],
        key=("tenant_id", "connector", "stream"),
    )


def _baseline(cursor: Any) -> Baseline | None:
    """A stored cursor as a baseline; None for one this version cannot read (it is then overwritten)."""
    try:
        return Baseline(
            sent_at=datetime.fromisoformat(cursor["sent_at"]),
            monthly_waste=Decimal(cursor["monthly_waste"]),
            currency=str(cursor["currency"]),
        )
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return None
