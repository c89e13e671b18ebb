"""The daemon: one APScheduler job per (tenant, connector), analyzers after a tenant's syncs, and the
``/metrics`` endpoint. SIGTERM or SIGINT lets the sync in flight roll back its open page and exits.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from types import FrameType
from wsgiref.simple_server import WSGIServer

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import CollectorRegistry, start_http_server

from collector.analysis import run_analyzers
from collector.config import Config, TenantConfig
from collector.digest.schedule import digest_trigger
from collector.digest.send import send_digest
from collector.exporter import StoreCollector
from collector.runner import SyncRunner
from collector.schedule import cron_weekdays, trigger_for

__all__ = ["Daemon", "cron_weekdays", "trigger_for"]
from collector.store import Store
from collector.tenants import apply_tenant_config
from collector.timeutil import utcnow

log = logging.getLogger("saaswatch.daemon")

# Findings age with the calendar even when no sync runs (a seat crosses 60 days at midnight).
ANALYSIS_INTERVAL = timedelta(hours=1)


class Daemon:
    def __init__(self, config: Config, store: Store, max_workers: int = 4) -> None:
        self.config = config
        self.store = store
        self.stop = threading.Event()
        self.runner = SyncRunner(store, config, stop=self.stop)
        self.tenant_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        # Syncs in flight per tenant. Analysis waits for the last of them: a store half-way through
        # a sync would show seats whose activity has not arrived yet, and findings that open and
        # resolve again minutes later (alerts, "realised savings") are worse than a late finding.
        self.syncing: dict[str, int] = defaultdict(int)
        self.syncing_lock = threading.Lock()
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers)},
            # coalesce: a daemon that slept through several runs does one, not a burst;
            # max_instances=1: a slow sync is never overlapped by its next turn.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        self.registry = CollectorRegistry()
        self.registry.register(StoreCollector(store, config))
        self.http: WSGIServer | None = None

    def start(self) -> None:
        self.store.migrate()
        interrupted = self.runner.close_interrupted_runs()
        if interrupted:
            log.warning("%d sync run(s) were interrupted by a previous stop; marked aborted", interrupted)
        for tenant in self.config.tenants:
            apply_tenant_config(self.store, tenant, self.config.catalog_for(tenant))
        server, _thread = start_http_server(
            self.config.metrics.port, addr=self.config.metrics.host, registry=self.registry
        )
        self.http = server
        log.info("serving metrics on http://%s/metrics", self.config.metrics.listen)
        self.schedule_jobs(utcnow())
        self.scheduler.start()

    def schedule_jobs(self, now: datetime) -> None:
        """One sync job per enabled (tenant, connector), one analysis job per tenant, and a digest job
        per tenant with an enabled ``digest:`` block."""
        for tenant in self.config.tenants:
            for connector in tenant.connectors:
                if not connector.enabled:
                    continue
                self.scheduler.add_job(
                    self.sync_job,
                    trigger=trigger_for(connector),
                    args=(tenant.id, connector.source),
                    id=f"sync:{tenant.id}:{connector.source}",
                    name=f"sync {tenant.id}/{connector.source}",
                    next_run_time=now if connector.schedule.run_at_start else None,
                )
            # A sync due at start analyses when it ends; analysing before it would judge a store
            # that is about to change (and, on a first start, flag every seat of a half-read export).
            syncs_at_start = any(c.enabled and c.schedule.run_at_start for c in tenant.connectors)
            self.scheduler.add_job(
                self.analyze,
                trigger=IntervalTrigger(seconds=int(ANALYSIS_INTERVAL.total_seconds()), timezone=UTC),
                args=(tenant.id,),
                id=f"analyze:{tenant.id}",
                name=f"analyze {tenant.id}",
                next_run_time=now + ANALYSIS_INTERVAL if syncs_at_start else now,
            )
            if tenant.digest is not None and tenant.digest.enabled:
                self.scheduler.add_job(
                    self.digest_job,
                    trigger=digest_trigger(tenant.digest.schedule),
                    args=(tenant.id,),
                    id=f"digest:{tenant.id}",
                    name=f"digest {tenant.id}",
                )

    def sync_job(self, tenant_id: str, source: str) -> None:
        if self.stop.is_set():
            return
        tenant = self.config.tenant(tenant_id)
        connector = next(c for c in tenant.connectors if c.source == source)
        # Taken under the tenant's analysis lock: a sync never starts writing while an analysis of
        # the tenant is reading, and an analysis that starts after this sees it in flight.
        with self.tenant_locks[tenant_id], self.syncing_lock:
            self.syncing[tenant_id] += 1
        try:
            apply_tenant_config(self.store, tenant, self.config.catalog_for(tenant))
            self.runner.run(tenant, connector)
        finally:
            with self.syncing_lock:
                self.syncing[tenant_id] -= 1
        if not self.stop.is_set():
            self.analyze(tenant_id)

    def digest_job(self, tenant_id: str) -> None:
        """Send the tenant's digest; a failing channel is logged and never stops the daemon."""
        if self.stop.is_set():
            return
        try:
            send_digest(self.store, self.config.tenant(tenant_id))
        except Exception:
            log.exception("digest of tenant %s failed", tenant_id)

    def analyze(self, tenant_id: str) -> None:
        """Run the tenant's analyzers, unless one of its syncs is still running (the last sync to
        finish runs them)."""
        tenant: TenantConfig = self.config.tenant(tenant_id)
        with self.tenant_locks[tenant_id]:
            with self.syncing_lock:
                in_flight = self.syncing[tenant_id]
            if in_flight:
                log.debug("analysis of %s deferred: %d sync(s) in flight", tenant_id, in_flight)
                return
            try:
                run_analyzers(self.store, tenant, catalog=self.config.catalog_for(tenant))
            except Exception:
                log.exception("analyzers failed for tenant %s", tenant_id)

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: finishing the page in flight and stopping", signal.Signals(signum).name)
        self.stop.set()

    def run_forever(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        self.start()
        self.stop.wait()
        self.shutdown()

    def shutdown(self) -> None:
        self.stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)  # running syncs see the stop flag and roll back
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
        self.store.dispose()
        log.info("stopped")
