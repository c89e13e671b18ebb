"""The digest read from the store (SQLite and PostgreSQL): totals with each seat counted once, new and
resolved since the last digest, top findings, stale connectors and cancellation deadlines; what each
channel received survives a restart; a failing channel does not stop the others."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from collector.config import TenantConfig
from collector.digest.content import Baseline, build_digest
from collector.digest.send import send_digest
from collector.digest.state import DIGEST_CONNECTOR, last_sent
from collector.digest.webhook import WebhookOptions
from collector.http import RetryPolicy
from collector.http.testing import FakeClock
from collector.models import Finding, SyncRun, SyncState
from collector.store import Store
from collector.tenants import apply_tenant_config
from collector.waste import deduplicated_waste

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from harness import FakeServer
from ports import free_port

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
AS_OF = date(2026, 11, 20)
CENT = Decimal("0.01")


def tenant(channels: list[dict[str, Any]] | None = None) -> TenantConfig:
    contract = {"seats": 10, "unit_price": 12, "term_start": "2026-01-01", "auto_renew": True}
    return TenantConfig.model_validate(
        {
            "id": "acme",
            "name": "Acme Ltd",
            "currency": "USD",
            "as_of": AS_OF.isoformat(),
            "apps": {"slack": {"name": "Slack"}, "zoom": {"name": "Zoom"}, "miro": {"name": "Miro"}},
            "connectors": [
                {"id": "csv_import", "name": "exports", "schedule": {"interval": "1h"}},
                {"id": "csv_import", "name": "okta", "schedule": {"interval": "1h"}},
            ],
            "contracts": [
                # Notice due 2026-11-30, 10 days after the evaluation day: listed.
                {**contract, "app": "slack", "sku": "Business+", "term_end": "2026-12-20", "notice_days": 20},
                # Notice due 2027-01-15, 56 days out: not listed.
                {**contract, "app": "zoom", "sku": "Pro", "term_end": "2027-01-31", "notice_days": 16},
                # Ends on 2026-11-25 without renewing: listed.
                {**contract, "app": "miro", "sku": "Starter", "term_end": "2026-11-25", "auto_renew": False},
            ],
            **({"digest": {"channels": channels}} if channels else {}),
        }
    )


def add_finding(
    store: Store,
    analyzer: str,
    subject: str,
    money: str,
    *,
    app: str = "slack",
    state: str = "open",
    verdict: str = "fail",
    first_seen: datetime = NOW - timedelta(days=30),
    resolved_at: datetime | None = None,
) -> None:
    with store.transaction() as session:
        session.add(
            Finding(
                tenant_id="acme",
                analyzer=analyzer,
                rule="inactive",
                fingerprint=f"inactive|{app}|Business+|{subject}",
                app_id=app,
                sku="Business+",
                subject=subject,
                verdict=verdict,
                severity="medium",
                title=f"{subject} has not used {app} for 90 days",
                monthly_waste=Decimal(money),
                currency="USD",
                evidence={"action": f"Reclaim {subject}'s seat."},
                state=state,
                first_seen_at=first_seen,
                last_seen_at=NOW,
                resolved_at=resolved_at,
            )
        )


def add_run(store: Store, source: str, status: str, finished: datetime, error: str | None = None) -> None:
    with store.transaction() as session:
        session.add(
            SyncRun(
                tenant_id="acme",
                connector=source,
                started_at=finished - timedelta(minutes=1),
                finished_at=finished,
                status=status,
                records=1,
                problem_count=0,
                problems=[],
                error=error,
            )
        )


@pytest.fixture
def seeded(store: Store) -> Store:
    """Three open seats (one flagged by two analyzers), one resolved, one unknown, one suppressed."""
    apply_tenant_config(store, tenant())
    add_finding(store, "offboarding", "ann@acme.example", "50.00", first_seen=NOW - timedelta(days=2))
    add_finding(store, "unused_seats", "ann@acme.example", "40.00", first_seen=NOW - timedelta(days=2))
    add_finding(store, "unused_seats", "bob@acme.example", "30.00", app="zoom")
    add_finding(store, "unused_seats", "cid@acme.example", "25.00", first_seen=NOW - timedelta(days=6))
    add_finding(
        store,
        "unused_seats",
        "dan@acme.example",
        "20.00",
        state="resolved",
        resolved_at=NOW - timedelta(days=3),
    )
    add_finding(store, "unused_seats", "eve@acme.example", "0.00", verdict="unknown")
    add_finding(store, "unused_seats", "fay@acme.example", "99.00", state="suppressed")
    add_run(store, "exports", "success", NOW - timedelta(minutes=30))
    add_run(store, "okta", "success", NOW - timedelta(days=3))
    add_run(
        store, "okta", "failed", NOW - timedelta(hours=2), error="okta: GET https://acme.okta.com -> HTTP 401"
    )
    return store


def test_figures_count_each_seat_once_and_match_the_store(seeded: Store) -> None:
    with seeded.sessions() as session:
        digest = build_digest(session, tenant(), NOW, previous=None, top=10)
        stored_total = deduplicated_waste(session, ["acme"])["acme"]
    # ann's seat is one saving of 50.00 although two analyzers flag it.
    assert digest.monthly_waste == stored_total == Decimal("105.00")
    assert digest.annual_waste == Decimal("1260.00")
    assert digest.open_findings == 4 and digest.unknown_findings == 1
    # First digest: measured from a week back. ann's two findings and cid's are new, one seat's money once.
    assert digest.since == NOW - timedelta(days=7) and digest.previous is None and digest.change is None
    assert (digest.new.findings, digest.new.monthly) == (3, Decimal("75.00"))
    assert (digest.resolved.findings, digest.resolved.monthly) == (1, Decimal("20.00"))
    assert [(f.app, f.monthly_waste, f.analyzer) for f in digest.top] == [
        ("Slack", Decimal("50.00"), "offboarding"),
        ("Zoom", Decimal("30.00"), "unused_seats"),
        ("Slack", Decimal("25.00"), "unused_seats"),
    ]
    assert digest.top[0].action == "Reclaim ann@acme.example's seat."
    assert digest.evaluated_on == AS_OF


def test_top_is_cut_at_n_seats(seeded: Store) -> None:
    with seeded.sessions() as session:
        digest = build_digest(session, tenant(), NOW, top=2)
    assert [f.monthly_waste for f in digest.top] == [Decimal("50.00"), Decimal("30.00")]


def test_stale_and_failing_connectors_are_named_with_their_last_success(seeded: Store) -> None:
    with seeded.sessions() as session:
        digest = build_digest(session, tenant(), NOW)
    [okta] = digest.stale
    assert okta.source == "okta" and okta.reason == "last sync failed"
    assert okta.last_success_at == NOW - timedelta(days=3)
    assert okta.error == "okta: GET https://acme.okta.com -> HTTP 401"


def test_cancellation_deadlines_within_30_days_of_the_evaluation_day(seeded: Store) -> None:
    with seeded.sessions() as session:
        digest = build_digest(session, tenant(), NOW)
    listed = [
        (d.app, d.deadline, d.days_left, d.auto_renew, d.seats, d.monthly_cost) for d in digest.deadlines
    ]
    assert listed == [
        ("Miro", date(2026, 11, 25), 5, False, 10, Decimal("120.00")),
        ("Slack", date(2026, 11, 30), 10, True, 10, Decimal("120.00")),
    ]
    with seeded.sessions() as session:
        wider = build_digest(session, tenant(), NOW, deadline_days=60)
    assert [d.app for d in wider.deadlines] == ["Miro", "Slack", "Zoom"]


def test_new_and_resolved_count_from_the_last_digest(seeded: Store) -> None:
    previous = Baseline(NOW - timedelta(days=4), Decimal("135.00"), "USD")
    with seeded.sessions() as session:
        digest = build_digest(session, tenant(), NOW, previous=previous)
    assert digest.since == previous.sent_at
    assert (digest.new.findings, digest.new.monthly) == (2, Decimal("50.00"))  # ann only; cid is older
    assert (digest.resolved.findings, digest.resolved.monthly) == (1, Decimal("20.00"))
    assert digest.change == Decimal("-30.00")


class Receiver:
    """A fake webhook recording what it was sent and answering with a fixed response."""

    def __init__(self, status: int, body: str = "") -> None:
        self.server = FakeServer(lambda request: httpx.Response(status, text=body))

    def url(self, secret: str) -> str:
        return f"{self.server.url}/hooks/{secret}"

    def payloads(self) -> list[Any]:
        return [json.loads(r.content) for r in self.server.requests]


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    made = {
        "slack_ok": Receiver(200, "ok"),
        "slack_gone": Receiver(404, "no_service"),
        "teams_ok": Receiver(202),
    }
    yield made
    for receiver in made.values():
        receiver.server.close()


def options() -> WebhookOptions:
    clock = FakeClock()
    return WebhookOptions(retry=RetryPolicy(max_attempts=2), sleep=clock.sleep, clock=clock)


def test_what_a_channel_received_survives_a_restart_and_drives_the_next_digest(
    seeded: Store, receivers: dict[str, Receiver]
) -> None:
    slack = receivers["slack_ok"]
    config = tenant([{"type": "slack", "webhook_url": slack.url("T0/B0/first-secret")}])
    assert send_digest(seeded, config, now=NOW, options=options())[0].sent
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in slack.payloads()[0]["blocks"][2]["fields"]
    }
    assert fields == {
        "*Monthly waste*": "105.00 USD",
        "*Annual waste*": "1,260.00 USD",
        "*Open findings*": "4",
        "*Change since the last digest*": "first digest",
    }

    # A restart: a new store object on the same database; cid's seat was reclaimed meanwhile.
    restarted = Store(seeded.url)
    with restarted.transaction() as session:
        session.execute(
            update(Finding)
            .where(Finding.subject == "cid@acme.example")
            .values(state="resolved", resolved_at=NOW + timedelta(days=2))
        )
    with restarted.sessions() as session:
        baseline = last_sent(session, "acme", "slack")
        rows = session.scalars(select(SyncState).where(SyncState.connector == DIGEST_CONNECTOR)).all()
    assert baseline == Baseline(NOW, Decimal("105.00"), "USD")
    assert [(r.stream, r.cursor["open_findings"]) for r in rows] == [("channel:slack", 4)]

    week_later = NOW + timedelta(days=7)
    assert send_digest(restarted, config, now=week_later, options=options())[0].sent
    blocks = slack.payloads()[1]["blocks"]
    summary = blocks[3]["text"]["text"]
    assert "Down 25.00 USD a month since the last digest (23 Nov 2026, 105.00 USD)." in summary
    assert "New since 23 Nov 2026: none." in summary
    assert "Resolved since 23 Nov 2026: 1 finding, 25.00 USD a month saved." in summary
    restarted.dispose()


def test_a_failing_channel_does_not_stop_the_others(
    seeded: Store, receivers: dict[str, Receiver], caplog: pytest.LogCaptureFixture
) -> None:
    channels = [
        {"type": "slack", "webhook_url": receivers["slack_gone"].url("T0/B0/gone-secret")},
        {
            "type": "smtp",
            "host": "127.0.0.1",
            "port": free_port(),  # nothing listens
            "starttls": False,
            "from": "saaswatch@msp.example",
            "to": ["it@acme.example"],
            "timeout": 5,
        },
        {"type": "teams", "webhook_url": receivers["teams_ok"].url("workflows/abc/sig-secret")},
    ]
    with caplog.at_level(logging.ERROR, logger="saaswatch.digest"):
        results = send_digest(seeded, tenant(channels), now=NOW, options=options())
    assert [(r.channel, r.sent) for r in results] == [("slack", False), ("smtp", False), ("teams", True)]
    assert "HTTP 404 no_service" in (results[0].error or "")
    assert "failed: ConnectionRefusedError" in (results[1].error or "")
    assert len(receivers["teams_ok"].payloads()) == 1
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 2
    with seeded.sessions() as session:
        assert last_sent(session, "acme", "teams") is not None
        assert last_sent(session, "acme", "slack") is None and last_sent(session, "acme", "smtp") is None
