"""zoom: users, Licensed seats, sign-ins and plan usage from a fake of the Zoom API; paging, token
renewal, per-second and daily rate limits, bad items, a failure mid-sync, and a run through the daemon."""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from harness import FakeServer, sync_through_daemon, write_config
from pydantic import ValidationError
from sqlalchemy import select
from zoom_fake import (
    ACCOUNT_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    ZoomFake,
    daily_limited,
    load,
    missing_scope,
    qps_limited,
    server_error,
)

from collector.config import Config, ConnectorConfig, TenantConfig
from collector.connector import SyncContext
from collector.health import source_health
from collector.http import PaginationLoopError, RateLimiterRegistry, RetryPolicy, VendorHTTPError
from collector.http.testing import FakeClock
from collector.models import Account, Activity, LicensePool, Person, Seat
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    BillingPeriod,
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
from connectors.zoom import ZoomConnector
from connectors.zoom.client import ZoomDailyLimitError, ZoomError
from connectors.zoom.settings import ZoomSettings

R = TypeVar("R")
API = "https://api.zoom.test/v2"
TOKEN_URL = "https://zoom.test/oauth/token"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_settings(**overrides: Any) -> ZoomSettings:
    raw = {
        "account_id": ACCOUNT_ID,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "base_url": API,
        "token_url": TOKEN_URL,
        "page_size": 2,
        "requests_per_second": 1000,
    }
    return ZoomSettings.model_validate(raw | overrides)


def sync(fake: ZoomFake, clock: FakeClock | None = None, **overrides: Any) -> list[Record]:
    clock = clock or FakeClock()
    connector = ZoomConnector(
        make_settings(**overrides),
        transport=httpx.MockTransport(fake),
        retry=RetryPolicy(max_attempts=4),
        clock=clock,
        sleep=clock.sleep,
        limiters=RateLimiterRegistry(clock=clock, sleep=clock.sleep),
    )
    return list(connector.sync(SyncContext(tenant_id="acme", source="zoom", base_dir=Path("."))))


def only(records: Sequence[Record], kind: type[R]) -> list[R]:
    return [r for r in records if isinstance(r, kind)]


def user_calls(fake: ZoomFake) -> list[httpx.URL]:
    return [r.url for r in fake.requests if r.url.path.endswith("/v2/users")]


def test_reads_users_seats_sign_ins_and_plan_usage_page_by_page() -> None:
    fake = ZoomFake()
    records = sync(fake)

    assert only(records, RowProblem) == []
    accounts = {a.external_id: a for a in only(records, AccountRecord)}
    assert len(accounts) == 9
    alice = accounts["KDcuGIm1QgePTO8WbOqwIQ"]
    assert alice == AccountRecord(
        app_id="zoom",
        external_id="KDcuGIm1QgePTO8WbOqwIQ",
        email="alice.ng@example.com",
        status="active",
        is_admin=True,
        created_at=at("2022-03-14T16:20:05"),
        kind="user",
    )
    assert accounts["DaveXXXXQ0bbbbbbbbbbbQ"].is_admin is True
    assert accounts["z8yAAAAA8bbbQ0Bob000001"].is_admin is False
    assert accounts["ErinXXXXQ0cccccccccccQ"].is_admin is None  # a custom role says nothing
    assert accounts["HenryXXXQ0dddddddddddQ"].status == "inactive"
    assert accounts["JudyXXXXQ0fffffffffffQ"].status == "pending"

    # Only Licensed (type 2) users hold a seat: deactivated Henry and pending Judy included.
    assert sorted(s.account_external_id for s in only(records, SeatRecord)) == [
        "DaveXXXXQ0bbbbbbbbbbbQ",
        "HenryXXXQ0dddddddddddQ",
        "JudyXXXXQ0fffffffffffQ",
        "KDcuGIm1QgePTO8WbOqwIQ",
        "z8yAAAAA8bbbQ0Bob000001",
    ]
    assert {s.sku for s in only(records, SeatRecord)} == {"Licensed"}

    seen = {a.email: a.last_seen_at for a in only(records, ActivityRecord)}
    assert seen["alice.ng@example.com"] == at("2026-11-18T09:58:12")
    assert seen["henry@example.com"] == at("2025-12-01T16:45:00")
    assert seen["bob@example.com"] is None  # no last_login_time: never signed in
    assert seen["judy@example.com"] is None
    assert {a.source_kind for a in only(records, ActivityRecord)} == {ActivitySource.APP_LOGIN}

    people = {p.email: p for p in only(records, PersonRecord)}
    assert people["alice.ng@example.com"] == PersonRecord(
        email="alice.ng@example.com", display_name="Alice Ng", department="Engineering"
    )
    assert people["carol@example.com"].department is None  # "" is no department
    assert people["judy@example.com"].display_name is None

    assert sorted(only(records, LicensePoolRecord), key=lambda p: p.sku) == [
        LicensePoolRecord("zoom", "Licensed", 6, 5, billing_period=BillingPeriod.MONTHLY),
        LicensePoolRecord("zoom", "large500_monthly", 1, 1, billing_period=BillingPeriod.MONTHLY),
        LicensePoolRecord("zoom", "webinar500_monthly", 2, 0, billing_period=BillingPeriod.MONTHLY),
        LicensePoolRecord("zoom", "zroom_monthly", 1, 0, billing_period=BillingPeriod.MONTHLY),
    ]

    # 6 active users at 2 a page: 3 pages, each after the first asking for the token Zoom gave.
    active = [u for u in user_calls(fake) if u.params["status"] == "active"]
    assert [u.params.get("next_page_token") is not None for u in active] == [False, True, True]
    assert {u.params["page_size"] for u in active} == {"2"}
    checkpoints = [(c.stream, c.complete) for c in only(records, Checkpoint)]
    assert checkpoints == [
        ("plan_usage", True),
        ("users:active", False),
        ("users:active", False),
        ("users:active", True),
        ("users:inactive", True),
        ("users:pending", True),
    ]


def test_the_token_comes_from_basic_credentials_and_is_used_as_bearer() -> None:
    fake = ZoomFake()
    sync(fake)
    token_calls = [r for r in fake.requests if r.url.path.endswith("/oauth/token")]
    assert len(token_calls) == 1
    call = token_calls[0]
    assert (call.method, call.headers["authorization"]) == ("POST", BASIC)
    assert dict(call.url.params) == {"grant_type": "account_credentials", "account_id": ACCOUNT_ID}
    api_calls = [r for r in fake.requests if "/v2/" in r.url.path]
    assert {r.headers["authorization"] for r in api_calls} == {f"Bearer {fake.tokens_issued[0]}"}


def test_a_revoked_token_is_renewed_once_and_the_sync_goes_on() -> None:
    fake = ZoomFake()
    fake.revoke_tokens_after = 2
    records = sync(fake)
    assert len(fake.tokens_issued) == 2
    assert only(records, RowProblem) == []
    assert len(only(records, AccountRecord)) == 9


def test_a_token_refused_again_after_renewal_fails_the_run() -> None:
    fake = ZoomFake()
    fake.inject(
        "/v2/users", *(httpx.Response(401, json={"code": 124, "message": "Invalid access token."}),) * 2
    )
    with pytest.raises(VendorHTTPError) as caught:
        sync(fake, plan_usage=False)
    assert caught.value.status == 401 and caught.value.vendor_code == "124"
    assert len(fake.tokens_issued) == 2


def test_per_second_limits_and_server_errors_are_retried() -> None:
    fake = ZoomFake()
    fake.inject("/v2/users", qps_limited("2"), qps_limited(None), server_error(503))
    clock = FakeClock()
    records = sync(fake, clock, plan_usage=False)
    assert only(records, RowProblem) == []
    assert len(only(records, AccountRecord)) == 9
    assert 2.0 in clock.sleeps  # Retry-After honoured
    assert len(user_calls(fake)) == 5 + 3  # five pages, three refused tries


@pytest.mark.parametrize("documented_headers", [True, False], ids=["x-ratelimit-type", "message-only"])
def test_a_daily_limit_stops_the_run_at_once_with_a_clear_message(documented_headers: bool) -> None:
    fake = ZoomFake()
    fake.inject("/v2/users", daily_limited(documented_headers))
    clock = FakeClock()
    with pytest.raises(ZoomDailyLimitError) as caught:
        sync(fake, clock, plan_usage=False)
    message = str(caught.value)
    assert "daily API limit for Medium requests is used up" in message
    assert "the next scheduled run reads again" in message
    if documented_headers:
        assert "Zoom allows requests again at 2026-11-21T00:00:00Z" in message
    else:
        assert "it resets at 00:00 UTC" in message
    assert len(user_calls(fake)) == 1  # not retried
    assert clock.sleeps == []


def test_plan_usage_without_its_scope_is_reported_and_users_are_still_read() -> None:
    fake = ZoomFake()
    fake.inject("/plans/usage", missing_scope())
    records = sync(fake)
    problems = only(records, RowProblem)
    assert [p.where for p in problems] == ["GET /accounts/me/plans/usage"]
    assert "[4711]" in problems[0].reason
    assert "grant the app billing:read:plan_usage:admin or set plan_usage: false" in problems[0].reason
    assert only(records, LicensePoolRecord) == []
    assert len(only(records, AccountRecord)) == 9


def test_plan_usage_can_be_turned_off() -> None:
    fake = ZoomFake()
    records = sync(fake, plan_usage=False)
    assert not any(r.url.path.endswith("/plans/usage") for r in fake.requests)
    assert only(records, LicensePoolRecord) == [] and only(records, RowProblem) == []


def test_a_bad_plan_entry_is_a_row_problem_naming_the_field() -> None:
    usage = load("plan_usage.json")
    usage["plan_webinar"][0]["hosts"] = "two"
    records = sync(ZoomFake(plan_usage=usage))
    assert only(records, RowProblem) == [
        RowProblem("GET /accounts/me/plans/usage", "plan_webinar[0].hosts: expected a count, got 'two'")
    ]
    assert len(only(records, LicensePoolRecord)) == 3


def test_bad_users_are_row_problems_and_the_rest_still_lands() -> None:
    users = load("users.json")[:2]
    users += [
        {"id": "NoMailXXQ0hhhhhhhhhhhQ", "type": 2, "status": "active"},
        {
            "id": "BadTimeXQ0iiiiiiiiiiiQ",
            "email": "kim@example.com",
            "type": 2,
            "last_login_time": "yesterday",
        },
        {"id": "BadTypeXQ0jjjjjjjjjjjQ", "email": "lee@example.com", "type": "2"},
        "not-a-user",
    ]
    records = sync(ZoomFake(users=users), plan_usage=False)
    assert only(records, RowProblem) == [
        RowProblem("GET /users?status=active page 2", "users[0] (id NoMailXXQ0hhhhhhhhhhhQ): email: missing"),
        RowProblem(
            "GET /users?status=active page 2",
            "users[1] (id BadTimeXQ0iiiiiiiiiiiQ): last_login_time: not an ISO 8601 time: 'yesterday'",
        ),
        RowProblem(
            "GET /users?status=active page 3",
            "users[0] (id BadTypeXQ0jjjjjjjjjjjQ): type: expected a number, got '2'",
        ),
        RowProblem("GET /users?status=active page 3", "users[1]: expected an object, got 'not-a-user'"),
    ]
    assert sorted(a.email or "" for a in only(records, AccountRecord)) == [
        "alice.ng@example.com",
        "bob@example.com",
    ]


def test_a_page_without_its_user_list_fails_the_run() -> None:
    fake = ZoomFake()
    fake.inject("/v2/users", httpx.Response(200, json={"page_size": 2, "next_page_token": ""}))
    with pytest.raises(ZoomError, match="answered without a users list"):
        sync(fake, plan_usage=False)


def test_a_next_page_token_handed_out_twice_stops_the_listing() -> None:
    fake = ZoomFake()
    fake.repeat_next_page_token = True
    with pytest.raises(PaginationLoopError):
        sync(fake, plan_usage=False)


def test_a_stop_request_ends_the_sync_after_the_page_in_hand() -> None:
    fake = ZoomFake()
    clock = FakeClock()
    connector = ZoomConnector(
        make_settings(plan_usage=False),
        transport=httpx.MockTransport(fake),
        clock=clock,
        sleep=clock.sleep,
        limiters=RateLimiterRegistry(clock=clock, sleep=clock.sleep),
    )
    ctx = SyncContext(tenant_id="acme", source="zoom", base_dir=Path("."))
    records: list[Record] = []
    for record in connector.sync(ctx):
        records.append(record)
        if isinstance(record, AccountRecord):
            ctx.stop.set()  # SIGTERM while the first page is being read
    assert len(user_calls(fake)) == 1
    assert [c.stream for c in only(records, Checkpoint)] == ["users:active"]


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="page_size"):
        make_settings(page_size=301)
    with pytest.raises(ValidationError, match="extra"):
        make_settings(api_key="x")
    with pytest.raises(ValidationError, match="statuses"):
        make_settings(statuses=["deleted"])
    assert get_connector("zoom") is ZoomConnector
    assert ZoomConnector.scopes == ("user:read:list_users:admin", "billing:read:plan_usage:admin")


def test_secrets_never_reach_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = ZoomFake()
    fake.inject("/v2/users", server_error(503))
    sync(fake)
    wrong = ZoomFake()
    with pytest.raises(VendorHTTPError) as caught:
        sync(wrong, client_secret="zfake-wrong-secret-9876543210")
    assert caught.value.status == 400 and caught.value.vendor_code == "invalid_client"
    text = caplog.text + str(caught.value)
    assert "zoom: GET https://api.zoom.test/v2/users" in caplog.text  # the retry was logged
    for secret in (CLIENT_SECRET, "zfake-wrong-secret-9876543210", BASIC.split()[1], *fake.tokens_issued):
        assert secret not in text


# -- through the sync runner and the daemon, against the fake over real HTTP ---------------------------


def server_settings(server: FakeServer) -> dict[str, Any]:
    return {
        "account_id": ACCOUNT_ID,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "base_url": f"{server.url}/v2",
        "token_url": f"{server.url}/oauth/token",
        "page_size": 2,
    }


def test_a_failure_mid_sync_keeps_the_previous_data_and_marks_the_source_stale(store: Store) -> None:
    fake = ZoomFake()
    with FakeServer(fake) as server:
        connector = ConnectorConfig(id="zoom", settings=ZoomSettings.model_validate(server_settings(server)))
        tenant = TenantConfig(id="acme", name="Acme", connectors=[connector])
        apply_tenant_config(store, tenant)
        now = datetime.now(UTC)
        runner = SyncRunner(store, Config(tenants=[tenant]), clock=lambda: now)
        assert runner.run(tenant, connector).status == "success"
        # The next run's second page meets an expired next_page_token (Zoom keeps them 15 minutes).
        fake.expire_token_at_page = ("active", 2)
        failed = runner.run(tenant, connector)
    assert failed.status == "failed"
    error = failed.error or ""
    assert "HTTP 400" in error and "The next page token is invalid or expired." in error
    assert failed.records == 4 + 8  # the pools, and Alice's and Bob's page, were committed
    with store.sessions() as session:
        assert len(session.scalars(select(Account)).all()) == 9  # nothing retired
        assert len(session.scalars(select(Seat)).all()) == 5
        health = source_health(session, tenant, now)["zoom"]
    assert health.stale and health.reason == "last sync failed"


def test_sync_through_the_daemon_lands_people_accounts_seats_pools_and_activity(
    tmp_path: Path, store_url: str
) -> None:
    with FakeServer(ZoomFake()) as server:
        settings = server_settings(server)
        config = write_config(
            tmp_path,
            f"""
database_url: "{{database_url}}"
metrics: {{listen: "{{metrics_listen}}"}}
tenants:
  - id: acme
    name: Acme
    connectors:
      - id: zoom
        settings:
          account_id: {settings["account_id"]}
          client_id: {settings["client_id"]}
          client_secret: {settings["client_secret"]}
          base_url: {settings["base_url"]}
          token_url: {settings["token_url"]}
          page_size: 2
""",
            store_url,
        )
        run = sync_through_daemon(config, "acme", "zoom")
    assert (run.status, run.error) == ("success", None)
    store = Store(store_url)
    try:
        with store.sessions() as session:
            accounts = {a.external_id: (a.email, a.status, a.kind) for a in session.scalars(select(Account))}
            seats = sorted(
                (s.sku, email)
                for s, email in session.execute(
                    select(Seat, Account.email).join(Account, Seat.account_id == Account.id)
                )
            )
            pools = {
                p.sku: (p.seats_purchased, p.seats_assigned, p.billing_period)
                for p in session.scalars(select(LicensePool).where(LicensePool.source == "zoom"))
            }
            activity = dict(
                session.execute(
                    select(Person.email, Activity.last_seen_at).join(Person, Activity.person_id == Person.id)
                ).all()
            )
            people = dict(session.execute(select(Person.email, Person.display_name)).all())
    finally:
        store.dispose()
    assert len(accounts) == 9
    assert accounts["HenryXXXQ0dddddddddddQ"] == ("henry@example.com", "inactive", "user")
    assert seats == [
        ("Licensed", "alice.ng@example.com"),
        ("Licensed", "bob@example.com"),
        ("Licensed", "dave@example.com"),
        ("Licensed", "henry@example.com"),
        ("Licensed", "judy@example.com"),
    ]
    assert pools == {
        "Licensed": (6, 5, "monthly"),
        "large500_monthly": (1, 1, "monthly"),
        "webinar500_monthly": (2, 0, "monthly"),
        "zroom_monthly": (1, 0, "monthly"),
    }
    assert activity["alice.ng@example.com"] == at("2026-11-18T09:58:12")
    assert activity["bob@example.com"] is None
    assert len(activity) == 9
    assert people["dave@example.com"] == "Dave Kim"
