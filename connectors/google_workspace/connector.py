"""The google_workspace connector: users, licenses, Google sign-ins, SAML SSO and OAuth grants."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from collector.connector import Connector, ConnectorSettings, SyncContext
from collector.http import limiter_registry
from collector.records import Checkpoint, DataKind, Record, RowProblem
from connectors.google_workspace.api import (
    AUDIT_SCOPE,
    DIRECTORY_SCOPE,
    LICENSING_SCOPE,
    USAGE_SCOPE,
    VENDOR,
    AccessDenied,
    GoogleApi,
    Plumbing,
)
from connectors.google_workspace.audit import LOGS, LogReader, LogSpec, LogStats
from connectors.google_workspace.directory import Directory, read_users
from connectors.google_workspace.licenses import POOLS_STREAM, Assigned, pools, read_seats, read_totals
from connectors.google_workspace.settings import GoogleWorkspaceSettings

# A few requests back to back are fine under Google's per-minute quotas.
BURST = 5


@dataclass
class SyncStats:
    """What the last sync read; logged at its end, and read by tests."""

    users: int = 0
    suspended: int = 0
    archived: int = 0
    never_signed_in: int = 0
    seats: int = 0
    requests: int = 0
    logs: dict[str, LogStats] = field(default_factory=dict)


class GoogleWorkspaceConnector(Connector):
    """Reads one Google Workspace customer as an admin, through a service account with domain-wide
    delegation.

    Example settings::

        settings:
          admin_email: it-admin@example.com
          service_account_key_file: /run/secrets/saaswatch-google.json
    """

    id = "google_workspace"
    title = "Google Workspace users, licenses, sign-ins, SAML SSO and OAuth grants (Admin SDK)"
    settings_model = GoogleWorkspaceSettings
    data_kinds = frozenset(
        {
            DataKind.PEOPLE,
            DataKind.ACCOUNTS,
            DataKind.LICENSE_POOLS,
            DataKind.SEATS,
            DataKind.ACTIVITY,
            DataKind.GRANTS,
        }
    )
    # OAuth scopes granted to the service account's client id by domain-wide delegation. All are
    # read-only except apps.licensing: the License Manager has no read-only scope.
    scopes = (DIRECTORY_SCOPE, AUDIT_SCOPE, USAGE_SCOPE, LICENSING_SCOPE)
    # Users, seats and pools are read whole every run. Activity and grants come from audit logs read
    # incrementally, so they are never retired.
    snapshot_kinds = frozenset({DataKind.PEOPLE, DataKind.ACCOUNTS, DataKind.LICENSE_POOLS, DataKind.SEATS})

    def __init__(self, settings: ConnectorSettings, *, plumbing: Plumbing | None = None) -> None:
        super().__init__(settings)
        self.plumbing = plumbing
        self.stats = SyncStats()

    def sync(self, ctx: SyncContext) -> Iterator[Record]:
        settings = self.settings
        if not isinstance(settings, GoogleWorkspaceSettings):
            raise TypeError(f"google_workspace needs GoogleWorkspaceSettings, got {type(settings).__name__}")
        plumbing = self.plumbing or Plumbing(
            limiter=limiter_registry().get(
                ctx.tenant_id, VENDOR, rate=settings.requests_per_second, burst=BURST
            )
        )
        self.stats = stats = SyncStats()
        with GoogleApi(settings, plumbing, ctx.log) as api:
            try:
                directory = yield from read_users(
                    api, org_unit_as_department=settings.org_unit_as_department, stop=ctx.stop
                )
                stats.users = len(directory.ids)
                stats.suspended, stats.archived = directory.suspended, directory.archived
                stats.never_signed_in = directory.never_signed_in
                if ctx.stop.is_set():
                    return
                yield from self._licenses(ctx, settings, api, directory)
                for application in settings.activity_applications:
                    if ctx.stop.is_set():
                        return
                    yield from self._audit_log(ctx, settings, api, LOGS[application], directory)
            finally:
                stats.requests = api.requests
        if not ctx.stop.is_set():
            self._log_summary(ctx)

    def _licenses(
        self, ctx: SyncContext, settings: GoogleWorkspaceSettings, api: GoogleApi, directory: Directory
    ) -> Iterator[Record]:
        assigned: Assigned | None = None
        if settings.product_ids:
            assigned = yield from read_seats(
                api, settings.product_ids, directory, settings.customer_id or directory.customer_id, ctx.stop
            )
            self.stats.seats = sum(assigned.counts.values())
            if ctx.stop.is_set():
                return
        totals = None
        if settings.read_usage_report:
            found = read_totals(api, ctx.clock().date(), settings.usage_report_days_back)
            if isinstance(found, RowProblem):
                # No pools this run: pools carry what was bought, and a pool written without it would
                # erase the stored count. The run is partial, so the stored pools are not retired.
                yield found
                return
            totals = found
        yield from pools(totals, assigned, settings.usage_license_skus, ctx.log)
        yield Checkpoint(POOLS_STREAM, complete=True)

    def _audit_log(
        self,
        ctx: SyncContext,
        settings: GoogleWorkspaceSettings,
        api: GoogleApi,
        spec: LogSpec,
        directory: Directory,
    ) -> Iterator[Record]:
        reader = LogReader(api, spec, ctx.catalog, directory.ids.keys(), ctx.stop, ctx.log)
        self.stats.logs[spec.application] = reader.stats
        try:
            yield from reader.read(
                ctx.cursor(spec.stream),
                now=ctx.clock(),
                lookback=timedelta(days=settings.activity_lookback_days),
                overlap=timedelta(minutes=settings.activity_overlap_minutes),
                step=timedelta(hours=settings.activity_slice_hours),
            )
        except AccessDenied as exc:
            # The other logs and everything read before stand; the cursor stays where it was.
            yield RowProblem(
                f"GET /admin/reports/v1/activity/users/all/applications/{spec.application}",
                f"{exc}; the {spec.application} log was not read",
            )
        finally:
            self.stats.logs[spec.application] = reader.stats

    def _log_summary(self, ctx: SyncContext) -> None:
        s = self.stats
        logs = "; ".join(
            f"{name}: {log.events} events ({log.duplicates} already counted, {log.unknown_actors} by "
            f"users no longer listed) in {log.requests} requests"
            for name, log in s.logs.items()
        )
        ctx.log.info(
            "google_workspace: %d users (%d suspended, %d archived, %d never signed in), %d seats, "
            "%d requests; %s",
            s.users,
            s.suspended,
            s.archived,
            s.never_signed_in,
            s.seats,
            s.requests,
            logs or "no audit logs read",
        )
