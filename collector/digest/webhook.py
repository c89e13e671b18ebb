"""Posting a digest to an incoming webhook through the project's HTTP layer.

:class:`~collector.http.VendorClient` does the retrying: 429 and 5xx are retried with jittered
backoff, honouring ``Retry-After``; other 4xx answers fail at once (the same message would be refused
again). A webhook URL is a credential, so its path and query are registered with the process-wide
redactor before anything is sent: log lines (httpx logs every request URL) and errors show the host.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

import collector
from collector.digest.errors import DeliveryError
from collector.http import RetryPolicy, VendorClient, VendorHTTPError, default_redactor
from collector.http.redact import Redactor

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
RETRY = RetryPolicy(max_attempts=4, backoff_base=2.0, backoff_cap=60.0, max_wait=300.0)
MAX_BODY = 200  # characters of a refusal's body quoted in an error

# Slack answers a refused incoming-webhook post with a word in the body
# (api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks).
SLACK_GONE = (
    "the webhook no longer exists (removed, or its Slack app uninstalled) or the URL is wrong: "
    "create a new one and update webhook_url"
)
SLACK_HINTS = {
    "invalid_payload": "Slack could not read the message: please report this as a saaswatch bug",
    "invalid_blocks": "Slack could not read the message: please report this as a saaswatch bug",
    "invalid_blocks_format": "Slack could not read the message: please report this as a saaswatch bug",
    "no_service": SLACK_GONE,
    "no_service_id": SLACK_GONE,
    "no_team": SLACK_GONE,
    "team_disabled": SLACK_GONE,
    "invalid_token": SLACK_GONE,
    "channel_not_found": "the webhook's channel no longer exists: create a webhook for another channel",
    "channel_is_archived": "the channel is archived: unarchive it or create a webhook for another channel",
    "action_prohibited": "the workspace forbids this webhook to post in its channel",
    "posting_to_general_channel_denied": "only admins may post to this channel",
}
STATUS_HINTS = {
    400: "the service could not read the message",
    401: "the service refused the webhook URL: check it is complete and still enabled",
    403: "the service refused the webhook URL: check it is complete and still enabled",
    404: "the webhook no longer exists or the URL is wrong: create a new one and update webhook_url",
    410: "the webhook no longer exists: create a new one and update webhook_url",
    413: "the message is too large: lower digest.top",
    429: "the service kept rate limiting the post; the next digest tries again",
}


@dataclass(frozen=True)
class WebhookOptions:
    """Seams for tests: the retry policy, the clock and sleep the client waits with, a transport."""

    retry: RetryPolicy = RETRY
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    transport: httpx.BaseTransport | None = None


class WebhookClient(VendorClient):
    """A :class:`VendorClient` that keeps the body of the last refused response: webhooks explain a
    refusal in plain text (Slack's ``no_service``), which :class:`VendorHTTPError` does not carry."""

    last_refusal: str | None = None

    def observe_response(self, response: httpx.Response) -> None:
        super().observe_response(response)
        if not response.is_success:
            self.last_refusal = response.text.strip()[:MAX_BODY] or None


def register_secret(url: SecretStr, redactor: Redactor) -> None:
    """Mask the URL's secret parts (path and query) in every form a log line or error may show."""
    parsed = httpx.URL(url.get_secret_value())
    redactor.add(parsed.raw_path.decode(), parsed.path, parsed.query.decode())


def host_of(url: SecretStr) -> str:
    """The part of a webhook URL that may be shown: its host (and port, when not the default)."""
    parsed = httpx.URL(url.get_secret_value())
    return parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"


def post_webhook(
    url: SecretStr,
    payload: dict[str, Any],
    *,
    service: str,
    accept: Callable[[httpx.Response], str | None],
    options: WebhookOptions,
) -> None:
    """POST ``payload`` as JSON; raise :class:`DeliveryError` unless it is accepted.

    ``accept`` looks at the 2xx response and returns what is wrong with it, or None.
    """
    redactor = default_redactor()
    register_secret(url, redactor)
    parsed = httpx.URL(url.get_secret_value())
    where = f"{service} webhook at {host_of(url)}"
    client = WebhookClient(
        f"{parsed.scheme}://{parsed.netloc.decode()}",
        vendor=f"{service} webhook",
        headers={"User-Agent": f"saaswatch/{collector.__version__}"},
        timeout=TIMEOUT,
        retry=options.retry,
        redactor=redactor,
        transport=options.transport,
        clock=options.clock,
        sleep=options.sleep,
    )
    with client:
        try:
            response = client.post(parsed.raw_path.decode(), json=payload)
        except VendorHTTPError as exc:
            raise DeliveryError(_refusal(where, exc, client.last_refusal, redactor)) from None
    problem = accept(response)
    if problem is not None:
        raise DeliveryError(f"{where}: {redactor.redact(problem)}")


def _refusal(where: str, exc: VendorHTTPError, body: str | None, redactor: Redactor) -> str:
    attempts = f" after {exc.attempts} attempts" if exc.attempts > 1 else ""
    if exc.status is None:
        return f"{where} could not be reached{attempts}: {exc.detail}"
    code = exc.vendor_code or (redactor.redact(body) if body else None)
    text = f"{where} refused the digest: HTTP {exc.status}" + (f" {code}" if code else "") + attempts
    hint = SLACK_HINTS.get(code or "") or STATUS_HINTS.get(exc.status)
    if hint is None and exc.status >= 500:
        hint = "the service is failing; the next digest tries again"
    return f"{text}; {hint}" if hint else text
