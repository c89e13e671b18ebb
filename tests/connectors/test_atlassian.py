"""atlassian: managed accounts, product seats and last activity per product from a fake of the
Atlassian organization API; links.next paging, product keys to apps, 429s and 5xx, a revoked key,
bad items, a failure mid-sync, and a run through the daemon."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from atlassian_fake import API_KEY, ORG_ID, AtlassianFake, load, rate_limited, server_error
from harness import FakeServer, sync_through_daemon, write_config
from pydantic import ValidationError
from sqlalchemy import select

from collector.catalog import builtin_catalog
from collector.config import Config, ConnectorConfig, TenantConfig
from collector.connector import SyncContext
from collector.health import source_health
from collector.http import PaginationLoopError, RateLimiterRegistry, RetryPolicy, VendorHTTPError
from collector.http.testing import FakeClock
from collector.models import Account, Activity, Person, Seat
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    PersonRecord,
    Record,
    RowProblem,
    SeatRecord,
)
from collector.registry import get_connector
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config
from connectors.atlassian import AtlassianConnector
from connectors.atlassian.connector import AtlassianError
from connectors.atlassian.settings import AtlassianSettings

R = TypeVar("R")
BASE = "https://api.atlassian.test/admin"
ALICE, BOB, CAROL, DAVE, FORMER, FRANK, GINA = (
    f"712020:0f1e2d3c-aaaa-4b5c-8d9e-00000000000{i}" for i in range(1, 8)
)
BOT = "557058:a1b2c3d4-bbbb-4c5d-9e0f-000000000008"
CUSTOMER = "qm:0a1b2c3d-cccc-4d5e-8f90-000000000009"


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_settings(**overrides: Any) -> AtlassianSettings:
    raw = {"org_id": ORG_ID, "api_key": API_KEY, "base_url": BASE, "requests_per_second": 1000}
    return AtlassianSettings.model_validate(raw | overrides)


def sync(
    fake: AtlassianFake, clock: FakeClock | None = None, ctx: SyncContext | None = None, **overrides: Any
) -> list[Record]:
    clock = clock or FakeClock()
    connector = AtlassianConnector(
        make_settings(**overrides),
        transport=httpx.MockTransport(fake),
        retry=RetryPolicy(max_attempts=4),
        clock=clock,
        sleep=clock.sleep,
        limiters=RateLimiterRegistry(clock=clock, sleep=clock.sleep),
    )
    return list(connector.sync(ctx or SyncContext(tenant_id="acme", source="atlassian", base_dir=Path("."))))


def only(records: Sequence[Record], kind: type[R]) -> list[R]:
    return [r for r in records if isinstance(r, kind)]


def test_reads_accounts_seats_and_last_activity_per_product() -> None:
    fake = AtlassianFake(page_size=2)
    records = sync(fake, editions={"confluence": "Premium"})
    assert only(records, RowProblem) == []

    accounts = sorted(
        (a.app_id, a.external_id, a.kind, a.status, a.email) for a in only(records, AccountRecord)
    )
    assert accounts == [
        ("bitbucket", GINA, "user", "active", "gina@example.com"),
        ("confluence", ALICE, "user", "active", "alice.ng@example.com"),
        ("confluence", BOB, "user", "active", "bob@example.com"),
        ("jira", BOT, "bot", "active", None),
        ("jira", ALICE, "user", "active", "alice.ng@example.com"),
        ("jira", CAROL, "user", "active", "carol@example.com"),  # Jira Software and Jira Core: one app
        ("jira", DAVE, "user", "inactive", "dave@example.com"),
        ("jira_service_management", ALICE, "user", "active", "alice.ng@example.com"),
        ("jira_service_management", CUSTOMER, "guest", "active", "casey@client.example.org"),
        ("opsgenie", GINA, "user", "active", "gina@example.com"),  # not in the table: the catalog's slug
        ("trello", FRANK, "user", "active", None),  # the address is hidden
    ]  # the closed account has no product access, so no account in any app

    # Active people hold a seat of every product they can use; bots and portal customers do not.
    assert sorted((s.app_id, s.sku, s.account_external_id) for s in only(records, SeatRecord)) == [
        ("bitbucket", "Standard", GINA),
        ("confluence", "Premium", ALICE),
        ("confluence", "Premium", BOB),
        ("jira", "Standard", ALICE),
        ("jira", "Standard", CAROL),
        ("jira_service_management", "Standard", ALICE),
        ("opsgenie", "Standard", GINA),
        ("trello", "Standard", FRANK),
    ]

    seen = {(a.email, a.app_id): a.last_seen_at for a in only(records, ActivityRecord)}
    assert seen == {
        ("alice.ng@example.com", "jira"): day("2026-11-18"),
        ("alice.ng@example.com", "confluence"): day("2026-11-10"),
        ("alice.ng@example.com", "jira_service_management"): None,  # access, never used
        ("bob@example.com", "confluence"): None,
        ("carol@example.com", "jira"): day("2026-09-15"),  # the later of her two Jira products
        ("dave@example.com", "jira"): day("2025-12-01"),
        ("gina@example.com", "opsgenie"): day("2026-10-10"),
        ("gina@example.com", "bitbucket"): day("2026-11-19T08:30:00"),
        ("casey@client.example.org", "jira_service_management"): day("2026-11-05"),
    }  # no activity for the bot, nor for Frank, whose address is hidden
    assert {a.source_kind for a in only(records, ActivityRecord)} == {ActivitySource.APP_LOGIN}
    assert sorted((p.email, p.display_name) for p in only(records, PersonRecord)) == [
        ("alice.ng@example.com", "Alice Ng"),
        ("bob@example.com", "Bob Olsen"),
        ("carol@example.com", "Carol Diaz"),
        ("dave@example.com", "Dave Kim"),
        ("gina@example.com", "Gina Rossi"),
    ]

    # 9 users at 2 a page: 5 pages, each after the first at the links.next URL of the one before.
    assert [r.url.params.get("cursor") is not None for r in fake.requests] == [False] + [True] * 4
    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {API_KEY}"}
    assert [(c.stream, c.complete) for c in only(records, Checkpoint)] == [("users", False)] * 4 + [
        ("users", True)
    ]


def test_products_outside_the_table_follow_the_tenant_catalog() -> None:
    catalog = builtin_catalog().with_aliases({"jsm_ops": ["Opsgenie"]})
    ctx = SyncContext(tenant_id="acme", source="atlassian", base_dir=Path("."), catalog=catalog)
    records = sync(AtlassianFake(), ctx=ctx)
    assert {a.app_id for a in only(records, AccountRecord) if a.external_id == GINA} == {
        "jsm_ops",
        "bitbucket",
    }


def test_rate_limits_and_server_errors_are_retried() -> None:
    fake = AtlassianFake(page_size=4)
    fake.inject(rate_limited("3"), rate_limited(None), server_error(502))
    clock = FakeClock()
    records = sync(fake, clock)
    assert only(records, RowProblem) == [] and len(only(records, AccountRecord)) == 11
    assert 3.0 in clock.sleeps  # Retry-After honoured
    assert len(fake.requests) == 3 + 3


def test_a_revoked_key_fails_the_run_without_retrying() -> None:
    fake = AtlassianFake(page_size=4)
    fake.revoke_key_after = 1
    clock = FakeClock()
    with pytest.raises(VendorHTTPError) as caught:
        sync(fake, clock)
    assert caught.value.status == 401
    assert len(fake.requests) == 2 and clock.sleeps == []


def test_bad_users_are_row_problems_and_the_rest_still_lands() -> None:
    users = load("users.json")[:2]
    users += [
        {"account_type": "atlassian", "account_status": "active", "email": "x@example.com"},
        load("users.json")[2] | {"email": "carol at example.com"},
        load("users.json")[3] | {"product_access": [{"key": "jira-software", "last_active": "soon"}]},
        load("users.json")[6] | {"product_access": {"key": "bitbucket"}},
        "nobody",
    ]
    records = sync(AtlassianFake(users, page_size=4))
    where1, where2 = "GET /v1/orgs/{orgId}/users page 1", "GET /v1/orgs/{orgId}/users page 2"
    assert only(records, RowProblem) == [
        RowProblem(where1, "data[2]: account_id: missing"),
        RowProblem(
            where1, f"data[3] (account_id {CAROL}): email: not an e-mail address: 'carol at example.com'"
        ),
        RowProblem(where2, f"data[0] (account_id {DAVE}): product_access[0].last_active: not a date: 'soon'"),
        RowProblem(
            where2,
            f"data[1] (account_id {GINA}): product_access: expected a list of objects, "
            "got {'key': 'bitbucket'}",
        ),
        RowProblem(where2, "data[2]: expected an object, got 'nobody'"),
    ]
    assert sorted({a.external_id for a in only(records, AccountRecord)}) == [ALICE, BOB]


def test_a_page_without_its_data_list_fails_the_run() -> None:
    fake = AtlassianFake()
    fake.inject(httpx.Response(200, json={"links": {}, "meta": {"total": 9}}))
    with pytest.raises(AtlassianError, match="answered without a data list"):
        sync(fake)


def test_a_cursor_handed_out_twice_stops_the_listing() -> None:
    fake = AtlassianFake(page_size=2)
    fake.repeat_cursor = True
    with pytest.raises(PaginationLoopError):
        sync(fake)


def test_a_stop_request_ends_the_sync_after_the_page_in_hand() -> None:
    fake = AtlassianFake(page_size=2)
    clock = FakeClock()
    connector = AtlassianConnector(
        make_settings(),
        transport=httpx.MockTransport(fake),
        clock=clock,
        sleep=clock.sleep,
        limiters=RateLimiterRegistry(clock=clock, sleep=clock.sleep),
    )
    ctx = SyncContext(tenant_id="acme", source="atlassian", base_dir=Path("."))
    records: list[Record] = []
    for record in connector.sync(ctx):
        records.append(record)
        if isinstance(record, AccountRecord):
            ctx.stop.set()  # SIGTERM while the first page is being read
    assert len(fake.requests) == 1
    assert [c.stream for c in only(records, Checkpoint)] == ["users"]


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="org_id"):
        AtlassianSettings.model_validate({"api_key": API_KEY})
    with pytest.raises(ValidationError, match="extra"):
        make_settings(site="acme")
    assert make_settings(editions={"jira": "Premium"}).edition("jira") == "Premium"
    assert make_settings().edition("confluence") == "Standard"
    assert get_connector("atlassian") is AtlassianConnector
    assert AtlassianConnector.scopes == ("read:accounts:admin",)


def test_the_api_key_never_reaches_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = AtlassianFake()
    fake.inject(server_error(502))
    sync(fake)
    wrong_key = "ATCTT3xFfGN0wrongAdminApiKey9876543210zyxwvu=Z9Y8X7W6"
    with pytest.raises(VendorHTTPError) as caught:
        sync(AtlassianFake(), api_key=wrong_key)
    assert caught.value.status == 401
    text = caplog.text + str(caught.value)
    assert f"atlassian: GET {BASE}/v1/orgs/{ORG_ID}/users" in caplog.text
    assert API_KEY not in text and wrong_key not in text


# -- through the sync runner and the daemon, against the fake over real HTTP ---------------------------


def test_a_failure_mid_sync_keeps_the_previous_data_and_marks_the_source_stale(store: Store) -> None:
    fake = AtlassianFake(page_size=3)
    with FakeServer(fake) as server:
        settings = make_settings(base_url=f"{server.url}/admin", requests_per_second=100)
        connector = ConnectorConfig(id="atlassian", settings=settings)
        tenant = TenantConfig(id="acme", name="Acme", connectors=[connector])
        apply_tenant_config(store, tenant)
        now = datetime.now(UTC)
        runner = SyncRunner(store, Config(tenants=[tenant]), clock=lambda: now)
        assert runner.run(tenant, connector).status == "success"
        # An admin revokes the key while the next run is on its second page.
        fake.revoke_key_after = len(fake.requests) + 1
        failed = runner.run(tenant, connector)
    assert failed.status == "failed"
    assert "HTTP 401" in (failed.error or "") and API_KEY not in (failed.error or "")
    assert failed.records == 10 + 4 + 4  # the first page (Alice, Bob, Carol) was committed
    with store.sessions() as session:
        assert len(session.scalars(select(Account)).all()) == 11  # nothing retired
        assert len(session.scalars(select(Seat)).all()) == 8
        health = source_health(session, tenant, now)["atlassian"]
    assert health.stale and health.reason == "last sync failed"


def test_sync_through_the_daemon_lands_accounts_seats_and_activity(tmp_path: Path, store_url: str) -> None:
    (tmp_path / "atlassian_key").write_text(API_KEY + "\n")
    with FakeServer(AtlassianFake(page_size=4)) as server:
        config = write_config(
            tmp_path,
            f"""
database_url: "{{database_url}}"
metrics: {{listen: "{{metrics_listen}}"}}
tenants:
  - id: acme
    name: Acme
    connectors:
      - id: atlassian
        settings:
          org_id: {ORG_ID}
          api_key_file: atlassian_key
          base_url: {server.url}/admin
          editions: {{jira: Premium}}
""",
            store_url,
        )
        run = sync_through_daemon(config, "acme", "atlassian")
    assert (run.status, run.error) == ("success", None)
    store = Store(store_url)
    try:
        with store.sessions() as session:
            accounts = sorted((a.app_id, a.kind, a.status) for a in session.scalars(select(Account)))
            seats = sorted(
                session.execute(
                    select(Seat.app_id, Seat.sku, Account.email).join(Account, Seat.account_id == Account.id)
                ).all()
            )
            activity = {
                (email, app): seen
                for email, app, seen in session.execute(
                    select(Person.email, Activity.app_id, Activity.last_seen_at).join(
                        Person, Activity.person_id == Person.id
                    )
                )
            }
    finally:
        store.dispose()
    assert len(accounts) == 11 and ("jira", "bot", "active") in accounts
    assert seats[:4] == [
        ("bitbucket", "Standard", "gina@example.com"),
        ("confluence", "Standard", "alice.ng@example.com"),
        ("confluence", "Standard", "bob@example.com"),
        ("jira", "Premium", "alice.ng@example.com"),
    ]
    assert len(seats) == 8
    assert activity[("carol@example.com", "jira")] == day("2026-09-15")
    assert activity[("bob@example.com", "confluence")] is None
    assert len(activity) == 9
