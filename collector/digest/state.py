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

from sqlalchemy.orm import Session

from collector.digest.content import Baseline, Digest
from collector.job_state import job_cursors, save_job_cursor

DIGEST_CONNECTOR = ":digest"
STREAM_PREFIX = "channel:"


def last_sent(session: Session, tenant_id: str, channel: str | None = None) -> Baseline | None:
    """The last digest ``channel`` received; without a channel, the newest any channel received."""
    stream = None if channel is None else STREAM_PREFIX + channel
    cursors = job_cursors(session, tenant_id, DIGEST_CONNECTOR, stream)
    baselines = [b for b in map(_baseline, cursors) if b is not None]
    return max(baselines, key=lambda b: b.sent_at, default=None)


def record_sent(session: Session, tenant_id: str, channel: str, digest: Digest, sent_at: datetime) -> None:
    cursor = {
        "sent_at": sent_at.isoformat(),
        "monthly_waste": str(digest.monthly_waste),
        "currency": digest.currency,
        "open_findings": digest.open_findings,
    }
    save_job_cursor(session, tenant_id, DIGEST_CONNECTOR, STREAM_PREFIX + channel, cursor, sent_at)


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
