"""RateLimiter and its registry, on a fake clock: the sleeps asked for are asserted, never wall time."""

from __future__ import annotations

from email.utils import formatdate

import httpx
import pytest

from collector.http import (
    RateLimiter,
    RateLimiterRegistry,
    RateLimitError,
    Redactor,
    VendorClient,
    WaitTooLongError,
)
from collector.http.testing import FakeClock

START = 1_700_000_000.0


def limiter(clock: FakeClock, rate: float | None = None, **kwargs: int) -> RateLimiter:
    return RateLimiter(rate, clock=clock, sleep=clock.sleep, **kwargs)


def test_bucket_lets_a_burst_through_then_spaces_requests_at_the_rate() -> None:
    clock = FakeClock(START)
    bucket = limiter(clock, rate=2.0, burst=2)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == [0.0, 0.0, 0.5, 0.5, 0.5]
    assert clock.sleeps == [0.5, 0.5, 0.5]


def test_bucket_refills_while_idle_but_not_beyond_the_burst() -> None:
    clock = FakeClock(START)
    bucket = limiter(clock, rate=1.0, burst=3)
    for _ in range(3):
        bucket.acquire()
    clock.now += 100
    for _ in range(3):
        bucket.acquire()
    assert clock.sleeps == []
    bucket.acquire()
    assert clock.sleeps == [1.0]


def test_concurrent_callers_queue_one_interval_apart() -> None:
    clock = FakeClock(START)
    slept: list[float] = []
    bucket = RateLimiter(4.0, burst=1, clock=clock, sleep=slept.append)  # sleeps do not move the clock
    waits = [bucket.acquire() for _ in range(4)]
    assert waits == [0.0, 0.25, 0.5, 0.75]


def test_a_clock_stepping_back_adds_no_tokens() -> None:
    clock = FakeClock(START)
    bucket = limiter(clock, rate=1.0, burst=1)
    bucket.acquire()
    clock.now -= 50
    assert bucket.acquire() == 1.0


def test_low_remaining_pauses_until_the_reset() -> None:
    clock = FakeClock(START)
    bucket = limiter(clock, reserve=2)
    bucket.observe(remaining=2, reset_in=30.0)
    assert bucket.acquire() == 30.0
    assert bucket.acquire() == 0.0
    assert clock.sleeps == [30.0]


def test_remaining_above_the_reserve_does_not_pause() -> None:
    clock = FakeClock(START)
    bucket = limiter(clock, reserve=2)
    bucket.observe(remaining=3, reset_in=30.0)
    assert bucket.acquire() == 0.0
    assert clock.sleeps == []


def test_a_pause_longer_than_allowed_raises_and_takes_no_token() -> None:
    clock = FakeClock(START)
    bucket = limiter(clock, rate=1.0, burst=1)
    bucket.pause(1000.0)
    with pytest.raises(WaitTooLongError) as caught:
        bucket.acquire(max_wait=300.0)
    assert caught.value.wait == 1000.0
    clock.now += 1000
    assert bucket.acquire() == 0.0  # the refused call left the token in the bucket
    assert clock.sleeps == []


def test_registry_shares_one_limiter_per_tenant_and_vendor() -> None:
    clock = FakeClock(START)
    registry = RateLimiterRegistry(clock=clock, sleep=clock.sleep)
    okta_a = registry.get("tenant-a", "okta", rate=10.0, burst=5)
    assert registry.get("tenant-a", "okta", rate=99.0) is okta_a
    assert okta_a.rate == 10.0  # the first caller's settings stay
    assert registry.get("tenant-b", "okta") is not okta_a
    assert registry.get("tenant-a", "slack") is not okta_a
    assert okta_a.name == "tenant-a/okta"


def okta_page(remaining: int, reset: float, date: float) -> httpx.Response:
    return httpx.Response(
        200,
        json=[],
        headers={
            "Date": formatdate(date, usegmt=True),
            "X-Rate-Limit-Limit": "600",
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(int(reset)),
        },
    )


def test_client_sleeps_before_the_request_that_would_exceed_the_rate() -> None:
    clock = FakeClock(START)
    sent_at: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now)
        return httpx.Response(200, json={})

    client = VendorClient(
        "https://vendor.test/",
        vendor="slack",
        transport=httpx.MockTransport(handler),
        limiter=limiter(clock, rate=0.5, burst=2),
        redactor=Redactor(),
        clock=clock,
        sleep=clock.sleep,
    )
    for _ in range(4):
        client.get("users.list")
    assert sent_at == [START, START, START + 2, START + 4]
    assert clock.sleeps == [2.0, 2.0]


def test_client_slows_down_when_okta_remaining_reaches_the_reserve() -> None:
    clock = FakeClock(START + 5)  # local clock 5 s ahead: the wait comes from Date, not from it
    replies = [
        okta_page(10, START + 40, START),
        okta_page(2, START + 40, START + 1),
        okta_page(599, START + 100, START + 41),
    ]
    sent_at: list[float] = []
    statuses: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now)
        reply = replies.pop(0)
        statuses.append(reply.status_code)
        return reply

    client = VendorClient(
        "https://corp.okta.test/",
        vendor="okta",
        transport=httpx.MockTransport(handler),
        limiter=limiter(clock, reserve=2),
        redactor=Redactor(),
        clock=clock,
        sleep=clock.sleep,
    )
    for _ in range(3):
        client.get("api/v1/users")
    # After "2 left, reset at +40" (seen at server time +1) the third request waits 39 s + 1 s.
    assert clock.sleeps == [40.0]
    assert sent_at == [START + 5, START + 5, START + 45]
    assert statuses == [200, 200, 200]  # slowed down before any 429


def test_client_fails_rather_than_pause_past_max_wait() -> None:
    clock = FakeClock(START)
    replies = [okta_page(0, START + 3000, START)]
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return replies.pop(0)

    client = VendorClient(
        "https://api.github.test/",
        vendor="github",
        transport=httpx.MockTransport(handler),
        limiter=limiter(clock, reserve=2),
        redactor=Redactor(),
        clock=clock,
        sleep=clock.sleep,
    )
    client.get("orgs/acme/members")
    with pytest.raises(RateLimitError) as caught:
        client.get("orgs/acme/members", params={"page": 2})
    assert caught.value.retry_after == 3001.0
    assert "next request may go in 3001s, more than the 300s limit" in str(caught.value)
    assert len(requests) == 1
    assert clock.sleeps == []
