"""Okta credentials: an SSWS API token, or an OAuth service app signing its own client assertion.

The service app authenticates with ``private_key_jwt`` (RFC 7523): each token request carries a
short-lived JWT signed with the app's RSA key, ``iss`` = ``sub`` = the client id and ``aud`` = the
token URL (developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp). Signing uses
google-auth's RSA signer, which the project already has through google-api-python-client.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from google.auth import crypt, jwt
from pydantic import SecretStr

from collector.http import AccessToken, Auth, HeaderAuth, TokenAuth, VendorClient
from connectors.okta.settings import OktaSettings

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Okta refuses assertions valid for more than an hour; one is used once, right away.
ASSERTION_LIFETIME = 300


class OktaAuthError(Exception):
    """The credentials cannot be used as configured (the message never quotes them)."""


def make_auth(settings: OktaSettings, token_client: VendorClient, clock: Callable[[], float]) -> Auth:
    """``SSWS`` header auth for an API token, else a renewable Bearer token from the service app."""
    if settings.api_token is not None:
        return HeaderAuth(settings.api_token, scheme="SSWS")
    signer = _signer(settings)
    return TokenAuth(lambda: fetch_token(settings, signer, token_client, clock), clock=clock)


def _signer(settings: OktaSettings) -> Any:
    assert settings.private_key is not None
    try:
        pem = settings.private_key.get_secret_value()
        return crypt.RSASigner.from_string(pem, key_id=settings.key_id)  # type: ignore[no-untyped-call]
    except (ValueError, TypeError, IndexError):
        # Not chained: the parser's exception may carry the key material.
        raise OktaAuthError("private_key: not a PEM-encoded RSA private key") from None


def client_assertion(settings: OktaSettings, signer: Any, now: float) -> str:
    """A signed JWT authenticating the service app at the token endpoint."""
    issued = int(now)
    claims = {
        "iss": settings.client_id,
        "sub": settings.client_id,
        "aud": settings.token_url,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME,
        "jti": uuid.uuid4().hex,  # Okta rejects a replayed assertion id
    }
    token: bytes = jwt.encode(signer, claims)  # type: ignore[no-untyped-call]
    return token.decode("ascii")


def fetch_token(
    settings: OktaSettings, signer: Any, token_client: VendorClient, clock: Callable[[], float] = time.time
) -> AccessToken:
    """POST the client-credentials grant and return the access token with its expiry."""
    response = token_client.post(
        settings.token_url,
        data={
            "grant_type": "client_credentials",
            "scope": " ".join(settings.scopes),
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": client_assertion(settings, signer, clock()),
        },
        headers={"Accept": "application/json"},
    )
    try:
        body = response.json()
        value = body["access_token"]
        token_type = str(body.get("token_type", "Bearer"))
        expires_in = float(body.get("expires_in", 3600))
    except (ValueError, KeyError, TypeError):
        raise OktaAuthError("the token endpoint answered without an access_token") from None
    if not isinstance(value, str) or not value:
        raise OktaAuthError("the token endpoint answered without an access_token")
    token_client.redactor.add(value)
    if token_type.lower() != "bearer":
        # A service app with "Require DPoP" gets DPoP-bound tokens, which need a proof per request.
        raise OktaAuthError(
            f"the token endpoint issued a {token_type} token; turn off 'Require Demonstrating Proof of "
            "Possession (DPoP)' on the service app (see docs/connectors/okta.md)"
        )
    return AccessToken(SecretStr(value), expires_at=clock() + expires_in)
