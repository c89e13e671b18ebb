"""salesforce: license pools, users, seats and last logins from a fake of the Salesforce REST API;
SOQL paging, token renewal, the daily API allocation, integration users, bad records, a failure
mid-sync, and a run through the daemon."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest
from harness import FakeServer, sync_through_daemon, write_config
from pydantic import ValidationError
from salesforce_fake import (
    CLIENT_ID,
    CLIENT_SECRET,
    SalesforceFake,
    insufficient_access,
    load,
    unavailable,
)
from sqlalchemy import select

from collector.config import Config, ConnectorConfig, TenantConfig
from collector.connector import SyncContext
from collector.health import source_health
from collector.http import RateLimiterRegistry, RetryPolicy, VendorHTTPError
from collector.http.testing import FakeClock
from collector.models import Account, Activity, LicensePool, Person, Seat
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    LicensePoolRecord,
    PersonRecord,
    Record,
    RowProblem,
    SeatRecord,
)
from collector.registry import get_connector
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config
from connectors.salesforce import SalesforceConnector
from connectors.salesforce.client import SalesforceError, SalesforceLimitError
from connectors.salesforce.settings import SalesforceSettings

R = TypeVar("R")
DOMAIN = "https://acme.my.salesforce.test"
ALICE, BOB, CAROL, DAVE = (f"005xx0000012{i:03d}AAA" for i in (1, 2, 3, 4))
MARKETO, PLATFORM, AUTOPROC, GUEST, PARTNER, ETL = (f"005xx0000012{i:03d}AAA" for i in range(5, 11))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_settings(**overrides: Any) -> SalesforceSettings:
    raw: dict[str, Any] = {"my_domain_url": DOMAIN, "requests_per_second": 1000}
    if "access_token" not in overrides:
        raw |= {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    return SalesforceSettings.model_validate(raw | overrides)


def records_of(fake: SalesforceFake, clock: FakeClock | None = None, **overrides: Any) -> Iterator[Record]:
    clock = clock or FakeClock()
    connector = SalesforceConnector(
        make_settings(**overrides),
        transport=httpx.MockTransport(fake),
        retry=RetryPolicy(max_attempts=3),
        clock=clock,
        sleep=clock.sleep,
        limiters=RateLimiterRegistry(clock=clock, sleep=clock.sleep),
    )
    return connector.sync(SyncContext(tenant_id="acme", source="salesforce", base_dir=Path(".")))


def sync(fake: SalesforceFake, clock: FakeClock | None = None, **overrides: Any) -> list[Record]:
    return list(records_of(fake, clock, **overrides))


def only(records: Sequence[Record], kind: type[R]) -> list[R]:
    return [r for r in records if isinstance(r, kind)]


def api_requests(fake: SalesforceFake) -> list[httpx.Request]:
    return [r for r in fake.requests if r.url.path.startswith("/services/data/")]


def test_reads_pools_users_seats_and_logins_page_by_page() -> None:
    fake = SalesforceFake(batch_size=3)
    records = sync(fake)
    assert only(records, RowProblem) == []

    assert only(records, LicensePoolRecord) == [
        LicensePoolRecord("salesforce", "Salesforce", 10, 3),
        LicensePoolRecord("salesforce", "Salesforce Platform", 5, 1),
        LicensePoolRecord("salesforce", "Salesforce Integration", 5, 2),
        LicensePoolRecord("salesforce", "Guest User License", 25, 1),
        LicensePoolRecord("salesforce", "Partner Community", 20, 1),
        LicensePoolRecord("salesforce", "Chatter Free", 5000, 0),
    ]  # the Disabled Work.com license is skipped

    accounts = {a.external_id: a for a in only(records, AccountRecord)}
    assert accounts[ALICE] == AccountRecord(
        app_id="salesforce",
        external_id=ALICE,
        email="alice.ng@example.com",
        status="active",
        is_admin=True,
        created_at=at("2021-03-14T16:20:05"),
        kind="user",
    )
    assert accounts[DAVE].status == "inactive"
    assert {i: (a.kind, a.email) for i, a in accounts.items() if a.kind != "user"} == {
        MARKETO: ("service", None),  # API only, and it carries Alice's address: not joined to her
        PLATFORM: ("service", None),
        AUTOPROC: ("service", None),
        GUEST: ("service", None),
        PARTNER: ("guest", "pat@partner.example.com"),
    }

    assert sorted((s.account_external_id, s.sku) for s in only(records, SeatRecord)) == [
        (ALICE, "Salesforce"),
        (BOB, "Salesforce"),
        (CAROL, "Salesforce Platform"),
        (MARKETO, "Salesforce Integration"),
        (PLATFORM, "Salesforce Integration"),
        (GUEST, "Guest User License"),
        (PARTNER, "Partner Community"),
        (ETL, "Salesforce"),
    ]  # Dave is deactivated (no license); the Automated Process user has no profile

    seen = {a.email: a.last_seen_at for a in only(records, ActivityRecord)}
    assert seen == {
        "alice.ng@example.com": at("2026-11-18T09:58:12"),
        "bob@example.com": None,  # LastLoginDate null: never logged in
        "carol@example.com": at("2026-05-10T14:03:44"),
        "dave@example.com": at("2025-08-01T07:15:00"),
        "pat@partner.example.com": at("2026-09-30T12:00:00"),
        "it-admins@example.com": at("2026-11-20T05:00:00"),
    }  # no service account looks like an active human
    assert {a.source_kind for a in only(records, ActivityRecord)} == {ActivitySource.APP_LOGIN}
    assert sorted(p.email for p in only(records, PersonRecord)) == [
        "alice.ng@example.com",
        "bob@example.com",
        "carol@example.com",
        "dave@example.com",
        "it-admins@example.com",
    ]

    paths = [r.url.path.rsplit("/", 1)[-1] for r in api_requests(fake)]
    assert paths == [
        "query",
        "01gxx0000002HU6KIAW_UserLicense-3",
        "01gxx0000002HU6KIAW_UserLicense-6",
        "query",
        "01gxx0000002HU6KIAW_User-3",
        "01gxx0000002HU6KIAW_User-6",
        "01gxx0000002HU6KIAW_User-9",
    ]
    assert "FROM UserLicense" in api_requests(fake)[0].url.params["q"]
    assert [(c.stream, c.complete) for c in only(records, Checkpoint)] == [
        ("user_licenses", False),
        ("user_licenses", False),
        ("user_licenses", True),
        ("users", False),
        ("users", False),
        ("users", False),
        ("users", True),
    ]


def test_listed_usernames_are_service_accounts() -> None:
    records = sync(SalesforceFake(), service_usernames=["ETL@example.com.acme"])
    etl = next(a for a in only(records, AccountRecord) if a.external_id == ETL)
    assert (etl.kind, etl.email) == ("service", None)
    assert "it-admins@example.com" not in {a.email for a in only(records, ActivityRecord)}
    assert (ETL, "Salesforce") in {(s.account_external_id, s.sku) for s in only(records, SeatRecord)}


def test_client_credentials_token_renewed_once_after_invalid_session() -> None:
    fake = SalesforceFake(batch_size=3)
    fake.revoke_sessions_after = 2
    records = sync(fake)
    assert len(fake.tokens_issued) == 2
    assert only(records, RowProblem) == [] and len(only(records, AccountRecord)) == 10
    token_calls = [r for r in fake.requests if r.url.path == "/services/oauth2/token"]
    form = parse_qs(token_calls[0].content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }
    assert api_requests(fake)[-1].headers["authorization"] == f"Bearer {fake.tokens_issued[1]}"


def test_a_pre_issued_access_token_is_used_and_cannot_be_renewed() -> None:
    token = "00Dxx0000001gGG!AQ4AQPreIssuedToken.0123456789abcdef"
    fake = SalesforceFake()
    fake.static_tokens.add(token)
    records = sync(fake, access_token=token)
    assert len(only(records, AccountRecord)) == 10
    assert fake.tokens_issued == []
    fake.revoke_sessions_after = 0
    with pytest.raises(VendorHTTPError) as caught:
        sync(fake, access_token=token)
    assert (caught.value.status, caught.value.vendor_code) == (401, "INVALID_SESSION_ID")
    assert token not in str(caught.value)


def test_server_unavailable_is_retried() -> None:
    fake = SalesforceFake()
    fake.inject("User", unavailable(), unavailable())
    clock = FakeClock()
    records = sync(fake, clock)
    assert only(records, RowProblem) == [] and len(only(records, AccountRecord)) == 10
    assert len(clock.sleeps) == 2
    assert len(api_requests(fake)) == 2 + 2


def test_the_run_stops_before_spending_the_api_reserve() -> None:
    # 10% of 15,000 is kept: the run may go on while more than 1,500 requests are left.
    fake = SalesforceFake(batch_size=3, api_used=13495)
    seen: list[Record] = []
    with pytest.raises(SalesforceLimitError) as caught:
        for record in records_of(fake):
            seen.append(record)
    assert str(caught.value).startswith(
        "salesforce: the org's daily API allocation is nearly used up: 13500 of 15000 requests in the "
        "last 24 hours, 1500 left, which is within the reserve of 1500 (10% kept for the org's other "
        "integrations); stopping before the next page of User."
    )
    assert len(api_requests(fake)) == 5  # three pages of licenses, two of users
    assert [c.stream for c in only(seen, Checkpoint)] == ["user_licenses"] * 3 + ["users"] * 2


def test_request_limit_exceeded_fails_the_run_clearly() -> None:
    fake = SalesforceFake(api_used=15000, api_limit=15000)
    clock = FakeClock()
    with pytest.raises(SalesforceLimitError) as caught:
        sync(fake, clock)
    message = str(caught.value)
    assert "Salesforce refused the query of UserLicense: the org's daily API allocation is used up" in message
    assert "[REQUEST_LIMIT_EXCEEDED] TotalRequests Limit exceeded." in message
    assert len(api_requests(fake)) == 1 and clock.sleeps == []  # not retried


def test_user_licenses_without_permission_are_reported_and_users_still_read() -> None:
    fake = SalesforceFake()
    fake.inject("UserLicense", insufficient_access())
    records = sync(fake)
    problems = only(records, RowProblem)
    assert [p.where for p in problems] == ["GET /query (UserLicense)"]
    assert "[INSUFFICIENT_ACCESS]" in problems[0].reason
    assert "View Setup and Configuration" in problems[0].reason
    assert only(records, LicensePoolRecord) == [] and len(only(records, AccountRecord)) == 10


def test_bad_records_are_row_problems_naming_the_field() -> None:
    users = load("users.json")[:2]
    users[1] = users[1] | {"Email": None}
    users += [
        load("users.json")[2] | {"LastLoginDate": "last Tuesday"},
        load("users.json")[3] | {"IsActive": "yes"},
        42,
    ]
    licenses = [*load("user_licenses.json")[:1], load("user_licenses.json")[1] | {"TotalLicenses": -1}]
    records = sync(SalesforceFake(users=users, licenses=licenses, batch_size=3))
    assert only(records, RowProblem) == [
        RowProblem(
            "GET /query (UserLicense) page 1",
            "records[1] (Id 100xx0000000002AAA): TotalLicenses: expected a count, got -1",
        ),
        RowProblem("GET /query (User) page 1", f"records[1] (Id {BOB}): Email: missing"),
        RowProblem(
            "GET /query (User) page 1",
            f"records[2] (Id {CAROL}): LastLoginDate: not a date and time: 'last Tuesday'",
        ),
        RowProblem(
            "GET /query (User) page 2", f"records[0] (Id {DAVE}): IsActive: expected true or false, got 'yes'"
        ),
        RowProblem("GET /query (User) page 2", "records[1]: expected a record, got 42"),
    ]
    assert [a.external_id for a in only(records, AccountRecord)] == [ALICE]
    assert len(only(records, LicensePoolRecord)) == 1


def test_a_page_without_records_fails_the_run() -> None:
    fake = SalesforceFake()
    fake.inject("User", httpx.Response(200, json={"totalSize": 10, "done": True}))
    with pytest.raises(SalesforceError, match="a query page came without a records list"):
        sync(fake)


def test_a_stop_request_ends_the_sync_after_the_page_in_hand() -> None:
    fake = SalesforceFake(batch_size=3)
    clock = FakeClock()
    connector = SalesforceConnector(
        make_settings(),
        transport=httpx.MockTransport(fake),
        clock=clock,
        sleep=clock.sleep,
        limiters=RateLimiterRegistry(clock=clock, sleep=clock.sleep),
    )
    ctx = SyncContext(tenant_id="acme", source="salesforce", base_dir=Path("."))
    records: list[Record] = []
    for record in connector.sync(ctx):
        records.append(record)
        if isinstance(record, LicensePoolRecord):
            ctx.stop.set()  # SIGTERM while the first page is being read
    assert len(api_requests(fake)) == 1
    assert [c.stream for c in only(records, Checkpoint)] == ["user_licenses"]


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="either client_id and client_secret, or access_token"):
        make_settings(access_token="x", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    with pytest.raises(ValidationError, match="client_id and client_secret go together"):
        SalesforceSettings.model_validate({"my_domain_url": DOMAIN, "client_id": CLIENT_ID})
    with pytest.raises(ValidationError, match="api_version"):
        make_settings(api_version="v62")
    settings = make_settings(api_version="60.0")
    assert settings.api_url == f"{DOMAIN}/services/data/v60.0/"
    assert settings.token_url == f"{DOMAIN}/services/oauth2/token"
    assert get_connector("salesforce") is SalesforceConnector


def test_secrets_never_reach_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = SalesforceFake()
    fake.inject("User", unavailable())
    sync(fake)
    wrong_secret = "WRONG0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF01234567"
    with pytest.raises(VendorHTTPError) as caught:
        sync(SalesforceFake(), client_secret=wrong_secret)
    assert (caught.value.status, caught.value.vendor_code) == (400, "invalid_client")
    text = caplog.text + str(caught.value)
    assert "salesforce: GET https://acme.my.salesforce.test/services/data/v62.0/query" in caplog.text
    for secret in (CLIENT_ID, CLIENT_SECRET, wrong_secret, *fake.tokens_issued):
        assert secret not in text


# -- through the sync runner and the daemon, against the fake over real HTTP ---------------------------


def test_a_failure_mid_sync_keeps_the_previous_data_and_marks_the_source_stale(store: Store) -> None:
    fake = SalesforceFake(batch_size=4)
    with FakeServer(fake) as server:
        settings = SalesforceSettings.model_validate(
            {
                "my_domain_url": server.url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "requests_per_second": 100,
            }
        )
        connector = ConnectorConfig(id="salesforce", settings=settings)
        tenant = TenantConfig(id="acme", name="Acme", connectors=[connector])
        apply_tenant_config(store, tenant)
        now = datetime.now(UTC)
        runner = SyncRunner(store, Config(tenants=[tenant]), clock=lambda: now)
        assert runner.run(tenant, connector).status == "success"
        # Query locators expire after about 15 minutes unused; this one is gone before page 3.
        fake.expire_locator_at_offset = 8
        failed = runner.run(tenant, connector)
    assert failed.status == "failed"
    assert "HTTP 400 [INVALID_QUERY_LOCATOR] invalid query locator" in (failed.error or "")
    assert failed.records == 6 + 15 + 7  # the pools and two pages of users were committed
    with store.sessions() as session:
        assert len(session.scalars(select(Account)).all()) == 10  # nothing retired
        assert len(session.scalars(select(Seat)).all()) == 8
        assert len(session.scalars(select(LicensePool).where(LicensePool.source == "salesforce")).all()) == 6
        health = source_health(session, tenant, now)["salesforce"]
    assert health.stale and health.reason == "last sync failed"


def test_sync_through_the_daemon_lands_accounts_seats_pools_and_activity(
    tmp_path: Path, store_url: str
) -> None:
    (tmp_path / "sf_secret").write_text(CLIENT_SECRET + "\n")
    with FakeServer(SalesforceFake(batch_size=4)) as server:
        config = write_config(
            tmp_path,
            f"""
database_url: "{{database_url}}"
metrics: {{listen: "{{metrics_listen}}"}}
tenants:
  - id: acme
    name: Acme
    connectors:
      - id: salesforce
        name: sfdc
        settings:
          my_domain_url: {server.url}
          client_id: {CLIENT_ID}
          client_secret_file: sf_secret
""",
            store_url,
        )
        run = sync_through_daemon(config, "acme", "sfdc")
    assert (run.status, run.error) == ("success", None)
    store = Store(store_url)
    try:
        with store.sessions() as session:
            accounts = {
                a.external_id: (a.kind, a.email, a.person_id is not None)
                for a in session.scalars(select(Account))
            }
            seats = sorted(
                (sku, external_id)
                for sku, external_id in session.execute(
                    select(Seat.sku, Account.external_id).join(Account, Seat.account_id == Account.id)
                )
            )
            pools = {
                p.sku: (p.seats_purchased, p.seats_assigned)
                for p in session.scalars(select(LicensePool).where(LicensePool.source == "sfdc"))
            }
            activity = dict(
                session.execute(
                    select(Person.email, Activity.last_seen_at).join(Person, Activity.person_id == Person.id)
                ).all()
            )
            people = set(session.scalars(select(Person.email)))
    finally:
        store.dispose()
    assert accounts[MARKETO] == ("service", None, False)
    assert accounts[ALICE] == ("user", "alice.ng@example.com", True)
    assert accounts[PARTNER] == ("guest", "pat@partner.example.com", True)
    assert len(seats) == 8 and ("Salesforce Integration", MARKETO) in seats
    assert pools["Salesforce"] == (10, 3) and len(pools) == 6
    assert activity == {
        "alice.ng@example.com": at("2026-11-18T09:58:12"),
        "bob@example.com": None,
        "carol@example.com": at("2026-05-10T14:03:44"),
        "dave@example.com": at("2025-08-01T07:15:00"),
        "pat@partner.example.com": at("2026-09-30T12:00:00"),
        "it-admins@example.com": at("2026-11-20T05:00:00"),
    }
    assert "noreply@00dxx0000001ggg.example.com" not in people  # service identities are not people
