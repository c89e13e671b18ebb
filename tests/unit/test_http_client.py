"""VendorClient: retries, waits from vendor headers, auth renewal, errors and logs (all offline)."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from collector.http import (
    AccessToken,
    HeaderAuth,
    RateLimiter,
    RateLimitError,
    Redactor,
    RetryPolicy,
    TokenAuth,
    VendorClient,
    VendorHTTPError,
)
from collector.http.testing import FakeClock

START = 1_700_000_000.0

Reply = httpx.Response | Exception


class Script:
    """A MockTransport handler that plays replies in order and records what was sent, and when."""

    def __init__(self, replies: Iterable[Reply], clock: FakeClock) -> None:
        self.replies = list(replies)
        self.clock = clock
        self.requests: list[httpx.Request] = []
        self.sent_at: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.sent_at.append(self.clock.now)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def make_client(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: FakeClock,
    *,
    draw: Callable[[], float] = lambda: 0.5,
    **kwargs: Any,
) -> VendorClient:
    return VendorClient(
        "https://vendor.test/api/",
        vendor="testvendor",
        transport=httpx.MockTransport(handler),
        clock=clock,
        sleep=clock.sleep,
        draw=draw,
        redactor=kwargs.pop("redactor", Redactor()),
        **kwargs,
    )


def http_date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)


def ok(body: Any = None) -> httpx.Response:
    return httpx.Response(200, json=body if body is not None else {"ok": True})


def test_429_with_retry_after_seconds_waits_that_long() -> None:
    clock = FakeClock(START)
    script = Script([httpx.Response(429, headers={"Retry-After": "7"}), ok()], clock)
    with make_client(script, clock) as client:
        response = client.get("users")
    assert response.status_code == 200
    assert clock.sleeps == [7.0]
    assert script.sent_at == [START, START + 7]


def test_429_with_retry_after_http_date_measures_against_the_date_header() -> None:
    clock = FakeClock(START + 100)  # local clock 100 s ahead of the server
    retry = httpx.Response(429, headers={"Date": http_date(START), "Retry-After": http_date(START + 12)})
    script = Script([retry, ok()], clock)
    with make_client(script, clock) as client:
        client.get("users")
    assert clock.sleeps == [12.0]


def test_retry_after_http_date_without_date_header_uses_the_clock() -> None:
    clock = FakeClock(START)
    script = Script([httpx.Response(503, headers={"Retry-After": http_date(START + 5)}), ok()], clock)
    with make_client(script, clock) as client:
        client.get("users")
    assert clock.sleeps == [5.0]


def test_okta_429_waits_until_reset_measured_from_the_date_header() -> None:
    clock = FakeClock(START + 100)  # skewed: without Date the reset would look already past
    okta_429 = httpx.Response(
        429,
        headers={
            "Date": http_date(START),
            "X-Rate-Limit-Limit": "600",
            "X-Rate-Limit-Remaining": "0",
            "X-Rate-Limit-Reset": str(int(START + 30)),
        },
        json={
            "errorCode": "E0000047",
            "errorSummary": "API call exceeded rate limit due to too many requests.",
        },
    )
    script = Script([okta_429, ok()], clock)
    with make_client(script, clock) as client:
        client.get("users")
    assert clock.sleeps == [31.0]  # 30 s to the reset plus one second of header resolution


def test_graph_429_without_retry_after_backs_off_exponentially() -> None:
    clock = FakeClock(START)
    throttled = [httpx.Response(429, json={"error": {"code": "TooManyRequests"}}) for _ in range(3)]
    script = Script([*throttled, ok()], clock)
    with make_client(script, clock, draw=lambda: 0.5) as client:
        client.get("users")
    assert clock.sleeps == [0.5, 1.0, 2.0]  # half of 1, 2, 4 seconds


def test_backoff_jitter_stays_within_the_capped_exponential_bounds() -> None:
    clock = FakeClock(START)
    throttled = [httpx.Response(429) for _ in range(7)]
    script = Script([*throttled, ok()], clock)
    policy = RetryPolicy(max_attempts=8, backoff_base=1.0, backoff_cap=8.0)
    with make_client(script, clock, draw=random.Random(7).random, retry=policy) as client:
        client.get("users")
    bounds = [1, 2, 4, 8, 8, 8, 8]
    assert len(clock.sleeps) == 7
    assert all(0 <= wait <= bound for wait, bound in zip(clock.sleeps, bounds, strict=True))
    assert len(set(clock.sleeps)) == 7  # jittered, not a fixed schedule


def test_server_errors_are_retried_until_success() -> None:
    clock = FakeClock(START)
    script = Script([httpx.Response(s) for s in (500, 502, 503, 504)] + [ok({"n": 1})], clock)
    with make_client(script, clock, retry=RetryPolicy(max_attempts=5)) as client:
        assert client.get("users").json() == {"n": 1}
    assert len(script.requests) == 5
    assert len(clock.sleeps) == 4


def test_gives_up_after_max_attempts_with_a_clear_error() -> None:
    clock = FakeClock(START)
    script = Script([httpx.Response(503) for _ in range(3)], clock)
    client = make_client(script, clock, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(VendorHTTPError) as caught:
        client.get("users")
    error = caught.value
    assert type(error) is VendorHTTPError
    assert error.status == 503
    assert error.attempts == 3
    assert str(error) == (
        "testvendor: GET https://vendor.test/api/users -> HTTP 503 "
        "(server error (HTTP 503); gave up) after 3 attempts"
    )
    assert len(script.requests) == 3
    assert len(clock.sleeps) == 2  # no pointless wait after the last try


def test_persistent_429_raises_rate_limit_error_with_the_hint() -> None:
    clock = FakeClock(START)
    script = Script([httpx.Response(429, headers={"Retry-After": "2"}) for _ in range(2)], clock)
    client = make_client(script, clock, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(RateLimitError) as caught:
        client.get("users")
    assert caught.value.status == 429
    assert caught.value.retry_after == 2.0
    assert clock.sleeps == [2.0]


def test_a_wait_beyond_max_wait_fails_at_once() -> None:
    clock = FakeClock(START)
    script = Script([httpx.Response(429, headers={"Retry-After": "3600"})], clock)
    client = make_client(script, clock, retry=RetryPolicy(max_wait=300))
    with pytest.raises(RateLimitError) as caught:
        client.get("users")
    assert caught.value.retry_after == 3600.0
    assert "server asks to wait 3600s, more than the 300s limit" in str(caught.value)
    assert clock.sleeps == []


def test_github_403_with_remaining_zero_is_a_rate_limit() -> None:
    clock = FakeClock(START)
    limited = httpx.Response(
        403,
        headers={
            "Date": http_date(START),
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(START + 42)),
        },
        json={"message": "API rate limit exceeded for installation ID 1."},
    )
    script = Script([limited, ok()], clock)
    with make_client(script, clock) as client:
        assert client.get("orgs/acme/copilot/billing/seats").status_code == 200
    assert clock.sleeps == [43.0]


def test_github_403_with_retry_after_is_a_secondary_rate_limit() -> None:
    clock = FakeClock(START)
    secondary = httpx.Response(
        403,
        headers={"retry-after": "60", "x-ratelimit-remaining": "4000"},
        json={"message": "You have exceeded a secondary rate limit."},
    )
    script = Script([secondary, ok()], clock)
    with make_client(script, clock) as client:
        client.get("orgs/acme/members")
    assert clock.sleeps == [60.0]


def test_plain_403_is_a_permission_error_and_not_retried() -> None:
    clock = FakeClock(START)
    denied = httpx.Response(
        403,
        json={"errorCode": "E0000006", "errorSummary": "You do not have permission to perform the action."},
    )
    script = Script([denied], clock)
    with make_client(script, clock) as client, pytest.raises(VendorHTTPError) as caught:
        client.get("api/v1/logs")
    error = caught.value
    assert type(error) is VendorHTTPError
    assert (error.status, error.vendor_code) == (403, "E0000006")
    assert error.vendor_message == "You do not have permission to perform the action."
    assert len(script.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("reason", ["userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"])
def test_google_403_rate_limit_reasons_are_retried_with_backoff(reason: str) -> None:
    clock = FakeClock(START)
    body = {"error": {"code": 403, "message": "Quota exceeded", "errors": [{"reason": reason}]}}
    script = Script([httpx.Response(403, json=body), ok()], clock)
    with make_client(script, clock, draw=lambda: 0.25) as client:
        client.get("admin/directory/v1/users")
    assert clock.sleeps == [0.25]


def test_connect_and_read_errors_are_retried() -> None:
    clock = FakeClock(START)
    script = Script([httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out"), ok()], clock)
    with make_client(script, clock) as client:
        assert client.get("users").status_code == 200
    assert clock.sleeps == [0.5, 1.0]


def test_transport_errors_exhausted_raise_without_status() -> None:
    clock = FakeClock(START)
    script = Script([httpx.ConnectError("connection refused") for _ in range(2)], clock)
    client = make_client(script, clock, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(VendorHTTPError) as caught:
        client.get("users")
    assert caught.value.status is None
    assert "ConnectError: connection refused" in str(caught.value)
    assert caught.value.__cause__ is None


def token_sequence(*values: str) -> tuple[Callable[[], AccessToken], list[str]]:
    fetched: list[str] = []
    pending = list(values)

    def fetch() -> AccessToken:
        value = pending.pop(0)
        fetched.append(value)
        return AccessToken(SecretStr(value))

    return fetch, fetched


def test_401_renews_the_token_once_and_retries() -> None:
    clock = FakeClock(START)
    fetch, fetched = token_sequence("token-old-111", "token-new-222")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer token-old-111":
            return httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken"}})
        return ok()

    with make_client(handler, clock, auth=TokenAuth(fetch, clock=clock)) as client:
        assert client.get("users").status_code == 200
    assert seen == ["Bearer token-old-111", "Bearer token-new-222"]
    assert fetched == ["token-old-111", "token-new-222"]
    assert clock.sleeps == []


def test_401_after_renewal_is_an_error_not_a_loop() -> None:
    clock = FakeClock(START)
    fetch, fetched = token_sequence("token-one-111", "token-two-222", "token-three-333")
    script = Script([httpx.Response(401), httpx.Response(401)], clock)
    client = make_client(script, clock, auth=TokenAuth(fetch, clock=clock))
    with pytest.raises(VendorHTTPError) as caught:
        client.get("users")
    assert caught.value.status == 401
    assert len(script.requests) == 2
    assert fetched == ["token-one-111", "token-two-222"]


def test_static_credentials_are_not_retried_on_401() -> None:
    clock = FakeClock(START)
    script = Script([httpx.Response(401)], clock)
    auth = HeaderAuth(SecretStr("00abcdefSSWStoken"), scheme="SSWS")
    with make_client(script, clock, auth=auth) as client, pytest.raises(VendorHTTPError):
        client.get("api/v1/users")
    assert len(script.requests) == 1
    assert script.requests[0].headers["Authorization"] == "SSWS 00abcdefSSWStoken"


def test_token_is_fetched_again_shortly_before_it_expires() -> None:
    clock = FakeClock(START)
    fetched: list[int] = []

    def fetch() -> AccessToken:
        fetched.append(1)
        return AccessToken(SecretStr(f"token-{len(fetched)}-abc"), expires_at=clock.now + 3600)

    auth = TokenAuth(fetch, clock=clock, leeway=60)
    script = Script([ok(), ok(), ok()], clock)
    with make_client(script, clock, auth=auth) as client:
        client.get("users")
        clock.now += 3500  # still valid beyond the leeway
        client.get("users")
        clock.now += 50  # now within 60 s of expiry
        client.get("users")
    assert [r.headers["Authorization"] for r in script.requests] == [
        "Bearer token-1-abc",
        "Bearer token-1-abc",
        "Bearer token-2-abc",
    ]


def test_a_rate_limit_pauses_every_client_sharing_the_limiter() -> None:
    clock = FakeClock(START)
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    sibling_script = Script([ok()], clock)
    sibling = make_client(sibling_script, clock, limiter=limiter)

    def first_client_sleeps(seconds: float) -> None:
        sibling.get("groups")  # the sibling asks while the first client waits out its 429

    first_script = Script([httpx.Response(429, headers={"Retry-After": "20"}), ok()], clock)
    first = make_client(first_script, clock, limiter=limiter)
    first._sleep = first_client_sleeps
    first.get("users")
    assert sibling_script.sent_at == [START + 20]
    assert clock.sleeps == [20.0]  # the sibling's wait, in the shared limiter
    assert first_script.sent_at == [START, START + 20]


def test_retries_log_one_warning_each_and_requests_log_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(START)
    script = Script([httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(502), ok()], clock)
    with caplog.at_level(logging.DEBUG, logger="saaswatch"), make_client(script, clock) as client:
        client.get("users")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "testvendor: GET https://vendor.test/api/users failed (attempt 1/5): rate limited (HTTP 429); "
        "retrying in 3.0s",
        "testvendor: GET https://vendor.test/api/users failed (attempt 2/5): server error (HTTP 502); "
        "retrying in 1.0s",
    ]
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG and r.name == "saaswatch.http"]
    assert len(debug) == 3


def test_an_error_status_that_is_not_retryable_raises_at_once() -> None:
    clock = FakeClock(START)
    body = {"error": {"code": "Request_ResourceNotFound", "message": "gone"}}
    script = Script([httpx.Response(404, json=body)], clock)
    with make_client(script, clock) as client, pytest.raises(VendorHTTPError) as caught:
        client.get("users/123")
    assert str(caught.value) == (
        "testvendor: GET https://vendor.test/api/users/123 -> HTTP 404 [Request_ResourceNotFound] gone"
    )
