"""github: plan seats, members, outside collaborators and Copilot seats from a fake of the GitHub REST
API; Link-header and page-number paging, primary and secondary rate limits, bad payloads, a failure
mid-sync, and a run through the daemon."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from github_fake import (
    ORG,
    TOKEN,
    GitHubFake,
    gh_error,
    primary_limit,
    secondary_limit,
    server_error,
)
from harness import FakeServer, sync_through_daemon, write_config
from pydantic import ValidationError
from sqlalchemy import select

from collector.config import Config, ConnectorConfig, TenantConfig
from collector.connector import SyncContext
from collector.health import source_health
from collector.http import (
    PaginationLoopError,
    RateLimiterRegistry,
    RateLimitError,
    RetryPolicy,
    VendorHTTPError,
)
from collector.http.testing import FakeClock
from collector.models import Account, Activity, Credential, LicensePool, Person, Seat
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    CredentialRecord,
    LicensePoolRecord,
    Record,
    RowProblem,
    SeatRecord,
)
from collector.registry import get_connector
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config
from connectors.github import GitHubConnector
from connectors.github.client import GitHubShapeError, parse_token_expiration
from connectors.github.settings import GitHubSettings

R = TypeVar("R")
API = "https://ghe.example.test/api/v3"  # a GitHub Enterprise Server style base path
EMAILS = {
    "octo-alice": "Alice@Example.com",
    "Bob-Dev": "bob@example.com",  # logins are case-insensitive
    "carol-c": "carol@example.com",
    "dave-ops": "dave@example.com",
    "erin-e": "erin@example.com",
    "grace-h": "grace@example.com",
    "vendor-victor": "victor@vendor.example.org",
}
MEMBERS = ["bob-dev", "carol-c", "dave-ops", "erin-e", "frank-f", "grace-h", "octo-alice"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def make_settings(**overrides: Any) -> GitHubSettings:
    raw = {
        "token": TOKEN,
        "org": ORG,
        "base_url": API,
        "emails": EMAILS,
        "per_page": 3,
        "requests_per_second": 1000,
    }
    return GitHubSettings.model_validate(raw | overrides)


def sync(fake: GitHubFake, clock: FakeClock | None = None, **overrides: Any) -> list[Record]:
    clock = clock or FakeClock()
    connector = GitHubConnector(
        make_settings(**overrides),
        transport=httpx.MockTransport(fake),
        retry=RetryPolicy(max_attempts=4),
        clock=clock,
        sleep=clock.sleep,
        limiters=RateLimiterRegistry(clock=clock, sleep=clock.sleep),
    )
    return list(connector.sync(SyncContext(tenant_id="acme", source="github", base_dir=Path("."))))


def only(records: Sequence[Record], kind: type[R]) -> list[R]:
    return [r for r in records if isinstance(r, kind)]


def of_app(records: Sequence[Record], kind: type[R], app: str) -> list[R]:
    return [r for r in only(records, kind) if getattr(r, "app_id", None) == app]


# -- plan, members and outside collaborators -------------------------------------------------------------


def test_reads_the_plan_members_and_outside_collaborators_page_by_page() -> None:
    fake = GitHubFake()
    records = sync(fake, copilot="off")

    assert only(records, RowProblem) == []
    assert only(records, LicensePoolRecord) == [LicensePoolRecord("github", "GitHub Team", 12, 10)]
    accounts = {a.external_id: a for a in of_app(records, AccountRecord, "github")}
    assert sorted(accounts) == sorted([*MEMBERS, "contractor-zoe", "vendor-victor"])
    assert accounts["octo-alice"] == AccountRecord(
        app_id="github",
        external_id="octo-alice",
        email="alice@example.com",
        status="active",
        is_admin=True,
        kind="user",
    )
    assert accounts["bob-dev"].email == "bob@example.com"
    assert accounts["frank-f"].email is None  # not in the emails setting
    assert sorted(login for login, a in accounts.items() if a.is_admin) == ["grace-h", "octo-alice"]
    assert {login: a.kind for login, a in accounts.items() if a.kind != "user"} == {
        "contractor-zoe": "guest",
        "vendor-victor": "guest",
    }
    # Members and outside collaborators take seats of the plan.
    assert sorted(s.account_external_id for s in of_app(records, SeatRecord, "github")) == sorted(accounts)
    assert {s.sku for s in of_app(records, SeatRecord, "github")} == {"GitHub Team"}

    # 7 members at 3 a page: 3 pages, each next page taken from the Link header.
    members = [r.url for r in fake.calls("/members") if r.url.params.get("role") != "admin"]
    assert [u.params.get("page") for u in members] == [None, "2", "3"]
    assert {u.params["per_page"] for u in members} == {"3"}
    assert [r.url.params["role"] for r in fake.calls("/members") if "role" in r.url.params] == ["admin"]
    assert [(c.stream, c.complete) for c in only(records, Checkpoint)] == [
        ("plan", True),
        ("members", False),
        ("members", False),
        ("members", True),
        ("outside_collaborators", True),
    ]
    # The API version and the token go on every request, under the configured base path.
    assert {r.headers["x-github-api-version"] for r in fake.requests} == {"2022-11-28"}
    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {TOKEN}"}
    assert {r.url.path.split("/orgs/")[0] for r in fake.requests} == {"/api/v3"}


@pytest.mark.parametrize(
    ("name", "sku"),
    [
        ("team", "GitHub Team"),
        ("enterprise", "GitHub Enterprise"),
        ("business", "GitHub Enterprise"),
        ("pro_plus", "GitHub Pro Plus"),
    ],
)
def test_plan_names_become_skus(name: str, sku: str) -> None:
    fake = GitHubFake()
    fake.org["plan"]["name"] = name
    records = sync(fake, copilot="off", outside_collaborators=False)
    assert [p.sku for p in only(records, LicensePoolRecord)] == [sku]
    assert {s.sku for s in only(records, SeatRecord)} == {sku}


def test_plan_sku_overrides_the_name_to_match_a_contract() -> None:
    records = sync(GitHubFake(), copilot="off", plan_sku="GitHub Team (annual)")
    assert only(records, LicensePoolRecord) == [LicensePoolRecord("github", "GitHub Team (annual)", 12, 10)]


def test_a_free_organization_holds_no_paid_seats() -> None:
    fake = GitHubFake()
    fake.org["plan"] = {
        "name": "free",
        "space": 976562499,
        "private_repos": 10000,
        "filled_seats": 9,
        "seats": 0,
    }
    records = sync(fake, copilot="off")
    assert only(records, LicensePoolRecord) == [] and only(records, SeatRecord) == []
    assert len(only(records, AccountRecord)) == 9
    assert only(records, RowProblem) == []


def test_without_the_plan_accounts_land_and_one_problem_says_why() -> None:
    fake = GitHubFake()
    fake.plan_visible = False
    records = sync(fake, copilot="off")
    assert [p.where for p in only(records, RowProblem)] == [f"GET /orgs/{ORG}"]
    assert "GitHub shows the plan only to organization owners" in only(records, RowProblem)[0].reason
    assert only(records, SeatRecord) == [] and only(records, LicensePoolRecord) == []
    assert len(only(records, AccountRecord)) == 9

    with_sku = sync(fake, copilot="off", plan_sku="GitHub Enterprise")
    assert only(with_sku, RowProblem) == [] and only(with_sku, LicensePoolRecord) == []
    assert len(only(with_sku, SeatRecord)) == 9


def test_outside_collaborators_can_be_left_out() -> None:
    fake = GitHubFake()
    records = sync(fake, copilot="off", outside_collaborators=False)
    assert fake.calls("/outside_collaborators") == []
    assert sorted(a.external_id for a in only(records, AccountRecord)) == MEMBERS


def test_accounts_without_an_e_mail_are_noted_once(caplog: pytest.LogCaptureFixture) -> None:
    sync(GitHubFake(), copilot="off")
    notes = [r.getMessage() for r in caplog.records if "no e-mail" in r.getMessage()]
    assert notes == [
        "github: 2 of 9 accounts have no e-mail in the emails setting (frank-f, contractor-zoe): they "
        "cannot be joined to people, and their Copilot activity is not recorded"
    ]


# -- Copilot ------------------------------------------------------------------------------------------------


def test_reads_copilot_seats_with_last_activity_by_page_number() -> None:
    fake = GitHubFake()
    records = sync(fake, per_page=2)

    assert only(records, RowProblem) == []
    assert of_app(records, LicensePoolRecord, "github_copilot") == [
        LicensePoolRecord("github_copilot", "Copilot Business", 5, 5)
    ]
    seats = {s.account_external_id: s for s in of_app(records, SeatRecord, "github_copilot")}
    assert seats["octo-alice"] == SeatRecord(
        "github_copilot", "Copilot Business", "octo-alice", assigned_at=at("2026-01-10T18:00:00+00:00")
    )
    assert seats["carol-c"].pending_cancellation_on == date(2026, 12, 1)
    assert sorted(seats) == ["bob-dev", "carol-c", "dave-ops", "frank-f", "octo-alice"]
    accounts = {a.external_id: a.email for a in of_app(records, AccountRecord, "github_copilot")}
    assert accounts == {
        "octo-alice": "alice@example.com",
        "bob-dev": "bob@example.com",
        "carol-c": "carol@example.com",
        "dave-ops": "dave@example.com",
        "frank-f": None,
    }
    activity = {a.email: a for a in of_app(records, ActivityRecord, "github_copilot")}
    assert {e: a.last_seen_at for e, a in activity.items()} == {
        "alice@example.com": at("2026-11-18T09:58:12+00:00"),
        "bob@example.com": None,  # never used since the seat was assigned
        "carol@example.com": at("2026-09-30T23:20:00+00:00"),  # -07:00 in GitHub's answer
        "dave@example.com": at("2026-05-02T11:00:00+00:00"),
    }
    assert {a.source_kind for a in activity.values()} == {ActivitySource.APP_LOGIN}

    # 5 seats at 2 a page: pages 1-3; total_seats says when to stop.
    assert [r.url.params.get("page") for r in fake.calls("/copilot/billing/seats")] == [None, "2", "3"]
    assert [c.complete for c in only(records, Checkpoint) if c.stream == "copilot_seats"] == [
        False,
        False,
        True,
    ]


def test_seats_filling_the_last_page_exactly_cost_no_empty_page() -> None:
    fake = GitHubFake()
    fake.seats = fake.seats[:4]
    records = sync(fake, per_page=2)
    assert len(fake.calls("/copilot/billing/seats")) == 2
    assert len(of_app(records, SeatRecord, "github_copilot")) == 4


def test_an_organization_without_copilot_is_noted_once_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = GitHubFake()
    fake.copilot_billing = None
    records = sync(fake)
    assert only(records, RowProblem) == []
    assert of_app(records, SeatRecord, "github_copilot") == []
    assert len(of_app(records, SeatRecord, "github")) == 9
    notes = [r.getMessage() for r in caplog.records if "github copilot" in r.getMessage()]
    assert len(notes) == 1
    assert "answered HTTP 404 (Copilot Business is not enabled for this organization.)" in notes[0]
    assert fake.calls("/copilot/billing/seats") == []


def test_copilot_on_makes_its_absence_a_problem_and_off_never_asks() -> None:
    fake = GitHubFake()
    fake.copilot_billing = None
    records = sync(fake, copilot="on")
    assert [p.where for p in only(records, RowProblem)] == [f"GET /orgs/{ORG}/copilot/billing"]
    assert "GitHub Copilot Business (read)" in only(records, RowProblem)[0].reason

    untouched = GitHubFake()
    sync(untouched, copilot="off")
    assert untouched.calls("/copilot/billing") == []


def test_a_permission_error_on_copilot_is_not_retried() -> None:
    fake = GitHubFake()
    fake.inject("/copilot/billing", gh_error(403, "Resource not accessible by personal access token"))
    records = sync(fake, copilot="on")
    assert len(fake.calls("/copilot/billing")) == 1
    assert (
        "HTTP 403 (Resource not accessible by personal access token)" in only(records, RowProblem)[0].reason
    )


def test_bad_seats_are_row_problems_and_the_rest_still_lands() -> None:
    fake = GitHubFake()
    fake.seats[0]["last_activity_at"] = "yesterday"
    fake.seats[1]["assignee"] = None
    fake.seats[2]["pending_cancellation_date"] = "12/01/2026"
    fake.seats[3]["assignee"] = {"id": 7, "name": "Engineering", "slug": "eng"}
    fake.seats[4].pop("plan_type")  # the seat's plan then comes from the subscription's
    fake.copilot_billing = {"seat_breakdown": {"total": "five"}, "plan_type": "enterprise"}
    records = sync(fake, per_page=2)
    assert only(records, RowProblem) == [
        RowProblem(f"GET /orgs/{ORG}/copilot/billing", "seat_breakdown.total: expected a count, got 'five'"),
        RowProblem(
            f"GET /orgs/{ORG}/copilot/billing/seats page 1",
            "seats[0] (login octo-alice): last_activity_at: not an ISO 8601 time: 'yesterday'",
        ),
        RowProblem(f"GET /orgs/{ORG}/copilot/billing/seats page 1", "seats[1]: assignee: missing"),
        RowProblem(
            f"GET /orgs/{ORG}/copilot/billing/seats page 2",
            "seats[0] (login carol-c): pending_cancellation_date: not a YYYY-MM-DD date: '12/01/2026'",
        ),
        RowProblem(f"GET /orgs/{ORG}/copilot/billing/seats page 2", "seats[1]: assignee.login: missing"),
    ]
    assert [s.account_external_id for s in of_app(records, SeatRecord, "github_copilot")] == ["frank-f"]
    assert {s.sku for s in of_app(records, SeatRecord, "github_copilot")} == {"Copilot Enterprise"}


def test_bad_members_are_row_problems() -> None:
    fake = GitHubFake()
    fake.members[1] = {"id": 1002, "type": "User"}
    fake.members[4] = ["erin-e"]
    records = sync(fake, copilot="off")
    assert only(records, RowProblem) == [
        RowProblem(f"GET /orgs/{ORG}/members page 1", "[1]: login: missing"),
        RowProblem(f"GET /orgs/{ORG}/members page 2", "[1]: expected an object, got ['erin-e']"),
    ]
    assert len(of_app(records, AccountRecord, "github")) == 7


@pytest.mark.parametrize(
    ("suffix", "answer", "error"),
    [
        (
            "/orgs/acme-fake",
            httpx.Response(200, text="<html>Unicorn!</html>"),
            "did not answer a JSON object",
        ),
        (
            "/members",
            httpx.Response(200, json={"message": "odd"}),
            "a user listing did not answer a JSON array",
        ),
        ("/copilot/billing/seats", httpx.Response(200, json={"total_seats": 5}), "without a seats list"),
    ],
)
def test_a_malformed_answer_fails_the_run(suffix: str, answer: httpx.Response, error: str) -> None:
    fake = GitHubFake()
    fake.inject(suffix, answer)
    with pytest.raises(GitHubShapeError, match=error):
        sync(fake)


def test_a_next_link_handed_out_twice_stops_the_listing() -> None:
    fake = GitHubFake()
    fake.repeat_next_link = True
    with pytest.raises(PaginationLoopError):
        sync(fake, copilot="off")


# -- rate limits and errors ----------------------------------------------------------------------


def test_a_secondary_limit_and_server_errors_are_retried_after_retry_after() -> None:
    fake = GitHubFake()
    fake.inject("/members", secondary_limit(403, "60"), secondary_limit(429, "5"), server_error(502))
    clock = FakeClock()
    records = sync(fake, clock, copilot="off")
    assert only(records, RowProblem) == []
    assert len(only(records, AccountRecord)) == 9
    assert 60.0 in clock.sleeps and 5.0 in clock.sleeps
    assert len(fake.calls("/members")) == 1 + 3 + 3  # the admin page, three member pages, three refusals


def test_a_spent_primary_limit_waits_for_the_reset() -> None:
    clock = FakeClock()
    fake = GitHubFake(clock)
    fake.remaining, fake.reset_at = 0, clock.now + 30
    records = sync(fake, clock, copilot="off")
    assert len(only(records, AccountRecord)) == 9
    assert 31.0 in clock.sleeps  # until x-ratelimit-reset, plus a second for its resolution
    assert len(fake.calls(f"/orgs/{ORG}")) == 2  # refused once, then answered


def test_few_requests_left_pause_before_github_refuses() -> None:
    clock = FakeClock()
    fake = GitHubFake(clock)
    fake.remaining, fake.reset_at = 3, clock.now + 45
    records = sync(fake, clock, copilot="off")
    assert len(only(records, AccountRecord)) == 9
    # After the second answer only 2 were left: the limiter held the next request until the reset,
    # so GitHub never had to refuse one.
    assert 46.0 in clock.sleeps
    assert len(fake.requests) == 6


def test_a_primary_limit_resetting_in_an_hour_fails_the_run_saying_when() -> None:
    fake = GitHubFake()
    clock = FakeClock()
    fake.inject(f"/orgs/{ORG}", primary_limit(int(clock.now) + 3600))
    with pytest.raises(RateLimitError) as caught:
        sync(fake, clock)
    assert caught.value.status == 403 and caught.value.retry_after == 3601.0
    assert "more than the 300s limit" in str(caught.value)


def test_bad_credentials_fail_the_run_without_retrying() -> None:
    fake = GitHubFake()
    with pytest.raises(VendorHTTPError) as caught:
        sync(fake, token="github_pat_11WRONGWRONG0wrongwrongwrong_000000000000")
    assert (caught.value.status, caught.value.vendor_message, caught.value.attempts) == (
        401,
        "Bad credentials",
        1,
    )


# -- settings and secrets ------------------------------------------------------------------------


def test_the_token_expiry_github_reports_is_recorded_once() -> None:
    records = sync(GitHubFake())
    assert only(records, CredentialRecord) == [CredentialRecord("token", at("2027-01-15T09:30:00+00:00"))]


def test_a_token_without_expiry_records_none() -> None:
    fake = GitHubFake()
    fake.token_expiration = None  # a classic token made with "No expiration"
    assert only(sync(fake), CredentialRecord) == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2027-01-15 09:30:00 UTC", "2027-01-15T09:30:00+00:00"),
        ("2027-01-15 11:30:00 +0200", "2027-01-15T09:30:00+00:00"),
        ("next tuesday", None),
    ],
)
def test_token_expiration_headers_parse_or_are_ignored(header: str, expected: str | None) -> None:
    assert parse_token_expiration(header) == (at(expected) if expected else None)


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match=r"emails\.octo-alice: not an e-mail address"):
        make_settings(emails={"octo-alice": "alice"})
    with pytest.raises(ValidationError, match="per_page"):
        make_settings(per_page=101)
    with pytest.raises(ValidationError, match="org"):
        make_settings(org="acme/fake")
    with pytest.raises(ValidationError, match="extra"):
        make_settings(enterprise="acme")
    assert make_settings().email_of("BOB-DEV") == "bob@example.com"
    assert get_connector("github") is GitHubConnector
    assert GitHubConnector.scopes == ("Members: read", "Plan: read", "GitHub Copilot Business: read")


def test_the_token_never_reaches_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = GitHubFake()
    fake.inject("/members", server_error(503))
    sync(fake)
    wrong = "github_pat_11WRONGWRONG0wrongwrongwrong_111111111111"
    with pytest.raises(VendorHTTPError) as caught:
        sync(GitHubFake(), token=wrong)
    text = caplog.text + str(caught.value) + repr(make_settings())
    assert f"github: GET {API}/orgs/{ORG}/members" in caplog.text  # the retry was logged
    assert TOKEN not in text and wrong not in text


# -- through the sync runner and the daemon, against the fake over real HTTP ---------------------------------


def test_a_failure_mid_sync_keeps_the_previous_data_and_marks_the_source_stale(store: Store) -> None:
    fake = GitHubFake()
    with FakeServer(fake) as server:
        settings = make_settings(base_url=f"{server.url}/api/v3")
        connector = ConnectorConfig(id="github", settings=settings)
        tenant = TenantConfig(id="acme", name="Acme", connectors=[connector])
        apply_tenant_config(store, tenant)
        now = datetime.now(UTC)
        runner = SyncRunner(store, Config(tenants=[tenant]), clock=lambda: now)
        assert runner.run(tenant, connector).status == "success"
        # The token is revoked (or an installation token expires) while the members are read.
        fake.fail_at = ("/members", 2, gh_error(401, "Bad credentials"))
        failed = runner.run(tenant, connector)
    assert failed.status == "failed"
    assert "HTTP 401" in (failed.error or "") and "Bad credentials" in (failed.error or "")
    assert failed.records == 1 + 1 + 6  # the plan's pool, the token's expiry, page 1: three accounts + seats
    with store.sessions() as session:
        assert len(session.scalars(select(Account)).all()) == 9 + 5  # nothing retired
        assert len(session.scalars(select(Seat)).all()) == 9 + 5
        health = source_health(session, tenant, now)["github"]
    assert health.stale and health.reason == "last sync failed"


def test_sync_through_the_daemon_lands_accounts_seats_pools_and_copilot_activity(
    tmp_path: Path, store_url: str
) -> None:
    with FakeServer(GitHubFake()) as server:
        emails = "\n".join(f"            {login}: {email}" for login, email in EMAILS.items())
        config = write_config(
            tmp_path,
            f"""
database_url: "{{database_url}}"
metrics: {{listen: "{{metrics_listen}}"}}
tenants:
  - id: acme
    name: Acme
    connectors:
      - id: github
        settings:
          token: {TOKEN}
          org: {ORG}
          base_url: {server.url}/api/v3
          per_page: 3
          requests_per_second: 1000
          emails:
{emails}
    contracts:
      - {{app: github, sku: GitHub Team, seats: 12, unit_price: 4, billing_period: monthly}}
""",
            store_url,
        )
        run = sync_through_daemon(config, "acme", "github")
    assert (run.status, run.error) == ("success", None)
    store = Store(store_url)
    try:
        with store.sessions() as session:
            accounts = {
                (a.app_id, a.external_id): (a.email, a.kind, a.is_admin)
                for a in session.scalars(select(Account))
            }
            seats = sorted(
                (s.app_id, s.sku, ext, s.pending_cancellation_on)
                for s, ext in session.execute(
                    select(Seat, Account.external_id).join(Account, Seat.account_id == Account.id)
                )
            )
            pools = {
                (p.source, p.app_id, p.sku): (p.seats_purchased, p.seats_assigned)
                for p in session.scalars(select(LicensePool))
            }
            activity = {
                (email, app): seen
                for email, app, seen in session.execute(
                    select(Person.email, Activity.app_id, Activity.last_seen_at).join(
                        Person, Activity.person_id == Person.id
                    )
                )
            }
            people = set(session.scalars(select(Person.email)))
            credentials = {(c.source, c.name): c.expires_at for c in session.scalars(select(Credential))}
    finally:
        store.dispose()
    assert credentials == {("github", "token"): at("2027-01-15T09:30:00+00:00")}
    assert len(accounts) == 9 + 5
    assert accounts[("github", "octo-alice")] == ("alice@example.com", "user", True)
    assert accounts[("github", "contractor-zoe")] == (None, "guest", False)
    assert accounts[("github_copilot", "frank-f")] == (None, "user", None)
    assert [s for s in seats if s[0] == "github_copilot"] == [
        ("github_copilot", "Copilot Business", "bob-dev", None),
        ("github_copilot", "Copilot Business", "carol-c", date(2026, 12, 1)),
        ("github_copilot", "Copilot Business", "dave-ops", None),
        ("github_copilot", "Copilot Business", "frank-f", None),
        ("github_copilot", "Copilot Business", "octo-alice", None),
    ]
    assert len([s for s in seats if s[0] == "github"]) == 9
    assert pools == {
        ("github", "github", "GitHub Team"): (12, 10),
        ("github", "github_copilot", "Copilot Business"): (5, 5),
        ("contract", "github", "GitHub Team"): (12, None),
    }
    assert activity == {
        ("alice@example.com", "github_copilot"): at("2026-11-18T09:58:12+00:00"),
        ("bob@example.com", "github_copilot"): None,
        ("carol@example.com", "github_copilot"): at("2026-09-30T23:20:00+00:00"),
        ("dave@example.com", "github_copilot"): at("2026-05-02T11:00:00+00:00"),
    }
    assert people == {e.lower() for e in EMAILS.values()}
