"""The service account key: a JSON key file as Google Cloud console downloads it.

Only its shape is checked here; google-auth parses the private key when it signs the first token
request. Messages never quote the key: they name the field that is missing or wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


class BadKey(ValueError):
    """The key is not a usable service account key; the message names the field, never a value."""


@dataclass(frozen=True)
class ServiceAccountKey:
    client_email: str
    # The service account's OAuth client id: what domain-wide delegation is granted to in the Admin
    # console. Not a secret; named in messages so an admin knows which entry to check.
    client_id: str | None
    private_key: SecretStr
    private_key_id: str | None
    token_uri: str
    info: dict[str, Any]  # the whole key, for google-auth


def parse_key(raw: str, token_uri: str | None = None) -> ServiceAccountKey:
    """Read a JSON key; ``token_uri`` replaces the key's (a local fake in tests, a proxy)."""
    try:
        info = json.loads(raw)
    except ValueError:
        raise BadKey("not JSON: give the service account's JSON key file as it was downloaded") from None
    if not isinstance(info, dict):
        raise BadKey("not a JSON object: give the service account's JSON key file")
    if info.get("type") != "service_account":
        raise BadKey('type: must be "service_account" (an OAuth client or user key will not do)')
    email = info.get("client_email")
    if not isinstance(email, str) or "@" not in email:
        raise BadKey("client_email: missing")
    private_key = info.get("private_key")
    if (
        not isinstance(private_key, str)
        or "-----BEGIN" not in private_key
        or "PRIVATE KEY-----" not in private_key
    ):
        raise BadKey("private_key: missing or not a PEM private key")
    uri = token_uri or info.get("token_uri") or GOOGLE_TOKEN_URI
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
        raise BadKey("token_uri: not a URL")
    client_id = info.get("client_id")
    key_id = info.get("private_key_id")
    return ServiceAccountKey(
        client_email=email,
        client_id=client_id if isinstance(client_id, str) and client_id else None,
        private_key=SecretStr(private_key),
        private_key_id=key_id if isinstance(key_id, str) and key_id else None,
        token_uri=uri,
        info={**info, "token_uri": uri},
    )
