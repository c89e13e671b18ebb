"""HTTP plumbing: one client per Okta rate-limit bucket, all sharing the credentials.

Okta counts requests per endpoint family per minute (developer.okta.com/docs/reference/rl-global-mgmt):
``/api/v1/users``, ``/api/v1/apps`` (app listing and ``/api/v1/apps/{id}/users`` alike) and
``/api/v1/logs`` each have their own budget and each answer with their own ``X-Rate-Limit-*``
headers. A limiter per family keeps the System Log's pauses from holding the user listing, and the
headers of one family from being read as the state of another.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

import httpx

from collector.connector import SyncContext
from collector.http import (
    Auth,
    RateLimiter,
    RateLimiterRegistry,
    RetryPolicy,
    VendorClient,
    limiter_registry,
)
from connectors.okta.auth import make_auth
from connectors.okta.settings import OktaSettings
from connectors.okta.users import USER_LISTINGS

VENDOR = "okta"
Family = Literal["users", "apps", "logs"]


@dataclass
class Plumbing:
    """What tests replace: the transport, the clock and sleep, retries and the limiter registry."""

    transport: httpx.BaseTransport | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limiters: RateLimiterRegistry = field(default_factory=limiter_registry)

    def limiter(self, ctx: SyncContext, settings: OktaSettings, family: Family) -> RateLimiter:
        """The limiter of this org's bucket, shared by every connector instance using it.

        No steady rate: Okta's windows are fixed minutes, and the limiter pauses on the headers when
        a window is nearly spent. The reserve covers the requests that may already be in flight.
        """
        workers = {"users": USER_LISTINGS, "apps": settings.assignment_workers, "logs": settings.log_workers}
        host = httpx.URL(settings.base_url).host
        return self.limiters.get(ctx.tenant_id, f"{VENDOR}:{host}:{family}", reserve=workers[family] + 1)


class OktaApi:
    """The clients of one sync: ``users``, ``apps`` and ``logs``, each with its bucket's limiter."""

    def __init__(self, settings: OktaSettings, ctx: SyncContext, plumbing: Plumbing) -> None:
        def client(auth: Auth | None, limiter: RateLimiter | None) -> VendorClient:
            return VendorClient(
                settings.base_url,
                vendor=VENDOR,
                auth=auth,
                headers={"Accept": "application/json"},
                retry=plumbing.retry,
                limiter=limiter,
                transport=plumbing.transport,
                clock=plumbing.clock,
                sleep=plumbing.sleep,
            )

        # The token endpoint has a bucket of its own and is called about once an hour: no limiter.
        self.token = client(None, None)
        self.token.redactor.add_model(settings)
        auth = make_auth(settings, self.token, plumbing.clock)
        self.users = client(auth, plumbing.limiter(ctx, settings, "users"))
        self.apps = client(auth, plumbing.limiter(ctx, settings, "apps"))
        self.logs = client(auth, plumbing.limiter(ctx, settings, "logs"))

    def close(self) -> None:
        for client in (self.users, self.apps, self.logs, self.token):
            client.close()

    def __enter__(self) -> OktaApi:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
