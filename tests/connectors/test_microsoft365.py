"""microsoft365: Microsoft Graph through the fake in microsoft365_fake.py (paging, sentinels, the
non-P1 fallback to the usage report, throttling, token renewal, bad payloads, a failure mid-sync, the
client secret's expiry) and one run through the daemon into the store."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from harness import FakeServer, sync_through_daemon, write_config
from microsoft365_fake import (
    ADELE,
    ALEX,
    CLIENT_ID,
    CLIENT_SECRET,
    DIEGO,
    DOWNLOAD,
    E5,
    FORBIDDEN,
    GRAPH,
    LEE,
    LOGIN,
    MEGAN,
    NESTOR,
    TENANT_ID,
    GraphFake,
    Reply,
    default_application,
    password_credential,
    report_row,
    sign_in,
    sku,
    throttled,
    unavailable,
    user,
)
from pydantic import SecretStr, ValidationError
from sqlalchemy import select

from collector.config import Config, ConnectorConfig, TenantConfig
from collector.connector import SyncContext
from collector.health import source_health
from collector.http import PaginationError, RateLimitError, RetryPolicy, VendorHTTPError
from collector.http.testing import FakeClock
from collector.models import Account, Activity, Credential, LicensePool, OAuthGrant, Person, Seat
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    CredentialRecord,
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
from connectors.microsoft365 import Microsoft365Connector
from connectors.microsoft365.graph import Plumbing
from connectors.microsoft365.settings import Microsoft365Settings

R = TypeVar("R")

USERS_FIRST_PAGE = (
    "/v1.0/users?$select=id,userPrincipalName,mail,displayName,accountEnabled,department,assignedLicenses,"
    "createdDateTime,userType"
)
REPORT = "/v1.0/reports/getOffice365ActiveUserDetail(period='D30')"
REFRESHED = datetime(2026, 11, 19, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def only(records: Sequence[Record], kind: type[R]) -> list[R]:
    return [r for r in records if isinstance(r, kind)]


def settings(**overrides: Any) -> Microsoft365Settings:
    values: dict[str, Any] = {
        "tenant_id": TENANT_ID,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "login_base_url": LOGIN,
        "graph_base_url": GRAPH,
        **overrides,
    }
    return Microsoft365Settings.model_validate(values)


class Run:
    """The connector against a fake over httpx.MockTransport, on a fake clock that never sleeps."""

    def __init__(self, fake: GraphFake, clock: FakeClock, retry: RetryPolicy | None = None, **overrides: Any):
        plumbing = Plumbing(
            transport=httpx.MockTransport(fake),
            clock=clock,
            sleep=clock.sleep,
            draw=lambda: 0.5,
            retry=retry or RetryPolicy(),
        )
        self.connector = Microsoft365Connector(settings(**overrides), plumbing=plumbing)
        self.ctx = SyncContext(tenant_id="acme", source="m365", base_dir=Path("."))

    def records(self) -> list[Record]:
        return list(self.connector.sync(self.ctx))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=at("2026-11-20T08:00:00").timestamp())


def fake_on(clock: FakeClock, **knobs: Any) -> GraphFake:
    return GraphFake(clock=clock, **knobs)


def sync(fake: GraphFake, clock: FakeClock, **overrides: Any) -> list[Record]:
    return Run(fake, clock, **overrides).records()


def test_declaration() -> None:
    assert get_connector("microsoft365") is Microsoft365Connector
    assert Microsoft365Connector.scopes == (
        "Organization.Read.All",
        "User.Read.All",
        "AuditLog.Read.All",
        "Reports.Read.All",
        "Directory.Read.All",
        "Application.Read.All",
    )
    assert DataKind.ACTIVITY in Microsoft365Connector.data_kinds
    assert DataKind.ACTIVITY not in Microsoft365Connector.snapshot_kinds  # sign-ins known stay known
    assert Microsoft365Connector.snapshot_kinds == {
        DataKind.PEOPLE, DataKind.ACCOUNTS, DataKind.LICENSE_POOLS, DataKind.SEATS, DataKind.GRANTS,
    }  # fmt: skip
    loaded = settings()
    assert isinstance(loaded.client_secret, SecretStr)
    assert CLIENT_SECRET not in repr(loaded)
    assert loaded.read_usage_report is True
    assert loaded.read_credential_expiry is True
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        settings(client_secrets="typo")
    with pytest.raises(ValidationError, match="tenant_id"):
        settings(tenant_id="../common")


def test_licenses_users_sign_ins_report_and_consents(clock: FakeClock) -> None:
    records = sync(fake_on(clock, page_size=2), clock)

    assert only(records, RowProblem) == []
    assert only(records, LicensePoolRecord) == [
        LicensePoolRecord("m365", "Microsoft 365 Business Standard", seats_purchased=10, seats_assigned=2),
        LicensePoolRecord("m365", "Microsoft 365 E5", seats_purchased=5, seats_assigned=3),
        # Free: Graph's 10000 "enabled" is a cap, not seats bought.
        LicensePoolRecord("m365", "Microsoft Power Automate Free", seats_purchased=None, seats_assigned=1),
        LicensePoolRecord(
            "m365", "Microsoft_Teams_Rooms_Pro", seats_purchased=1, seats_assigned=0
        ),  # no name
        LicensePoolRecord("m365", "Power BI Pro", seats_purchased=2, seats_assigned=1),
    ]  # the tenant-wide (appliesTo Company) storage add-on has no pool
    assert [(p.email, p.status, p.display_name) for p in only(records, PersonRecord)] == [
        ("adele.vance@example.com", IdpStatus.ACTIVE, "Adele Vance"),
        ("alex.wilber@example.com", IdpStatus.SUSPENDED, "Alex Wilber"),  # accountEnabled false
        ("megan.bowen@example.com", IdpStatus.ACTIVE, "Megan Bowen"),
        ("lee.gu@partner.example", IdpStatus.ACTIVE, "Lee Gu"),  # the guest's mail, not the #EXT# UPN
        ("diego.siciliani@example.com", IdpStatus.ACTIVE, "Diego Siciliani"),
        ("nestor.wilke@example.com", IdpStatus.ACTIVE, "Nestor Wilke"),  # no mail: the UPN
    ]
    assert only(records, PersonRecord)[0] == PersonRecord(
        "adele.vance@example.com",
        "Adele Vance",
        IdpStatus.ACTIVE,
        "Retail",
        created_at=at("2024-02-26T11:14:00"),
    )
    assert [(a.external_id, a.status, a.kind) for a in only(records, AccountRecord)] == [
        (ADELE, "active", "user"),
        (ALEX, "blocked", "user"),
        (MEGAN, "active", "user"),
        (LEE, "active", "guest"),
        (DIEGO, "active", "user"),
        (NESTOR, "active", "user"),
    ]
    assert {a.app_id for a in only(records, AccountRecord)} == {"m365"}
    assert [(s.account_external_id, s.sku) for s in only(records, SeatRecord)] == [
        (ADELE, "Microsoft 365 E5"),
        (ADELE, "Power BI Pro"),
        (ALEX, "Microsoft 365 E5"),
        (MEGAN, "Microsoft 365 E5"),
        (DIEGO, "Microsoft 365 Business Standard"),
        (DIEGO, "Microsoft Power Automate Free"),
        (NESTOR, "Microsoft 365 Business Standard"),
    ]
    sign_ins = [a for a in only(records, ActivityRecord) if a.source_kind is ActivitySource.IDP_SIGNIN]
    assert sign_ins == [
        # lastSuccessfulSignInDateTime wins over later (possibly failed) attempts.
        ActivityRecord(
            "adele.vance@example.com", "m365", at("2026-11-18T08:15:00"), ActivitySource.IDP_SIGNIN
        ),
        # "" success (not backfilled), 0001-01-01 non-interactive: the interactive time.
        ActivityRecord(
            "alex.wilber@example.com", "m365", at("2023-06-17T16:41:33"), ActivitySource.IDP_SIGNIN
        ),
        ActivityRecord(
            "megan.bowen@example.com", "m365", None, ActivitySource.IDP_SIGNIN
        ),  # signInActivity null
        ActivityRecord(
            "lee.gu@partner.example", "m365", None, ActivitySource.IDP_SIGNIN
        ),  # every field a sentinel
        # Diego: no signInActivity key at all, so no record (the source says nothing).
        ActivityRecord(
            "nestor.wilke@example.com", "m365", at("2026-10-02T11:00:00"), ActivitySource.IDP_SIGNIN
        ),
    ]
    assert only(records, OAuthGrantRecord) == [
        OAuthGrantRecord(
            "adele.vance@example.com",
            "b2c3d4e5-0001-4000-8000-000000000001",  # the app's appId, not its service principal id
            "Acme Notes",
            ("Mail.Read", "Office 365 SharePoint Online: AllSites.Read", "User.Read", "offline_access"),
        ),
        OAuthGrantRecord(
            "megan.bowen@example.com",
            "a1b2c3d4-0003-4000-8000-000000000003",
            "service principal a1b2c3d4-0003-4000-8000-000000000003 (deleted?)",
            ("Files.Read",),
        ),
    ]  # the AllPrincipals consent, the deleted user's and the empty one are not stored
    checkpoints = only(records, Checkpoint)
    assert [(c.stream, c.complete) for c in checkpoints] == [
        ("subscribed_skus", True),
        ("users", False),
        ("users", False),
        ("users", True),
        ("usage_report", True),
        ("oauth_grants", True),
    ]
    assert len(only(records, CredentialRecord)) == 1  # the client secret's expiry, tested below


def test_usage_report_gives_activity_per_workload_dated_by_its_refresh(clock: FakeClock) -> None:
    fake = fake_on(clock)
    records = sync(fake, clock)

    report = [a for a in only(records, ActivityRecord) if a.source_kind is ActivitySource.REPORT]
    assert {a.observed_at for a in report} == {REFRESHED}  # the Report Refresh Date
    assert [(a.email, a.feature, a.last_seen_at) for a in report] == [
        ("adele.vance@example.com", "exchange", at("2026-11-18")),
        ("adele.vance@example.com", "onedrive", None),  # licensed, never used
        ("adele.vance@example.com", "sharepoint", at("2026-09-30")),
        ("adele.vance@example.com", "skype_for_business", None),
        ("adele.vance@example.com", "yammer", None),
        ("adele.vance@example.com", "teams", at("2026-11-17")),
        ("alex.wilber@example.com", "exchange", at("2023-06-16")),
        ("alex.wilber@example.com", "onedrive", None),
        ("alex.wilber@example.com", "sharepoint", None),
        ("alex.wilber@example.com", "skype_for_business", None),
        ("alex.wilber@example.com", "yammer", None),
        ("alex.wilber@example.com", "teams", None),
        ("megan.bowen@example.com", "exchange", None),
        ("megan.bowen@example.com", "teams", None),
        ("diego.siciliani@example.com", "exchange", at("2026-11-10")),  # unlicensed workloads: nothing
    ]  # the deleted user and the one GET /users did not list are left out
    # The 302 sent the client to another host for the CSV; httpx did not carry the token there.
    report_at = [r.url.path for r in fake.requests].index(REPORT)
    download = fake.requests[report_at + 1]
    assert str(download.url).startswith(f"{DOWNLOAD}/data/download/")
    assert "authorization" not in download.headers
    assert fake.statuses[report_at : report_at + 2] == [302, 200]


def test_usage_report_can_be_left_out(clock: FakeClock) -> None:
    fake = fake_on(clock)
    records = sync(fake, clock, read_usage_report=False, read_oauth_grants=False)
    assert {a.source_kind for a in only(records, ActivityRecord)} == {ActivitySource.IDP_SIGNIN}
    assert only(records, OAuthGrantRecord) == []
    assert not fake.graph_requests("/v1.0/reports/")
    assert not fake.graph_requests("/v1.0/oauth2PermissionGrants")


def test_usage_report_as_json_from_beta(clock: FakeClock) -> None:
    csv_records = sync(fake_on(clock), clock)
    fake = fake_on(clock, page_size=4)
    json_records = sync(fake, clock, usage_report_format="json")

    def report(records: list[Record]) -> list[ActivityRecord]:
        return [a for a in only(records, ActivityRecord) if a.source_kind is ActivitySource.REPORT]

    assert report(json_records) == report(csv_records)
    requests = fake.graph_requests("/beta/reports/")
    assert str(requests[0].url) == (
        f"{GRAPH}/beta/reports/getOffice365ActiveUserDetail(period='D30')?$format=application/json"
    )
    assert len(requests) == 2  # six rows, four per page
    assert "$skiptoken=" in str(requests[1].url)


def test_users_pages_follow_next_link_verbatim(clock: FakeClock) -> None:
    fake = fake_on(clock, page_size=2)
    sync(fake, clock, read_usage_report=False, read_oauth_grants=False)

    users = fake.graph_requests("/v1.0/users")
    assert str(users[0].url) == f"{GRAPH}{USERS_FIRST_PAGE},signInActivity&$top=500"
    # Each later request is exactly the @odata.nextLink the page before handed out, opaque
    # $skiptoken and all; the fake pages by two where Graph would by 500.
    assert [str(r.url) for r in users[1:]] == fake.next_links["users"]
    assert len(users) == 3
    assert all("&$skiptoken=RFNwdA" in link for link in fake.next_links["users"])
    # A $skiptoken the fake never handed out fails like Graph's expired page token.
    rebuilt = fake(
        httpx.Request(
            "GET",
            f"{GRAPH}/v1.0/users?$top=2&$skiptoken=2",
            headers={"Authorization": f"Bearer {_token(fake)}"},
        )
    )
    assert (rebuilt.status_code, rebuilt.json()["error"]["code"]) == (400, "Directory_ExpiredPageToken")


def _token(fake: GraphFake) -> str:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "scope": "https://graph.microsoft.com/.default"}  # fmt: skip
    response = fake(httpx.Request("POST", f"{LOGIN}/{TENANT_ID}/oauth2/v2.0/token", data=form))
    return str(response.json()["access_token"])


def test_tenant_without_entra_p1_falls_back_to_the_usage_report(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake = fake_on(clock, premium=False)
    with caplog.at_level(logging.INFO, logger="saaswatch.connector"):
        records = sync(fake, clock)

    assert only(records, RowProblem) == []
    users = [str(r.url) for r in fake.graph_requests("/v1.0/users")]
    assert users == [
        f"{GRAPH}{USERS_FIRST_PAGE},signInActivity&$top=500",
        f"{GRAPH}{USERS_FIRST_PAGE}&$top=999",
    ]
    assert "no Entra ID P1/P2" in caplog.text
    activity = only(records, ActivityRecord)
    assert {a.source_kind for a in activity} == {ActivitySource.REPORT}  # the lower-confidence source
    assert ("diego.siciliani@example.com", "exchange", at("2026-11-10"), REFRESHED) in [
        (a.email, a.feature, a.last_seen_at, a.observed_at) for a in activity
    ]
    assert len(only(records, SeatRecord)) == 7  # people, accounts and seats as with P1


def test_missing_audit_log_permission_reads_users_without_sign_ins_and_says_so(clock: FakeClock) -> None:
    records = sync(fake_on(clock, audit_log_allowed=False), clock, read_usage_report=False)
    problems = only(records, RowProblem)
    assert [p.where for p in problems] == ["GET /v1.0/users"]
    assert "HTTP 403 [Authorization_RequestDenied]" in problems[0].reason
    assert problems[0].reason.endswith(
        "signInActivity needs the AuditLog.Read.All application permission: users were read without sign-ins"
    )
    assert only(records, ActivityRecord) == []
    assert len(only(records, SeatRecord)) == 7


def test_non_premium_answer_on_a_later_page_restarts_the_listing_without_sign_ins(clock: FakeClock) -> None:
    # Licensed tenants have been seen to get the non-premium 403 intermittently (VENDOR_APIS.md 2.3).
    fake = fake_on(clock, page_size=4)
    fake.non_premium_from_page = 2
    records = sync(fake, clock, read_usage_report=False, read_oauth_grants=False)

    assert only(records, RowProblem) == []
    users = [str(r.url) for r in fake.graph_requests("/v1.0/users")]
    assert (users[2], len(users)) == (f"{GRAPH}{USERS_FIRST_PAGE}&$top=999", 4)  # 1, 2 refused, then 1 and 2
    assert fake.statuses.count(403) == 1
    assert {a.email for a in only(records, ActivityRecord)} == {
        "adele.vance@example.com",
        "alex.wilber@example.com",
        "megan.bowen@example.com",
        "lee.gu@partner.example",
    }
    assert len({a.external_id for a in only(records, AccountRecord)}) == 6


def test_concealed_report_names_are_one_problem_naming_the_setting(clock: FakeClock) -> None:
    records = sync(fake_on(clock, premium=False, concealed=True), clock)

    problems = only(records, RowProblem)
    assert len(problems) == 1
    assert problems[0].where == f"GET {REPORT}"
    assert problems[0].reason.startswith("6 of 6 rows: user names in the report are concealed")
    assert "Settings > Org settings > Services > Reports" in problems[0].reason
    assert "'Display concealed user, group, and site names in all reports'" in problems[0].reason
    assert only(records, ActivityRecord) == []
    assert len(only(records, AccountRecord)) == 6  # the rest of the run stands


def test_bad_report_rows_and_an_unexpected_report_are_problems(clock: FakeClock) -> None:
    rows = [
        report_row("adele.vance@example.com", "Adele Vance", licensed=("teams",), teams="17/11/2026"),
        report_row("megan.bowen@example.com", "Megan Bowen", licensed=("teams",), teams="2026-11-02"),
    ]
    records = sync(fake_on(clock, report=rows), clock, read_oauth_grants=False)
    assert [(p.where, p.reason) for p in only(records, RowProblem)] == [
        (f"GET {REPORT} row 2", "Teams Last Activity Date: not a date (yyyy-mm-dd): '17/11/2026'")
    ]
    report = [a for a in only(records, ActivityRecord) if a.source_kind is ActivitySource.REPORT]
    assert [(a.email, a.feature, a.last_seen_at) for a in report] == [
        ("megan.bowen@example.com", "teams", at("2026-11-02"))
    ]

    fake = fake_on(clock)
    fake.fault(
        "/v1.0/reports/", Reply(200, {"Content-Type": "application/octet-stream"}, "Foo,Bar\r\n1,2\r\n")
    )
    records = sync(fake, clock, read_oauth_grants=False)
    assert [(p.where, p.reason) for p in only(records, RowProblem)] == [
        (f"GET {REPORT}", "missing column(s): Report Refresh Date, User Principal Name")
    ]


def test_missing_report_permission_is_a_problem_not_a_failure(clock: FakeClock) -> None:
    records = sync(fake_on(clock, reports_allowed=False), clock)
    problems = only(records, RowProblem)
    assert [p.where for p in problems] == [f"GET {REPORT}"]
    assert "HTTP 403 [Authorization_RequestDenied]" in problems[0].reason
    assert problems[0].reason.endswith("the report needs the Reports.Read.All application permission")
    assert len(only(records, OAuthGrantRecord)) == 2  # consents were still read


def test_missing_consent_permissions_are_a_problem_not_a_failure(clock: FakeClock) -> None:
    fake = fake_on(clock)
    fake.fault("/v1.0/servicePrincipals/", FORBIDDEN)  # Application.Read.All missing
    records = sync(fake, clock)
    problems = only(records, RowProblem)
    assert [p.where for p in problems] == ["GET /v1.0/oauth2PermissionGrants"]
    assert problems[0].reason.endswith(
        "consents need the Directory.Read.All and Application.Read.All application permissions"
    )
    assert only(records, OAuthGrantRecord) == []
    assert len(only(records, AccountRecord)) == 6


# -- the client secret's expiry ------------------------------------------------------------------

APPLICATION = f"/v1.0/applications(appId='{CLIENT_ID}')"
DAY = timedelta(days=1)


def secrets_only(*secrets: dict[str, Any]) -> dict[str, Any]:
    """An app registration with these secrets and no certificate."""
    return {
        "id": "e1f2a3b4-0000-4000-8000-00000000a990",
        "appId": CLIENT_ID,
        "displayName": "saaswatch",
        "passwordCredentials": list(secrets),
        "keyCredentials": [],
    }


def secret(hint: str | None, start: datetime, end: datetime, number: int) -> dict[str, Any]:
    return password_credential(
        f"secret {number}", hint, start, end, f"0a1b2c3d-00{number:02d}-4000-8000-000000000000"
    )


def test_client_secret_expiry_is_read_from_the_app_registration(clock: FakeClock) -> None:
    fake = fake_on(clock)
    records = sync(fake, clock)

    # The secret signed in with, not the expired one before it nor the certificate ending sooner;
    # Graph's seven fractional digits are cut to microseconds.
    assert only(records, CredentialRecord) == [
        CredentialRecord("client secret", at("2027-06-08T08:00:00.123456"))
    ]
    assert only(records, RowProblem) == []
    requests = fake.graph_requests("/v1.0/applications")
    assert [str(r.url) for r in requests] == [f"{GRAPH}{APPLICATION}?$select=displayName,passwordCredentials"]
    # Read right after the SKUs, so that a failure later in the run still stores it.
    kinds = [type(r).__name__ for r in records]
    assert kinds.index("CredentialRecord") == kinds.index("Checkpoint") + 1


def test_the_secret_in_use_is_told_by_its_hint_else_the_earliest_end_is_reported(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.fromtimestamp(clock(), UTC)
    in_use = CLIENT_SECRET[:3]
    application = secrets_only(
        secret("Zr4", now - 300 * DAY, now + 20 * DAY, 1),  # another integration's, ending soon
        secret(in_use, now - 30 * DAY, now + 300 * DAY, 2),
        secret("Nw7", now - DAY, now + 700 * DAY, 3),  # made for the next rotation, not deployed yet
        secret(in_use, now + DAY, now + 900 * DAY, 4),  # not valid yet, so not the one signed in with
    )
    with caplog.at_level(logging.DEBUG):
        records = sync(fake_on(clock, application=application), clock)
    assert only(records, CredentialRecord) == [CredentialRecord("client secret", now + 300 * DAY)]

    # Without hints (secrets made before Graph kept them) the first to end among the valid ones: an
    # alert may come too early, never too late.
    for item in application["passwordCredentials"]:
        item["hint"] = None
    with caplog.at_level(logging.DEBUG):
        records = sync(fake_on(clock, application=application), clock)
    assert only(records, CredentialRecord) == [CredentialRecord("client secret", now + 20 * DAY)]
    assert 'reporting the earliest end of the 3 valid ones, "secret 1"' in caplog.text
    assert not any(hint in caplog.text for hint in (in_use, "Zr4", "Nw7"))  # hints are parts of secrets


def test_no_valid_secret_and_bad_dates(clock: FakeClock) -> None:
    now = datetime.fromtimestamp(clock(), UTC)
    expired = secret(CLIENT_SECRET[:3], now - 400 * DAY, now - DAY, 1)
    broken = secret(CLIENT_SECRET[:3], now - DAY, now + DAY, 2) | {"endDateTime": "next year"}
    records = sync(fake_on(clock, application=secrets_only(expired, broken)), clock)
    assert only(records, CredentialRecord) == []
    assert [(p.where, p.reason) for p in only(records, RowProblem)] == [
        (f"GET {APPLICATION} passwordCredentials item 2",
         "secret 0a1b2c3d-0002-4000-8000-000000000000: endDateTime: not a timestamp: 'next year'"),
    ]  # fmt: skip
    assert len(only(records, AccountRecord)) == 6


@pytest.mark.parametrize("case", ["forbidden", "registered_elsewhere"])
def test_unreadable_app_registration_is_logged_not_a_problem(
    clock: FakeClock, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    if case == "forbidden":  # Application.Read.All not consented
        fake = fake_on(clock, applications_allowed=False)
    else:  # a multi-tenant app: its registration lives in the tenant that publishes it
        fake = fake_on(clock, application=default_application(datetime.now(UTC)) | {"appId": "another"})
    with caplog.at_level(logging.INFO, logger="saaswatch.connector"):
        records = sync(fake, clock)
    assert only(records, CredentialRecord) == []
    assert only(records, RowProblem) == []
    assert len(only(records, AccountRecord)) == 6
    status = 403 if case == "forbidden" else 404
    assert f"HTTP {status}" in caplog.text
    assert "needs the Application.Read.All application permission" in caplog.text
    assert "credential_expires" in caplog.text  # the way out


def test_other_failures_reading_it_are_a_problem_not_a_failure(clock: FakeClock) -> None:
    fake = fake_on(clock)
    fake.fault("/v1.0/applications", unavailable(503, "1"), unavailable(503, "1"))
    records = Run(fake, clock, retry=RetryPolicy(max_attempts=2)).records()
    problems = only(records, RowProblem)
    assert [p.where for p in problems] == [f"GET {APPLICATION}"]
    assert "HTTP 503" in problems[0].reason
    assert problems[0].reason.endswith("the client secret's expiry is not reported")
    assert only(records, CredentialRecord) == []
    assert len(only(records, AccountRecord)) == 6


def test_an_answer_that_is_not_an_application_is_a_problem(clock: FakeClock) -> None:
    fake = fake_on(clock)
    fake.fault("/v1.0/applications", Reply(200, {"Content-Type": "text/html"}, "<html>Sign in</html>"))
    records = sync(fake, clock)
    assert [(p.where, p.reason) for p in only(records, RowProblem)] == [
        (f"GET {APPLICATION}", "not an application with a passwordCredentials list")
    ]
    assert only(records, CredentialRecord) == []
    assert len(only(records, AccountRecord)) == 6


def test_credential_expiry_can_be_left_out(clock: FakeClock) -> None:
    fake = fake_on(clock)
    records = sync(fake, clock, read_credential_expiry=False)
    assert only(records, CredentialRecord) == []
    assert not fake.graph_requests("/v1.0/applications")
    assert len(only(records, AccountRecord)) == 6


def test_token_is_renewed_before_it_expires(clock: FakeClock) -> None:
    # A 300 s leeway: a 400 s token is renewed once 100 s have passed (here: a 120 s Retry-After).
    fake = fake_on(clock, token_lifetime=400)
    fake.fault("/v1.0/users", throttled("120"))
    records = sync(fake, clock, read_usage_report=False, read_oauth_grants=False)

    assert len(only(records, AccountRecord)) == 6
    assert fake.token_requests == 2
    assert clock.sleeps == [120.0]
    assert 401 not in fake.statuses  # renewed ahead of time, not after a refusal


def test_revoked_token_is_renewed_once_after_a_401(clock: FakeClock) -> None:
    fake = fake_on(clock)
    fake.revoke_tokens_on = "/v1.0/users"
    records = sync(fake, clock, read_usage_report=False, read_oauth_grants=False)
    assert len(only(records, AccountRecord)) == 6
    assert fake.token_requests == 2
    assert len(fake.graph_requests("/v1.0/users")) == 2  # the 401 and its retry
    assert fake.statuses.count(401) == 1


def test_a_second_401_fails_the_run_without_leaking_the_token(clock: FakeClock) -> None:
    fake = fake_on(clock)
    unauthorized = Reply(
        401, {}, {"error": {"code": "InvalidAuthenticationToken", "message": "Lifetime validation failed."}}
    )
    fake.fault("/v1.0/subscribedSkus", unauthorized, unauthorized)
    with pytest.raises(VendorHTTPError) as caught:
        sync(fake, clock)
    assert caught.value.status == 401
    assert fake.token_requests == 2
    assert not any(token in str(caught.value) for token in fake.tokens)
    assert CLIENT_SECRET not in str(caught.value)


def test_throttling_with_and_without_retry_after_and_server_errors(clock: FakeClock) -> None:
    fake = fake_on(clock)
    fake.fault("/v1.0/users", throttled("7"), throttled(None), throttled(None))
    fake.fault("/v1.0/subscribedSkus", unavailable(503, "2"), unavailable(504, "3"))
    records = sync(fake, clock, read_usage_report=False, read_oauth_grants=False)

    assert len(only(records, AccountRecord)) == 6
    # 503 and 504 wait their Retry-After; 429 waits Retry-After when Graph sends it and backs off
    # exponentially when it does not (attempts 2 and 3 of the users request, jitter drawn at 0.5).
    assert clock.sleeps == [2.0, 3.0, 7.0, 1.0, 2.0]


def test_throttling_that_never_ends_fails_the_run(clock: FakeClock) -> None:
    fake = fake_on(clock)
    fake.fault("/v1.0/subscribedSkus", *[throttled("1")] * 3)
    with pytest.raises(RateLimitError, match=r"HTTP 429 \[TooManyRequests\]"):
        Run(fake, clock, retry=RetryPolicy(max_attempts=3)).records()


def test_bad_items_are_problems_naming_the_field(clock: FakeClock) -> None:
    users = [
        user(ADELE, "adele.vance@example.com", "Adele Vance", E5, created="last tuesday",
             signInActivity=sign_in("yesterday")),
        user(ALEX, "alex.wilber@example.com", "Alex Wilber", "00000000-0000-0000-0000-00000000beef",
             signInActivity=sign_in("2026-11-01T10:00:00Z")),
        {"userPrincipalName": "no.id@example.com"},
        user(MEGAN, "not-an-address", "Megan Bowen", mail=None),
        "a string",
        user(NESTOR, "nestor.wilke@example.com", "Nestor Wilke", E5,
             signInActivity=sign_in(None, "", "2026-11-01T10:00:00Z")),
    ]  # fmt: skip
    skus = [sku(E5, "SPE_E5", 5, 1), {"skuId": "x", "skuPartNumber": "SPB", "consumedUnits": 1}]
    grants = [{"clientId": "a1b2c3d4-0001-4000-8000-000000000001", "consentType": "Everyone", "scope": "x"}]
    records = sync(fake_on(clock, users=users, skus=skus, grants=grants, report=[]), clock)

    assert [(p.where, p.reason) for p in only(records, RowProblem)] == [
        ("GET /v1.0/subscribedSkus page 1 item 2", "prepaidUnits: missing (SPB)"),
        (f"GET /v1.0/users page 1, user {ADELE}",
         "createdDateTime: not a timestamp: 'last tuesday'; "
         "signInActivity.lastSuccessfulSignInDateTime: not a timestamp: 'yesterday'"),
        (f"GET /v1.0/users page 1, user {ALEX}",
         "assignedLicenses: skuId '00000000-0000-0000-0000-00000000beef' is not in subscribedSkus"),
        ("GET /v1.0/users page 1, a user without id", "id: missing"),
        (f"GET /v1.0/users page 1, user {MEGAN}",
         "userPrincipalName: not an e-mail address: 'not-an-address'"),
        ("GET /v1.0/users page 1, a user without id", "not a user object"),
        ("GET /v1.0/oauth2PermissionGrants page 1 item 1",
         "consentType: neither AllPrincipals nor Principal: 'Everyone'"),
    ]  # fmt: skip
    # A user with a fault is skipped whole, like a bad CSV row; the others still come through.
    assert [a.external_id for a in only(records, AccountRecord)] == [NESTOR]
    assert [(s.account_external_id, s.sku) for s in only(records, SeatRecord)] == [
        (NESTOR, "Microsoft 365 E5")
    ]
    assert only(records, ActivityRecord) == [
        ActivityRecord(
            "nestor.wilke@example.com", "m365", at("2026-11-01T10:00:00"), ActivitySource.IDP_SIGNIN
        )
    ]
    assert only(records, LicensePoolRecord) == [LicensePoolRecord("m365", "Microsoft 365 E5", 5, 1)]


def test_a_page_that_is_not_a_graph_collection_fails_the_run(clock: FakeClock) -> None:
    fake = fake_on(clock)
    fake.fault("/v1.0/users", Reply(200, {}, {"error": "not what Graph sends"}))
    with pytest.raises(Exception, match="without a 'value' list"):
        sync(fake, clock)
    fake = fake_on(clock)
    fake.fault("/v1.0/users", Reply(200, {"Content-Type": "text/html"}, "<html>Service Unavailable</html>"))
    with pytest.raises(PaginationError):
        sync(fake, clock)


def test_stop_request_ends_the_sync_between_pages(clock: FakeClock) -> None:
    fake = fake_on(clock, page_size=2)
    run = Run(fake, clock)
    seen: list[Record] = []
    for record in run.connector.sync(run.ctx):
        seen.append(record)
        if isinstance(record, Checkpoint) and record.stream == "users":
            run.ctx.stop.set()
    assert [c.stream for c in only(seen, Checkpoint)] == ["subscribed_skus", "users"]
    assert len(fake.graph_requests("/v1.0/users")) == 1
    assert not fake.graph_requests("/v1.0/reports/")


def test_wrong_secret_fails_with_a_redacted_error(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    fake = fake_on(clock)
    wrong = "Wr0ng~secret.value-that-must-not-leak"
    with caplog.at_level(logging.DEBUG), pytest.raises(VendorHTTPError) as caught:
        sync(fake, clock, client_secret=wrong)
    message = str(caught.value)
    assert message.startswith(
        f"microsoft365: POST {LOGIN}/{TENANT_ID}/oauth2/v2.0/token -> HTTP 401 [invalid_client]"
    )
    assert "AADSTS7000215" in message
    assert wrong not in message and wrong not in caplog.text
    assert CLIENT_SECRET not in caplog.text


def test_tokens_and_secret_never_reach_the_logs(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    fake = fake_on(clock)
    fake.fault("/v1.0/users", throttled(None))
    with caplog.at_level(logging.DEBUG):
        sync(fake, clock)
    assert fake.tokens
    assert not any(token in caplog.text for token in fake.tokens)
    assert CLIENT_SECRET not in caplog.text
    assert "rate limited (HTTP 429)" in caplog.text  # the logs were captured at all


# ------------------------------------------------------------------------------------------------
# Through the runner and the daemon, over real HTTP (FakeServer), into SQLite and PostgreSQL.


def graph_settings(server: FakeServer) -> dict[str, Any]:
    return {
        "tenant_id": TENANT_ID,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "login_base_url": server.url,
        "graph_base_url": server.url,
        "requests_per_second": 1000,
    }


def count(store: Store, model: type) -> int:
    with store.sessions() as session:
        return len(session.scalars(select(model)).all())


def test_failed_sync_keeps_previous_data_and_marks_the_source_stale(store: Store) -> None:
    fake = GraphFake(page_size=2, download_base=None)
    with FakeServer(fake) as server:
        connector = ConnectorConfig(
            id="microsoft365",
            name="m365",
            settings=Microsoft365Settings.model_validate(graph_settings(server)),
        )
        tenant = TenantConfig(id="m365-stale", name="Acme", connectors=[connector])
        apply_tenant_config(store, tenant)
        runner = SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")))
        assert runner.run(tenant, connector).status == "success"
        assert (count(store, Account), count(store, Seat), count(store, LicensePool)) == (6, 7, 5)

        fake.users[0]["displayName"] = "Adele Vance-Renamed"
        fake.fail_users_from_page = 2
        failed = runner.run(tenant, connector)

    assert failed.status == "failed"
    assert "HTTP 400 [Directory_ExpiredPageToken]" in (failed.error or "")
    assert CLIENT_SECRET not in (failed.error or "")
    # The first page of the failed run was committed; nothing was retired; the source is stale.
    assert (count(store, Account), count(store, Seat), count(store, LicensePool)) == (6, 7, 5)
    with store.sessions() as session:
        names = set(session.scalars(select(Person.display_name)))
        health = source_health(session, tenant, datetime.now(UTC))["m365"]
    assert "Adele Vance-Renamed" in names
    assert health.stale and health.reason == "last sync failed"


def test_missing_application_permission_leaves_the_run_a_success(store: Store) -> None:
    fake = GraphFake(applications_allowed=False, download_base=None)
    with FakeServer(fake) as server:
        connector = ConnectorConfig(
            id="microsoft365",
            name="m365",
            settings=Microsoft365Settings.model_validate(graph_settings(server)),
        )
        tenant = TenantConfig(id="m365-no-app-read", name="Acme", connectors=[connector])
        apply_tenant_config(store, tenant)
        run = SyncRunner(store, Config(tenants=[tenant], base_dir=Path("."))).run(tenant, connector)
    assert (run.status, run.problems) == ("success", [])
    assert fake.statuses.count(403) == 1
    assert count(store, Credential) == 0
    assert count(store, Account) == 6


def test_end_to_end_through_the_daemon(tmp_path: Path, store_url: str) -> None:
    fake = GraphFake(download_base=None)  # the report download is served by the same server
    (tmp_path / "m365.secret").write_text(CLIENT_SECRET + "\n")
    with FakeServer(fake) as server:
        config = write_config(
            tmp_path,
            f"""
database_url: "{{database_url}}"
metrics: {{listen: "{{metrics_listen}}"}}
tenants:
  - id: m365-e2e
    name: Contoso
    connectors:
      - id: microsoft365
        name: m365
        settings:
          tenant_id: {TENANT_ID}
          client_id: {CLIENT_ID}
          client_secret_file: m365.secret
          login_base_url: {server.url}
          graph_base_url: {server.url}
          requests_per_second: 1000
""",
            store_url,
        )
        run = sync_through_daemon(config, "m365-e2e", "m365")

    assert (run.status, run.problem_count, run.error) == ("success", 0, None)
    store = Store(store_url)
    try:
        with store.sessions() as session:
            people = {p.email: p.status for p in session.scalars(select(Person))}
            accounts = {(a.external_id, a.status, a.kind, a.email) for a in session.scalars(select(Account))}
            seats = sorted((s.sku, s.account_id) for s in session.scalars(select(Seat)))
            pools = {
                (p.sku, p.seats_purchased, p.seats_assigned) for p in session.scalars(select(LicensePool))
            }
            by_id = {p.id: p.email for p in session.scalars(select(Person))}
            activity = {
                (by_id[a.person_id], a.source_kind, a.feature, a.last_seen_at, a.observed_at)
                for a in session.scalars(select(Activity))
            }
            grants = [(by_id[g.person_id], g.app_name, g.scopes) for g in session.scalars(select(OAuthGrant))]
            credentials = [(c.source, c.name, c.expires_at) for c in session.scalars(select(Credential))]
    finally:
        store.dispose()

    assert people == {
        "adele.vance@example.com": "active",
        "alex.wilber@example.com": "suspended",
        "megan.bowen@example.com": "active",
        "lee.gu@partner.example": "active",
        "diego.siciliani@example.com": "active",
        "nestor.wilke@example.com": "active",
    }
    assert (LEE, "active", "guest", "lee.gu@partner.example") in accounts
    assert (ALEX, "blocked", "user", "alex.wilber@example.com") in accounts
    assert len(seats) == 7
    assert pools == {
        ("Microsoft 365 Business Standard", 10, 2),
        ("Microsoft 365 E5", 5, 3),
        ("Microsoft Power Automate Free", None, 1),
        ("Microsoft_Teams_Rooms_Pro", 1, 0),
        ("Power BI Pro", 2, 1),
    }
    signin = {(e, seen) for e, kind, _, seen, _ in activity if kind == "idp_signin"}
    assert signin == {
        ("adele.vance@example.com", at("2026-11-18T08:15:00")),
        ("alex.wilber@example.com", at("2023-06-17T16:41:33")),
        ("megan.bowen@example.com", None),
        ("lee.gu@partner.example", None),
        ("nestor.wilke@example.com", at("2026-10-02T11:00:00")),
    }
    assert ("adele.vance@example.com", "report", "teams", at("2026-11-17"), REFRESHED) in activity
    assert ("megan.bowen@example.com", "report", "exchange", None, REFRESHED) in activity
    assert len([a for a in activity if a[1] == "report"]) == 15
    assert grants == [
        ("adele.vance@example.com", "Acme Notes",
         ["Mail.Read", "Office 365 SharePoint Online: AllSites.Read", "User.Read", "offline_access"]),
        ("megan.bowen@example.com", "service principal a1b2c3d4-0003-4000-8000-000000000003 (deleted?)",
         ["Files.Read"]),
    ]  # fmt: skip
    # The secret signed in with, as the fake dated it (seven fractional digits, cut to six).
    stamp = fake.application["passwordCredentials"][1]["endDateTime"]
    assert credentials == [
        ("m365", "client secret", datetime.strptime(stamp[:26] + "Z", "%Y-%m-%dT%H:%M:%S.%f%z"))
    ]
