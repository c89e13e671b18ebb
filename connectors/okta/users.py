"""Users: people with their Okta status, an ``okta`` account each, and Okta's ``lastLogin``.

``GET /api/v1/users`` leaves DEPROVISIONED users out unless asked with ``search`` or ``filter``
(VENDOR_APIS.md 3.2), and those are the people the offboarding analyzer is about. So the users are
read twice, side by side: the plain listing, and ``search=status eq "DEPROVISIONED"``. A user
deprovisioned between the two reads shows up in both; the deprovisioned listing wins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from collector.http import VendorClient
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    PersonRecord,
    Record,
    RowProblem,
)
from connectors.okta.listing import pages
from connectors.okta.prefetch import Prefetcher
from connectors.okta.values import USER_STATUS, BadValue, email_like, parse_optional_time, text

USERS_PATH = "/api/v1/users"
PAGE_SIZE = 200  # the endpoint's maximum
DEPROVISIONED_SEARCH = 'status eq "DEPROVISIONED"'
OKTA_APP = "okta"
STREAM = "users"
USER_LISTINGS = 2  # the plain listing and the DEPROVISIONED search, read side by side


@dataclass(frozen=True)
class UserEntry:
    """What one Okta user becomes."""

    user_id: str | None
    email: str | None
    records: list[Record]
    manager_id: str | None = None  # profile.managerId, to resolve once every user is known


@dataclass(frozen=True)
class UserPage:
    deprovisioned_listing: bool
    entries: list[UserEntry]


@dataclass
class Directory:
    """Okta user id -> e-mail, for assignments and System Log actors."""

    emails: dict[str, str] = field(default_factory=dict)
    deprovisioned: int = 0

    def email_of(self, user_id: str) -> str | None:
        return self.emails.get(user_id)


def user_entry(user: Any, where: str) -> UserEntry:
    """The records of one user: person, ``okta`` account and last Okta sign-in, or problems."""
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return UserEntry(None, None, [RowProblem(where, "id: missing; not a user object")])
    user_id: str = user["id"]
    where = f"{where} (user {user_id})"
    profile = user.get("profile")
    if not isinstance(profile, dict):
        return UserEntry(user_id, None, [RowProblem(where, "profile: missing")])
    email = email_like(profile.get("email")) or email_like(profile.get("login"))
    if email is None:
        reason = "profile.email: missing, and profile.login is not an e-mail address either"
        return UserEntry(user_id, None, [RowProblem(where, reason)])

    records: list[Record] = []
    raw_status = user.get("status")
    status = USER_STATUS.get(raw_status) if isinstance(raw_status, str) else None
    if status is None:
        records.append(RowProblem(where, f"status: unknown value {raw_status!r}"))
    created = _time(user, "created", where, records)
    manager_email = email_like(profile.get("manager"))
    manager_id = text(profile.get("managerId")) if manager_email is None else None
    records.append(
        PersonRecord(
            email=email,
            display_name=_display_name(profile),
            status=status,
            department=text(profile.get("department")),
            cost_center=text(profile.get("costCenter")),
            manager_email=manager_email,
            created_at=created,
        )
    )
    records.append(
        AccountRecord(
            app_id=OKTA_APP,
            external_id=user_id,
            email=email,
            status=raw_status.lower() if isinstance(raw_status, str) else "unknown",
            created_at=created,
        )
    )
    if "lastLogin" in user:
        try:
            last_login = parse_optional_time(user["lastLogin"], "lastLogin")
        except BadValue as exc:
            records.append(RowProblem(where, str(exc)))  # unreadable is not "never": no record
        else:
            # null: the user never signed in to Okta
            records.append(ActivityRecord(email, OKTA_APP, last_login, ActivitySource.IDP_SIGNIN))
    return UserEntry(user_id, email, records, manager_id)


def _time(user: dict[str, Any], name: str, where: str, problems: list[Record]) -> Any:
    try:
        return parse_optional_time(user.get(name), name)
    except BadValue as exc:
        problems.append(RowProblem(where, str(exc)))
        return None


def _display_name(profile: dict[str, Any]) -> str | None:
    shown = text(profile.get("displayName"))
    if shown:
        return shown
    parts = [text(profile.get("firstName")), text(profile.get("lastName"))]
    return " ".join(p for p in parts if p) or None


def _listing_job(client: VendorClient, deprovisioned: bool) -> Callable[[Callable[[UserPage], None]], None]:
    params: dict[str, str | int] = {"limit": PAGE_SIZE}
    label = USERS_PATH
    if deprovisioned:
        params["search"] = DEPROVISIONED_SEARCH
        label = f"{USERS_PATH}?search={DEPROVISIONED_SEARCH}"

    def job(emit: Callable[[UserPage], None]) -> None:
        for page in pages(client, USERS_PATH, params, f"GET {label}"):
            where = f"GET {label} page {page.number}"
            emit(UserPage(deprovisioned, [user_entry(user, where) for user in page.items]))

    return job


def read_users(client: VendorClient, stop: threading.Event) -> Generator[Record, None, Directory]:
    """Yield every user's records, a checkpoint per page; return the id -> e-mail directory."""
    directory = Directory()
    deprovisioned_ids: set[str] = set()
    managers: list[tuple[str, str]] = []  # (email, manager's user id)
    prefetcher: Prefetcher[UserPage] = Prefetcher(
        [_listing_job(client, deprovisioned=False), _listing_job(client, deprovisioned=True)],
        workers=USER_LISTINGS,
        capacity=4,
        stop=stop,
        name="users",
    )
    try:
        for page in prefetcher.get():
            for entry in page.entries:
                if entry.user_id is not None and entry.email is not None:
                    if page.deprovisioned_listing:
                        deprovisioned_ids.add(entry.user_id)
                        directory.deprovisioned += 1
                    elif entry.user_id in deprovisioned_ids:
                        continue  # read before it was deprovisioned: the other listing is newer
                    directory.emails[entry.user_id] = entry.email
                    if entry.manager_id is not None:
                        managers.append((entry.email, entry.manager_id))
                yield from entry.records
            yield Checkpoint(STREAM)
        if stop.is_set():
            return directory
        yield from _managers(managers, directory)
        yield Checkpoint(STREAM, complete=True)
    finally:
        prefetcher.close()
    return directory


def _managers(managers: list[tuple[str, str]], directory: Directory) -> Iterator[Record]:
    """People whose profile names the manager by id: their manager's e-mail, now that all are known.

    Only ``manager_email`` is set; the store keeps the fields a record leaves empty.
    """
    for email, manager_id in managers:
        manager_email = directory.email_of(manager_id)
        if manager_email is not None:
            yield PersonRecord(email=email, manager_email=manager_email)
