"""Slack and Teams webhooks against a local fake receiver: the payloads' shape and figures, retries on
429 (honouring Retry-After) and 5xx, no retry on other 4xx, and the secret URL never in a log line or
an error."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from collector.digest.config import SlackChannel, TeamsChannel
from collector.digest.content import Baseline, Deadline, Digest, StaleSource, Tally, TopFinding
from collector.digest.errors import DeliveryError
from collector.digest.send import deliver
from collector.digest.webhook import WebhookOptions
from collector.http import RedactingFilter, RetryPolicy, default_redactor
from collector.http.testing import FakeClock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from harness import FakeServer

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SECRET_PATH = "/services/T0SECRET/B0SECRET/hookSecretToken123"
SLACK_BLOCKS = {"header", "context", "section", "divider"}
ADAPTIVE_ELEMENTS = {"TextBlock", "FactSet"}


def sample_digest(top: int = 3) -> Digest:
    findings = [
        TopFinding(
            app=f"App {i}",
            sku="Business",
            title=f"seat {i} unused for 90 days <since> Q3 & more",
            action=f"Reclaim seat {i}.",
            monthly_waste=Decimal(100 - i),
            analyzer="unused_seats",
            severity="medium",
        )
        for i in range(top)
    ]
    return Digest(
        tenant_id="acme",
        tenant_name="Acme Ltd",
        currency="USD",
        generated_at=NOW,
        since=datetime(2026, 11, 16, 8, 0, tzinfo=UTC),
        evaluated_on=None,
        monthly_waste=Decimal("2132.25"),
        open_findings=62,
        unknown_findings=2,
        previous=Baseline(datetime(2026, 11, 16, 8, 0, tzinfo=UTC), Decimal("2012.25"), "USD"),
        new=Tally(3, Decimal("48.00")),
        resolved=Tally(2, Decimal("36.50")),
        top=findings,
        stale=[StaleSource("okta", datetime(2026, 11, 12, 6, 0, tzinfo=UTC), "last sync failed", "HTTP 401")],
        deadlines=[
            Deadline(
                app="Slack",
                sku="Business+",
                deadline=date(2026, 12, 1),
                days_left=8,
                term_end=date(2026, 12, 31),
                auto_renew=True,
                seats=150,
                monthly_cost=Decimal("2250.00"),
                action="Confirm the renewal at 140 seats.",
            )
        ],
        deadline_days=30,
    )


class Receiver:
    """A fake webhook on 127.0.0.1 answering from a script, one response per request (the last
    one repeats); it records every request."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.script = list(responses)
        self.server = FakeServer(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    @property
    def requests(self) -> list[httpx.Request]:
        return self.server.requests

    @property
    def secret_url(self) -> SecretStr:
        return SecretStr(self.server.url + SECRET_PATH)


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(*responses: httpx.Response) -> Receiver:
        made.append(Receiver(*responses))
        return made[-1]

    yield make
    for r in made:
        r.server.close()


def options(clock: FakeClock, attempts: int = 4) -> WebhookOptions:
    return WebhookOptions(retry=RetryPolicy(max_attempts=attempts), sleep=clock.sleep, clock=clock)


def slack(url: SecretStr) -> SlackChannel:
    return SlackChannel(type="slack", webhook_url=url)


def teams(url: SecretStr, card_format: str = "adaptive_card") -> TeamsChannel:
    return TeamsChannel.model_validate({"type": "teams", "webhook_url": url, "format": card_format})


def posted_json(request: httpx.Request) -> Any:
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    return json.loads(request.content)


def test_slack_gets_block_kit_blocks_with_the_digest_figures(receiver: Callable[..., Receiver]) -> None:
    fake = receiver(httpx.Response(200, text="ok"))
    digest = sample_digest(top=25)
    deliver(slack(fake.secret_url), digest, NOW, options(FakeClock()))
    [request] = fake.requests
    assert request.url.path == SECRET_PATH
    payload = posted_json(request)
    assert payload["text"].startswith("SaaS waste digest for Acme Ltd: Waste: 2,132.25 USD a month")
    blocks = payload["blocks"]
    assert {b["type"] for b in blocks} <= SLACK_BLOCKS and len(blocks) <= 50
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "SaaS waste digest for Acme Ltd"},
    }
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert all(len(t) <= 3000 for t in texts)
    fields = next(b["fields"] for b in blocks if "fields" in b)
    assert [f["text"] for f in fields] == [
        "*Monthly waste*\n2,132.25 USD",
        "*Annual waste*\n25,587.00 USD",
        "*Open findings*\n62",
        "*Change since the last digest*\n+120.00 USD",
    ]
    ranked = [t for t in texts if t.startswith("*") and ". App " in t.split("\n")[0]]
    assert len(ranked) == 25
    assert ranked[0].split("\n") == [
        "*1. App 0: 100.00 USD a month*",
        "seat 0 unused for 90 days &lt;since&gt; Q3 &amp; more",  # escaped: < > & are markup in Slack
        "What to do: Reclaim seat 0.",
    ]
    body = "\n".join(texts)
    assert "New since 16 Nov 2026: 3 findings, 48.00 USD a month." in body
    assert "Resolved since 16 Nov 2026: 2 findings, 36.50 USD a month saved." in body
    assert (
        "Data from okta is stale since 2026-11-12 06:00 UTC (last sync failed); waste there could not" in body
    )
    assert "Slack (Business+): give notice by 2026-12-01 (8 days left)" in body


def test_teams_workflow_gets_an_adaptive_card_in_a_message_envelope(
    receiver: Callable[..., Receiver],
) -> None:
    fake = receiver(httpx.Response(202))
    deliver(teams(fake.secret_url), sample_digest(), NOW, options(FakeClock()))
    payload = posted_json(fake.requests[0])
    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert {element["type"] for element in card["body"]} <= ADAPTIVE_ELEMENTS
    assert all(e.get("wrap") for e in card["body"] if e["type"] == "TextBlock")
    facts = next(e["facts"] for e in card["body"] if e["type"] == "FactSet")
    assert {f["title"]: f["value"] for f in facts} == {
        "Monthly waste": "2,132.25 USD",
        "Annual waste": "25,587.00 USD",
        "Open findings": "62",
        "Change since the last digest": "+120.00 USD",
    }
    texts = [e["text"] for e in card["body"] if e["type"] == "TextBlock"]
    assert "1. App 0: 100.00 USD a month" in texts and "Stale or failing connectors" in texts


def test_a_legacy_teams_connector_gets_a_message_card_and_must_answer_1(
    receiver: Callable[..., Receiver],
) -> None:
    fake = receiver(httpx.Response(200, text="1"))
    deliver(teams(fake.secret_url, "message_card"), sample_digest(), NOW, options(FakeClock()))
    card = posted_json(fake.requests[0])
    assert card["@type"] == "MessageCard" and card["@context"] == "https://schema.org/extensions"
    assert card["summary"] and card["title"] == "SaaS waste digest for Acme Ltd"
    assert {"name": "Monthly waste", "value": "2,132.25 USD"} in card["sections"][0]["facts"]

    refusing = receiver(httpx.Response(200, text="Summary or Text is required."))
    with pytest.raises(DeliveryError) as caught:
        deliver(teams(refusing.secret_url, "message_card"), sample_digest(), NOW, options(FakeClock()))
    assert str(caught.value).endswith("the connector did not post the card: 'Summary or Text is required.'")


def test_429_waits_as_long_as_retry_after_says_then_succeeds(receiver: Callable[..., Receiver]) -> None:
    fake = receiver(
        httpx.Response(429, headers={"Retry-After": "7"}, text="rate limited"), httpx.Response(200, text="ok")
    )
    clock = FakeClock()
    deliver(slack(fake.secret_url), sample_digest(), NOW, options(clock))
    assert len(fake.requests) == 2
    assert clock.sleeps == [7.0]
    assert fake.requests[0].content == fake.requests[1].content  # the same message, sent again


def test_5xx_is_retried_with_backoff(receiver: Callable[..., Receiver]) -> None:
    fake = receiver(
        httpx.Response(500, text="rollup_error"), httpx.Response(503), httpx.Response(200, text="ok")
    )
    clock = FakeClock()
    deliver(slack(fake.secret_url), sample_digest(), NOW, options(clock))
    assert len(fake.requests) == 3 and len(clock.sleeps) == 2


def test_5xx_that_persists_fails_after_the_last_attempt(receiver: Callable[..., Receiver]) -> None:
    fake = receiver(httpx.Response(500, text="rollup_error"))
    with pytest.raises(DeliveryError) as caught:
        deliver(slack(fake.secret_url), sample_digest(), NOW, options(FakeClock(), attempts=3))
    assert len(fake.requests) == 3
    assert "HTTP 500 rollup_error after 3 attempts" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "hint"),
    [
        (400, "invalid_payload", "Slack could not read the message: please report this as a saaswatch bug"),
        (404, "no_service", "the webhook no longer exists (removed, or its Slack app uninstalled)"),
        (410, "channel_is_archived", "the channel is archived"),
        (403, "action_prohibited", "the workspace forbids this webhook to post in its channel"),
    ],
)
def test_other_4xx_fail_at_once_with_what_to_do(
    receiver: Callable[..., Receiver], status: int, body: str, hint: str
) -> None:
    fake = receiver(httpx.Response(status, text=body))
    clock = FakeClock()
    with pytest.raises(DeliveryError) as caught:
        deliver(slack(fake.secret_url), sample_digest(), NOW, options(clock))
    assert len(fake.requests) == 1 and clock.sleeps == []
    host = fake.server.url.removeprefix("http://")
    assert str(caught.value).startswith(
        f"Slack webhook at {host} refused the digest: HTTP {status} {body}; {hint}"
    )


def test_slack_answering_200_without_ok_is_an_error(receiver: Callable[..., Receiver]) -> None:
    fake = receiver(httpx.Response(200, text="unexpected"))
    with pytest.raises(DeliveryError, match="unexpected answer 'unexpected'"):
        deliver(slack(fake.secret_url), sample_digest(), NOW, options(FakeClock()))


@pytest.fixture
def redacted_caplog(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog at DEBUG with the daemon's own log filter (the process-wide redactor)."""
    log_filter = RedactingFilter(default_redactor())
    caplog.handler.addFilter(log_filter)
    with caplog.at_level(logging.DEBUG):
        yield caplog
    caplog.handler.removeFilter(log_filter)


def test_the_secret_url_is_never_in_logs_or_errors(
    receiver: Callable[..., Receiver], redacted_caplog: pytest.LogCaptureFixture
) -> None:
    failing = receiver(
        httpx.Response(503, text=f"echoing {SECRET_PATH}"), httpx.Response(404, text="no_service")
    )
    errors = []
    for channel in (slack(failing.secret_url), teams(failing.secret_url)):
        with pytest.raises(DeliveryError) as caught:
            deliver(channel, sample_digest(), NOW, options(FakeClock()))
        errors.append(caught.value)
    closed = receiver(httpx.Response(200, text="ok"))
    unreachable = closed.secret_url
    closed.server.close()
    with pytest.raises(DeliveryError) as caught:
        deliver(slack(unreachable), sample_digest(), NOW, options(FakeClock(), attempts=2))
    errors.append(caught.value)
    assert "could not be reached after 2 attempts" in str(errors[-1])
    # httpx and the HTTP layer did log the requests, retries included, URL and all...
    assert any(r.name == "httpx" for r in redacted_caplog.records)
    assert any("retrying" in r.getMessage() for r in redacted_caplog.records)
    logged = "\n".join(redacted_caplog.handler.format(r) for r in redacted_caplog.records)
    # ...with the webhook's host and never its secret path, in logs or errors.
    for text in [logged, *map(str, errors), *map(repr, errors)]:
        assert "hookSecretToken123" not in text and "T0SECRET" not in text
    assert all("127.0.0.1" in str(e) for e in errors)
    assert all(e.__cause__ is None and e.__suppress_context__ for e in errors)
