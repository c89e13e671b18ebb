"""Talking to Microsoft Graph: the client-credentials token and the shared HTTP client.

Everything goes through ``collector.http``: retries on 429 (with ``Retry-After`` when Graph sends
it, exponential backoff when it does not, VENDOR_APIS.md 2.4), on 503/504 with their
``Retry-After``, a renewed token on 401, and redacted errors.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from collector.http import AccessToken, RateLimiter, RetryPolicy, TokenAuth, VendorClient
from collector.http.redact import default_redactor
from connectors.microsoft365.settings import Microsoft365Settings

VENDOR = "microsoft365"

# The token endpoint's answer is JSON with the token and its lifetime in seconds (usually 3599).
# A token is renewed this long before it runs out, so a slow page never carries a dead one.
TOKEN_LEEWAY = 300.0


@dataclass(frozen=True)
class Plumbing:
    """What tests swap for fakes: the transport, the clocks and the rate limiter."""

    transport: httpx.BaseTransport | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    draw: Callable[[], float] = random.random  # backoff jitter in [0, 1)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limiter: RateLimiter | None = None


def token_fetcher(settings: Microsoft365Settings, plumbing: Plumbing) -> Callable[[], AccessToken]:
    """A function that asks the tenant's token endpoint for a Graph token (client credentials)."""
    redactor = default_redactor()
    redactor.add(settings.client_secret)
    path = f"/{settings.tenant_id}/oauth2/v2.0/token"

    def fetch() -> AccessToken:
        with VendorClient(
            settings.login_base_url,
            vendor=VENDOR,
            retry=plumbing.retry,
            transport=plumbing.transport,
            clock=plumbing.clock,
            sleep=plumbing.sleep,
            draw=plumbing.draw,
        ) as login:
            response = login.post(
                path,
                data={
                    "grant_type": "client_credentials",
                    "client_id": settings.client_id,
                    "client_secret": settings.client_secret.get_secret_value(),
                    "scope": settings.token_scope,
                },
            )
        return parse_token(response, plumbing.clock())

    return fetch


def parse_token(response: httpx.Response, now: float) -> AccessToken:
    """The access token in a token endpoint response, registered with the redactor before use."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise TokenError("the token endpoint answered without an access_token")
    default_redactor().add(token)
    lifetime = body.get("expires_in")
    try:
        expires_at = now + float(lifetime) if lifetime is not None else None
    except (TypeError, ValueError):
        expires_at = None
    return AccessToken(SecretStr(token), expires_at)


class TokenError(Exception):
    """The token endpoint answered 2xx but with no usable token."""


def graph_client(settings: Microsoft365Settings, plumbing: Plumbing) -> VendorClient:
    """A client for ``settings.graph_base_url`` that fetches and renews its own token."""
    auth = TokenAuth(token_fetcher(settings, plumbing), leeway=TOKEN_LEEWAY, clock=plumbing.clock)
    return VendorClient(
        settings.graph_base_url,
        vendor=VENDOR,
        auth=auth,
        retry=plumbing.retry,
        limiter=plumbing.limiter,
        transport=plumbing.transport,
        clock=plumbing.clock,
        sleep=plumbing.sleep,
        draw=plumbing.draw,
    )


class GraphShapeError(Exception):
    """A Graph answer is not shaped as documented; nothing after it can be trusted."""


def values(body: Any) -> list[Any]:
    """The ``value`` list of a Graph collection page."""
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise GraphShapeError("a Graph collection page without a 'value' list")
    return items
