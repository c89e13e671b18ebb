"""okta: users (deprovisioned ones too), assignments, System Log SSO folded per person and app, the
incremental cursor, both credentials, rate limits, faults, and a sync through the daemon."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from harness import FakeServer, sync_through_daemon, write_config
from okta_fake import GeneratedOrg, OktaFake, ServiceApp, StaticOrg, new_key_pair, sso_event, user_json
from pydantic import SecretStr, ValidationError
from sqlalchemy import select

from collector.config import Config, ConnectorConfig, TenantConfig
from collector.connector import SyncContext
from collector.health import source_health
from collector.http import (
    PaginationError,
    PaginationLoopError,
    RateLimiterRegistry,
    VendorClient,
    VendorHTTPError,
)
from collector.http.testing import FakeClock
from collector.models import Account, Activity, App, Person, SyncState
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    IdpStatus,
    PersonRecord,
    Record,
    RowProblem,
)
from collector.registry import get_connector
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config
from connectors.okta import OktaConnector
from connectors.okta.api import Plumbing
from connectors.okta.auth import OktaAuthError
from connectors.okta.cursor import LogCursor, Watermark
from connectors.okta.fold import EVENT_DECODER, Folder, LogPage
from connectors.okta.listing import decoded_pages
from connectors.okta.settings import OktaSettings
from connectors.okta.slices import LogSlice, plan_slices
from connectors.okta.syslog import NewestSlices

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BASE = "https://acme.example.com"
TOKEN = "00FakeOktaApiToken0123456789abcdefghijkl"
CLIENT_ID = "0oa1serviceapp0000d7"
SSO_FILTER = 'eventType eq "user.authentication.sso"'

ALICE, BOB, CAROL, DAN = (
    "00u1alice0000000005d7",
    "00u1bob000000000005d7",
    "00u1carol0000000005d7",
    "00u1dan000000000005d7",
)
SLACK, ZOOM = "0oa1slack00000000d7", "0oa1zoom000000000d7"

R = TypeVar("R")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def only(records: list[Record], kind: type[R]) -> list[R]:
    return [r for r in records if isinstance(r, kind)]


def sso(records: list[Record]) -> list[tuple[str, str, datetime | None]]:
    found = [
        (a.email, a.app_id, a.last_seen_at)
        for a in only(records, ActivityRecord)
        if a.source_kind is ActivitySource.IDP_SSO
    ]
    return sorted(found, key=lambda f: (f[0], f[1], f[2] or NOW))


def latest_cursor(records: list[Record]) -> dict[str, object] | None:
    cursors = [c.cursor for c in only(records, Checkpoint) if c.stream == "system_log" and c.cursor]
    return cursors[-1] if cursors else None


@dataclass
class Env:
    """A fake org and what a connector needs to sync against it without waiting."""

    org: Any = field(default_factory=StaticOrg.load)
    clock: FakeClock = field(default_factory=lambda: FakeClock(NOW.timestamp()))
    fake: OktaFake = field(init=False)
    settings: dict[str, Any] = field(default_factory=dict)
    fake_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fake = OktaFake(self.org, api_token=TOKEN, clock=self.clock, **self.fake_options)

    def connector(self, **settings: Any) -> OktaConnector:
        values = {"base_url": BASE, "api_token": TOKEN, **self.settings, **settings}
        plumbing = Plumbing(
            transport=httpx.MockTransport(self.fake),
            clock=self.clock,
            sleep=self.clock.sleep,
            limiters=RateLimiterRegistry(clock=self.clock, sleep=self.clock.sleep),
        )
        return OktaConnector(OktaSettings.model_validate(values), plumbing=plumbing)

    def context(self, cursor: dict[str, object] | None = None, now: datetime = NOW) -> SyncContext:
        cursors = {"system_log": cursor} if cursor else {}
        return SyncContext(
            tenant_id="acme", source="okta", base_dir=Path("."), cursors=cursors, clock=lambda: now
        )

    def sync(
        self, cursor: dict[str, object] | None = None, now: datetime = NOW, **settings: Any
    ) -> list[Record]:
        connector = self.connector(**settings)
        self.last = connector
        return list(connector.sync(self.context(cursor, now)))


# ------------------------------------------------------------------------------------------------
# Users


def test_users_become_people_with_okta_status_accounts_and_signins() -> None:
    env = Env()
    records = env.sync()

    assert only(records, RowProblem) == []
    people = {p.email: p for p in only(records, PersonRecord) if p.status is not None}
    assert people["alice.ng@example.com"] == PersonRecord(
        email="alice.ng@example.com",
        display_name="Alice Ng",
        status=IdpStatus.ACTIVE,
        department="Engineering",
        cost_center="CC-200",
        manager_email=None,  # by id: resolved once every user is read, below
        created_at=at("2022-03-01T09:00:00"),
    )
    assert sorted((p.email, p.status) for p in people.values()) == [
        ("alice.ng@example.com", IdpStatus.ACTIVE),
        ("bob.axle@example.com", IdpStatus.SUSPENDED),
        ("carol.diaz@example.com", IdpStatus.ACTIVE),
        ("dan.eng@example.com", IdpStatus.DEPROVISIONED),
        ("erin.fox@example.com", IdpStatus.ACTIVE),  # STAGED: a new hire, not gone
        ("frank.gale@example.com", IdpStatus.ACTIVE),  # LOCKED_OUT
        ("grace.hill@example.com", IdpStatus.ACTIVE),  # PASSWORD_EXPIRED; e-mail lower-cased
        ("henry.ives@example.com", IdpStatus.DEPROVISIONED),
    ]
    okta_accounts = sorted((a.email, a.status) for a in only(records, AccountRecord) if a.app_id == "okta")
    assert okta_accounts == [
        ("alice.ng@example.com", "active"),
        ("bob.axle@example.com", "suspended"),
        ("carol.diaz@example.com", "active"),
        ("dan.eng@example.com", "deprovisioned"),
        ("erin.fox@example.com", "staged"),
        ("frank.gale@example.com", "locked_out"),
        ("grace.hill@example.com", "password_expired"),
        ("henry.ives@example.com", "deprovisioned"),
    ]
    signins = {
        a.email: a.last_seen_at
        for a in only(records, ActivityRecord)
        if a.source_kind is ActivitySource.IDP_SIGNIN
    }
    assert all(
        a.app_id == "okta"
        for a in only(records, ActivityRecord)
        if a.source_kind is ActivitySource.IDP_SIGNIN
    )
    assert signins["alice.ng@example.com"] == at("2026-11-19T08:12:44")
    assert signins["erin.fox@example.com"] is None  # lastLogin null: never signed in
    assert signins["henry.ives@example.com"] is None
    assert signins["dan.eng@example.com"] == at("2026-06-30T17:30:00")
    assert len(signins) == 8


def test_deprovisioned_users_are_read_with_a_search_the_plain_listing_leaves_them_out() -> None:
    env = Env()
    records = env.sync()
    listings = env.fake.requests_to("/api/v1/users")
    plain = [r for r in listings if "search" not in r.url.params]
    searched = [r for r in listings if "search" in r.url.params]
    assert [r.url.params["search"] for r in searched] == ['status eq "DEPROVISIONED"']
    assert {r.url.params["limit"] for r in listings} == {"200"}
    plain_ids = {u["id"] for r in plain for u in env.fake(r).json()}
    assert DAN not in plain_ids and ALICE in plain_ids
    dan = [p for p in only(records, PersonRecord) if p.email == "dan.eng@example.com"]
    assert [p.status for p in dan] == [IdpStatus.DEPROVISIONED]
    assert env.last.stats.deprovisioned == 2


def test_managers_by_email_and_by_id() -> None:
    records = Env().sync()
    managers = {p.email: p.manager_email for p in only(records, PersonRecord) if p.manager_email}
    assert managers == {
        "bob.axle@example.com": "carol.diaz@example.com",
        "alice.ng@example.com": "carol.diaz@example.com",
    }
    # the id-based one comes as a record of its own, after the listing, carrying nothing else
    resolved = only(records, PersonRecord)[-1]
    assert resolved == PersonRecord(email="alice.ng@example.com", manager_email="carol.diaz@example.com")


def test_user_listing_pages_follow_the_link_header() -> None:
    env = Env(fake_options={"max_page": 3})
    records = env.sync()
    plain = [r for r in env.fake.requests_to("/api/v1/users") if "search" not in r.url.params]
    assert [r.url.params.get("after") for r in plain] == [
        None,
        "00u1carol0000000005d7",
        "00u1grace000000005d7x",
    ]
    assert len({p.email for p in only(records, PersonRecord)}) == 8
    # 3 plain pages (the third empty: only Henry, deprovisioned, was left), 1 searched, the managers
    assert sum(1 for c in only(records, Checkpoint) if c.stream == "users") == 5


def test_bad_users_are_problems_with_where_and_field() -> None:
    org = StaticOrg.load()
    org.users.append(user_json("00u1svc0000000000005d7", "svc-backup"))  # a login that is no address
    org.users[-1]["profile"]["email"] = None
    org.users.append(user_json("00u1odd0000000000005d7", "odd@example.com", status="HIBERNATING"))
    org.users.append(user_json("00u1late000000000005d7", "late@example.com"))
    org.users[-1]["lastLogin"] = "last tuesday"
    records = Env(org=org).sync()
    assert only(records, RowProblem) == [
        RowProblem(
            "GET /api/v1/users page 1 (user 00u1svc0000000000005d7)",
            "profile.email: missing, and profile.login is not an e-mail address either",
        ),
        RowProblem(
            "GET /api/v1/users page 1 (user 00u1odd0000000000005d7)", "status: unknown value 'HIBERNATING'"
        ),
        RowProblem(
            "GET /api/v1/users page 1 (user 00u1late000000000005d7)",
            "lastLogin: not a timestamp: 'last tuesday'",
        ),
    ]
    odd = [p for p in only(records, PersonRecord) if p.email == "odd@example.com"]
    assert [p.status for p in odd] == [None]  # kept, without a status
    late = [a for a in only(records, ActivityRecord) if a.email == "late@example.com"]
    assert late == []  # unreadable is not "never"


# ------------------------------------------------------------------------------------------------
# Apps and assignments


def test_assignments_become_accounts_per_app_and_user() -> None:
    env = Env()
    records = env.sync()
    accounts = sorted(
        (a.app_id, a.email, a.status, a.external_id)
        for a in only(records, AccountRecord)
        if a.app_id != "okta"
    )
    assert accounts == [
        ("acme-expense-portal", "alice.ng@example.com", "active", ALICE),  # unknown to the catalog: a slug
        ("acme-expense-portal", "grace.hill@example.com", "active", "00u1grace000000005d7x"),
        ("slack", "alice.ng@example.com", "active", ALICE),
        ("slack", "bob.axle@example.com", "active", BOB),
        ("slack", "carol.diaz@example.com", "active", CAROL),
        ("slack", "frank.gale@example.com", "provisioned", "00u1frank000000005d7x"),
        ("zoom", "alice.ng@example.com", "active", ALICE),
        ("zoom", "carol.diaz@example.com", "active", CAROL),
    ]
    listed = sorted(
        r.url.path for r in env.fake.requests if r.url.path.endswith("/users") and "apps" in r.url.path
    )
    # Okta's own apps (Admin Console, Dashboard) and the INACTIVE Box are not read
    assert listed == [
        "/api/v1/apps/0oa1expense000000d7/users",
        "/api/v1/apps/0oa1slack00000000d7/users",
        "/api/v1/apps/0oa1zoom000000000d7/users",
    ]
    assert {r.url.params["limit"] for r in env.fake.requests if "/apps/" in r.url.path} == {"500"}
    assert (env.last.stats.apps, env.last.stats.apps_read, env.last.stats.assignments) == (6, 3, 8)


def test_inactive_apps_on_request() -> None:
    records = Env().sync(include_inactive_apps=True)
    assert ("box", "alice.ng@example.com") in {(a.app_id, a.email) for a in only(records, AccountRecord)}


def test_app_ids_come_from_the_catalog_by_label_then_name() -> None:
    from collector.catalog import Catalog, CatalogEntry

    env = Env()
    catalog = Catalog(
        [
            CatalogEntry(id="slack", name="Slack", vendor="Salesforce", category="chat"),
            CatalogEntry(
                id="expensify_like",
                name="Expense Portal",
                vendor="Acme",
                category="finance",
                aliases=("acmecorp expenseportal",),
            ),
        ]
    )
    ctx = env.context()
    ctx.catalog = catalog
    records = list(env.connector().sync(ctx))
    assert {a.app_id for a in only(records, AccountRecord)} == {"okta", "slack", "zoom", "expensify_like"}


# ------------------------------------------------------------------------------------------------
# System Log


def latest(records: list[Record]) -> dict[tuple[str, str], datetime | None]:
    """What the store keeps of the SSO records: the latest time per (person, app)."""
    kept: dict[tuple[str, str], datetime | None] = {}
    for email, app, seen in sso(records):
        kept[(email, app)] = max(filter(None, (kept.get((email, app)), seen)), default=None)
    return kept


def test_sso_events_are_folded_to_the_latest_per_person_and_app() -> None:
    env = Env()
    records = env.sync()
    assert latest(records) == {
        ("alice.ng@example.com", "slack"): at("2026-11-19T08:30:00"),
        ("alice.ng@example.com", "zoom"): at("2026-11-19T08:13:05"),
        ("bob.axle@example.com", "slack"): at("2026-08-25T15:58:00"),
        ("carol.diaz@example.com", "okta"): at("2026-11-20T07:46:00"),  # the Admin Console is Okta
        ("carol.diaz@example.com", "slack"): at("2026-11-19T09:10:00"),
    }  # carol's FAILURE into Zoom is no use; dan's 2026-06-30 sign-on is older than the 90 days read
    stats = env.last.stats.log
    assert (stats.events, stats.failed, stats.duplicates) == (7, 1, 0)
    first = min(env.fake.requests_to("/api/v1/logs"), key=lambda r: r.url.params["since"]).url.params
    assert dict(first) == {
        "filter": SSO_FILTER,
        "since": "2026-08-22T12:00:00.000Z",  # 90 days back
        "until": "2026-08-30T00:00:00.001Z",  # the oldest of 12 slices, a millisecond more
        "sortOrder": "ASCENDING",
        "limit": "1000",
    }


def test_a_first_sync_reads_newest_first_and_skips_what_a_newer_slice_outdated() -> None:
    env = Env()
    records = env.sync(log_workers=1)  # one worker: the slices in a fixed order
    slices = list(dict.fromkeys(r.url.params["since"] for r in env.fake.requests_to("/api/v1/logs")))
    assert slices == [
        "2026-10-28T23:59:59.999Z",
        "2026-10-06T11:59:59.999Z",
        "2026-09-13T23:59:59.999Z",
        "2026-08-22T12:00:00.000Z",
    ]
    # alice's 2026-10-01 Slack sign-on comes after her 11-19 one was written: not written at all
    assert sso(records) == [
        ("alice.ng@example.com", "slack", at("2026-11-19T08:30:00")),
        ("alice.ng@example.com", "zoom", at("2026-11-19T08:13:05")),
        ("bob.axle@example.com", "slack", at("2026-08-25T15:58:00")),
        ("carol.diaz@example.com", "okta", at("2026-11-20T07:46:00")),
        ("carol.diaz@example.com", "slack", at("2026-11-19T09:10:00")),
    ]
    assert (env.last.stats.log.superseded, env.last.stats.log.written) == (1, 5)
    # the cursor comes once the whole window is read
    cursors = [c.cursor for c in only(records, Checkpoint) if c.stream == "system_log" and c.cursor]
    assert cursors == [
        {"published": "2026-11-20T07:46:00.000Z", "uuids": ["5f3c2a8e-07e1-11ef-9a4b-00000000000a"]}
    ]


def test_one_page_is_folded_into_one_record_per_person_and_app() -> None:
    env = Env()
    org: StaticOrg = env.org
    users = {u["id"]: u for u in org.users}
    apps = {a["id"]: a for a in org.apps}
    org.events.append(sso_event("again-0001", "2026-11-19T10:00:00.000Z", users[ALICE], apps[SLACK]))
    records = env.sync(log_workers=1, log_lookback_days=2)
    # 2 days, 1 worker: 2 slices of a day, each one page
    assert sso(records) == [
        ("alice.ng@example.com", "slack", at("2026-11-19T10:00:00")),  # 08:30 and 10:00 folded
        ("alice.ng@example.com", "zoom", at("2026-11-19T08:13:05")),
        ("carol.diaz@example.com", "okta", at("2026-11-20T07:46:00")),
        ("carol.diaz@example.com", "slack", at("2026-11-19T09:10:00")),
    ]


def test_each_slice_is_read_to_its_empty_page_although_every_page_links_a_next_one() -> None:
    env = Env(fake_options={"max_page": 2})
    env.sync(log_workers=1, log_lookback_days=3)
    logs = env.fake.requests_to("/api/v1/logs")
    bodies = [env.fake(r) for r in logs]
    assert all("next" in b.links for b in bodies)  # the quirk: even the empty page says "next"
    by_slice: dict[str, list[int]] = {}
    for request, body in zip(logs, bodies, strict=True):
        by_slice.setdefault(request.url.params["since"], []).append(len(body.json()))
    # 3 days, 1 worker, a first sync: 4 slices of 18 hours, newest first; 2 sign-ons a page
    # (failures too), then the empty one
    assert by_slice == {
        "2026-11-19T17:59:59.999Z": [1, 0],
        "2026-11-18T23:59:59.999Z": [2, 2, 0],
        "2026-11-18T05:59:59.999Z": [1, 0],
        "2026-11-17T12:00:00.000Z": [0],
    }


def test_incremental_sync_reads_from_the_cursor_minus_the_overlap_and_counts_each_event_once() -> None:
    env = Env()
    first = env.sync()
    cursor = latest_cursor(first)
    assert cursor == {
        "published": "2026-11-20T07:46:00.000Z",
        "uuids": ["5f3c2a8e-07e1-11ef-9a4b-00000000000a"],
    }
    counted_first = env.last.stats.log.events

    org: StaticOrg = env.org
    users = {u["id"]: u for u in org.users}
    apps = {a["id"]: a for a in org.apps}
    org.events += [
        # persisted late: before the cursor, inside the overlap, never seen
        sso_event("late-0001", "2026-11-20T07:44:30.000Z", users[BOB], apps[SLACK]),
        sso_event("new-0001", "2026-11-20T12:30:00.000Z", users[ALICE], apps[ZOOM]),
        sso_event("new-0002", "2026-11-20T12:40:00.000Z", users[CAROL], apps[ZOOM]),
        sso_event("new-0003", "2026-11-20T12:45:00.000Z", users[CAROL], apps[ZOOM]),
    ]
    env.clock.now += 3600
    env.fake.requests.clear()
    second = env.sync(cursor=cursor, now=NOW + timedelta(hours=1))

    sinces = sorted(r.url.params["since"] for r in env.fake.requests_to("/api/v1/logs"))
    assert sinces[0] == "2026-11-20T07:41:00.000Z"  # 07:46 minus 5 minutes
    assert sso(second) == [
        ("alice.ng@example.com", "zoom", at("2026-11-20T12:30:00")),
        ("bob.axle@example.com", "slack", at("2026-11-20T07:44:30")),
        ("carol.diaz@example.com", "zoom", at("2026-11-20T12:45:00")),
    ]
    stats = env.last.stats.log
    assert (stats.events, stats.duplicates) == (4, 1)  # carol's 07:46 Admin Console sign-on: seen
    successes = [
        e
        for e in org.events
        if e["eventType"] == "user.authentication.sso" and e["outcome"]["result"] == "SUCCESS"
    ]
    in_window = [e for e in successes if e["published"] >= "2026-08-22T12:00:00"]
    assert counted_first + stats.events == len(in_window)
    assert latest_cursor(second) == {
        "published": "2026-11-20T12:45:00.000Z",
        "uuids": ["new-0002", "new-0003"],
    }


def test_no_new_events_keep_the_cursor() -> None:
    env = Env()
    cursor = latest_cursor(env.sync())
    again = env.sync(cursor=cursor, now=NOW + timedelta(minutes=10))
    assert latest_cursor(again) is None
    assert sso(again) == []
    assert env.last.stats.log.duplicates == 1


def test_an_event_on_a_slice_boundary_is_counted_once() -> None:
    env = Env()
    org: StaticOrg = env.org
    users = {u["id"]: u for u in org.users}
    apps = {a["id"]: a for a in org.apps}
    since = NOW - timedelta(days=1)
    slices = plan_slices(int(since.timestamp() * 1000), int(NOW.timestamp() * 1000), workers=2)
    boundary = datetime.fromtimestamp(slices[1].start_ms / 1000, UTC)
    org.events.append(
        sso_event("edge-0001", boundary.strftime("%Y-%m-%dT%H:%M:%S.000Z"), users[DAN], apps[SLACK])
    )
    records = env.sync(log_lookback_days=1, log_workers=2)
    assert ("dan.eng@example.com", "slack", boundary) in sso(records)
    assert [s for s in sso(records) if s[0] == "dan.eng@example.com"] == [
        ("dan.eng@example.com", "slack", boundary)
    ]


def test_cursor_never_passes_a_slice_still_being_read() -> None:
    slices = [LogSlice(0, 0, 100, False), LogSlice(1, 100, 200, True)]
    mark = Watermark(slices, overlap_ms=10, previous=None)

    def page(index: int, last: int, *uuids: tuple[int, str]) -> LogPage:
        from array import array

        return LogPage(index, "w", array("q"), array("q"), last, list(uuids))

    assert mark.page(page(1, 150, (150, "b"))) is None  # slice 1 is ahead of slice 0: no cursor yet
    assert mark.page(page(0, 40, (35, "a0"), (40, "a"))) == LogCursor(40, ("a", "a0"))
    # slice 0 is read whole: the cursor moves on to what slice 1 read without a gap
    assert mark.slice_done(0) == LogCursor(150, ("b",))
    assert mark.page(page(1, 190, (185, "c"), (190, "d"))) == LogCursor(190, ("c", "d"))
    assert mark.slice_done(1) is None


def test_timestamps_are_read_exactly_on_the_fast_path_and_off_it() -> None:
    folder = Folder(overlap_ms=0)
    for text in ("2026-11-19T08:30:00.000Z", "2026-02-28T23:59:59.999Z", "2024-02-29T00:00:00.001Z"):
        assert folder._ms(text) == int(datetime.fromisoformat(text).timestamp() * 1000 + 0.5)
    # other spellings Okta could send go the slow way, and still count
    assert folder._ms("2026-11-19T08:30:00Z") is None
    assert folder._ms("2026-11-19T08:30:00.000+00:00") is None
    env = Env()
    org: StaticOrg = env.org
    users = {u["id"]: u for u in org.users}
    apps = {a["id"]: a for a in org.apps}
    org.events.append(sso_event("plain-0001", "2026-11-20T10:00:00Z", users[DAN], apps[ZOOM]))
    assert ("dan.eng@example.com", "zoom", at("2026-11-20T10:00:00")) in sso(env.sync())


def test_system_log_pages_refuse_a_next_link_to_another_host_or_back() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        elsewhere = "https://elsewhere.example.net/api/v1/logs?after=1"
        return httpx.Response(200, json=[], headers={"Link": f'<{elsewhere}>; rel="next"'})

    client = VendorClient(BASE, vendor="okta", transport=httpx.MockTransport(handler))
    with client, pytest.raises(PaginationError, match="another host"):
        list(decoded_pages(client, "/api/v1/logs", {}, "GET /api/v1/logs", EVENT_DECODER))

    def looping(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json=[{"a": 1}], headers={"Link": f'<{BASE}/api/v1/logs?after=1>; rel="next"'}
        )

    client = VendorClient(BASE, vendor="okta", transport=httpx.MockTransport(looping))
    with client, pytest.raises(PaginationLoopError):
        list(decoded_pages(client, "/api/v1/logs", {}, "GET /api/v1/logs", EVENT_DECODER))


def test_newest_slices_remember_a_byte_per_pair_within_a_budget() -> None:
    newest = NewestSlices(budget=100)
    assert newest.get(5, 2) == -1
    newest.put(5, 2, 0, actors=8)
    newest.put(7, 2, 3, actors=8)
    newest.put(1, 0, 9, actors=8)
    assert (newest.get(5, 2), newest.get(7, 2), newest.get(1, 0), newest.get(6, 2), newest.get(1, 1)) == (
        0,
        3,
        9,
        -1,
        -1,
    )
    assert [len(a) for a in newest.by_app] == [8, 0, 8]
    newest.put(1000, 2, 1, actors=1001)  # past the budget: not remembered, so never skipped
    assert newest.get(1000, 2) == -1
    assert sum(len(a) for a in newest.by_app) <= 100


def test_slices_cover_the_window_without_gaps() -> None:
    slices = plan_slices(0, 90 * 86_400_000, workers=4)
    assert len(slices) == 8
    assert [s.start_ms for s in slices[1:]] == [s.end_ms for s in slices[:-1]]
    assert (slices[0].start_ms, slices[-1].end_ms, slices[-1].last) == (0, 90 * 86_400_000, True)
    assert [len(plan_slices(0, h * 3_600_000, workers=4)) for h in (0, 1, 3, 100)] == [0, 1, 3, 8]


def test_bad_events_are_problems_and_a_page_that_is_not_a_list_fails_the_sync() -> None:
    env = Env()
    org: StaticOrg = env.org
    broken = dict(org.events[2], uuid="bad-0001", target=[{"id": "0ua1", "type": "AppUser"}])
    org.events.append(broken)
    records = env.sync()
    assert only(records, RowProblem) == [
        RowProblem(
            # the last of 12 slices of 7.5 days
            "GET /api/v1/logs 2026-11-13T00:00:00.000Z..2026-11-20T12:00:00.000Z page 1 (event bad-0001)",
            "target: no AppInstance",
        )
    ]
    env.fake.fail("/api/v1/logs", 200, times=None)
    env.fake.faults[-1].body = {"errorCode": "E0000001"}
    with pytest.raises(Exception, match="GET /api/v1/logs: expected a JSON array, got dict"):
        env.sync()


def test_generated_org_every_successful_sign_on_counted_once_across_parallel_slices() -> None:
    end = NOW - timedelta(minutes=1)
    org = GeneratedOrg(users=300, apps=12, events=3000, days=30, end=end)
    env = Env(org=org)
    records = env.sync(log_lookback_days=30, log_workers=3)
    since_ms = int((NOW - timedelta(days=30)).timestamp() * 1000)
    first_k, last_k = (
        org.events_from("user.authentication.sso", since_ms),
        org.events_from("user.authentication.sso", int(NOW.timestamp() * 1000)),
    )
    successes = sum(
        1
        for k in range(first_k, last_k)
        if org.event("user.authentication.sso", k)["outcome"]["result"] == "SUCCESS"
    )
    stats = env.last.stats.log
    assert stats.events == successes
    assert stats.events + stats.failed == last_k - first_k
    assert only(records, RowProblem) == []
    assert env.last.stats.users == 300
    # 12 slices (a first sync: 4 a worker), each one request more than its page: the empty one
    assert stats.requests == len(env.fake.requests_to("/api/v1/logs")) == 12 + 12
    assert stats.superseded > 0


# ------------------------------------------------------------------------------------------------
# Rate limits and faults


def test_limiter_pauses_on_the_headers_before_okta_has_to_refuse() -> None:
    env = Env(fake_options={"budgets": {"logs": 4}, "max_page": 1})
    env.sync(log_workers=1)
    assert env.fake.throttled == {}
    logs = env.fake.requests_to("/api/v1/logs")
    assert len(logs) == 12  # 8 events in the window one a page, and each of 4 slices' empty page
    # reserve 2 (1 worker + 1): two requests a minute, then a wait to the window's reset (+1 s)
    assert env.clock.sleeps == [61.0, 60.0, 60.0, 60.0, 60.0]


def test_429_waits_until_the_rate_limit_reset() -> None:
    env = Env()
    env.fake.fail("/api/v1/apps", 429)
    records = env.sync()
    assert env.clock.sleeps[0] == 61.0  # X-Rate-Limit-Reset is the next minute; padded by a second
    assert len([a for a in only(records, AccountRecord) if a.app_id == "slack"]) == 4


def test_server_errors_are_retried() -> None:
    env = Env()
    env.fake.fail(f"/api/v1/apps/{SLACK}/users", 503, times=2)
    env.fake.fail("/api/v1/logs", 500, times=1)
    records = env.sync()
    assert len(env.fake.requests_to(f"/api/v1/apps/{SLACK}/users")) == 3
    assert len([a for a in only(records, AccountRecord) if a.app_id == "slack"]) == 4
    assert env.last.stats.log.events == 7


def test_an_outage_mid_sync_fails_it_after_the_pages_already_read() -> None:
    env = Env(fake_options={"max_page": 1})
    saved = {"published": "2026-10-01T09:00:00.000Z", "uuids": ["5f3c2a8e-07e1-11ef-9a4b-000000000002"]}
    # 2 slices: the older one is alice's 10-01 sign-on (seen) and its empty page; then one page of
    # the newer one (alice's 11-18 sign-on), and the next request fails for good
    env.fake.fail("/api/v1/logs", 500, times=None, after=3)
    records: list[Record] = []
    with pytest.raises(VendorHTTPError, match="HTTP 500"):
        for record in env.connector(log_workers=1).sync(env.context(cursor=saved)):
            records.append(record)
    assert len({p.email for p in only(records, PersonRecord)}) == 8  # the users were read first
    assert latest_cursor(records) == {
        "published": "2026-11-18T10:02:00.123Z",
        "uuids": ["5f3c2a8e-07e1-11ef-9a4b-000000000003"],
    }
    assert sso(records) == [("alice.ng@example.com", "slack", at("2026-11-18T10:02:00.123"))]


def test_a_first_sync_that_fails_keeps_what_it_wrote_but_saves_no_cursor() -> None:
    env = Env(fake_options={"max_page": 1})
    env.fake.fail("/api/v1/logs", 500, times=None, after=3)
    records: list[Record] = []
    with pytest.raises(VendorHTTPError, match="HTTP 500"):
        for record in env.connector(log_workers=1).sync(env.context()):
            records.append(record)
    # the newest slice's first three sign-ons were written; the window was not read to its start
    assert sso(records) == [
        ("alice.ng@example.com", "slack", at("2026-11-18T10:02:00.123")),
        ("alice.ng@example.com", "slack", at("2026-11-19T08:30:00")),
        ("alice.ng@example.com", "zoom", at("2026-11-19T08:13:05")),
    ]
    assert latest_cursor(records) is None


def test_stop_ends_the_sync_between_pages() -> None:
    env = Env(fake_options={"max_page": 1})
    ctx = env.context()
    seen: list[Record] = []
    for record in env.connector().sync(ctx):
        seen.append(record)
        if isinstance(record, Checkpoint) and record.stream == "users":
            ctx.stop.set()
    assert sum(isinstance(r, Checkpoint) for r in seen) == 1
    assert not any(isinstance(r, Checkpoint) and r.complete for r in seen)


# ------------------------------------------------------------------------------------------------
# Credentials


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, bytes]:
    return new_key_pair()


def oauth_env(key_pair: tuple[str, bytes], **app: Any) -> Env:
    private, public = key_pair
    env = Env(settings={"api_token": None, "client_id": CLIENT_ID, "private_key": private, "key_id": "kid-1"})
    env.fake.api_token = None
    env.fake.service_app = ServiceApp(CLIENT_ID, public, **app)
    return env


def decode(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_service_app_signs_a_client_assertion_and_uses_the_bearer_token(key_pair: tuple[str, bytes]) -> None:
    env = oauth_env(key_pair)
    records = env.sync()
    assert len({p.email for p in only(records, PersonRecord)}) == 8
    (token_request,) = env.fake.requests_to("/oauth2/v1/token")
    form = dict(httpx.QueryParams(token_request.content.decode()))
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "okta.users.read okta.apps.read okta.logs.read"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    header, claims = (decode(p) for p in form["client_assertion"].split(".")[:2])
    assert header == {"typ": "JWT", "alg": "RS256", "kid": "kid-1"}
    assert (claims["iss"], claims["sub"], claims["aud"]) == (CLIENT_ID, CLIENT_ID, f"{BASE}/oauth2/v1/token")
    assert claims["exp"] - claims["iat"] == 300
    data = [r for r in env.fake.requests if r.url.path != "/oauth2/v1/token"]
    assert all(r.headers["authorization"].startswith("Bearer fake-access-token-1-") for r in data)


def test_an_expired_token_is_renewed_once_after_a_401(key_pair: tuple[str, bytes]) -> None:
    env = oauth_env(key_pair)
    env.fake.expire_after = 5  # the token dies after 5 requests, in the middle of the sync
    records = env.sync()
    refused = sum(n for (family, status), n in env.fake.served.items() if status == 401)
    renewals = len(env.fake.requests_to("/oauth2/v1/token")) - 1
    assert refused >= 1
    assert 1 <= renewals <= refused  # each client that got a 401 renewed once, and went on
    assert len({p.email for p in only(records, PersonRecord)}) == 8
    assert len([a for a in only(records, AccountRecord) if a.app_id == "slack"]) == 4
    assert env.last.stats.log.events == 7


def test_refused_client_assertion_fails_the_sync_without_leaking_the_key(key_pair: tuple[str, bytes]) -> None:
    env = oauth_env(key_pair)
    env.fake.service_app = ServiceApp("0oa1someoneelse000d7", key_pair[1])
    with pytest.raises(VendorHTTPError) as failure:
        env.sync()
    assert "invalid_client" in str(failure.value)
    assert "iss and sub must both be the client_id" in str(failure.value)
    assert "PRIVATE KEY" not in str(failure.value)


def test_dpop_required_is_explained(key_pair: tuple[str, bytes]) -> None:
    env = oauth_env(key_pair, require_dpop=True)
    with pytest.raises(VendorHTTPError, match="invalid_dpop_proof"):
        env.sync()


def test_a_key_that_is_not_rsa_pem_is_refused_without_quoting_it() -> None:
    bogus = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbCBzZWNyZXRzZWNyZXQ=\n-----END PRIVATE KEY-----"
    env = Env(settings={"api_token": None, "client_id": CLIENT_ID, "private_key": bogus})
    with pytest.raises(OktaAuthError) as failure:
        env.sync()
    assert str(failure.value) == "private_key: not a PEM-encoded RSA private key"
    assert failure.value.__suppress_context__  # the parser's own error, which may quote it, is dropped


def test_settings_need_exactly_one_credential() -> None:
    with pytest.raises(ValidationError, match="either api_token or client_id"):
        OktaSettings(
            base_url=BASE,
            api_token=SecretStr(TOKEN),
            client_id=CLIENT_ID,
            private_key=SecretStr("-----BEGIN x"),
        )
    with pytest.raises(ValidationError, match="give api_token, or client_id"):
        OktaSettings(base_url=BASE)
    with pytest.raises(ValidationError, match="needs both client_id and private_key"):
        OktaSettings(base_url=BASE, client_id=CLIENT_ID)
    with pytest.raises(ValidationError, match="not a JWK") as jwk:
        OktaSettings(
            base_url=BASE, client_id=CLIENT_ID, private_key=SecretStr('{"kty": "RSA", "d": "c2VjcmV0"}')
        )
    assert "c2VjcmV0" not in str(jwk.value)
    assert OktaSettings(base_url=f"{BASE}/", api_token=SecretStr(TOKEN)).base_url == BASE
    assert get_connector("okta") is OktaConnector


def test_secrets_stay_out_of_logs_and_errors(
    key_pair: tuple[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env = Env()
    env.fake.api_token = "a-different-token-000000000000"
    with pytest.raises(VendorHTTPError) as failure:
        env.sync()
    assert "E0000011" in str(failure.value) and TOKEN not in str(failure.value)
    env = oauth_env(key_pair)
    env.fake.fail("/api/v1/users", 500, times=1)
    env.sync()
    issued = next(iter(env.fake.tokens))
    text = caplog.text
    assert TOKEN not in text and issued not in text and "PRIVATE KEY" not in text
    assert "500" in text  # the retry was logged


# ------------------------------------------------------------------------------------------------
# Through the runner and the daemon


def run_config(store: Store, env: Env) -> tuple[SyncRunner, TenantConfig, ConnectorConfig]:
    connector = ConnectorConfig(id="okta", settings=OktaSettings(base_url=BASE, api_token=SecretStr(TOKEN)))
    tenant = TenantConfig(id="acme", name="Acme", connectors=[connector])
    apply_tenant_config(store, tenant)
    return (
        SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW),
        tenant,
        connector,
    )


def test_failed_sync_keeps_previous_data_and_marks_the_source_stale(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = Env()
    plumbing = Plumbing(
        transport=httpx.MockTransport(env.fake),
        clock=env.clock,
        sleep=env.clock.sleep,
        limiters=RateLimiterRegistry(clock=env.clock, sleep=env.clock.sleep),
    )
    monkeypatch.setattr("connectors.okta.connector.Plumbing", lambda: plumbing)  # what the runner builds
    runner, tenant, connector = run_config(store, env)
    good = runner.run(tenant, connector)
    assert good.status == "success"
    with store.sessions() as session:
        before = sorted(session.execute(select(Account.app_id, Account.external_id)).all())
        cursor = session.scalar(select(SyncState.cursor).where(SyncState.stream == "system_log"))
    assert len(before) == 16 and cursor == {
        "published": "2026-11-20T07:46:00.000Z",
        "uuids": ["5f3c2a8e-07e1-11ef-9a4b-00000000000a"],
    }

    env.fake.fail("/api/v1/apps", 503, times=None)  # the apps API goes down
    failed = runner.run(tenant, connector)
    assert failed.status == "failed" and "HTTP 503" in (failed.error or "")
    with store.sessions() as session:
        after = sorted(session.execute(select(Account.app_id, Account.external_id)).all())
        assert session.scalar(select(SyncState.cursor).where(SyncState.stream == "system_log")) == cursor
        health = source_health(session, tenant, NOW)
    assert after == before  # nothing retired
    assert health["okta"].stale and health["okta"].reason == "last sync failed"


def test_sync_through_the_daemon(tmp_path: Path, store_url: str) -> None:
    # The daemon runs on the real clock: the org's times move by whole days to stay as recent.
    shift = timedelta(days=(datetime.now(UTC) - NOW) // timedelta(days=1))
    fake = OktaFake(StaticOrg.load(shift=shift), api_token=TOKEN)
    (tmp_path / "okta_token").write_text(TOKEN + "\n")
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
      - id: okta
        settings:
          base_url: {server.url}
          api_token_file: okta_token
          log_lookback_days: 180
""",
            store_url,
        )
        run = sync_through_daemon(config, "acme", "okta")
    assert run.status == "success", run.error
    store = Store(store_url)
    with store.sessions() as session:
        people = dict(session.execute(select(Person.email, Person.status)).all())
        accounts = sorted(session.execute(select(Account.app_id, Account.email, Account.status)).all())
        activity = sorted(
            session.execute(
                select(Person.email, Activity.app_id, Activity.source_kind, Activity.last_seen_at).join(
                    Person, Activity.person_id == Person.id
                )
            ).all()
        )
        apps = set(session.scalars(select(App.id)))
        cursor = session.scalar(select(SyncState.cursor).where(SyncState.stream == "system_log"))
    store.dispose()
    assert people == {
        "alice.ng@example.com": "active",
        "bob.axle@example.com": "suspended",
        "carol.diaz@example.com": "active",
        "dan.eng@example.com": "deprovisioned",
        "erin.fox@example.com": "active",
        "frank.gale@example.com": "active",
        "grace.hill@example.com": "active",
        "henry.ives@example.com": "deprovisioned",
    }
    assert len(accounts) == 16
    assert ("slack", "frank.gale@example.com", "provisioned") in accounts
    assert ("okta", "dan.eng@example.com", "deprovisioned") in accounts
    sso_rows = [(e, a, t - shift) for e, a, kind, t in activity if kind == "idp_sso"]
    assert sso_rows == [
        ("alice.ng@example.com", "slack", at("2026-11-19T08:30:00")),
        ("alice.ng@example.com", "zoom", at("2026-11-19T08:13:05")),
        ("bob.axle@example.com", "slack", at("2026-08-25T15:58:00")),
        ("carol.diaz@example.com", "okta", at("2026-11-20T07:46:00")),
        ("carol.diaz@example.com", "slack", at("2026-11-19T09:10:00")),
        ("dan.eng@example.com", "acme-expense-portal", at("2026-06-30T17:25:00")),  # within 180 days
    ]
    signins = {(e, t) for e, a, kind, t in activity if kind == "idp_signin"}
    assert ("erin.fox@example.com", None) in signins and len(signins) == 8
    assert {"okta", "slack", "zoom", "acme-expense-portal"} <= apps
    assert cursor is not None and cursor["uuids"] == ["5f3c2a8e-07e1-11ef-9a4b-00000000000a"]
    assert at(str(cursor["published"]).rstrip("Z")) - shift == at("2026-11-20T07:46:00")


def test_connector_declares_its_scopes_and_kinds() -> None:
    assert OktaConnector.scopes == ("okta.users.read", "okta.apps.read", "okta.logs.read")
    assert {k.value for k in OktaConnector.snapshot_kinds} == {"people", "accounts"}
