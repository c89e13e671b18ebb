"""A proactive rate limiter, shared by every client of one tenant's vendor.

Retrying on 429 alone is not enough: on big organisations every retry spends quota the rest of the
scan needed, and Prowler's Okta scans ended partial that way. So a client asks its limiter before
each request. The limiter is a token bucket (a steady rate with a burst), and it also listens to the
vendor: when a response says only ``reserve`` requests are left in the window, it holds every request
until the window resets, before the vendor has to refuse one.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable

from collector.http.errors import WaitTooLongError

log = logging.getLogger("saaswatch.http.ratelimit")


class RateLimiter:
    """Token bucket plus header-driven pauses. Safe to share between threads.

    ``rate`` is requests per second (``None``: no bucket, only pauses); ``burst`` is how many may go
    back to back after a quiet spell. ``reserve`` is how many requests of the vendor's window to leave
    unused: at or below it, :meth:`observe` pauses until the window resets.
    """

    def __init__(
        self,
        rate: float | None = None,
        *,
        burst: int = 1,
        reserve: int = 2,
        name: str = "",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None for no bucket)")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self.reserve = reserve
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated = clock()
        self._paused_until = -math.inf

    def acquire(self, max_wait: float = math.inf) -> float:
        """Wait until one request may go, and take its token. Returns the seconds slept.

        Raises :class:`WaitTooLongError` (taking nothing) when that wait would exceed ``max_wait``.
        """
        with self._lock:
            now = self._clock()
            if self.rate is not None:
                # The clock is wall time (resets are epoch instants); a step backwards adds nothing.
                elapsed = max(0.0, now - self._updated)
                self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
            self._updated = now
            # Tokens may go negative: each caller reserves its slot now and sleeps outside the lock,
            # so concurrent callers queue up one interval apart.
            bucket_wait = max(0.0, (1.0 - self._tokens) / self.rate) if self.rate is not None else 0.0
            wait = max(bucket_wait, self._paused_until - now)
            if wait > max_wait:
                raise WaitTooLongError(wait)
            if self.rate is not None:
                self._tokens -= 1.0
        if wait > 0:
            self._sleep(wait)
            return wait
        return 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` from now (longer pauses already set stay)."""
        with self._lock:
            now = self._clock()
            starts = self._paused_until <= now < now + seconds
            self._paused_until = max(self._paused_until, now + seconds)
        if starts:
            log.info("%s: holding requests for %.1fs", self.name or "rate limiter", seconds)

    def observe(self, remaining: int, reset_in: float) -> None:
        """Take in a response's rate-limit headers: pause until the reset when ``remaining`` is low."""
        if remaining <= self.reserve:
            self.pause(reset_in)


class RateLimiterRegistry:
    """One :class:`RateLimiter` per (tenant, vendor), so all clients of a tenant's vendor share it."""

    def __init__(
        self, *, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._limiters: dict[tuple[str, str], RateLimiter] = {}

    def get(
        self, tenant_id: str, vendor: str, *, rate: float | None = None, burst: int = 1, reserve: int = 2
    ) -> RateLimiter:
        """The limiter of ``(tenant_id, vendor)``, created with the first caller's settings."""
        with self._lock:
            limiter = self._limiters.get((tenant_id, vendor))
            if limiter is None:
                limiter = RateLimiter(
                    rate,
                    burst=burst,
                    reserve=reserve,
                    name=f"{tenant_id}/{vendor}",
                    clock=self._clock,
                    sleep=self._sleep,
                )
                self._limiters[(tenant_id, vendor)] = limiter
            return limiter


@functools.cache
def limiter_registry() -> RateLimiterRegistry:
    """The process-wide registry connectors take their limiters from."""
    return RateLimiterRegistry()
