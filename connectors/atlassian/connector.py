"""The atlassian connector: an organization's managed accounts and their product access."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from collector.connector import Connector, ConnectorSettings, SyncContext
from collector.http import (
    BodyUrlPaginator,
    HeaderAuth,
    HTTPClientError,
    RateLimiterRegistry,
    RetryPolicy,
    VendorClient,
    limiter_registry,
    paginate,
)
from collector.records import Checkpoint, DataKind, Record, RowProblem, SeatRecord
from collector.redaction import redactor_for
from connectors.atlassian.products import app_for
from connectors.atlassian.settings import AtlassianSettings
from connectors.atlassian.users import user_records
from connectors.atlassian.values import FieldError

VENDOR = "atlassian"


class AtlassianError(HTTPClientError):
    """The organization API answered something the connector cannot use."""


class AtlassianConnector(Connector):
    """Reads the managed accounts of an Atlassian organization, with product access and activity.

    Example settings::

        settings:
          org_id: "${ATLASSIAN_ORG_ID}"
          api_key_file: /run/secrets/atlassian_api_key
          editions: {jira: Premium, confluence: Standard}
    """

    id = "atlassian"
    title = "Atlassian Cloud managed accounts, product access and last activity per product"
    settings_model = AtlassianSettings
    data_kinds = frozenset({DataKind.PEOPLE, DataKind.ACCOUNTS, DataKind.SEATS, DataKind.ACTIVITY})
    # An organization admin API key; with scopes, this read-only one is enough for GET /users.
    scopes = ("read:accounts:admin",)
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
        self._options: dict[str, Any] = {
            "transport": transport,
            "retry": retry,
            "clock": clock,
            "sleep": sleep,
        }
        self._limiters = limiters

    def sync(self, ctx: SyncContext) -> Iterator[Record]:
        settings = self.settings
        if not isinstance(settings, AtlassianSettings):
            raise TypeError(f"atlassian needs AtlassianSettings, got {type(settings).__name__}")
        redactor_for(settings)  # mask the API key in every log line and error from here on
        rate = settings.requests_per_second
        limiter = (self._limiters or limiter_registry()).get(
            ctx.tenant_id, VENDOR, rate=rate, burst=max(1, int(rate))
        )

        def app_of(key: str, name: str | None) -> str:
            return app_for(key, name, ctx.catalog)

        with VendorClient(
            settings.base_url.rstrip("/") + "/",
            vendor=VENDOR,
            auth=HeaderAuth(settings.api_key, scheme="Bearer"),
            limiter=limiter,
            **self._options,
        ) as client:
            listed = seats = 0
            pages = paginate(
                client,
                f"v1/orgs/{settings.org_id}/users",
                # links.next is a full URL here (with a cursor parameter), not a bare cursor.
                BodyUrlPaginator(("links", "next")),
                items=_users_of,
            )
            for page in pages:
                where = f"GET /v1/orgs/{{orgId}}/users page {page.number}"
                for index, raw in enumerate(page.items):
                    try:
                        records = user_records(raw, app_of, settings.edition)
                    except FieldError as exc:
                        yield RowProblem(where=where, reason=f"data[{index}]{_id_of(raw)}: {exc}")
                        continue
                    listed += 1
                    seats += sum(1 for r in records if isinstance(r, SeatRecord))
                    yield from records
                yield Checkpoint("users", complete=page.next_url is None)
                if ctx.stop.is_set():
                    return
        ctx.log.info("atlassian: %d managed accounts, %d product seats", listed, seats)


def _users_of(body: Any) -> list[Any]:
    users = body.get("data") if isinstance(body, dict) else None
    if not isinstance(users, list):
        # A page without its user list cannot be trusted to be the whole picture: fail the run
        # rather than retire the seats it would have listed.
        raise AtlassianError(f"{VENDOR}: GET /v1/orgs/{{orgId}}/users answered without a data list")
    return users


def _id_of(raw: Any) -> str:
    account_id = raw.get("account_id") if isinstance(raw, dict) else None
    return f" (account_id {account_id})" if isinstance(account_id, str) and account_id else ""
