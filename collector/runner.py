"""The sync runner: runs one connector for one tenant and writes what it yields.

Each page (the records between two :class:`Checkpoint` markers) is written in one transaction with
the stream's cursor, so a crash or a SIGTERM leaves the store as of the last checkpoint and the next
run resumes there. A run that ends with bad rows is ``partial``; one that raises is ``failed``. Only a
clean, complete run retires rows a snapshot no longer contains: a failure never reads as "no data".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from collector.config import Config, ConnectorConfig, TenantConfig
from collector.connector import Connector, SyncContext
from collector.ingest import PageWriter, table
from collector.models import (
    Account,
    Activity,
    BilledItem,
    LicensePool,
    OAuthGrant,
    Seat,
    SpendLine,
    SyncRun,
    SyncState,
)
from collector.records import Checkpoint, DataKind, Record, RowProblem
from collector.redaction import redactor_for
from collector.registry import get_connector
from collector.store import Store, upsert
from collector.timeutil import utcnow
from collector.usage import retire as retire_activity

log = logging.getLogger("saaswatch.sync")

MAX_STORED_PROBLEMS = 200  # the run record keeps the first ones; the log has them all
MAX_LOGGED_PROBLEMS = 50

# Which tables hold each data kind, for retiring rows a complete snapshot no longer contains.
# Seats go before accounts because a seat references its account.
SNAPSHOT_TABLES: list[tuple[DataKind, Any]] = [
    (DataKind.SEATS, Seat),
    (DataKind.ACCOUNTS, Account),
    (DataKind.LICENSE_POOLS, LicensePool),
    (DataKind.ACTIVITY, Activity),
    (DataKind.SPEND, SpendLine),
    (DataKind.GRANTS, OAuthGrant),
    (DataKind.BILLING, BilledItem),
]


class SyncAborted(Exception):
    """The daemon is shutting down; the page in flight was rolled back."""


@dataclass
class RunResult:
    run_id: int
    tenant_id: str
    source: str
    status: str
    records: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    error: str | None = None
    duration_seconds: float = 0.0


ProgressCallback = Callable[[int], None]


class SyncRunner:
    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Callable[[], datetime] = utcnow,
        stop: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.stop = stop or threading.Event()

    def run(
        self, tenant: TenantConfig, connector_cfg: ConnectorConfig, progress: ProgressCallback | None = None
    ) -> RunResult:
        source = connector_cfg.source
        connector_cls = get_connector(connector_cfg.id)
        connector = connector_cls(connector_cfg.settings)
        redactor = redactor_for(connector_cfg.settings)
        started = time.monotonic()
        run_id = self._start_run(tenant.id, source)
        result = RunResult(run_id=run_id, tenant_id=tenant.id, source=source, status="running")
        ctx = SyncContext(
            tenant_id=tenant.id,
            source=source,
            base_dir=self.config.base_dir,
            cursors=self._cursors(tenant.id, source),
            clock=self.clock,
            stop=self.stop,
            log=logging.getLogger(f"saaswatch.connector.{connector_cfg.id}"),
            catalog=self.config.catalog_for(tenant),
        )
        log.info("sync started", extra={"tenant": tenant.id, "connector": source, "run_id": run_id})
        buffer: list[Record] = []
        stream_ends: set[str] = set()
        try:
            for record in connector.sync(ctx):
                if self.stop.is_set():
                    raise SyncAborted
                if isinstance(record, RowProblem):
                    self._problem(result, record)
                elif isinstance(record, Checkpoint):
                    result.records += self._commit_page(tenant.id, source, run_id, buffer, record)
                    buffer = []
                    if record.complete:
                        stream_ends.add(record.stream)
                    if progress:
                        progress(result.records)
                else:
                    buffer.append(record)
            if self.stop.is_set():
                raise SyncAborted
            result.records += self._commit_page(tenant.id, source, run_id, buffer, None)
            if progress:
                progress(result.records)
            result.status = "partial" if result.problems else "success"
            if result.status == "success":
                self._retire(tenant.id, source, run_id, connector_cls)
        except SyncAborted:
            result.status = "aborted"
            result.error = "stopped by shutdown; the page in flight was rolled back"
            log.warning("sync aborted", extra={"tenant": tenant.id, "connector": source, "run_id": run_id})
        except Exception as exc:
            result.status = "failed"
            result.error = redactor.redact(f"{type(exc).__name__}: {exc}")
            log.error(
                "sync failed: %s",
                result.error,
                extra={"tenant": tenant.id, "connector": source, "run_id": run_id},
            )
        result.duration_seconds = time.monotonic() - started
        self._finish_run(result)
        log.info(
            "sync finished: %s, %d records, %d problems in %.1fs",
            result.status,
            result.records,
            len(result.problems),
            result.duration_seconds,
            extra={"tenant": tenant.id, "connector": source, "run_id": run_id},
        )
        return result

    def close_interrupted_runs(self) -> int:
        """Mark runs left ``running`` by a process that died (kill -9, power loss) as ``aborted``.

        Their committed pages are consistent (one transaction each) and the next run resumes from the
        last cursor; only the run record needs closing. Call it before any sync of this process starts.
        """
        with self.store.transaction() as session:
            result = session.execute(
                update(SyncRun)
                .where(SyncRun.status == "running")
                .values(
                    status="aborted", finished_at=self.clock(), error="the process stopped during this run"
                )
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _problem(self, result: RunResult, problem: RowProblem) -> None:
        result.problems.append(problem)
        if len(result.problems) <= MAX_LOGGED_PROBLEMS:
            log.warning(
                "bad input: %s: %s",
                problem.where,
                problem.reason,
                extra={"tenant": result.tenant_id, "connector": result.source},
            )
        elif len(result.problems) == MAX_LOGGED_PROBLEMS + 1:
            log.warning(
                "more bad input; the rest is counted in the run record", extra={"connector": result.source}
            )

    def _start_run(self, tenant_id: str, source: str) -> int:
        with self.store.transaction() as session:
            run = SyncRun(
                tenant_id=tenant_id,
                connector=source,
                started_at=self.clock(),
                status="running",
                records=0,
                problem_count=0,
                problems=[],
            )
            session.add(run)
            session.flush()
            return run.id

    def _finish_run(self, result: RunResult) -> None:
        problems = [{"where": p.where, "reason": p.reason} for p in result.problems[:MAX_STORED_PROBLEMS]]
        with self.store.transaction() as session:
            session.execute(
                update(SyncRun)
                .where(SyncRun.id == result.run_id)
                .values(
                    status=result.status,
                    finished_at=self.clock(),
                    records=result.records,
                    problem_count=len(result.problems),
                    problems=problems,
                    error=result.error,
                )
            )

    def _cursors(self, tenant_id: str, source: str) -> dict[str, dict[str, Any]]:
        with self.store.sessions() as session:
            rows = session.execute(
                select(SyncState.stream, SyncState.cursor).where(
                    SyncState.tenant_id == tenant_id, SyncState.connector == source
                )
            )
            return {stream: cursor for stream, cursor in rows}

    def _commit_page(
        self, tenant_id: str, source: str, run_id: int, records: list[Record], checkpoint: Checkpoint | None
    ) -> int:
        if not records and (checkpoint is None or checkpoint.cursor is None):
            return 0
        with self.store.transaction() as session:
            catalog = self.config.catalog_for(self.config.tenant(tenant_id))
            written = PageWriter(session, tenant_id, source, run_id, self.clock(), catalog).write(records)
            if checkpoint is not None and checkpoint.cursor is not None:
                upsert(
                    session,
                    table(SyncState),
                    [
                        {
                            "tenant_id": tenant_id,
                            "connector": source,
                            "stream": checkpoint.stream,
                            "cursor": checkpoint.cursor,
                            "updated_at": self.clock(),
                        }
                    ],
                    key=("tenant_id", "connector", "stream"),
                )
        return written

    def _retire(self, tenant_id: str, source: str, run_id: int, connector_cls: type[Connector]) -> None:
        """Delete this source's snapshot rows that the clean run just finished did not see."""
        with self.store.transaction() as session:
            for kind, model in SNAPSHOT_TABLES:
                if kind not in connector_cls.snapshot_kinds:
                    continue
                stale = (
                    (model.tenant_id == tenant_id) & (model.source == source) & (model.seen_run_id != run_id)
                )
                if model is Account:
                    # Seats of retired accounts go with them even if seats are not a snapshot kind.
                    gone = select(Account.id).where(stale)
                    session.execute(delete(Seat).where(Seat.account_id.in_(gone)))
                if model is Activity:
                    retire_activity(session, stale, tenant_id)  # and the usage summary with it
                    continue
                session.execute(delete(model).where(stale))
