"""The github connector: organization members, plan seats and Copilot seats over the REST API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx

from collector.connector import Connector, ConnectorSettings, SyncContext
from collector.http import (
    HeaderAuth,
    RateLimiter,
    RateLimiterRegistry,
    RetryPolicy,
    limiter_registry,
)
from collector.records import CredentialRecord, DataKind, Record
from collector.redaction import redactor_for
from connectors.github.client import HEADERS, VENDOR, GitHubClient
from connectors.github.copilot import read_copilot
from connectors.github.members import Roster, read_accounts, read_admins
from connectors.github.plan import read_plan
from connectors.github.settings import GitHubSettings

SHOWN_LOGINS = 10  # logins named in the "no e-mail" note; the rest are counted


class GitHubConnector(Connector):
    """Reads one GitHub organization with an owner's read-only token.

    Example settings::

        settings:
          org: acme
          token_file: /run/secrets/github_token
          emails: {octo-alice: alice@example.com}
    """

    id = "github"
    title = "GitHub organization members, plan seats and Copilot seats"
    settings_model = GitHubSettings
    data_kinds = frozenset({DataKind.ACCOUNTS, DataKind.LICENSE_POOLS, DataKind.SEATS, DataKind.ACTIVITY})
    # Organization permissions of a fine-grained personal access token or GitHub App, all read-only.
    # Classic tokens: read:org (plus manage_billing:copilot for Copilot if read:org is refused).
    scopes = ("Members: read", "Plan: read", "GitHub Copilot Business: read")
    # Members, seats and pools are read whole every run. Copilot activity is not a snapshot: with
    # copilot: auto, an org losing Copilot access must not look like its seats were never used.
    snapshot_kinds = frozenset({DataKind.ACCOUNTS, DataKind.LICENSE_POOLS, DataKind.SEATS})

    def __init__(
        self,
        settings: ConnectorSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        limiters: RateLimiterRegistry | None = None,
    ) -> None:
        super().__init__(settings)
        # Injectable so tests run against a fake without waiting; the daemon uses the defaults.
        self._transport = transport
        self._retry = retry
        self._clock = clock
        self._sleep = sleep
        self._limiters = limiters

    def sync(self, ctx: SyncContext) -> Iterator[Record]:
        settings = self.settings
        if not isinstance(settings, GitHubSettings):
            raise TypeError(f"github needs GitHubSettings, got {type(settings).__name__}")
        redactor_for(settings)  # mask the token in every log line and error from here on
        with GitHubClient(
            settings.base_url,
            vendor=VENDOR,
            auth=HeaderAuth(settings.token, scheme="Bearer"),
            headers=HEADERS,
            limiter=self._limiter(settings, ctx),
            transport=self._transport,
            retry=self._retry,
            clock=self._clock,
            sleep=self._sleep,
        ) as client:
            sku = yield from read_plan(client, settings, ctx.log)
            if client.token_expires_at is not None:
                # Stored with the next page; the credential-expiry alert reads it.
                yield CredentialRecord("token", client.token_expires_at)
            admins = read_admins(client, settings, ctx.stop)
            if admins is None:
                return
            listings = ["members"] + (["outside_collaborators"] if settings.outside_collaborators else [])
            rosters: list[Roster] = []
            for listing in listings:
                roster = yield from read_accounts(client, settings, listing, sku, admins, ctx.stop)
                if roster is None:
                    return
                rosters.append(roster)
            _note_missing_emails(rosters, ctx)
            if settings.copilot != "off" and not ctx.stop.is_set():
                yield from read_copilot(client, settings, ctx.stop, ctx.log)

    def _limiter(self, settings: GitHubSettings, ctx: SyncContext) -> RateLimiter:
        # The primary limit is per token (or app installation); one limiter per tenant is the safe side.
        return (self._limiters or limiter_registry()).get(
            ctx.tenant_id,
            VENDOR,
            rate=settings.requests_per_second,
            burst=max(1, int(settings.requests_per_second)),
        )


def _note_missing_emails(rosters: list[Roster], ctx: SyncContext) -> None:
    # A setup gap, not bad input: logged rather than a problem, so that the run (and retiring what
    # left the org) is not held up every time until the mapping is complete.
    missing = [login for r in rosters for login in r.without_email]
    if not missing:
        return
    shown = ", ".join(missing[:SHOWN_LOGINS]) + (", ..." if len(missing) > SHOWN_LOGINS else "")
    ctx.log.warning(
        "github: %d of %d accounts have no e-mail in the emails setting (%s): they cannot be joined to "
        "people, and their Copilot activity is not recorded",
        len(missing),
        sum(r.listed for r in rosters),
        shown,
    )
