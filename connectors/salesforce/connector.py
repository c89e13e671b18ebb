"""The salesforce connector: users, license pools, seats and last logins through SOQL queries."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx

from collector.connector import Connector, ConnectorSettings, SyncContext
from collector.http import (
    Auth,
    BodyUrlPaginator,
    HeaderAuth,
    Page,
    RateLimiterRegistry,
    RetryPolicy,
    TokenAuth,
    VendorClient,
    VendorHTTPError,
    limiter_registry,
    paginate,
)
from collector.records import AccountRecord, Checkpoint, DataKind, Record, RowProblem
from collector.redaction import redactor_for
from connectors.salesforce.client import (
    VENDOR,
    ApiBudget,
    SalesforceClient,
    SalesforceError,
    SalesforceLimitError,
    token_fetcher,
)
from connectors.salesforce.licenses import license_pool
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.users import user_records
from connectors.salesforce.values import FieldError

LICENSES_SOQL = "SELECT Id, Name, MasterLabel, Status, TotalLicenses, UsedLicenses FROM UserLicense"
USERS_SOQL = (
    "SELECT Id, Username, Email, Name, IsActive, LastLoginDate, CreatedDate, UserType, "
    "Profile.Name, Profile.PermissionsApiUserOnly, Profile.PermissionsModifyAllData, "
    "Profile.UserLicense.Name FROM User"
)
# Without "View Setup and Configuration" the run-as user cannot read UserLicense; that loses the
# pools, not the users.
LICENSE_SOFT_ERRORS = frozenset({"INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY", "INVALID_TYPE"})
RECORDS_PAGINATOR = BodyUrlPaginator("nextRecordsUrl", done="done")


class SalesforceConnector(Connector):
    """Reads an org's user licenses and users.

    Example settings::

        settings:
          my_domain_url: https://acme.my.salesforce.com
          client_id: "${SF_CLIENT_ID}"
          client_secret_file: /run/secrets/sf_client_secret
    """

    id = "salesforce"
    title = "Salesforce users, license pools, seats and last logins"
    settings_model = SalesforceSettings
    data_kinds = frozenset(
        {DataKind.PEOPLE, DataKind.ACCOUNTS, DataKind.SEATS, DataKind.ACTIVITY, DataKind.LICENSE_POOLS}
    )
    # Salesforce has no read-only OAuth scope: the connected app asks for "api", and the run-as user
    # is what limits it. Give that user only these permissions, through a permission set: "API
    # Enabled"; "View Setup and Configuration" to read UserLicense and profiles; "View All Users" to
    # see every user when user sharing is private.
    scopes = ("api", "API Enabled", "View Setup and Configuration", "View All Users")
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
        self._clock = clock
        self._limiters = limiters

    def sync(self, ctx: SyncContext) -> Iterator[Record]:
        settings = self.settings
        if not isinstance(settings, SalesforceSettings):
            raise TypeError(f"salesforce needs SalesforceSettings, got {type(settings).__name__}")
        redactor_for(settings)  # mask the credentials in every log line and error from here on
        budget = ApiBudget(settings.api_reserve_percent)
        with ExitStack() as stack:
            auth = self._auth(settings, stack)
            rate = settings.requests_per_second
            limiter = (self._limiters or limiter_registry()).get(
                ctx.tenant_id, VENDOR, rate=rate, burst=max(1, int(rate))
            )
            api = SalesforceClient(
                settings.api_url, budget=budget, auth=auth, limiter=limiter, **self._options
            )
            stack.callback(api.close)
            yield from self._licenses(api, ctx)
            if not ctx.stop.is_set():
                yield from self._users(api, settings, ctx)
        ctx.log.info("salesforce API allocation: %s", budget.describe())

    def _auth(self, settings: SalesforceSettings, stack: ExitStack) -> Auth:
        if settings.access_token is not None:
            return HeaderAuth(settings.access_token, scheme="Bearer")
        assert settings.client_id is not None and settings.client_secret is not None  # the model checks
        token_client = stack.enter_context(VendorClient(settings.token_url, vendor=VENDOR, **self._options))
        return TokenAuth(
            token_fetcher(token_client, settings.token_url, settings.client_id, settings.client_secret),
            clock=self._clock,
        )

    def _licenses(self, api: SalesforceClient, ctx: SyncContext) -> Iterator[Record]:
        pools = 0
        try:
            for page in self._query(api, "UserLicense", LICENSES_SOQL):
                where = f"GET /query (UserLicense) page {page.number}"
                for index, raw in enumerate(page.items):
                    try:
                        pool = license_pool(raw)
                    except FieldError as exc:
                        yield RowProblem(where=where, reason=f"records[{index}]{_id_of(raw)}: {exc}")
                        continue
                    if pool is not None:
                        pools += 1
                        yield pool
                yield Checkpoint("user_licenses", complete=page.next_url is None)
                if ctx.stop.is_set():
                    return
        except VendorHTTPError as exc:
            if exc.vendor_code not in LICENSE_SOFT_ERRORS:
                raise
            yield RowProblem(
                where="GET /query (UserLicense)",
                reason=f"user licenses not readable ({exc}); give the run-as user the "
                "View Setup and Configuration permission",
            )
            return
        ctx.log.info("salesforce: %d active user license(s)", pools)

    def _users(
        self, api: SalesforceClient, settings: SalesforceSettings, ctx: SyncContext
    ) -> Iterator[Record]:
        service_usernames = frozenset(u.casefold() for u in settings.service_usernames)
        kinds: dict[str, int] = {}
        for page in self._query(api, "User", USERS_SOQL):
            where = f"GET /query (User) page {page.number}"
            for index, raw in enumerate(page.items):
                try:
                    records = user_records(raw, service_usernames)
                except FieldError as exc:
                    yield RowProblem(where=where, reason=f"records[{index}]{_id_of(raw)}: {exc}")
                    continue
                for record in records:
                    if isinstance(record, AccountRecord):
                        kinds[record.kind or "user"] = kinds.get(record.kind or "user", 0) + 1
                yield from records
            yield Checkpoint("users", complete=page.next_url is None)
            if ctx.stop.is_set():
                return
        ctx.log.info(
            "salesforce users: %s", ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "none"
        )

    def _query(self, api: SalesforceClient, sobject: str, soql: str) -> Iterator[Page]:
        """The pages of a SOQL query, stopping before any request the API budget cannot spare."""
        api.budget.check(f"querying {sobject}")
        try:
            pages = paginate(api, "query", RECORDS_PAGINATOR, items=_records_of, params={"q": soql})
            for page in pages:
                yield page
                if page.next_url is not None:
                    api.budget.check(f"the next page of {sobject}")
        except VendorHTTPError as exc:
            if exc.vendor_code == "REQUEST_LIMIT_EXCEEDED":
                raise SalesforceLimitError(
                    f"{VENDOR}: Salesforce refused the query of {sobject}: the org's daily API allocation "
                    f"is used up ({exc}). It frees up as requests age out of the rolling 24-hour window; "
                    "the next scheduled run reads again."
                ) from exc
            raise


def _records_of(body: Any) -> list[Any]:
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list):
        # A page without its records cannot be trusted to be the whole picture: fail the run rather
        # than retire what it would have listed.
        raise SalesforceError(f"{VENDOR}: a query page came without a records list")
    return records


def _id_of(raw: Any) -> str:
    record_id = raw.get("Id") if isinstance(raw, dict) else None
    return f" (Id {record_id})" if isinstance(record_id, str) and record_id else ""
