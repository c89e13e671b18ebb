"""What the daemon's own jobs remember between runs, kept in the ``sync_state`` table.

Each job writes under a reserved connector name: ``:report`` (the last client report), ``:digest``
(what each channel last received) and ``:analysis`` (each analyzer's last run). Connector names are
slugs, so a name starting with ``:`` never meets a connector's cursors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.ingest import table
from collector.models import SyncState
from collector.store import upsert


def job_cursors(session: Session, tenant_id: str, job: str, stream: str | None = None) -> list[Any]:
    """The cursors ``job`` stored for the tenant: of one ``stream``, or of all of them."""
    stmt = select(SyncState.cursor).where(SyncState.tenant_id == tenant_id, SyncState.connector == job)
    if stream is not None:
        stmt = stmt.where(SyncState.stream == stream)
    return list(session.scalars(stmt))


def save_job_cursor(
    session: Session, tenant_id: str, job: str, stream: str, cursor: dict[str, Any], updated_at: datetime
) -> None:
    row = {
        "tenant_id": tenant_id,
        "connector": job,
        "stream": stream,
        "cursor": cursor,
        "updated_at": updated_at,
    }
    upsert(session, table(SyncState), [row], key=("tenant_id", "connector", "stream"))
