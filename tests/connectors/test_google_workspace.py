"""google_workspace: users with Google's sentinels, license seats and pools, the incremental audit logs
(login, saml, token), domain-wide delegation tokens, rate limits, faults, and a sync through the daemon.

Every test talks to the fake over real HTTP (``FakeServer``): google-api-python-client uses httplib2.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from google_workspace_fake import (
    ACTIVITY_PATH,
    ADMIN,
    ALICE,
    ALL_SCOPES,
    AUDIT_SCOPE,
    BOB,
    BUSINESS_STANDARD,
    CALENDLY,
    CAROL,
    CLIENT_ID,
    DAN,
    DIRECTORY_SCOPE,
    ERIN,
    GOOGLE_TOKEN_URL,
    LICENSING_PATH,
    LICENSING_SCOPE,
    NOTION,
    SERVICE_ACCOUNT,
    USAGE_PATH,
    USAGE_SCOPE,
    USERS_PATH,
    GoogleFake,
    Reply,
    assignment,
    forbidden,
    google_error,
    key_file,
    login,
    private_key_pem,
    rate_limited,
    saml,
    token,
    too_many_requests,
    unavailable,
    user,
)
from harness import FakeServer, sync_through_daemon, write_config
from ports import free_port
from pydantic import SecretStr, ValidationError
from sqlalchemy import select

from collector.config import Config, ConnectorConfig, TenantConfig
from collector.connector import SyncContext
from collector.health import source_health
from collector.http import PaginationLoopError, RateLimitError, RetryPolicy, VendorHTTPError
from collector.http.testing import FakeClock
from collector.models import Account, Activity, LicensePool, OAuthGrant, Person, Seat, SyncState
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    DataKind,
    IdpStatus,
    LicensePoolRecord,
    OAuthGrantRecord,
    PersonRecord,
    Record,
    RowProblem,
    SeatRecord,
)
from collector.registry import get_connector
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config
from connectors.google_workspace import GoogleWorkspaceConnector
from connectors.google_workspace.api import AccessDenied, Plumbing, ShapeError
from connectors.google_workspace.settings import GoogleWorkspaceSettings

R = TypeVar("R")
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
APP = "google_workspace"
BUSINESS_STANDARD_NAME = "Google Workspace Business Standard"
VAULT_NAME = "Google Vault - Former Employee"
# The fake's user ids: 1145111473123456789NN for user NN.
ALICE_ID, BOB_ID, CAROL_ID, DAN_ID, ERIN_ID = (f"1145111473123456789{n:02d}" for n in range(1, 6))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def only(records: Sequence[Record], kind: type[R]) -> list[R]:
    return [r for r in records if isinstance(r, kind)]


def from_logs(records: Sequence[Record]) -> list[Record]:
    """What the audit logs yielded: everything after the license pools."""
    end = records.index(Checkpoint("license_pools", complete=True))
    return list(records[end + 1 :])


def cursors_of(records: Sequence[Record]) -> dict[str, dict[str, Any]]:
    """The cursors a runner would have saved from these records."""
    saved: dict[str, dict[str, Any]] = {}
    for record in records:
        if isinstance(record, Checkpoint) and record.cursor is not None:
            saved[record.stream] = dict(record.cursor)
    return saved


def settings(server: FakeServer, **overrides: Any) -> GoogleWorkspaceSettings:
    values: dict[str, Any] = {
        "admin_email": ADMIN,
        "service_account_key": key_file(f"{server.url}/token"),
        "api_endpoint": server.url,
        "product_ids": ["Google-Apps", "Google-Vault"],
        "activity_lookback_days": 7,
        **overrides,
    }
    return GoogleWorkspaceSettings.model_validate(values)


class Run:
    """The connector against the fake, on a fake clock whose sleeps return at once."""

    def __init__(
        self,
        server: FakeServer,
        *,
        now: datetime = NOW,
        cursors: dict[str, dict[str, Any]] | None = None,
        retry: RetryPolicy | None = None,
        **overrides: Any,
    ) -> None:
        self.clock = FakeClock()
        plumbing = Plumbing(
            clock=self.clock, sleep=self.clock.sleep, draw=lambda: 0.5, retry=retry or RetryPolicy()
        )
        self.connector = GoogleWorkspaceConnector(settings(server, **overrides), plumbing=plumbing)
        self.ctx = SyncContext(
            tenant_id="acme", source="gws", base_dir=Path("."), cursors=cursors or {}, clock=lambda: now
        )

    def records(self) -> list[Record]:
        return list(self.connector.sync(self.ctx))

    def until_failure(self) -> tuple[list[Record], Exception]:
        seen: list[Record] = []
        try:
            for record in self.connector.sync(self.ctx):
                seen.append(record)
        except Exception as exc:
            return seen, exc
        raise AssertionError("the sync did not fail")


@pytest.fixture
def fake() -> GoogleFake:
    return GoogleFake.sample(NOW)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeServer]:
    # One server for the module: closing one waits out its half-second poll.
    with FakeServer(GoogleFake(now=NOW)) as running:
        yield running


@pytest.fixture
def server(shared_server: FakeServer, fake: GoogleFake) -> FakeServer:
    """The shared server, now serving this test's fake."""
    shared_server.handler = fake
    return shared_server


def test_declaration() -> None:
    assert get_connector("google_workspace") is GoogleWorkspaceConnector
    assert GoogleWorkspaceConnector.scopes == (
        "https://www.googleapis.com/auth/admin.directory.user.readonly",
        "https://www.googleapis.com/auth/admin.reports.audit.readonly",
        "https://www.googleapis.com/auth/admin.reports.usage.readonly",
        "https://www.googleapis.com/auth/apps.licensing",
    )
    assert GoogleWorkspaceConnector.data_kinds == {
        DataKind.PEOPLE, DataKind.ACCOUNTS, DataKind.LICENSE_POOLS, DataKind.SEATS, DataKind.ACTIVITY,
        DataKind.GRANTS,
    }  # fmt: skip
    # Audit logs are read incrementally: what they said is never retired.
    assert GoogleWorkspaceConnector.snapshot_kinds == {
        DataKind.PEOPLE, DataKind.ACCOUNTS, DataKind.LICENSE_POOLS, DataKind.SEATS,
    }  # fmt: skip
    loaded = GoogleWorkspaceSettings(admin_email=ADMIN, service_account_key=SecretStr(key_file()))
    assert (loaded.activity_lookback_days, loaded.activity_overlap_minutes) == (30, 60.0)
    assert loaded.product_ids == ("Google-Apps",)
    assert loaded.activity_applications == ("login", "saml", "token")
    assert "PRIVATE KEY" not in repr(loaded)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        GoogleWorkspaceSettings(admin_email=ADMIN, service_account_key=key_file(), api_token="typo")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="unknown counter 'gsuite_business'"):
        GoogleWorkspaceSettings(
            admin_email=ADMIN, service_account_key=key_file(), usage_license_skus={"gsuite_business": "x"}
        )


def key_with(**changes: Any) -> str:
    """The test key file with fields changed (None: removed)."""
    fields = {**json.loads(key_file()), **changes}
    return json.dumps({k: v for k, v in fields.items() if v is not None})


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("{not json", "not JSON"),
        (key_with(type="authorized_user"), 'type: must be "service_account"'),
        (key_with(private_key="MIIEvQIBADANBg"), "private_key: missing or not a PEM"),
        (key_with(client_email=None), "client_email: missing"),
    ],
)
def test_a_bad_key_names_the_field_and_never_quotes_the_key(key: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        GoogleWorkspaceSettings(admin_email=ADMIN, service_account_key=key)
    text = str(caught.value)
    assert message in text
    assert key[:12] not in text and "BEGIN PRIVATE KEY" not in text


def test_users_seats_pools_sign_ins_sso_and_grants(fake: GoogleFake, server: FakeServer) -> None:
    fake.page_size = 2
    run = Run(server, activity_lookback_days=30)
    records = run.records()

    created = at("2023-02-06T09:15:00")
    assert only(records, PersonRecord) == [
        PersonRecord(ALICE, "Alice Ng", IdpStatus.ACTIVE, "Engineering", "CC-100", None, created),
        PersonRecord(BOB, "Bob Li", IdpStatus.SUSPENDED, None, None, None, created),
        # Archived users cannot sign in; their org unit stands in for a department.
        PersonRecord(CAROL, "Carol Diaz", IdpStatus.SUSPENDED, "Sales/EMEA", None, None, created),
        # The primary organization wins over the first one.
        PersonRecord(DAN, "Dan Okafor", IdpStatus.ACTIVE, "Field Sales", "CC-210", ALICE, created),
        PersonRecord(ERIN, "Erin Walsh", IdpStatus.ACTIVE, "Support", None, None, created),
    ]
    assert only(records, AccountRecord) == [
        AccountRecord(APP, ALICE_ID, ALICE, "active", True, True, created, "user"),
        AccountRecord(APP, BOB_ID, BOB, "suspended", False, False, created, "user"),
        AccountRecord(APP, CAROL_ID, CAROL, "archived", False, True, created, "user"),
        AccountRecord(APP, DAN_ID, DAN, "active", True, True, created, "user"),  # a delegated admin
        AccountRecord(APP, ERIN_ID, ERIN, "active", False, False, created, "user"),
    ]
    assert only(records, SeatRecord) == [
        SeatRecord(APP, BUSINESS_STANDARD_NAME, ALICE_ID),
        SeatRecord(APP, BUSINESS_STANDARD_NAME, BOB_ID),
        SeatRecord(APP, BUSINESS_STANDARD_NAME, DAN_ID),
        SeatRecord(APP, BUSINESS_STANDARD_NAME, ERIN_ID),
        SeatRecord(APP, VAULT_NAME, CAROL_ID),
    ]
    # The report counts Business Standard under its legacy name (gsuite_unlimited): the one edition
    # assigned is the one it counts. Vault has no counter: assigned only.
    assert only(records, LicensePoolRecord) == [
        LicensePoolRecord(APP, BUSINESS_STANDARD_NAME, seats_purchased=6, seats_assigned=4),
        LicensePoolRecord(APP, VAULT_NAME, seats_purchased=None, seats_assigned=1),
    ]
    sign_ins = [(a.email, a.last_seen_at) for a in only(records, ActivityRecord) if a.app_id == APP]
    assert sign_ins == [
        # lastLoginTime from the directory; the 1970 sentinel is "never".
        (ALICE, NOW - 2 * DAY - 3 * HOUR),
        (BOB, None),
        (CAROL, NOW - 90 * DAY),
        (DAN, None),
        (ERIN, NOW - HOUR),
        # login_success events, one record per (person, app) per page; zoe@ is no longer listed.
        (ALICE, NOW - 6 * DAY),
        (ALICE, NOW - 2 * DAY - 3 * HOUR),
        (ERIN, NOW - HOUR),
    ]
    assert all(
        a.source_kind == ActivitySource.IDP_SIGNIN for a in only(records, ActivityRecord) if a.app_id == APP
    )
    sso = [
        (a.email, a.app_id, a.last_seen_at, a.source_kind)
        for a in only(records, ActivityRecord)
        if a.app_id != APP
    ]
    assert sso == [
        (DAN, "acme-wiki", NOW - 5 * DAY, ActivitySource.IDP_SSO),  # not in the catalog: a slug
        (ALICE, "salesforce", NOW - 3 * DAY, ActivitySource.IDP_SSO),
        (ALICE, "salesforce", NOW - DAY, ActivitySource.IDP_SSO),
    ]
    # The latest authorization's scopes; Dan's Zapier grant was revoked two hours after it was made.
    assert only(records, OAuthGrantRecord) == [
        OAuthGrantRecord(ALICE, CALENDLY, "Calendly", ("https://www.googleapis.com/auth/calendar.events",),
                         NOW - 2 * DAY - 6 * HOUR),
        OAuthGrantRecord(ERIN, NOTION, "Notion", ("https://www.googleapis.com/auth/drive.readonly",),
                         NOW - 12 * HOUR),
    ]  # fmt: skip
    problems = only(records, RowProblem)
    assert [p.reason for p in problems] == ["parameter application_name: missing"]
    assert problems[0].where.startswith(
        "GET /admin/reports/v1/activity/users/all/applications/saml login_success "
        "2026-11-16T08:00:00.000Z..2026-11-17T08:00:00.000Z page 1 (event "
    )

    # Directory paging: three pages of two users, each page asked for as Google documents it.
    listing = fake.requests_to(USERS_PATH)
    assert len(listing) == 3
    assert {k: listing[0][k] for k in ("customer", "projection", "maxResults")} == {
        "customer": "my_customer", "projection": "full", "maxResults": "500",
    }  # fmt: skip
    assert "pageToken" not in listing[0] and listing[1]["pageToken"] and listing[2]["pageToken"]
    assert listing[0]["fields"].startswith("nextPageToken,users(id,primaryEmail,name/fullName,lastLoginTime,")
    assert [c for c in records if isinstance(c, Checkpoint) and c.stream == "users"] == [
        Checkpoint("users"), Checkpoint("users"), Checkpoint("users", complete=True),
    ]  # fmt: skip
    # The License Manager needs the customer id: the users carry it.
    assert {p["customerId"] for p in fake.requests_to(LICENSING_PATH)} == {"C03az79cb"}
    # One token per API, each for its own scope, all acting as the admin.
    assert sorted(c["scope"] for c in fake.token_requests) == sorted(ALL_SCOPES)
    assert {(c["iss"], c["sub"], c["aud"]) for c in fake.token_requests} == {
        (SERVICE_ACCOUNT, ADMIN, GOOGLE_TOKEN_URL)
    }
    assert run.connector.stats.users == 5 and run.connector.stats.never_signed_in == 2
    assert run.connector.stats.logs["login"].unknown_actors == 1


def test_first_sync_reads_the_lookback_in_daily_slices_oldest_first(
    fake: GoogleFake, server: FakeServer
) -> None:
    records = Run(server, activity_lookback_days=30).records()

    logins = fake.requests_to(ACTIVITY_PATH + "login")
    assert [r["startTime"] for r in logins] == [
        (NOW - (30 - i) * DAY).strftime("%Y-%m-%dT%H:%M:%S.000Z") for i in range(30)
    ]
    assert logins[-1]["endTime"] == "2026-11-20T08:00:00.000Z"
    assert {(r["eventName"], r["maxResults"]) for r in logins} == {("login_success", "1000")}
    # The cursor moves at the end of every slice: to the newest event, or the slice's end less the
    # overlap when that is later.
    moves = [
        c.cursor["time"]
        for c in records
        if isinstance(c, Checkpoint) and c.stream == "login_events" and c.cursor
    ]
    assert len(moves) == 30
    assert moves[0] == "2026-10-22T07:00:00.000Z" and moves[-1] == "2026-11-20T07:00:00.000Z"
    # The token log is read as one window (one listing per event name).
    tokens = fake.requests_to(ACTIVITY_PATH + "token")
    assert [(r["eventName"], r["startTime"], r["endTime"]) for r in tokens] == [
        ("authorize", "2026-10-21T08:00:00.000Z", "2026-11-20T08:00:00.000Z"),
        ("revoke", "2026-10-21T08:00:00.000Z", "2026-11-20T08:00:00.000Z"),
    ]


def test_second_sync_reads_only_new_events_from_the_cursor_less_the_overlap(
    fake: GoogleFake, server: FakeServer
) -> None:
    first = Run(server).records()
    saved = cursors_of(first)
    erin_login = next(
        a for a in fake.logs["login"] if a["actor"].get("email") == ERIN and "07:00" in a["id"]["time"]
    )
    assert saved["login_events"] == {
        "time": "2026-11-20T07:00:00.000Z",
        "seen": [[int((NOW - HOUR).timestamp() * 1000), erin_login["id"]["uniqueQualifier"]]],
    }
    later = NOW + 6 * HOUR
    fake.now = later
    fake.logs["login"] += [
        login(NOW + 2 * HOUR, ALICE),
        login(NOW - timedelta(minutes=30), DAN),  # logged late: only visible now, inside the overlap
    ]
    fake.logs["saml"].append(saml(NOW + HOUR, ERIN, "Salesforce"))
    fake.logs["token"].append(token(NOW + 3 * HOUR, DAN, "authorize", "Notion", NOTION, ["openid"]))
    fake.calls.clear()

    run = Run(server, now=later, cursors=saved)
    second = run.records()

    logins = fake.requests_to(ACTIVITY_PATH + "login")
    assert [(r["startTime"], r["endTime"]) for r in logins] == [
        ("2026-11-20T06:00:00.000Z", "2026-11-20T14:00:00.000Z")
    ]
    events = [(a.email, a.app_id, a.last_seen_at) for a in only(from_logs(second), ActivityRecord)]
    assert events == [
        (ALICE, APP, NOW + 2 * HOUR),
        (DAN, APP, NOW - timedelta(minutes=30)),
        (ERIN, "salesforce", NOW + HOUR),
    ]
    # Erin's 07:00 sign-in was counted by the first sync: read again in the overlap, not counted again.
    assert run.connector.stats.logs["login"].duplicates == 1
    assert run.connector.stats.logs["login"].events == 2
    assert only(second, OAuthGrantRecord) == [
        OAuthGrantRecord(DAN, NOTION, "Notion", ("openid",), NOW + 3 * HOUR)
    ]
    assert cursors_of(second)["login_events"]["time"] == "2026-11-20T13:00:00.000Z"


def test_a_revoke_in_a_later_sync_adds_no_grant_and_says_nothing_of_the_stored_one(
    fake: GoogleFake, server: FakeServer
) -> None:
    first = Run(server).records()
    fake.now = NOW + DAY
    fake.logs["token"].append(token(NOW + HOUR, ERIN, "revoke", "Notion", NOTION))
    second = Run(server, now=NOW + DAY, cursors=cursors_of(first)).records()

    assert only(second, OAuthGrantRecord) == []  # the store keeps Erin's grant (see the docs)


def test_usage_report_steps_back_until_the_accounts_data_is_out(fake: GoogleFake, server: FakeServer) -> None:
    fake.partial_dates = {date(2026, 11, 18)}
    records = Run(server).records()

    asked = [path.removeprefix(USAGE_PATH) for path, _ in fake.calls if path.startswith(USAGE_PATH)]
    # Today: "not yet available, the last date is 2026-11-18"; that day: partial; the day before: data.
    assert asked == ["2026-11-20", "2026-11-18", "2026-11-17"]
    params = fake.requests_to(USAGE_PATH)[0]["parameters"].split(",")
    assert (
        "accounts:gsuite_unlimited_total_licenses" in params
        and "accounts:gsuite_basic_used_licenses" in params
    )
    assert LicensePoolRecord(APP, BUSINESS_STANDARD_NAME, 6, 4) in records


def test_no_usage_report_in_days_is_a_problem_and_no_pools_are_written(
    fake: GoogleFake, server: FakeServer
) -> None:
    fake.partial_dates = {NOW.date() - timedelta(days=d) for d in range(2, 5)}
    records = Run(server, usage_report_days_back=3).records()

    problems = only(records, RowProblem)
    assert [(p.where, p.reason) for p in problems if "usage" in p.where] == [
        (
            "GET /admin/reports/v1/usage/dates",
            "no customer usage report with license totals for 2026-11-20, 2026-11-18, 2026-11-17; "
            "purchased licenses were not read (the stored ones are kept)",
        )
    ]
    # A pool written without what was bought would erase the stored count: none is written, and the
    # partial run retires nothing. Seats are read as usual.
    assert only(records, LicensePoolRecord) == []
    assert len(only(records, SeatRecord)) == 5


def test_a_usage_report_request_google_rejects_is_a_problem(fake: GoogleFake, server: FakeServer) -> None:
    fake.fault(USAGE_PATH, google_error(400, "invalid", "Invalid parameter: accounts:apps_total_licenses"))
    records = Run(server).records()

    problems = [p for p in only(records, RowProblem) if "usage" in p.where]
    assert [p.where for p in problems] == ["GET /admin/reports/v1/usage/dates/2026-11-20"]
    assert "HTTP 400 [invalid] Invalid parameter: accounts:apps_total_licenses" in problems[0].reason
    assert only(records, LicensePoolRecord) == [] and len(only(records, OAuthGrantRecord)) == 2


def test_without_the_usage_report_pools_count_the_assignments(fake: GoogleFake, server: FakeServer) -> None:
    records = Run(server, read_usage_report=False).records()

    assert only(records, LicensePoolRecord) == [
        LicensePoolRecord(APP, BUSINESS_STANDARD_NAME, seats_assigned=4),
        LicensePoolRecord(APP, VAULT_NAME, seats_assigned=1),
    ]
    assert fake.requests_to(USAGE_PATH) == []


def test_which_sku_a_usage_counter_counts(fake: GoogleFake, server: FakeServer) -> None:
    # A setting wins.
    records = Run(server, usage_license_skus={"gsuite_unlimited": "1010020025"}).records()
    assert LicensePoolRecord(APP, "Google Workspace Business Plus", 6, 4) in records

    # Two editions assigned: the counter cannot tell which, so it keeps its legacy meaning.
    fake.assignments.append(assignment(CAROL, "1010020027"))
    records = Run(server).records()
    assert only(records, LicensePoolRecord) == [
        LicensePoolRecord(APP, "G Suite Business", 6, 4),
        LicensePoolRecord(APP, "Google Workspace Business Starter", None, 1),
        LicensePoolRecord(APP, BUSINESS_STANDARD_NAME, None, 4),
        LicensePoolRecord(APP, VAULT_NAME, None, 1),
    ]


def test_rate_limits_and_server_errors_are_retried_with_backoff(fake: GoogleFake, server: FakeServer) -> None:
    fake.fault(
        USERS_PATH, rate_limited("rateLimitExceeded"), rate_limited("userRateLimitExceeded"), unavailable()
    )
    fake.fault(ACTIVITY_PATH + "login", rate_limited("quotaExceeded"), too_many_requests(retry_after="7"))
    run = Run(server)
    records = run.records()

    assert len(only(records, PersonRecord)) == 5
    assert len(fake.requests_to(USERS_PATH)) == 4
    # Full jitter (the draw is 0.5): 0.5, 1, 2 for the users; then 0.5, and the 7 s Google asked for.
    assert run.clock.sleeps == [0.5, 1.0, 2.0, 0.5, 7.0]


def test_a_rate_limit_that_never_ends_fails_the_run(fake: GoogleFake, server: FakeServer) -> None:
    fake.fault(USERS_PATH, *[rate_limited("userRateLimitExceeded")] * 3)
    run = Run(server, retry=RetryPolicy(max_attempts=3))
    _, error = run.until_failure()

    assert isinstance(error, RateLimitError)
    assert (error.status, error.vendor_code, error.attempts) == (403, "userRateLimitExceeded", 3)
    assert run.clock.sleeps == [0.5, 1.0]


def test_a_connection_that_keeps_failing_is_retried_then_fails(fake: GoogleFake, server: FakeServer) -> None:
    # The token endpoint answers; nothing listens where the APIs should be.
    run = Run(server, api_endpoint=f"http://127.0.0.1:{free_port()}", retry=RetryPolicy(max_attempts=3))
    _, error = run.until_failure()

    assert isinstance(error, VendorHTTPError) and error.status is None
    assert (error.detail, error.attempts) == ("ConnectionRefusedError", 3)
    assert run.clock.sleeps == [0.5, 1.0]


def test_a_hard_error_fails_at_once(fake: GoogleFake, server: FakeServer) -> None:
    fake.fault(USERS_PATH, forbidden())
    run = Run(server)
    _, error = run.until_failure()

    assert isinstance(error, AccessDenied)
    assert "HTTP 403 [forbidden] Not Authorized to access this resource/api" in str(error)
    assert run.clock.sleeps == []
    assert len(fake.requests_to(USERS_PATH)) == 1


def test_an_expired_token_is_renewed_once(fake: GoogleFake, server: FakeServer) -> None:
    fake.revoke_tokens_on = {ACTIVITY_PATH + "saml"}
    records = Run(server).records()

    assert only(records, RowProblem)[0].reason == "parameter application_name: missing"
    # The audit log's token was revoked under it: 401, one renewal, the same request again.
    assert sorted(c["scope"] for c in fake.token_requests).count(AUDIT_SCOPE) == 2
    assert len(only(records, OAuthGrantRecord)) == 2


def test_a_second_401_fails_the_run(fake: GoogleFake, server: FakeServer) -> None:
    fake.reject_tokens_on = {USERS_PATH}
    _, error = Run(server).until_failure()

    assert isinstance(error, VendorHTTPError) and error.status == 401
    assert error.vendor_code == "authError"
    assert [c["scope"] for c in fake.token_requests] == [DIRECTORY_SCOPE, DIRECTORY_SCOPE]
    assert len(fake.requests_to(USERS_PATH)) == 2


def test_a_scope_missing_from_the_delegation_costs_only_what_needs_it(
    fake: GoogleFake, server: FakeServer
) -> None:
    fake.delegated_scopes = frozenset({DIRECTORY_SCOPE, AUDIT_SCOPE, USAGE_SCOPE})
    records = Run(server).records()

    problems = [p for p in only(records, RowProblem) if "licensing" in p.where]
    assert [p.where for p in problems] == ["GET /apps/licensing/v1/product/Google-Apps/users"]
    assert "[unauthorized_client]" in problems[0].reason
    assert (
        f"domain-wide delegation of client id {CLIENT_ID} must grant {LICENSING_SCOPE}" in problems[0].reason
    )
    assert only(records, SeatRecord) == []
    # Without assignments the counter keeps its legacy meaning; everything else was read.
    assert only(records, LicensePoolRecord) == [LicensePoolRecord(APP, "G Suite Business", 6, 4)]
    assert len(only(records, AccountRecord)) == 5 and len(only(records, OAuthGrantRecord)) == 2


def test_an_audit_log_the_admin_may_not_read_is_a_problem(fake: GoogleFake, server: FakeServer) -> None:
    fake.fault(ACTIVITY_PATH + "token", forbidden())
    records = Run(server).records()

    problems = [p for p in only(records, RowProblem) if "token" in p.where]
    assert [p.where for p in problems] == ["GET /admin/reports/v1/activity/users/all/applications/token"]
    assert problems[0].reason.endswith("; the token log was not read")
    assert "token_events" not in cursors_of(records)


def test_a_subject_that_is_not_an_admin_fails_the_run(fake: GoogleFake, server: FakeServer) -> None:
    fake.admins = frozenset({"someone-else@example.com"})
    _, error = Run(server).until_failure()

    assert isinstance(error, AccessDenied)
    assert "[invalid_grant] Invalid email or User ID" in str(error)
    assert f"{ADMIN} must be an admin allowed to use it" in str(error)


def test_bad_items_are_problems_naming_the_field(fake: GoogleFake, server: FakeServer) -> None:
    fake.users += [
        {**user(6, "frank@example.com", "Frank Bad", last_login="yesterday"), "isEnrolledIn2Sv": "yes"},
        {
            **user(7, "grace@example.com", "Grace NoMail", last_login="1970-01-01T00:00:00.000Z"),
            "primaryEmail": None,
        },
    ]
    fake.assignments.append(assignment("ghost@example.com", BUSINESS_STANDARD))
    broken_time = login(NOW - DAY, ALICE)
    broken_time["id"]["time"] = "2026-11-19 soon"
    no_qualifier = login(NOW - DAY, ALICE)
    del no_qualifier["id"]["uniqueQualifier"]
    no_client = token(NOW - DAY, ALICE, "authorize", "Mystery", "x")
    no_client["events"][0]["parameters"] = [{"name": "app_name", "value": "Mystery"}]
    fake.logs["login"] += [broken_time, no_qualifier]
    fake.logs["token"].append(no_client)
    records = Run(server).records()

    reasons = {p.reason for p in only(records, RowProblem)}
    assert reasons >= {
        "isEnrolledIn2Sv: not true or false: 'yes'; lastLoginTime: not a timestamp: 'yesterday'",
        "primaryEmail: not an e-mail address: null",
        "userId: not a user the Directory API listed",
        "id.time: not a timestamp: '2026-11-19 soon'",
        "id.uniqueQualifier: missing",
        "parameter client_id: missing",
    }
    where = {p.reason: p.where for p in only(records, RowProblem)}
    assert where["userId: not a user the Directory API listed"] == (
        "GET /apps/licensing/v1/product/Google-Apps/users page 1, user 'ghost@example.com'"
    )
    assert (
        where["primaryEmail: not an e-mail address: null"]
        == "GET /admin/directory/v1/users page 1, user 114511147312345678907"
    )
    # Half a user is not recorded: Frank has neither person nor account.
    assert "frank@example.com" not in {p.email for p in only(records, PersonRecord)}


def test_a_payload_that_is_not_what_google_documents_fails_the_run(
    fake: GoogleFake, server: FakeServer
) -> None:
    fake.fault(USERS_PATH, Reply(200, {"kind": "admin#directory#users", "users": {"id": "1"}}))
    _, error = Run(server).until_failure()
    assert isinstance(error, ShapeError) and "users is not a list" in str(error)


def test_a_page_token_handed_out_twice_is_a_loop(fake: GoogleFake, server: FakeServer) -> None:
    page = Reply(200, {"users": [fake.users[0]], "nextPageToken": "Q0FFU0FnZ0IQ"})
    fake.fault(USERS_PATH, page, page, page)
    _, error = Run(server).until_failure()
    assert isinstance(error, PaginationLoopError)


def test_a_failure_in_the_middle_of_a_log_keeps_the_cursor_of_the_slices_read(
    fake: GoogleFake, server: FakeServer
) -> None:
    fake.page_size = 1
    fake.logs["saml"] += [
        saml(NOW - 3 * DAY + HOUR, DAN, "Salesforce"),
        saml(NOW - 3 * DAY + 2 * HOUR, DAN, "Slack"),
    ]
    fake.break_from_page(ACTIVITY_PATH + "saml", 3, google_error(500, "backendError", "Backend Error"))
    run = Run(server, retry=RetryPolicy(max_attempts=2))
    records, error = run.until_failure()

    assert isinstance(error, VendorHTTPError) and error.status == 500
    # The slice 2026-11-17..18 failed on its third page; its first two pages were committed as read,
    # without moving the cursor.
    assert records[-4:] == [
        ActivityRecord(DAN, "slack", NOW - 3 * DAY + 2 * HOUR, ActivitySource.IDP_SSO),
        Checkpoint("saml_events"),
        ActivityRecord(DAN, "salesforce", NOW - 3 * DAY + HOUR, ActivitySource.IDP_SSO),
        Checkpoint("saml_events"),
    ]
    saved = cursors_of(records)
    assert saved["saml_events"]["time"] == "2026-11-17T07:00:00.000Z"
    assert saved["login_events"]["time"] == "2026-11-20T07:00:00.000Z"

    fake._breaks.clear()
    fake.calls.clear()
    resumed = Run(server, cursors=saved).records()
    assert fake.requests_to(ACTIVITY_PATH + "saml")[0]["startTime"] == "2026-11-17T06:00:00.000Z"
    assert ActivityRecord(ALICE, "salesforce", NOW - DAY, ActivitySource.IDP_SSO) in resumed


def test_a_stop_request_ends_the_sync_between_pages(fake: GoogleFake, server: FakeServer) -> None:
    fake.page_size = 2
    run = Run(server)
    seen: list[Record] = []
    for record in run.connector.sync(run.ctx):
        seen.append(record)
        if isinstance(record, Checkpoint):
            run.ctx.stop.set()

    assert len(fake.requests_to(USERS_PATH)) == 1
    assert [path for path, _ in fake.calls if not path.startswith(USERS_PATH)] == []
    assert len(only(seen, PersonRecord)) == 2


def test_secrets_never_reach_logs_or_errors(
    fake: GoogleFake, server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.delegated_scopes = frozenset({DIRECTORY_SCOPE, AUDIT_SCOPE})
    fake.fault(USERS_PATH, unavailable())
    fake.reject_tokens_on = {ACTIVITY_PATH + "saml"}
    records, error = Run(server).until_failure()

    pem = private_key_pem()
    body = [line for line in pem.splitlines() if "PRIVATE KEY" not in line]
    texts = [caplog.text, str(error), repr(error), *(p.reason for p in only(records, RowProblem))]
    for text in texts:
        assert not any(line in text for line in body)
        assert "eyJ" not in text  # no signed assertion
        assert not any(value in text for value in fake.issued)  # no access token
    assert len(only(records, RowProblem)) == 2  # licensing and usage: no token for their scopes
    assert "server error (HTTP 503)" in caplog.text


def count(store: Store, model: type) -> int:
    with store.sessions() as session:
        return len(session.scalars(select(model)).all())


def test_failed_sync_keeps_previous_data_and_marks_the_source_stale(
    store: Store, shared_server: FakeServer
) -> None:
    fake = GoogleFake.sample(datetime.now(UTC).replace(microsecond=0), page_size=2)
    shared_server.handler = fake
    connector = ConnectorConfig(
        id="google_workspace", name="gws", settings=settings(shared_server, requests_per_second=1000)
    )
    tenant = TenantConfig(id="gws-stale", name="Acme", connectors=[connector])
    apply_tenant_config(store, tenant)
    runner = SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")))
    first = runner.run(tenant, connector)
    assert (first.status, [p.reason for p in first.problems]) == (
        "partial", ["parameter application_name: missing"],
    )  # fmt: skip
    assert (count(store, Account), count(store, Seat), count(store, LicensePool)) == (5, 5, 2)

    fake.users[0]["name"]["fullName"] = "Alice Ng-Renamed"
    fake.users = fake.users[:4]  # Erin is gone: a failed run must not retire her
    fake.break_from_page(USERS_PATH, 2, google_error(400, "invalid", "Invalid Input: pageToken"))
    failed = runner.run(tenant, connector)

    assert failed.status == "failed"
    assert "HTTP 400 [invalid] Invalid Input: pageToken" in (failed.error or "")
    assert "PRIVATE KEY" not in (failed.error or "")
    # The first page of the failed run was committed; nothing was retired; the source is stale.
    assert (count(store, Account), count(store, Seat), count(store, LicensePool)) == (5, 5, 2)
    with store.sessions() as session:
        names = set(session.scalars(select(Person.display_name)))
        health = source_health(session, tenant, datetime.now(UTC))["gws"]
        streams = set(session.scalars(select(SyncState.stream).where(SyncState.connector == "gws")))
    assert "Alice Ng-Renamed" in names
    assert health.stale and health.reason == "last sync failed"
    assert streams == {"login_events", "saml_events", "token_events"}  # the first run's cursors stay


def test_end_to_end_through_the_daemon(tmp_path: Path, store_url: str, shared_server: FakeServer) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    fake = GoogleFake.sample(now, page_size=3)
    fake.logs["saml"] = [
        e for e in fake.logs["saml"] if e["events"][0]["parameters"][0]["name"] == "application_name"
    ]
    shared_server.handler = fake
    server = shared_server
    (tmp_path / "google-key.json").write_text(key_file())  # its token_uri is Google's: overridden below
    config = write_config(
        tmp_path,
        f"""
database_url: "{{database_url}}"
metrics: {{listen: "{{metrics_listen}}"}}
tenants:
  - id: gws-e2e
    name: Acme
    connectors:
      - id: google_workspace
        name: gws
        settings:
          admin_email: {ADMIN}
          service_account_key_file: google-key.json
          api_endpoint: {server.url}
          token_uri: {server.url}/token
          product_ids: [Google-Apps, Google-Vault]
          activity_lookback_days: 7
          requests_per_second: 1000
""",
        store_url,
    )
    run = sync_through_daemon(config, "gws-e2e", "gws")

    assert (run.status, run.problem_count, run.error) == ("success", 0, None)
    store = Store(store_url)
    try:
        with store.sessions() as session:
            people = {p.email: (p.status, p.department) for p in session.scalars(select(Person))}
            accounts = {
                (a.external_id, a.status, a.is_admin, a.mfa_enabled) for a in session.scalars(select(Account))
            }
            seats = sorted(s.sku for s in session.scalars(select(Seat)))
            pools = {
                (p.sku, p.seats_purchased, p.seats_assigned) for p in session.scalars(select(LicensePool))
            }
            by_id = {p.id: p.email for p in session.scalars(select(Person))}
            activity = {
                (by_id[a.person_id], a.app_id, a.source_kind, a.last_seen_at)
                for a in session.scalars(select(Activity))
            }
            grants = {
                (by_id[g.person_id], g.app_name, tuple(g.scopes)) for g in session.scalars(select(OAuthGrant))
            }
            streams = {
                s.stream for s in session.scalars(select(SyncState).where(SyncState.connector == "gws"))
            }
    finally:
        store.dispose()

    ms = timedelta(milliseconds=1)

    def moment(value: datetime) -> datetime:
        return value - (value - datetime(1970, 1, 1, tzinfo=UTC)) % ms

    assert people == {
        ALICE: ("active", "Engineering"),
        BOB: ("suspended", None),
        CAROL: ("suspended", "Sales/EMEA"),
        DAN: ("active", "Field Sales"),
        ERIN: ("active", "Support"),
    }
    assert (CAROL_ID, "archived", False, True) in accounts and (BOB_ID, "suspended", False, False) in accounts
    assert seats == [VAULT_NAME] + [BUSINESS_STANDARD_NAME] * 4  # sorted
    assert pools == {(BUSINESS_STANDARD_NAME, 6, 4), (VAULT_NAME, None, 1)}
    assert {(e, seen) for e, app, kind, seen in activity if kind == "idp_signin"} == {
        (ALICE, moment(now - 2 * DAY - 3 * HOUR)),
        (BOB, None),
        (CAROL, moment(now - 90 * DAY)),
        (DAN, None),
        (ERIN, moment(now - HOUR)),
    }
    assert {(e, app, seen) for e, app, kind, seen in activity if kind == "idp_sso"} == {
        (ALICE, "salesforce", moment(now - DAY)),
        (DAN, "acme-wiki", moment(now - 5 * DAY)),
    }
    assert grants == {
        (ALICE, "Calendly", ("https://www.googleapis.com/auth/calendar.events",)),
        (ERIN, "Notion", ("https://www.googleapis.com/auth/drive.readonly",)),
    }
    assert streams == {"login_events", "saml_events", "token_events"}
