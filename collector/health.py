"""Source health from the run history: when each connector last succeeded and whether it is stale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collector.config import TenantConfig
from collector.models import SyncRun

GOOD = ("success", "partial")  # a partial run still delivered the good rows


@dataclass(frozen=True)
class SourceHealth:
    source: str
    last_status: str | None
    last_success_at: datetime | None
    stale: bool
    reason: str | None  # why it is stale, in words


def source_health(session: Session, tenant: TenantConfig, now: datetime) -> dict[str, SourceHealth]:
    """Health of every configured connector of ``tenant`` as of ``now`` (wall-clock time)."""
    last_success = dict(
        session.execute(
            select(SyncRun.connector, func.max(SyncRun.finished_at))
            .where(SyncRun.tenant_id == tenant.id, SyncRun.status.in_(GOOD))
            .group_by(SyncRun.connector)
        ).all()
    )
    latest_ids = (
        select(func.max(SyncRun.id))
        .where(SyncRun.tenant_id == tenant.id, SyncRun.status != "running")
        .group_by(SyncRun.connector)
    )
    last_status = dict(
        session.execute(select(SyncRun.connector, SyncRun.status).where(SyncRun.id.in_(latest_ids))).all()
    )
    health: dict[str, SourceHealth] = {}
    for connector in tenant.connectors:
        source = connector.source
        success_at = last_success.get(source)
        status = last_status.get(source)
        reason = None
        if success_at is None:
            reason = "has never synced successfully"
        elif status in ("failed", "aborted"):
            reason = f"last sync {status}"
        elif now - success_at > connector.stale_threshold:
            when = f"{success_at:%Y-%m-%d %H:%M} UTC"
            reason = f"last successful sync {when} is older than {connector.stale_threshold}"
        health[source] = SourceHealth(source, status, success_at, reason is not None, reason)
    return health
