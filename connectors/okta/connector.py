"""The okta connector: people and their status, app assignments, Okta sign-ins and per-app SSO."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from collector.connector import Connector, ConnectorSettings, SyncContext
from collector.records import Checkpoint, DataKind, Record
from connectors.okta import apps as okta_apps
from connectors.okta.api import OktaApi, Plumbing
from connectors.okta.apps import AssignmentPage, Assignments, OktaApp, assigned_apps, read_apps
from connectors.okta.fold import LogPage
from connectors.okta.prefetch import Prefetcher, interleave
from connectors.okta.settings import DEFAULT_SCOPES, OktaSettings
from connectors.okta.syslog import STREAM as LOG_STREAM
from connectors.okta.syslog import LogStats, SystemLogReader
from connectors.okta.users import Directory, read_users

# Assignment pages (500 accounts each, packed: 8 KB) waiting for the sync thread: while the users
# are read, the assignments go on until this many wait (600 a minute is the most Okta allows).
BUFFERED_ASSIGNMENT_PAGES = 1024
# At most this many waiting pages of one stream are written in one transaction.
BATCH_PAGES = 8


@dataclass
class SyncStats:
    """What the last sync read; logged at its end, and read by the benchmark."""

    users: int = 0
    deprovisioned: int = 0
    apps: int = 0
    apps_read: int = 0
    assignments: int = 0
    log: LogStats = field(default_factory=LogStats)


class OktaConnector(Connector):
    """Reads one Okta org: users (deprovisioned ones too), app assignments, and the System Log.

    Example settings::

        settings:
          base_url: https://acme.okta.com
          client_id: 0oa1b2c3d4EXAMPLE5d7
          private_key_file: /run/secrets/okta_service_app.pem
    """

    id = "okta"
    title = "Okta users, app assignments, sign-ins and per-app SSO (System Log)"
    settings_model = OktaSettings
    data_kinds = frozenset({DataKind.PEOPLE, DataKind.ACCOUNTS, DataKind.ACTIVITY})
    # The OAuth scopes of the service app; an API token needs a Read-only Administrator instead.
    scopes = DEFAULT_SCOPES
    # Users and assignments are read whole every run; activity comes from an event log, incrementally.
    snapshot_kinds = frozenset({DataKind.PEOPLE, DataKind.ACCOUNTS})

    def __init__(self, settings: ConnectorSettings, *, plumbing: Plumbing | None = None) -> None:
        super().__init__(settings)
        self.plumbing = plumbing or Plumbing()
        self.stats = SyncStats()

    def sync(self, ctx: SyncContext) -> Iterator[Record]:
        settings = self.settings
        if not isinstance(settings, OktaSettings):
            raise TypeError(f"okta needs OktaSettings, got {type(settings).__name__}")
        self.stats = stats = SyncStats()
        # Users, apps and the System Log are three rate-limit buckets: all three are read at once.
        # The System Log and the assignments start first; what they bring waits, packed, until the
        # users are read and give every Okta user id its e-mail.
        wake = threading.Event()
        with OktaApi(settings, ctx, self.plumbing) as api:
            reader = SystemLogReader(
                api.logs,
                saved=ctx.cursor(LOG_STREAM),
                now=ctx.clock(),
                lookback=timedelta(days=settings.log_lookback_days),
                overlap=timedelta(minutes=settings.log_overlap_minutes),
                workers=settings.log_workers,
                stop=ctx.stop,
                wake=wake,
            )
            stats.log = reader.stats
            assignments = Assignments()
            assignment_pages: Prefetcher[AssignmentPage] | None = None
            try:
                apps = yield from read_apps(api.apps, ctx.catalog, ctx.log)
                chosen = assigned_apps(apps, settings.include_inactive_apps)
                stats.apps, stats.apps_read = len(apps), len(chosen)
                assignment_pages = Prefetcher(
                    [assignments.job(api.apps, app) for app in chosen],
                    workers=min(settings.assignment_workers, max(1, len(chosen))),
                    capacity=BUFFERED_ASSIGNMENT_PAGES,
                    stop=ctx.stop,
                    name="assignments",
                    wake=wake,
                )
                directory = yield from read_users(api.users, ctx.stop)
                stats.users, stats.deprovisioned = len(directory.emails), directory.deprovisioned
                if ctx.stop.is_set():
                    return
                yield from self._assignments_and_log(
                    ctx, apps, directory, reader, assignments, assignment_pages
                )
            finally:
                if assignment_pages is not None:
                    assignment_pages.close()
                reader.close()
        if not ctx.stop.is_set():
            self._log_summary(ctx)

    def _assignments_and_log(
        self,
        ctx: SyncContext,
        apps: dict[str, OktaApp],
        directory: Directory,
        reader: SystemLogReader,
        assignments: Assignments,
        assignment_pages: Prefetcher[AssignmentPage],
    ) -> Iterator[Record]:
        """Both at once, each page written as it arrives."""
        stats = self.stats
        app_ids = {app_id: app.app_id for app_id, app in apps.items()}
        label_ids: dict[str | None, str] = {}

        def app_of(instance_id: str, label: str | None) -> str:
            found = app_ids.get(instance_id)
            if found is None:  # an app deleted since: only its label is left
                found = label_ids.get(label)
                if found is None:
                    found = label_ids[label] = okta_apps.catalog_app_id(ctx.catalog, label, None)
            return found

        # The System Log first: its budget is the one that runs out, and its readers stop while
        # their pages wait. Pages already waiting go into one transaction, so that when the store
        # is the slower side its per-transaction cost is paid once for several pages.
        sources: tuple[Prefetcher[Any], ...] = (reader.prefetcher, assignment_pages)
        for source, items in interleave(ctx.stop, *sources, batch=BATCH_PAGES):
            if source == 1:
                for page in items:
                    stats.assignments += len(page.users)
                    yield from assignments.records(page, directory)
                yield Checkpoint(okta_apps.STREAM)
                continue
            cursor = None
            for item in items:
                if isinstance(item, LogPage):
                    yield from reader.records(item, directory.email_of, app_of)
                cursor = reader.cursor_after(item) or cursor
            yield Checkpoint(LOG_STREAM, cursor=cursor)
        if ctx.stop.is_set():
            return
        yield Checkpoint(okta_apps.STREAM, complete=True)
        yield Checkpoint(LOG_STREAM, complete=True)

    def _log_summary(self, ctx: SyncContext) -> None:
        s, log = self.stats, self.stats.log
        ctx.log.info(
            "okta: %d users (%d deprovisioned), %d of %d apps' assignments (%d accounts); System Log "
            "%s..%s: %d SSO events in %d requests, %d already counted, %d failed sign-ons, "
            "%d by users no longer in Okta; %d activity records, %d sign-ons outdated in this sync",
            s.users,
            s.deprovisioned,
            s.apps_read,
            s.apps,
            s.assignments,
            log.since.isoformat() if log.since else "-",
            log.until.isoformat() if log.until else "-",
            log.events,
            log.requests,
            log.duplicates,
            log.failed,
            log.unknown_actors,
            log.written,
            log.superseded,
        )
