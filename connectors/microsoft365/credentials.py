"""``GET /v1.0/applications(appId='...')``: when the client secret the connector signs in with expires.

Entra ID client secrets end (24 months at most) and the connector then stops working without
warning. The app registration lists its secrets (``passwordCredentials``) with their start and end,
but not which one a token was issued for. Each secret's ``hint`` is its first three characters, so
the configured secret's own first three characters pick it out (compared here, never stored or
logged). Of the currently valid secrets (start <= now < end) the one reported is:

- the one whose hint matches the configured secret (the earliest-ending, should two share a hint);
- otherwise (no hints, e.g. very old secrets) the earliest-ending one: an alert may then come early,
  while an old secret is still around, but never late.

It is always reported under the one name ``client secret``, so that a rotation moves the stored
expiry forward instead of leaving the old secret's row behind, and nothing of a secret (not even its
hint) is in the name. Certificates (``keyCredentials``) are not read: the connector never signs in
with one.

Reading the app registration needs Application.Read.All, and works only in the tenant the app is
registered in. A 403 (permission not consented) or 404 (a multi-tenant app registered elsewhere) is
logged and the run goes on: the expiry is a convenience, and a setup gap must not make every run
partial. ``read_credential_expiry: false`` skips the request; ``credential_expires`` on the connector
declares the end date by hand instead.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from collector.http import VendorClient, VendorHTTPError
from collector.records import CredentialRecord, Record, RowProblem
from connectors.microsoft365.values import BadValue, graph_time

NAME = "client secret"
PERMISSION = "Application.Read.All"
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
HINT_LENGTH = 3  # Graph: "hint: Contains the first three characters of the password"


def path_of(client_id: str) -> str:
    return f"/v1.0/applications(appId='{client_id}')"


@dataclass(frozen=True)
class Secret:
    """One of the app's ``passwordCredentials``, without anything of the secret itself but its hint."""

    key_id: str
    display_name: str | None
    hint: str | None
    start: datetime | None
    end: datetime | None

    def valid_at(self, now: datetime) -> bool:
        return (self.start is None or self.start <= now) and self.end is not None and now < self.end

    def described(self) -> str:
        """How a log line names it: its display name and key id, never its hint."""
        name = f'"{self.display_name}"' if self.display_name else "(no name)"
        return f"{name} (keyId {self.key_id})"


def read_credential_expiry(
    client: VendorClient, client_id: str, client_secret: SecretStr, *, now: datetime, log: logging.Logger
) -> Iterator[Record]:
    """Yield a ``client secret`` CredentialRecord for the secret in use, or nothing if it cannot be told."""
    if not GUID.fullmatch(client_id):  # never put anything else into a URL path
        log.warning("client_id is not a GUID: the client secret's expiry is not read")
        return
    path = path_of(client_id)
    try:
        response = client.get(f"{path}?$select=displayName,passwordCredentials")
    except VendorHTTPError as exc:
        if exc.status in (403, 404):
            log.warning(
                "the client secret's expiry is not reported (%s): reading the app registration needs the "
                "%s application permission, and the app to be registered in this tenant. Set "
                "credential_expires on the connector instead, or read_credential_expiry: false",
                exc,
                PERMISSION,
            )
            return
        # Anything else (throttled or failing after the retries) is this run's gap, not a setup one.
        yield RowProblem(f"GET {path}", f"{exc}; the client secret's expiry is not reported")
        return
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    raw = body.get("passwordCredentials") if isinstance(body, Mapping) else None
    if not isinstance(raw, list):
        yield RowProblem(f"GET {path}", "not an application with a passwordCredentials list")
        return
    secrets: list[Secret] = []
    for number, item in enumerate(raw, start=1):
        secret = _secret(item)
        if isinstance(secret, str):
            yield RowProblem(f"GET {path} passwordCredentials item {number}", secret)
        else:
            secrets.append(secret)
    chosen = _in_use(secrets, client_secret, now, log)
    if chosen is not None:
        yield CredentialRecord(NAME, chosen.end)


def _in_use(
    secrets: list[Secret], client_secret: SecretStr, now: datetime, log: logging.Logger
) -> Secret | None:
    valid = [(s.end, s) for s in secrets if s.end is not None and s.valid_at(now)]
    if not valid:
        log.warning("the app registration lists no client secret valid now: its expiry is not reported")
        return None
    prefix = client_secret.get_secret_value()[:HINT_LENGTH].encode()
    matching = [
        (end, s) for end, s in valid if s.hint is not None and hmac.compare_digest(s.hint.encode(), prefix)
    ]
    _, chosen = min(matching or valid, key=lambda pair: pair[0])
    if matching:
        log.debug("client secret in use: %s, ends %s", chosen.described(), _shown(chosen.end))
    else:
        log.info(
            "the client secret in use is not known (no secret's hint matches it): reporting the "
            "earliest end of the %d valid ones, %s ending %s",
            len(valid),
            chosen.described(),
            _shown(chosen.end),
        )
    return chosen


def _secret(raw: Any) -> Secret | str:
    """The secret, or why it is unusable."""
    if not isinstance(raw, Mapping):
        return "not a passwordCredential object"
    key_id = raw.get("keyId")
    if not isinstance(key_id, str) or not key_id:
        return "keyId: missing"
    hint = raw.get("hint")
    name = raw.get("displayName")
    try:
        start = graph_time(raw.get("startDateTime"), "startDateTime")
        end = graph_time(raw.get("endDateTime"), "endDateTime")
    except BadValue as exc:
        return f"secret {key_id}: {exc}"
    return Secret(
        key_id,
        (name.strip() or None) if isinstance(name, str) else None,
        hint if isinstance(hint, str) and hint else None,
        start,
        end,
    )


def _shown(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "never"
