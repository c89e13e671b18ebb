"""Secrets never reach exception text or logs: the Redactor, the log filter and the client end to end."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import httpx
import pytest
from pydantic import BaseModel, SecretStr

from collector.http import (
    AccessToken,
    HeaderAuth,
    RedactingFilter,
    Redactor,
    RetryPolicy,
    TokenAuth,
    VendorClient,
    VendorHTTPError,
)
from collector.http.testing import FakeClock

API_KEY = "k3y+With/odd=chars-0001"  # percent-encodes differently in a query string
SSWS_TOKEN = "00aBcDeFgHiJkLmNoPqRsTuVwXyZ-1234567890ab"
RUNTIME_TOKEN = "rt-9f8e7d6c5b4a39281706"


def test_known_secrets_are_masked_raw_and_url_encoded() -> None:
    redactor = Redactor([SecretStr(API_KEY)])
    url = str(httpx.URL("https://vendor.test/x", params={"key": API_KEY}))
    assert API_KEY not in url  # it is encoded there...
    assert redactor.redact(url) == "https://vendor.test/x?key=***"  # ...and masked all the same
    assert redactor.redact(f"value {API_KEY} echoed") == "value *** echoed"


def test_secrets_too_short_to_be_real_are_ignored() -> None:
    redactor = Redactor(["abc", ""])
    assert redactor.redact("abc def") == "abc def"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def.ghi", "Authorization: ***"),
        (
            "{'authorization': 'SSWS 00abc123', 'accept': 'application/json'}",
            "{'authorization': '***', 'accept': 'application/json'}",
        ),
        ("sent SSWS 00aBcDeFgHiJkLmNo", "sent SSWS ***"),
        ("sent Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln", "sent Bearer ***"),
        ("https://x.test/cb?access_token=abc123&state=ok", "https://x.test/cb?access_token=***&state=ok"),
        (
            "grant_type=client_credentials&client_secret=s3cr3t!",
            "grant_type=client_credentials&client_secret=***",
        ),
        (
            '{"access_token": "abc", "token_type": "bearer"}',
            '{"access_token": "***", "token_type": "bearer"}',
        ),
        (
            "https://x.test/a?api_key=zzz&apikey=yyy&token=xxx",
            "https://x.test/a?api_key=***&apikey=***&token=***",
        ),
        ("key sk_live_51HabcdefGHIJKLmnop", "key sk_live_***"),
        ("key rk_live_51HabcdefGHIJKLmnop", "key rk_live_***"),
        ("slack xoxb-1234-5678-abcdefghij", "slack xoxb-***"),
        ("slack xoxp-1234-5678-abcdefghij", "slack xoxp-***"),
        ("gh ghp_abcdefghijklmnopqrstuvwxyz0123", "gh ghp_***"),
        ("https://user:hunter22@proxy.test:3128/", "https://user:***@proxy.test:3128/"),
        ("jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl end", "jwt eyJ*** end"),
    ],
)
def test_credential_looking_text_is_masked(text: str, expected: str) -> None:
    assert Redactor().redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://zoom.test/v2/users?next_page_token=abc123&page_size=300",
        '{"nextPageToken": "tok2", "token_type": "bearer"}',
        "user type Basic, 2 seats",
        "authorization failed for app 0oa1",
        "https://graph.test/v1.0/users?$skiptoken=RFNwdAIAAQAAAD8%3a",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert Redactor().redact(text) == text


class OAuthSettings(BaseModel):
    client_secret: SecretStr
    label: str


class ConnectorSettings(BaseModel):
    api_token: SecretStr
    oauth: OAuthSettings
    extra_keys: list[SecretStr]


def test_secrets_are_collected_from_settings_models() -> None:
    settings = ConnectorSettings(
        api_token=SecretStr("tok-settings-0001"),
        oauth=OAuthSettings(client_secret=SecretStr("nested-secret-0002"), label="visible-label"),
        extra_keys=[SecretStr("listed-secret-0003")],
    )
    redactor = Redactor()
    redactor.add_model(settings)
    text = "tok-settings-0001 nested-secret-0002 listed-secret-0003 visible-label"
    assert redactor.redact(text) == "*** *** *** visible-label"


@pytest.fixture
def redacted_caplog(caplog: pytest.LogCaptureFixture) -> Iterator[tuple[pytest.LogCaptureFixture, Redactor]]:
    """caplog at DEBUG for everything, with the redacting filter installed as the daemon would."""
    redactor = Redactor()
    log_filter = RedactingFilter(redactor)
    caplog.handler.addFilter(log_filter)
    with caplog.at_level(logging.DEBUG):
        yield caplog, redactor
    caplog.handler.removeFilter(log_filter)


def test_filter_redacts_messages_arguments_and_tracebacks(
    redacted_caplog: tuple[pytest.LogCaptureFixture, Redactor],
) -> None:
    caplog, redactor = redacted_caplog
    redactor.add(RUNTIME_TOKEN)
    log = logging.getLogger("saaswatch.connector.demo")
    log.info("fetched with %s", RUNTIME_TOKEN)
    try:
        raise RuntimeError(f"vendor said: bad token {RUNTIME_TOKEN}")
    except RuntimeError:
        log.exception("sync failed")
    logging.getLogger("other.library").info("foreign %s", RUNTIME_TOKEN)

    saaswatch_text = "\n".join(
        caplog.handler.format(r) for r in caplog.records if r.name.startswith("saaswatch")
    )
    assert RUNTIME_TOKEN not in saaswatch_text
    assert "fetched with ***" in saaswatch_text
    assert "RuntimeError: vendor said: bad token ***" in saaswatch_text
    # Records outside the configured namespaces pass untouched.
    assert [r.getMessage() for r in caplog.records if r.name == "other.library"] == [
        f"foreign {RUNTIME_TOKEN}"
    ]


def secret_handler(request: httpx.Request) -> httpx.Response:
    """A vendor that echoes every credential it received back in its error body."""
    summary = f"Invalid token provided: {request.headers['Authorization']} for {request.url}"
    return httpx.Response(401, json={"errorCode": "E0000011", "errorSummary": summary})


def assert_nowhere(secrets: list[str], exc: BaseException, log_text: str) -> None:
    rendered = [str(exc), repr(exc), "".join(traceback.format_exception(exc)), log_text]
    for secret in secrets:
        for text in rendered:
            assert secret not in text


def test_secrets_in_query_header_and_echoed_body_never_reach_the_error_or_logs(
    redacted_caplog: tuple[pytest.LogCaptureFixture, Redactor],
) -> None:
    caplog, redactor = redacted_caplog
    redactor.add(SecretStr(API_KEY))  # as the runner does from the connector's settings
    clock = FakeClock()
    client = VendorClient(
        "https://corp.okta.test/",
        vendor="okta",
        auth=HeaderAuth(SecretStr(SSWS_TOKEN), scheme="SSWS"),
        transport=httpx.MockTransport(secret_handler),
        redactor=redactor,
        clock=clock,
        sleep=clock.sleep,
    )
    with pytest.raises(VendorHTTPError) as caught:
        client.get("api/v1/users", params={"key": API_KEY})
    error = caught.value
    assert error.status == 401
    assert error.vendor_message is not None and "Invalid token provided: ***" in error.vendor_message
    assert "key=***" in error.url
    assert caplog.records  # httpx and the client did log the request
    assert_nowhere(
        [API_KEY, SSWS_TOKEN, httpx.URL(params={"key": API_KEY}).query.decode()], error, caplog.text
    )


def test_runtime_tokens_and_transport_errors_stay_secret_even_without_the_filter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()

    def failing(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy refused {request.headers['Authorization']}")

    client = VendorClient(
        "https://graph.test/v1.0/",
        vendor="graph",
        auth=TokenAuth(lambda: AccessToken(SecretStr(RUNTIME_TOKEN))),
        transport=httpx.MockTransport(failing),
        redactor=Redactor(),  # knows nothing up front: the token is registered when applied
        retry=RetryPolicy(max_attempts=2),
        clock=clock,
        sleep=clock.sleep,
    )
    with caplog.at_level(logging.DEBUG, logger="saaswatch"), pytest.raises(VendorHTTPError) as caught:
        client.get("users")
    assert "ConnectError: proxy refused ***" in str(caught.value)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "proxy refused ***" in warnings[0].getMessage()
    assert_nowhere([RUNTIME_TOKEN], caught.value, caplog.text)
