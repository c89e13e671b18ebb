"""Apps and who is assigned to them: an account per (app, user).

``GET /api/v1/apps`` lists the org's app integrations; ``GET /api/v1/apps/{id}/users`` the users
assigned to one, directly or through a group. Both count against the apps rate-limit bucket, so the
per-app listings run a few at a time with the largest page Okta allows (500), and from the start
of the sync, while the users (another bucket) are read. Okta's own apps
(Admin Console, Dashboard, Browser Plugin, Workflows) are assigned to everyone and are not separate
products: the ``okta`` accounts come from the user listing instead.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from collector.catalog import Catalog
from collector.http import VendorClient
from collector.records import AccountRecord, Record, RowProblem
from connectors.okta.interning import NO_TIME, Interner
from connectors.okta.listing import pages
from connectors.okta.users import OKTA_APP, Directory
from connectors.okta.values import BadValue, email_like, from_ms, parse_optional_time, text, to_ms

APPS_PATH = "/api/v1/apps"
APPS_PAGE_SIZE = 200  # the endpoint's maximum
ASSIGNMENTS_PAGE_SIZE = 500  # the endpoint's maximum (okta SDK application_users_api: 1-500)
STREAM = "assignments"

# Application.name of the apps every Okta org has (saasure is the Admin Console).
FIRST_PARTY_APPS = frozenset({"saasure", "okta_enduser", "okta_browser_plugin", "okta_flow_sso"})


@dataclass(frozen=True)
class OktaApp:
    id: str
    name: str
    label: str
    active: bool
    app_id: str  # the catalog id it is stored under
    first_party: bool


@dataclass
class AssignmentPage:
    """One page of an app's assignments, packed: they are read while the users still are, and wait
    for the user directory (the e-mails) in a queue."""

    app: OktaApp
    users: array[int]  # indexes into Assignments.users
    created: array[int]  # epoch ms, NO_TIME when absent
    statuses: array[int]  # indexes into Assignments.statuses
    problems: list[RowProblem]


def catalog_app_id(catalog: Catalog, label: str | None, name: str | None) -> str:
    """The catalog id of an app integration: by its label, else its technical name, else a slug."""
    entry = catalog.match(label) or catalog.match(name)
    if entry is not None:
        return entry.id
    return catalog.app_id_for(label or name or "unknown")


def read_apps(
    client: VendorClient, catalog: Catalog, log: logging.Logger
) -> Generator[Record, None, dict[str, OktaApp]]:
    """Every app integration by Okta app id; yields problems for entries that cannot be read."""
    apps: dict[str, OktaApp] = {}
    for page in pages(client, APPS_PATH, {"limit": APPS_PAGE_SIZE}, f"GET {APPS_PATH}"):
        for raw in page.items:
            where = f"GET {APPS_PATH} page {page.number}"
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                yield RowProblem(where, "id: missing; not an app object")
                continue
            name, label = text(raw.get("name")), text(raw.get("label"))
            first_party = name in FIRST_PARTY_APPS
            apps[raw["id"]] = OktaApp(
                id=raw["id"],
                name=name or "",
                label=label or name or raw["id"],
                active=raw.get("status") == "ACTIVE",
                app_id=OKTA_APP if first_party else catalog_app_id(catalog, label, name),
                first_party=first_party,
            )
    inactive = sorted(a.label for a in apps.values() if not a.active and not a.first_party)
    if inactive:
        log.info("okta: %d inactive apps, assignments not read: %s", len(inactive), ", ".join(inactive))
    return apps


class Assignments:
    """Reads app assignments on worker threads (see :class:`AssignmentPage`) and turns them into
    accounts once the user directory is known."""

    def __init__(self) -> None:
        # Okta user id -> (id, the app username or app profile e-mail when it is an address)
        self.users = Interner()
        self.statuses = Interner()

    def job(self, client: VendorClient, app: OktaApp) -> Callable[[Callable[[AssignmentPage], None]], None]:
        """Reads the users assigned to ``app``, a page at a time."""
        path = f"{APPS_PATH}/{quote(app.id, safe='')}/users"

        def job(emit: Callable[[AssignmentPage], None]) -> None:
            for page in pages(client, path, {"limit": ASSIGNMENTS_PAGE_SIZE}, f"GET {path}"):
                where = f"GET {path} page {page.number} (app {app.label!r})"
                emit(self._pack(app, page.items, where))

        return job

    def _pack(self, app: OktaApp, items: Sequence[Any], where: str) -> AssignmentPage:
        packed = AssignmentPage(app, array("i"), array("q"), array("i"), [])
        for raw in items:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                packed.problems.append(RowProblem(where, "id: missing; not an app user object"))
                continue
            try:
                created = parse_optional_time(raw.get("created"), "created")
            except BadValue as exc:
                packed.problems.append(RowProblem(f"{where} (user {raw['id']})", str(exc)))
                continue
            credentials, profile = raw.get("credentials"), raw.get("profile")
            # The Okta user's e-mail joins the account to the person; the app username is only a
            # fallback, for a user created after the user listing was read.
            fallback = (
                email_like(credentials.get("userName")) if isinstance(credentials, dict) else None
            ) or (email_like(profile.get("email")) if isinstance(profile, dict) else None)
            status = raw.get("status")
            packed.users.append(self.users(raw["id"], fallback))
            packed.created.append(NO_TIME if created is None else to_ms(created))
            packed.statuses.append(
                self.statuses(status.lower() if isinstance(status, str) else "unknown", None)
            )
        return packed

    def records(self, page: AssignmentPage, directory: Directory) -> list[Record]:
        """The page's accounts (one per app user) and problems."""
        users, statuses = self.users.values, self.statuses.values
        records: list[Record] = list(page.problems)
        for user, created, status in zip(page.users, page.created, page.statuses, strict=True):
            user_id, fallback = users[user]
            records.append(
                AccountRecord(
                    app_id=page.app.app_id,
                    external_id=user_id,
                    email=directory.email_of(user_id) or fallback,
                    status=statuses[status][0],
                    created_at=None if created == NO_TIME else from_ms(created),
                )
            )
        return records


def assigned_apps(apps: dict[str, OktaApp], include_inactive: bool) -> list[OktaApp]:
    """The apps whose assignments are read, in listing order."""
    return [a for a in apps.values() if not a.first_party and (a.active or include_inactive)]
