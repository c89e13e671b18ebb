"""The microsoft365 connector: licenses, users, sign-ins, usage and consents from Microsoft Graph."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from collector.connector import Connector, ConnectorSettings, SyncContext
from collector.http import limiter_registry
from collector.records import DataKind, Record
from connectors.microsoft365.credentials import read_credential_expiry
from connectors.microsoft365.grants import read_grants
from connectors.microsoft365.graph import VENDOR, Plumbing, graph_client
from connectors.microsoft365.licenses import read_subscribed_skus
from connectors.microsoft365.report import read_usage_report
from connectors.microsoft365.settings import Microsoft365Settings
from connectors.microsoft365.users import read_users

# Graph's directory limits are resource units per app and tenant per 10 seconds; a few requests in a
# row are fine, so the bucket allows a short burst above the steady rate.
BURST = 5


class Microsoft365Connector(Connector):
    """Reads one Entra ID tenant through Microsoft Graph with an app-only (client credentials) token.

    Example settings::

        settings:
          tenant_id: 8f1c2a4e-0000-4000-8000-000000000001
          client_id: 5d6e7f80-0000-4000-8000-000000000002
          client_secret: ${M365_CLIENT_SECRET}
    """

    id = "microsoft365"
    title = "Microsoft 365 / Entra ID licenses, users, sign-ins, usage and consents (Microsoft Graph)"
    settings_model = Microsoft365Settings
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
    # Application permissions, each the least privileged one Microsoft documents for its endpoint:
    # subscribedSkus, users, signInActivity, the usage report, oauth2PermissionGrants (Directory.Read.All
    # is the least documented for it; it also covers the users and service principals reads) and
    # servicePrincipals (and the app's own registration, for its secret's expiry). See
    # docs/connectors/microsoft365.md.
    scopes = (
        "Organization.Read.All",
        "User.Read.All",
        "AuditLog.Read.All",
        "Reports.Read.All",
        "Directory.Read.All",
        "Application.Read.All",
    )
    # Every run reads the whole directory. Activity is not a snapshot: a tenant that loses Entra ID P1
    # must not lose the sign-ins already known.
    snapshot_kinds = frozenset(
        {DataKind.PEOPLE, DataKind.ACCOUNTS, DataKind.LICENSE_POOLS, DataKind.SEATS, DataKind.GRANTS}
    )

    def __init__(self, settings: ConnectorSettings, *, plumbing: Plumbing | None = None) -> None:
        super().__init__(settings)
        self.plumbing = plumbing

    def sync(self, ctx: SyncContext) -> Iterator[Record]:
        settings = self.settings
        if not isinstance(settings, Microsoft365Settings):
            raise TypeError(f"microsoft365 needs Microsoft365Settings, got {type(settings).__name__}")
        plumbing = self.plumbing or Plumbing(
            limiter=limiter_registry().get(
                ctx.tenant_id, VENDOR, rate=settings.requests_per_second, burst=BURST
            )
        )
        with graph_client(settings, plumbing) as client:
            sku_names = yield from read_subscribed_skus(client, ctx.log)
            if ctx.stop.is_set():
                return
            if settings.read_credential_expiry:
                # Early, so a later failure still leaves it stored (with the first page of users).
                yield from read_credential_expiry(
                    client,
                    settings.client_id,
                    settings.client_secret,
                    now=datetime.fromtimestamp(plumbing.clock(), UTC),
                    log=ctx.log,
                )
            directory = yield from read_users(
                client, sku_names, idp_status=settings.idp_status, stop=ctx.stop, log=ctx.log
            )
            if ctx.stop.is_set():
                return
            if settings.read_usage_report:
                yield from read_usage_report(
                    client,
                    directory,
                    period=settings.usage_report_period,
                    fmt=settings.usage_report_format,
                    stop=ctx.stop,
                    log=ctx.log,
                )
            elif not directory.with_sign_in:
                ctx.log.warning(
                    "no activity for this tenant: it has no Entra ID P1/P2 and read_usage_report is off"
                )
            if ctx.stop.is_set() or not settings.read_oauth_grants:
                return
            yield from read_grants(client, directory, stop=ctx.stop, log=ctx.log)
