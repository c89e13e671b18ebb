"""Sending a tenant's digest: each channel on its own, so a failing one never stops the others.

Each channel compares with the last digest it received itself (a channel that failed last week gets
"new since" from the week before), and what it received is recorded only once it was accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import httpx

from collector.config import TenantConfig
from collector.digest.config import DigestConfig, SlackChannel, SmtpChannel, TeamsChannel, channel_name
from collector.digest.content import Baseline, Digest, build_digest
from collector.digest.errors import DeliveryError
from collector.digest.mail import email_message, send_email
from collector.digest.slack import slack_payload
from collector.digest.state import last_sent, record_sent
from collector.digest.teams import teams_payload
from collector.digest.webhook import WebhookOptions, post_webhook, register_secret
from collector.http import default_redactor
from collector.store import Store
from collector.timeutil import utcnow

log = logging.getLogger("saaswatch.digest")

AnyChannel = SlackChannel | TeamsChannel | SmtpChannel


@dataclass(frozen=True)
class ChannelResult:
    channel: str
    sent: bool
    error: str | None = None  # safe to show: no secret in it


def register_secrets(digest: DigestConfig) -> None:
    """Teach the process-wide redactor (the one the log filter uses) the digest's secrets."""
    redactor = default_redactor()
    for channel in digest.channels:
        if isinstance(channel, SmtpChannel):
            redactor.add(channel.secret)
        else:
            register_secret(channel.url, redactor)


def preview(store: Store, tenant: TenantConfig, now: datetime | None = None) -> Digest:
    """The digest as it would go out now, compared with the newest digest any channel received."""
    config = tenant.digest
    with store.sessions() as session:
        return build_digest(
            session,
            tenant,
            now or utcnow(),
            last_sent(session, tenant.id),
            top=config.top if config else 10,
            deadline_days=config.deadline_days if config else 30,
        )


def send_digest(
    store: Store,
    tenant: TenantConfig,
    now: datetime | None = None,
    channels: Collection[str] | None = None,
    options: WebhookOptions | None = None,
) -> list[ChannelResult]:
    """Send the digest to every channel of ``tenant`` (or those named in ``channels``). Never raises
    for a channel's failure: it is logged and returned."""
    config = tenant.digest
    if config is None:
        raise ValueError(f"tenant {tenant.id} has no digest block in the config")
    now = now or utcnow()
    options = options or WebhookOptions()
    register_secrets(config)
    built: dict[Baseline | None, Digest] = {}
    results = []
    for channel in config.channels:
        name = channel_name(channel)
        if channels is not None and name not in channels:
            continue
        context = {"tenant": tenant.id}
        try:
            with store.sessions() as session:
                previous = last_sent(session, tenant.id, name)
                if previous not in built:
                    built[previous] = build_digest(
                        session, tenant, now, previous, top=config.top, deadline_days=config.deadline_days
                    )
            digest = built[previous]
            deliver(channel, digest, now, options)
            with store.transaction() as session:
                record_sent(session, tenant.id, name, digest, now)
        except DeliveryError as exc:
            log.error("digest not sent to channel %s: %s", name, exc, extra=context)
            results.append(ChannelResult(name, False, str(exc)))
            continue
        except Exception as exc:  # a bug or a store outage: this channel fails, the others still go
            log.exception("digest to channel %s failed", name, extra=context)
            reason = default_redactor().redact(f"{type(exc).__name__}: {exc}")
            results.append(ChannelResult(name, False, reason))
            continue
        log.info(
            "digest sent to channel %s: %s %s/month in %d open findings",
            name,
            digest.monthly_waste,
            digest.currency,
            digest.open_findings,
            extra=context,
        )
        results.append(ChannelResult(name, True))
    return results


def deliver(channel: AnyChannel, digest: Digest, now: datetime, options: WebhookOptions) -> None:
    """Send ``digest`` to one channel; raise :class:`DeliveryError` when it is not accepted."""
    if isinstance(channel, SlackChannel):
        post_webhook(channel.url, slack_payload(digest), service="Slack", accept=_slack_ok, options=options)
    elif isinstance(channel, TeamsChannel):
        accept = _connector_ok if channel.format == "message_card" else _any_2xx
        payload = teams_payload(digest, channel.format)
        post_webhook(channel.url, payload, service="Teams", accept=accept, options=options)
    else:
        send_email(channel, email_message(channel, digest, now))


def _slack_ok(response: httpx.Response) -> str | None:
    # Slack answers a posted message with HTTP 200 and the body "ok".
    body = response.text.strip()
    return None if body == "ok" else f"unexpected answer {body[:100]!r} (Slack answers 'ok' once it posted)"


def _connector_ok(response: httpx.Response) -> str | None:
    # A legacy Office 365 connector answers "1" once posted; it reports some failures with HTTP 200
    # and an explanation in the body instead.
    body = response.text.strip()
    return None if body == "1" else f"the connector did not post the card: {body[:200]!r}"


def _any_2xx(response: httpx.Response) -> str | None:
    return None  # a Workflows webhook answers 202 Accepted; the flow posts the card afterwards
