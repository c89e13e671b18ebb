"""``GET /v1.0/oauth2PermissionGrants``: the delegated permissions people consented apps to use.

A grant names its app by the object id of the app's service principal (``clientId``) and the API it
may call by another service principal (``resourceId``); both are looked up once per run. A grant
with ``consentType`` ``Principal`` is one person's consent (``principalId`` is the user). One with
``AllPrincipals`` is an administrator's consent for the whole tenant: it belongs to nobody in
particular and names no consenting admin, so it is not stored as a person's grant (the store keys
grants by person); the connector logs those apps and docs/connectors/microsoft365.md says where to
review them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from collector.http import BodyUrlPaginator, VendorClient, VendorHTTPError, paginate
from collector.records import Checkpoint, OAuthGrantRecord, Record, RowProblem
from connectors.microsoft365.graph import values
from connectors.microsoft365.users import Directory

PATH = "/v1.0/oauth2PermissionGrants"
STREAM = "oauth_grants"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph's own appId
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
CHUNK = 500  # grants per checkpoint
LOGGED_APPS = 20
PERMISSIONS = "Directory.Read.All and Application.Read.All"


@dataclass(frozen=True)
class ServicePrincipal:
    object_id: str
    app_id: str | None
    name: str | None


class ServicePrincipals:
    """Service principals by object id, each fetched once per run; None for one that is gone."""

    def __init__(self, client: VendorClient) -> None:
        self._client = client
        self._cache: dict[str, ServicePrincipal | None] = {}

    def get(self, object_id: str) -> ServicePrincipal | None:
        if object_id in self._cache:
            return self._cache[object_id]
        found: ServicePrincipal | None = None
        if GUID.fullmatch(object_id):  # never put anything else into a URL path
            try:
                response = self._client.get(
                    f"/v1.0/servicePrincipals/{object_id}?$select=id,appId,displayName"
                )
            except VendorHTTPError as exc:
                if exc.status != 404:
                    raise
            else:
                body = response.json()
                if isinstance(body, Mapping):
                    app_id, name = _text(body.get("appId")), _text(body.get("displayName"))
                    found = ServicePrincipal(object_id, app_id, name)
        self._cache[object_id] = found
        return found


@dataclass
class Consent:
    """Everything one person consented one app to, across the APIs it calls."""

    client_id: str
    app_name: str
    scopes: set[str] = field(default_factory=set)


def read_grants(
    client: VendorClient, directory: Directory, *, stop: threading.Event, log: logging.Logger
) -> Iterator[Record]:
    """Yield one grant per (person, app), with the scopes of all its grants merged."""
    try:
        yield from _read_grants(client, directory, stop, log)
    except VendorHTTPError as exc:
        if exc.status != 403:
            raise
        # Nothing of this stream was yielded yet, and the rest of the run stands without it.
        yield RowProblem(f"GET {PATH}", f"{exc}; consents need the {PERMISSIONS} application permissions")


def _read_grants(
    client: VendorClient, directory: Directory, stop: threading.Event, log: logging.Logger
) -> Iterator[Record]:
    principals = ServicePrincipals(client)
    consents: dict[tuple[str, str], Consent] = {}
    tenant_wide: dict[str, set[str]] = {}
    unknown_people = 0
    for page in paginate(client, PATH, BodyUrlPaginator("@odata.nextLink"), items=values):
        for number, raw in enumerate(page.items, start=1):
            where = f"GET {PATH} page {page.number} item {number}"
            grant = _grant(raw)
            if isinstance(grant, str):
                yield RowProblem(where, grant)
                continue
            client_sp_id, consent_type, principal_id, resource_id, scopes = grant
            if not scopes:
                continue  # a grant of nothing
            app = principals.get(client_sp_id)
            client_id = (app and app.app_id) or client_sp_id
            app_name = (app and app.name) or f"service principal {client_sp_id} (deleted?)"
            qualified = _qualified(scopes, principals.get(resource_id) if resource_id else None)
            if consent_type == "AllPrincipals":
                tenant_wide.setdefault(app_name, set()).update(qualified)
                continue
            email = directory.by_id.get(principal_id or "")
            if email is None:
                unknown_people += 1  # a user deleted since, or one the listing did not return
                continue
            consent = consents.setdefault((email, client_id), Consent(client_id, app_name))
            consent.scopes.update(qualified)
        if stop.is_set():
            return
    if tenant_wide:
        names = sorted(tenant_wide)
        log.info(
            "%d apps have tenant-wide admin consent (AllPrincipals), not stored per person: %s%s",
            len(names),
            ", ".join(names[:LOGGED_APPS]),
            " ..." if len(names) > LOGGED_APPS else "",
        )
    if unknown_people:
        log.info("%d consents of users not listed by GET /v1.0/users were skipped", unknown_people)
    ordered = sorted(consents.items())
    for start in range(0, len(ordered), CHUNK):
        for (email, _), consent in ordered[start : start + CHUNK]:
            yield OAuthGrantRecord(email, consent.client_id, consent.app_name, tuple(sorted(consent.scopes)))
        yield Checkpoint(STREAM, complete=start + CHUNK >= len(ordered))
    if not ordered:
        yield Checkpoint(STREAM, complete=True)


def _grant(raw: Any) -> tuple[str, str, str | None, str | None, list[str]] | str:
    """(clientId, consentType, principalId, resourceId, scopes), or why the grant is unusable."""
    if not isinstance(raw, Mapping):
        return "not an oAuth2PermissionGrant object"
    client_sp_id = _text(raw.get("clientId"))
    if client_sp_id is None:
        return "clientId: missing"
    consent_type = raw.get("consentType")
    if consent_type not in ("AllPrincipals", "Principal"):
        return f"consentType: neither AllPrincipals nor Principal: {consent_type!r}"
    principal_id = _text(raw.get("principalId"))
    if consent_type == "Principal" and principal_id is None:
        return "principalId: missing for a Principal consent"
    scope = raw.get("scope")
    if scope is not None and not isinstance(scope, str):
        return f"scope: not a space-separated string: {scope!r}"
    return client_sp_id, consent_type, principal_id, _text(raw.get("resourceId")), (scope or "").split()


def _qualified(scopes: list[str], resource: ServicePrincipal | None) -> set[str]:
    """Graph scopes as they are (``Mail.Read``); another API's prefixed with its name, since
    ``user_impersonation`` of one API and of another are different powers."""
    if resource is not None and resource.app_id == GRAPH_APP_ID:
        return set(scopes)
    api = (resource and resource.name) or (resource and resource.app_id) or "unknown API"
    return {f"{api}: {scope}" for scope in scopes}


def _text(raw: Any) -> str | None:
    return (raw.strip() or None) if isinstance(raw, str) else None
