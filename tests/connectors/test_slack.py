"""slack: members, billable seats and Enterprise Grid activity from a fake of the Slack Web API; cursor
paging, ok: false errors, 429 with Retry-After, bad payloads, incremental analytics, a failure
mid-sync, and a run through the daemon."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from harness import FakeServer, sync_through_daemon, write_config
from pydantic import ValidationError
from slack_fake import TOKEN, SlackFake, analytics_ending, load, not_ok, ratelimited, server_error
from sqlalchemy import select

from collector.config import Config, ConnectorConfig, TenantConfig
from collector.connector import SyncContext
from collector.health import source_health
from collector.http import PaginationLoopError, RateLimiterRegistry, RateLimitError, RetryPolicy
from collector.http.testing import FakeClock
from collector.models import Account, Activity, LicensePool, Person, Seat, SyncState
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    BillingPeriod,
    Checkpoint,
    Commitment,
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
from connectors.slack import SlackConnector
from connectors.slack.billing import SlackShapeError
from connectors.slack.client import SlackAPIError
from connectors.slack.settings import SlackSettings

R = TypeVar("R")
API = "https://slack.test/api/"
SKU = "Slack Business+"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the fake's newest analytics file is 2026-11-18
HUMANS = {
    "U02UCPE1R": "alice.ng@example.com",
    "U02UEBSD2": "bob@example.com",
    "U0632EWRW": "carol@example.com",
    "U07DAVE01": "dave@partner.example.org",
    "U07ERIN01": "erin@partner.example.org",
    "U07FRANK1": "frank@example.com",
    "U07GRACE1": "grace@example.com",
    "U07HEIDI1": "heidi@example.com",
}


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def make_settings(**overrides: Any) -> SlackSettings:
    raw = {"token": TOKEN, "base_url": API, "sku": SKU, "page_size": 3, "requests_per_minute": 60000}
    return SlackSettings.model_validate(raw | overrides)


def sync(
    fake: SlackFake,
    clock: FakeClock | None = None,
    cursors: dict[str, dict[str, Any]] | None = None,
    **overrides: Any,
) -> list[Record]:
    clock = clock or FakeClock()
    connector = SlackConnector(
        make_settings(**overrides),
        transport=httpx.MockTransport(fake),
        retry=RetryPolicy(max_attempts=4),
        clock=clock,
        sleep=clock.sleep,
        limiters=RateLimiterRegistry(clock=clock, sleep=clock.sleep),
    )
    ctx = SyncContext(
        tenant_id="acme", source="slack", base_dir=Path("."), cursors=cursors or {}, clock=lambda: NOW
    )
    return list(connector.sync(ctx))


def only(records: Sequence[Record], kind: type[R]) -> list[R]:
    return [r for r in records if isinstance(r, kind)]


def last_seen(records: Sequence[Record]) -> dict[str, datetime | None]:
    seen: dict[str, datetime | None] = {}
    for a in only(records, ActivityRecord):
        known = seen.get(a.email)
        seen[a.email] = (
            a.last_seen_at if known is None or (a.last_seen_at and a.last_seen_at > known) else known
        )
    return seen


def file_dates(fake: SlackFake) -> list[str]:
    return [r.url.params["date"] for r in fake.calls("admin.analytics.getFile")]


# -- members, seats and the pool ---------------------------------------------------------------------


def test_reads_members_billable_seats_and_the_pool_page_by_page() -> None:
    fake = SlackFake()
    records = sync(fake, analytics="off")

    assert only(records, RowProblem) == []
    accounts = {a.external_id: a for a in only(records, AccountRecord)}
    assert len(accounts) == 10
    assert accounts["U02UCPE1R"] == AccountRecord(
        app_id="slack",
        external_id="U02UCPE1R",
        email="alice.ng@example.com",
        status="active",
        is_admin=True,
        mfa_enabled=True,
        kind="user",
    )
    kinds = {a.external_id: a.kind for a in accounts.values()}
    assert kinds == {
        **dict.fromkeys(HUMANS, "user"),
        "U07DAVE01": "guest",  # multi-channel guest
        "U07ERIN01": "guest",  # single-channel guest
        "U07DEPLOY": "bot",
        "USLACKBOT": "bot",  # Slackbot says is_bot: false
    }
    # Bots are no people: no e-mail, no person, even where the profile would have one.
    assert accounts["U07DEPLOY"].email is None and accounts["USLACKBOT"].email is None
    assert {u: a.status for u, a in accounts.items() if a.status != "active"} == {
        "U07FRANK1": "deleted",
        "U07HEIDI1": "invited",
    }
    assert sorted(u for u, a in accounts.items() if a.is_admin) == ["U02UCPE1R", "U07GRACE1"]
    assert (accounts["U02UEBSD2"].mfa_enabled, accounts["U07DAVE01"].mfa_enabled) == (False, None)

    # Billable members (Fair Billing Policy) hold a seat of the plan named in the settings.
    assert sorted((s.account_external_id, s.sku) for s in only(records, SeatRecord)) == [
        ("U02UCPE1R", SKU),
        ("U02UEBSD2", SKU),
        ("U07DAVE01", SKU),
        ("U07GRACE1", SKU),
    ]
    assert only(records, LicensePoolRecord) == [LicensePoolRecord("slack", SKU, None, 4)]

    people = {p.email: p.display_name for p in only(records, PersonRecord)}
    assert set(people) == set(HUMANS.values())  # deleted and invited members included
    assert people["alice.ng@example.com"] == "Alice Ng"
    assert people["frank@example.com"] == "Frank Moss"
    assert people["heidi@example.com"] is None  # "" is no name
    assert only(records, ActivityRecord) == []

    # 10 members at 3 a page: 4 pages, each after the first asking for the cursor Slack gave.
    users = fake.calls("users.list")
    assert [u.url.params.get("cursor") is not None for u in users] == [False, True, True, True]
    assert {u.url.params["limit"] for u in users} == {"3"}
    assert len(fake.calls("team.billableInfo")) == 3  # 8 entries at 3 a page
    assert [(c.stream, c.complete) for c in only(records, Checkpoint)] == [
        ("billable_info", True),
        ("users", False),
        ("users", False),
        ("users", False),
        ("users", True),
    ]
    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {TOKEN}"}


def test_the_pool_takes_purchase_and_price_from_the_settings() -> None:
    records = sync(
        SlackFake(),
        analytics="off",
        seats_purchased=10,
        unit_price="12.50",
        currency="EUR",
        billing_period="monthly",
        commitment="annual",
    )
    assert only(records, LicensePoolRecord) == [
        LicensePoolRecord(
            "slack",
            SKU,
            seats_purchased=10,
            seats_assigned=4,
            unit_price=Decimal("12.50"),
            currency="EUR",
            billing_period=BillingPeriod.MONTHLY,
            commitment=Commitment.ANNUAL,
        )
    ]


def test_an_org_token_names_the_workspace() -> None:
    fake = SlackFake()
    sync(fake, analytics="off", team_id="T0FAKE001")
    assert {r.url.params["team_id"] for r in fake.calls("users.list") + fake.calls("team.billableInfo")} == {
        "T0FAKE001"
    }


def test_without_users_read_email_one_problem_names_the_scope() -> None:
    fake = SlackFake()
    fake.scopes = "admin,users:read"
    records = sync(fake, analytics="off")
    assert only(records, RowProblem) == [
        RowProblem(
            "users.list",
            "8 member(s) without an e-mail address "
            "(U02UCPE1R, U02UEBSD2, U0632EWRW, U07DAVE01, U07ERIN01, ...): "
            "the token lacks the users:read.email scope (it has: admin,users:read); add it and reinstall the "
            "app. Their accounts and seats are kept but cannot be joined to people",
        )
    ]
    assert len(only(records, AccountRecord)) == 10
    assert {a.email for a in only(records, AccountRecord)} == {None}
    assert len(only(records, SeatRecord)) == 4
    assert only(records, PersonRecord) == []


def test_billable_members_missing_from_the_listing_keep_their_seat(caplog: pytest.LogCaptureFixture) -> None:
    billable = load("billable_info.json") | {"W0OTHER01": {"billing_active": True}}
    records = sync(SlackFake(billable=billable), analytics="off")
    assert SeatRecord("slack", SKU, "W0OTHER01") in only(records, SeatRecord)
    assert only(records, LicensePoolRecord)[0].seats_assigned == 5
    assert "1 billable member(s) not in users.list: W0OTHER01" in caplog.text


# -- errors: ok: false, rate limits, server errors ------------------------------------------------------


def test_ok_false_with_http_200_fails_the_run_with_slacks_error_code() -> None:
    fake = SlackFake()
    fake.inject("team.billableInfo", not_ok("invalid_auth"))
    with pytest.raises(SlackAPIError) as caught:
        sync(fake)
    error = caught.value
    assert (error.status, error.vendor_code, error.attempts) == (200, "invalid_auth", 1)
    assert "the token is not valid any more" in str(error)
    assert fake.calls("users.list") == []


def test_a_missing_scope_says_which_one() -> None:
    fake = SlackFake()
    fake.scopes = "users:read,users:read.email"
    with pytest.raises(SlackAPIError) as caught:
        sync(fake)
    assert caught.value.vendor_code == "missing_scope"
    assert "the token lacks the scope admin; it has: users:read,users:read.email" in str(caught.value)


def test_rate_limits_and_server_errors_are_retried_honouring_retry_after() -> None:
    fake = SlackFake()
    fake.inject("users.list", ratelimited("7"), ratelimited(None), server_error(503))
    clock = FakeClock()
    records = sync(fake, clock, analytics="off")
    assert only(records, RowProblem) == []
    assert len(only(records, AccountRecord)) == 10
    assert 7.0 in clock.sleeps  # Retry-After honoured
    assert len(fake.calls("users.list")) == 4 + 3  # four pages, three refused tries


def test_a_rate_limit_that_does_not_end_fails_the_run() -> None:
    fake = SlackFake()
    fake.inject("users.list", *(ratelimited("1"),) * 4)
    with pytest.raises(RateLimitError) as caught:
        sync(fake, analytics="off")
    assert caught.value.status == 429 and caught.value.attempts == 4


def test_ratelimited_in_an_http_200_is_an_error_too() -> None:
    fake = SlackFake()
    fake.inject("users.list", not_ok("ratelimited"))
    with pytest.raises(SlackAPIError, match="Slack refused the call as rate limited"):
        sync(fake, analytics="off")


# -- bad payloads -----------------------------------------------------------------------------------------


def test_bad_members_are_row_problems_and_the_rest_still_lands() -> None:
    members = load("members.json")[:2]
    members += [
        {"profile": {"email": "noid@example.com"}},
        {"id": "U09BADMAIL", "profile": {"email": "not-an-address"}},
        {"id": "U09BADFLAG", "is_bot": "no", "profile": {"email": "kim@example.com"}},
        "not-a-member",
        {"id": "U09BADPROF", "profile": ["x"]},
    ]
    records = sync(SlackFake(members=members), analytics="off")
    assert only(records, RowProblem) == [
        RowProblem("users.list page 1", "members[2]: id: missing"),
        RowProblem(
            "users.list page 2",
            "members[0] (id U09BADMAIL): profile.email: not an e-mail address: 'not-an-address'",
        ),
        RowProblem(
            "users.list page 2", "members[1] (id U09BADFLAG): is_bot: expected true or false, got 'no'"
        ),
        RowProblem("users.list page 2", "members[2]: expected an object, got 'not-a-member'"),
        RowProblem("users.list page 3", "members[0] (id U09BADPROF): profile: expected an object, got ['x']"),
    ]
    assert sorted(a.external_id for a in only(records, AccountRecord)) == ["U02UCPE1R", "U02UEBSD2"]
    # The billable members this listing lacks (Dave, Grace) keep their seats; the bad ones get none.
    billable = load("billable_info.json") | {"U09BADMAIL": {"billing_active": True}}
    records = sync(SlackFake(members=members, billable=billable), analytics="off")
    assert sorted(s.account_external_id for s in only(records, SeatRecord)) == [
        "U02UCPE1R",
        "U02UEBSD2",
        "U07DAVE01",
        "U07GRACE1",
    ]


def test_a_bad_billable_entry_is_a_row_problem_and_holds_no_seat() -> None:
    billable = load("billable_info.json") | {"U02UEBSD2": {"billing_active": "yes"}}
    records = sync(SlackFake(billable=billable), analytics="off")
    assert only(records, RowProblem) == [
        RowProblem(
            "team.billableInfo page 1",
            "billable_info.U02UEBSD2.billing_active: expected true or false, got 'yes'",
        )
    ]
    assert "U02UEBSD2" not in {s.account_external_id for s in only(records, SeatRecord)}


@pytest.mark.parametrize(
    ("method", "body", "message"),
    [
        (
            "users.list",
            {"ok": True, "response_metadata": {"next_cursor": ""}},
            "users.list answered without a members list",
        ),
        ("team.billableInfo", {"ok": True}, "team.billableInfo answered without a billable_info object"),
    ],
)
def test_a_page_without_its_list_fails_the_run(method: str, body: dict[str, Any], message: str) -> None:
    fake = SlackFake()
    fake.inject(method, httpx.Response(200, json=body))
    with pytest.raises(SlackShapeError, match=message):
        sync(fake, analytics="off")


def test_a_cursor_handed_out_twice_stops_the_listing() -> None:
    fake = SlackFake()
    fake.repeat_cursor = True
    with pytest.raises(PaginationLoopError):
        sync(fake, analytics="off")


# -- Enterprise Grid analytics ------------------------------------------------------------------------------


def test_analytics_steps_back_to_the_newest_file_and_reads_the_days_before_it() -> None:
    fake = SlackFake()
    records = sync(fake, analytics_backfill_days=3)
    assert only(records, RowProblem) == []
    # Yesterday (11-19) is not ready: the newest file is 11-18; then 11-16 (none) and 11-17.
    assert file_dates(fake) == ["2026-11-19", "2026-11-18", "2026-11-16", "2026-11-17"]
    assert last_seen(records) == {
        "alice.ng@example.com": at("2026-11-18"),
        "bob@example.com": at("2026-11-17"),
        "dave@partner.example.org": at("2026-11-17"),
        "grace@example.com": at("2026-11-18"),
        "zed@example.com": at("2026-11-18"),  # another workspace of the org: the file's address
    }
    latest = [a for a in only(records, ActivityRecord) if a.last_seen_at == at("2026-11-18")]
    assert {(a.source_kind, a.observed_at, a.app_id) for a in latest} == {
        (ActivitySource.REPORT, at("2026-11-19"), "slack")
    }
    assert [(c.cursor, c.complete) for c in only(records, Checkpoint) if c.stream == "analytics"] == [
        ({"date": "2026-11-16"}, False),
        ({"date": "2026-11-17"}, False),
        ({"date": "2026-11-18"}, True),
    ]


def test_analytics_resumes_after_the_last_day_read() -> None:
    fake = SlackFake()
    records = sync(fake, cursors={"analytics": {"date": "2026-11-17"}})
    assert file_dates(fake) == ["2026-11-19", "2026-11-18"]
    assert set(last_seen(records)) == {"alice.ng@example.com", "grace@example.com", "zed@example.com"}

    caught_up = SlackFake()
    records = sync(caught_up, cursors={"analytics": {"date": "2026-11-18"}})
    assert file_dates(caught_up) == ["2026-11-19"]
    assert only(records, ActivityRecord) == [] and only(records, RowProblem) == []


def test_analytics_on_a_workspace_without_them_is_noted_once_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = SlackFake()
    fake.enterprise = False
    records = sync(fake)
    assert only(records, RowProblem) == [] and only(records, ActivityRecord) == []
    assert len(only(records, AccountRecord)) == 10
    assert len(fake.calls("admin.analytics.getFile")) == 1
    notes = [r.getMessage() for r in caplog.records if "analytics" in r.getMessage()]
    assert len(notes) == 1
    assert "feature_not_enabled" in notes[0] and "must come from the identity provider" in notes[0]


def test_analytics_on_makes_their_absence_a_problem() -> None:
    fake = SlackFake()
    fake.scopes = "admin,users:read,users:read.email"
    records = sync(fake, analytics="on")
    problems = only(records, RowProblem)
    assert [p.where for p in problems] == ["admin.analytics.getFile"]
    assert "Slack answered missing_scope" in problems[0].reason
    assert "admin.analytics:read" in problems[0].reason


def test_analytics_off_never_asks() -> None:
    fake = SlackFake()
    sync(fake, analytics="off")
    assert fake.calls("admin.analytics.getFile") == []


def test_bad_analytics_lines_and_files_are_row_problems() -> None:
    days = load("analytics_member.json")
    days["2026-11-18"][0]["is_active"] = "yes"
    days["2026-11-18"][1].pop("user_id")
    fake = SlackFake(analytics=days)
    real = fake._analytics

    def garbled(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("date") == "2026-11-17":
            return httpx.Response(
                200, content=b"\x1f\x8bnot really gzip", headers={"Content-Type": "application/gzip"}
            )
        return real(request)

    fake._analytics = garbled  # type: ignore[method-assign]
    records = sync(fake, analytics_backfill_days=2)
    problems = only(records, RowProblem)
    assert [p.where for p in problems] == [
        "admin.analytics.getFile date=2026-11-17",
        "admin.analytics.getFile date=2026-11-18 line 1",
        "admin.analytics.getFile date=2026-11-18 line 2",
    ]
    assert problems[0].reason.startswith("the file is not gzip-compressed UTF-8 JSON lines")
    assert problems[1].reason == "is_active: expected true or false, got 'yes'"
    assert problems[2].reason == "user_id: missing"
    assert set(last_seen(records)) == {"grace@example.com", "zed@example.com"}


def test_an_analytics_file_sent_uncompressed_is_read_too() -> None:
    fake = SlackFake()
    real = fake._analytics

    def plain(request: httpx.Request) -> httpx.Response:
        response = real(request)
        if response.headers.get("content-type") != "application/gzip":
            return response
        return httpx.Response(
            200, content=gzip.decompress(response.content), headers={"Content-Type": "application/x-ndjson"}
        )

    fake._analytics = plain  # type: ignore[method-assign]
    records = sync(fake, analytics_backfill_days=1)
    assert set(last_seen(records)) == {"alice.ng@example.com", "grace@example.com", "zed@example.com"}


# -- settings and secrets ------------------------------------------------------------------------------------


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="sku"):
        SlackSettings.model_validate({"token": TOKEN})
    with pytest.raises(ValidationError, match="page_size"):
        make_settings(page_size=0)
    with pytest.raises(ValidationError, match="extra"):
        make_settings(bot_token="x")
    with pytest.raises(ValidationError, match="analytics"):
        make_settings(analytics="sometimes")
    with pytest.raises(ValidationError, match="team_id"):
        make_settings(team_id="acme")
    assert get_connector("slack") is SlackConnector
    assert SlackConnector.scopes == ("admin", "users:read", "users:read.email", "admin.analytics:read")


def test_the_token_never_reaches_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = SlackFake()
    fake.inject("users.list", server_error(502))
    sync(fake)
    wrong = "xoxp-9999999999-8888888888-7777777777-wrongwrongwrongwrong0001"
    with pytest.raises(SlackAPIError) as caught:
        sync(SlackFake(), token=wrong)
    assert caught.value.vendor_code == "invalid_auth"
    text = caplog.text + str(caught.value) + repr(make_settings())
    assert "slack: GET https://slack.test/api/users.list" in caplog.text  # the retry was logged
    assert TOKEN not in text and wrong not in text


# -- through the sync runner and the daemon, against the fake over real HTTP ---------------------------


def server_settings(server: FakeServer, **overrides: Any) -> SlackSettings:
    return make_settings(base_url=f"{server.url}/api/", **overrides)


def test_a_failure_mid_sync_keeps_the_previous_data_and_the_analytics_cursor(store: Store) -> None:
    fake = SlackFake()
    fake.latest_available = date(2026, 11, 17)
    with FakeServer(fake) as server:
        connector = ConnectorConfig(id="slack", settings=server_settings(server, analytics_backfill_days=3))
        tenant = TenantConfig(id="acme", name="Acme", connectors=[connector])
        apply_tenant_config(store, tenant)
        runner = SyncRunner(store, Config(tenants=[tenant]), clock=lambda: NOW)
        assert runner.run(tenant, connector).status == "success"

        # The next run meets an internal error on users.list page 2, before it reaches analytics.
        fake.latest_available = date(2026, 11, 18)
        fake.users_page_error = (2, not_ok("internal_error"))
        failed = runner.run(tenant, connector)
        assert failed.status == "failed"
        assert "[internal_error]" in (failed.error or "")
        assert failed.records == 1 + 8  # the pool, and page 1: Alice and Bob (person, account, seat), Carol
        with store.sessions() as session:
            assert len(session.scalars(select(Account)).all()) == 10  # nothing retired
            assert len(session.scalars(select(Seat)).all()) == 4
            cursor = session.get(SyncState, ("acme", "slack", "analytics"))
            health = source_health(session, tenant, NOW)["slack"]
        assert cursor is not None and cursor.cursor == {"date": "2026-11-17"}
        assert health.stale and health.reason == "last sync failed"

        # Recovered, the run reads only the day after the cursor.
        fake.users_page_error = None
        before = len(fake.calls("admin.analytics.getFile"))
        assert runner.run(tenant, connector).status == "success"
        assert file_dates(fake)[before:] == ["2026-11-19", "2026-11-18"]
    with store.sessions() as session:
        cursor = session.get(SyncState, ("acme", "slack", "analytics"))
        assert cursor is not None and cursor.cursor == {"date": "2026-11-18"}


def test_sync_through_the_daemon_lands_people_accounts_seats_pools_and_activity(
    tmp_path: Path, store_url: str
) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    fake = SlackFake(analytics=analytics_ending(yesterday))
    with FakeServer(fake) as server:
        config = write_config(
            tmp_path,
            f"""
database_url: "{{database_url}}"
metrics: {{listen: "{{metrics_listen}}"}}
tenants:
  - id: acme
    name: Acme
    connectors:
      - id: slack
        settings:
          token: {TOKEN}
          base_url: {server.url}/api/
          sku: "{SKU}"
          page_size: 3
          analytics_backfill_days: 2
          requests_per_minute: 60000
    contracts:
      - {{app: slack, sku: "{SKU}", seats: 6, unit_price: 15, billing_period: monthly}}
""",
            store_url,
        )
        run = sync_through_daemon(config, "acme", "slack")
    assert (run.status, run.error) == ("success", None)
    store = Store(store_url)
    try:
        with store.sessions() as session:
            accounts = {
                a.external_id: (a.email, a.status, a.kind, a.is_admin)
                for a in session.scalars(select(Account))
            }
            seats = sorted(
                (s.sku, ext)
                for s, ext in session.execute(
                    select(Seat, Account.external_id).join(Account, Seat.account_id == Account.id)
                )
            )
            pools = {
                (p.source, p.sku): (p.seats_purchased, p.seats_assigned)
                for p in session.scalars(select(LicensePool))
            }
            activity = dict(
                session.execute(
                    select(Person.email, Activity.last_seen_at).join(Person, Activity.person_id == Person.id)
                ).all()
            )
            people = dict(session.execute(select(Person.email, Person.display_name)).all())
    finally:
        store.dispose()
    assert len(accounts) == 10
    assert accounts["U07DEPLOY"] == (None, "active", "bot", False)
    assert accounts["U07ERIN01"] == ("erin@partner.example.org", "active", "guest", False)
    assert accounts["U07FRANK1"] == ("frank@example.com", "deleted", "user", False)
    assert accounts["U07GRACE1"] == ("grace@example.com", "active", "user", True)
    assert seats == [(SKU, "U02UCPE1R"), (SKU, "U02UEBSD2"), (SKU, "U07DAVE01"), (SKU, "U07GRACE1")]
    assert pools == {("slack", SKU): (None, 4), ("contract", SKU): (6, None)}
    midnight = datetime.combine(yesterday, datetime.min.time(), tzinfo=UTC)
    assert activity == {
        "alice.ng@example.com": midnight,
        "bob@example.com": midnight - timedelta(days=1),
        "dave@partner.example.org": midnight - timedelta(days=1),
        "grace@example.com": midnight,
        "zed@example.com": midnight,
    }
    assert len(people) == 9  # eight members with an address, and zed from the analytics file
    assert people["alice.ng@example.com"] == "Alice Ng"
