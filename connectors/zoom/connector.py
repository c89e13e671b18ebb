"""The zoom connector: users, Licensed seats, last sign-ins and plan usage over the REST API v2."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx

from collector.connector import Connector, ConnectorSettings, SyncContext
from collector.http import (
    CursorPaginator,
    RateLimiter,
    RateLimiterRegistry,
    RetryPolicy,
    TokenAuth,
    VendorClient,
    VendorHTTPError,
    limiter_registry,
    paginate,
)
from collector.records import Checkpoint, DataKind, Record, RowProblem, SeatRecord
from collector.redaction import redactor_for
from connectors.zoom.client import VENDOR, ZoomClient, ZoomError, basic_credentials, token_fetcher
from connectors.zoom.plans import plan_pools
from connectors.zoom.settings import ZoomSettings
from connectors.zoom.users import user_records
from connectors.zoom.values import FieldError

PLAN_USAGE = "accounts/me/plans/usage"
# A plan-usage request refused for these reasons says nothing about the users: the missing scope
# (Zoom code 4711), a Basic (free) account without plans, or an account type the API does not serve.
PLAN_USAGE_SOFT_STATUSES = frozenset({400, 401, 403, 404})


class ZoomConnector(Connector):
    """Reads Zoom users (active, deactivated, pending) and the account's plan usage.

    Example settings::

        settings:
          account_id: "${ZOOM_ACCOUNT_ID}"
          client_id: "${ZOOM_CLIENT_ID}"
          client_secret_file: /run/secrets/zoom_client_secret
    """

    id = "zoom"
    title = "Zoom users, Licensed seats, last sign-ins and plan usage"
    settings_model = ZoomSettings
    data_kinds = frozenset(
        {DataKind.PEOPLE, DataKind.ACCOUNTS, DataKind.SEATS, DataKind.ACTIVITY, DataKind.LICENSE_POOLS}
    )
    # Granular scopes of a Server-to-Server OAuth app (classic equivalents: user:read:admin and
    # account:read:admin).
    scopes = ("user:read:list_users:admin", "billing:read:plan_usage:admin")
    # Every run lists every user and the whole plan usage.
    snapshot_kinds = data_kinds

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
        if not isinstance(settings, ZoomSettings):
            raise TypeError(f"zoom needs ZoomSettings, got {type(settings).__name__}")
        redactor_for(settings)  # mask the client secret in every log line and error from here on
        with ExitStack() as stack:
            # The token endpoint lives on another host (zoom.us) and takes Basic credentials, which
            # the client registers with the redactor because they come in as a header.
            token_client = stack.enter_context(
                ZoomClient(
                    settings.token_url,
                    vendor=VENDOR,
                    headers={"Authorization": basic_credentials(settings.client_id, settings.client_secret)},
                    **self._client_options(),
                )
            )
            auth = TokenAuth(
                token_fetcher(token_client, settings.token_url, settings.account_id, self._clock),
                clock=self._clock,
            )
            api = stack.enter_context(
                ZoomClient(
                    settings.base_url,
                    vendor=VENDOR,
                    auth=auth,
                    limiter=self._limiter(settings, ctx),
                    **self._client_options(),
                )
            )
            if settings.plan_usage:
                yield from self._plan_usage(api, settings, ctx)
            for status in settings.statuses:
                if ctx.stop.is_set():
                    return
                yield from self._users(api, status, settings, ctx)

    def _client_options(self) -> dict[str, Any]:
        return {
            "transport": self._transport,
            "retry": self._retry,
            "clock": self._clock,
            "sleep": self._sleep,
        }

    def _limiter(self, settings: ZoomSettings, ctx: SyncContext) -> RateLimiter:
        # Zoom's limits are per account, shared by every app on it: one limiter per tenant.
        return (self._limiters or limiter_registry()).get(
            ctx.tenant_id,
            VENDOR,
            rate=settings.requests_per_second,
            burst=max(1, int(settings.requests_per_second)),
        )

    def _plan_usage(self, api: VendorClient, settings: ZoomSettings, ctx: SyncContext) -> Iterator[Record]:
        where = f"GET /{PLAN_USAGE}"
        try:
            response = api.get(PLAN_USAGE)
        except VendorHTTPError as exc:
            if exc.status not in PLAN_USAGE_SOFT_STATUSES:
                raise
            # Not a reason to drop the users: report it, and the run (partial) keeps the old pools.
            yield RowProblem(
                where=where,
                reason=f"plan usage not readable ({exc}); grant the app billing:read:plan_usage:admin "
                "or set plan_usage: false",
            )
            return
        try:
            body = response.json()
        except ValueError:
            raise ZoomError(f"{VENDOR}: {where} did not return JSON") from None
        pools, problems = plan_pools(body, settings.licensed_sku)
        for problem in problems:
            yield RowProblem(where=where, reason=problem)
        yield from pools
        yield Checkpoint("plan_usage", complete=True)
        ctx.log.info("zoom plan usage: %d pool(s)", len(pools))

    def _users(
        self, api: VendorClient, status: str, settings: ZoomSettings, ctx: SyncContext
    ) -> Iterator[Record]:
        stream = f"users:{status}"
        listed = licensed = 0
        pages = paginate(
            api,
            "users",
            # next_page_token expires after 15 minutes, so a failed run starts over rather than resumes.
            CursorPaginator("next_page_token", "next_page_token"),
            items=_users_of,
            params={"status": status, "page_size": settings.page_size},
        )
        for page in pages:
            where = f"GET /users?status={status} page {page.number}"
            for index, raw in enumerate(page.items):
                try:
                    records = user_records(raw, status, settings.licensed_sku)
                except FieldError as exc:
                    yield RowProblem(where=where, reason=f"users[{index}]{_id_of(raw)}: {exc}")
                    continue
                listed += 1
                licensed += sum(1 for r in records if isinstance(r, SeatRecord))
                yield from records
            yield Checkpoint(stream, complete=page.next_url is None)
            if ctx.stop.is_set():
                return
        ctx.log.info("zoom users (%s): %d listed, %d Licensed", status, listed, licensed)


def _users_of(body: Any) -> list[Any]:
    users = body.get("users") if isinstance(body, dict) else None
    if users is None and isinstance(body, dict) and body.get("total_records") == 0:
        return []  # nothing to list, said explicitly
    if not isinstance(users, list):
        # A page without its user list cannot be trusted to be the whole picture: fail the run
        # rather than retire the seats it would have listed.
        raise ZoomError(f"{VENDOR}: GET /users answered without a users list")
    return users


def _id_of(raw: Any) -> str:
    user_id = raw.get("id") if isinstance(raw, dict) else None
    return f" (id {user_id})" if isinstance(user_id, str) and user_id else ""
