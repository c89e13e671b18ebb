"""The slack connector: members, billable seats and Enterprise Grid member activity (Web API)."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

import httpx

from collector.connector import Connector, ConnectorSettings, SyncContext
from collector.http import (
    HeaderAuth,
    RateLimiter,
    RateLimiterRegistry,
    RetryPolicy,
    VendorClient,
    limiter_registry,
    paginate,
)
from collector.records import Checkpoint, DataKind, Record, RowProblem, SeatRecord
from collector.redaction import redactor_for
from connectors.slack.analytics import read_analytics
from connectors.slack.billing import NEXT_CURSOR, SlackShapeError, plan_pool, read_billable
from connectors.slack.client import VENDOR, SlackClient
from connectors.slack.settings import SlackSettings
from connectors.slack.users import APP, member_records
from connectors.slack.values import FieldError

USERS = "users.list"
EMAIL_SCOPE = "users:read.email"
SHOWN_IDS = 5  # member ids named in a problem; the rest are counted
BURST = 3  # Slack's tiers allow "occasional bursts" above the per-minute rate


class SlackConnector(Connector):
    """Reads one Slack workspace (or one workspace of an Enterprise Grid org) with an admin's token.

    Example settings::

        settings:
          token_file: /run/secrets/slack_token
          sku: "Slack Business+"
    """

    id = "slack"
    title = "Slack members, billable seats and Enterprise Grid member activity"
    settings_model = SlackSettings
    data_kinds = frozenset(
        {DataKind.PEOPLE, DataKind.ACCOUNTS, DataKind.LICENSE_POOLS, DataKind.SEATS, DataKind.ACTIVITY}
    )
    # User token scopes: team.billableInfo accepts only `admin`; admin.analytics:read is for
    # Enterprise orgs (optional, see docs/connectors/slack.md).
    scopes = ("admin", "users:read", "users:read.email", "admin.analytics:read")
    # Members and billable seats are read whole every run. Activity is an incremental stream of daily
    # files: a run that reads no new day must not retire what earlier days said.
    snapshot_kinds = frozenset({DataKind.PEOPLE, DataKind.ACCOUNTS, DataKind.LICENSE_POOLS, DataKind.SEATS})

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
        if not isinstance(settings, SlackSettings):
            raise TypeError(f"slack needs SlackSettings, got {type(settings).__name__}")
        redactor_for(settings)  # mask the token in every log line and error from here on
        with SlackClient(
            settings.base_url,
            vendor=VENDOR,
            auth=HeaderAuth(settings.token, scheme="Bearer"),
            limiter=self._limiter(settings, ctx),
            transport=self._transport,
            retry=self._retry,
            clock=self._clock,
            sleep=self._sleep,
        ) as client:
            billable = yield from read_billable(client, settings, ctx.stop)
            if billable is None:
                return
            yield plan_pool(settings, billable)
            yield Checkpoint("billable_info", complete=True)
            emails = yield from self._members(client, settings, ctx, billable)
            if emails is None or settings.analytics == "off" or ctx.stop.is_set():
                return
            yield from read_analytics(client, settings, ctx, emails)

    def _limiter(self, settings: SlackSettings, ctx: SyncContext) -> RateLimiter:
        # Slack limits each method per workspace and app; every method read here is Tier 2, so one
        # pace for all of them stays under each.
        return (self._limiters or limiter_registry()).get(
            ctx.tenant_id, VENDOR, rate=settings.requests_per_minute / 60.0, burst=BURST
        )

    def _members(
        self, client: VendorClient, settings: SlackSettings, ctx: SyncContext, billable: Mapping[str, bool]
    ) -> Generator[Record, None, dict[str, str] | None]:
        """Yield every member's records page by page; return ``user id -> e-mail`` of the people."""
        params: dict[str, str | int] = {"limit": settings.page_size}
        if settings.team_id:
            params["team_id"] = settings.team_id
        emails: dict[str, str] = {}
        listed: set[str] = set()
        without_email: list[str] = []
        token_scopes: str | None = None
        for page in paginate(client, USERS, NEXT_CURSOR, items=_members_of, params=params):
            token_scopes = token_scopes or page.response.headers.get("x-oauth-scopes")
            for index, raw in enumerate(page.items):
                try:
                    member, records = member_records(raw, billable, settings.sku)
                except FieldError as exc:
                    yield RowProblem(
                        where=f"{USERS} page {page.number}", reason=f"members[{index}]{_id_of(raw)}: {exc}"
                    )
                    # Skipped whole, seat included: it is not "billed but unlisted".
                    listed.add(_raw_id(raw) or "")
                    continue
                listed.add(member.user_id)
                if member.email is not None:
                    emails[member.user_id] = member.email
                elif member.kind != "bot":
                    without_email.append(member.user_id)
                yield from records
            yield Checkpoint("users", complete=page.next_url is None)
            if ctx.stop.is_set():
                return None
        if without_email:
            yield RowProblem(where=USERS, reason=_missing_email_reason(without_email, token_scopes))
        unlisted = sorted(u for u, active in billable.items() if active and u not in listed)
        if unlisted:
            # Billed but not listed (a member of another workspace of the org, say): the seat is
            # still paid for, so it is kept, on an account known only by its id.
            ctx.log.warning(
                "slack: %d billable member(s) not in users.list: %s", len(unlisted), ", ".join(unlisted)
            )
            yield from (SeatRecord(app_id=APP, sku=settings.sku, account_external_id=u) for u in unlisted)
            yield Checkpoint("unlisted_seats", complete=True)
        ctx.log.info(
            "slack: %d members, %d billable, %d with an e-mail address",
            len(listed),
            sum(1 for active in billable.values() if active),
            len(emails),
        )
        return emails


def _members_of(body: Any) -> list[Any]:
    members = body.get("members") if isinstance(body, dict) else None
    if not isinstance(members, list):
        raise SlackShapeError(f"{VENDOR}: {USERS} answered without a members list")
    return members


def _raw_id(raw: Any) -> str | None:
    user_id = raw.get("id") if isinstance(raw, dict) else None
    return user_id if isinstance(user_id, str) and user_id else None


def _id_of(raw: Any) -> str:
    user_id = _raw_id(raw)
    return f" (id {user_id})" if user_id else ""


def _missing_email_reason(user_ids: list[str], token_scopes: str | None) -> str:
    shown = ", ".join(user_ids[:SHOWN_IDS]) + (", ..." if len(user_ids) > SHOWN_IDS else "")
    if token_scopes is not None and EMAIL_SCOPE not in {s.strip() for s in token_scopes.split(",")}:
        why = (
            f"the token lacks the {EMAIL_SCOPE} scope (it has: {token_scopes}); add it and reinstall the app"
        )
    else:
        why = f"Slack shows no profile.email for them (the token needs the {EMAIL_SCOPE} scope)"
    return (
        f"{len(user_ids)} member(s) without an e-mail address ({shown}): {why}. "
        "Their accounts and seats are kept but cannot be joined to people"
    )
