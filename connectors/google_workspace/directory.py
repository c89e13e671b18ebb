"""``users.list``: people, their Google Workspace accounts, and Google's own last sign-in.

``GET /admin/directory/v1/users?customer=my_customer&projection=full&maxResults=500``, paged with
``pageToken``. Deleted users are not listed; the runner retires their accounts after a clean run
(people and accounts are snapshot kinds).
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    IdpStatus,
    PersonRecord,
    Record,
    RowProblem,
    normalise_email,
)
from connectors.google_workspace.api import DIRECTORY, GoogleApi, ShapeError
from connectors.google_workspace.skus import APP
from connectors.google_workspace.values import BadValue, is_email, parse_last_login, parse_time, shown, text

PATH = "GET /admin/directory/v1/users"
STREAM = "users"
PAGE_SIZE = 500  # the endpoint's maximum
FIELDS = (
    "nextPageToken,users(id,primaryEmail,name/fullName,lastLoginTime,creationTime,suspended,archived,"
    "isEnrolledIn2Sv,isAdmin,isDelegatedAdmin,orgUnitPath,organizations,relations,customerId)"
)


@dataclass
class Directory:
    """What later streams need from the users read: user ids by e-mail, and the customer id."""

    ids: dict[str, str] = field(default_factory=dict)  # normalised primary e-mail -> user id
    customer_id: str | None = None
    suspended: int = 0
    archived: int = 0
    never_signed_in: int = 0


def read_users(
    api: GoogleApi, *, org_unit_as_department: bool, stop: threading.Event
) -> Generator[Record, None, Directory]:
    """Yield each page of users as records and a checkpoint; return the directory for later streams."""
    directory = Directory()
    users = api.client(DIRECTORY).users()

    def request(token: str | None) -> Any:
        return users.list(
            customer="my_customer",
            projection="full",
            maxResults=PAGE_SIZE,
            fields=FIELDS,
            pageToken=token,
        )

    for page in api.pages(DIRECTORY, request, PATH):
        items = page.body.get("users", [])  # an empty page has no "users" key at all
        if not isinstance(items, list):
            raise ShapeError(f"{page.where}: users is not a list")
        for raw in items:
            yield from read_user(raw, page.where, directory, org_unit_as_department)
        yield Checkpoint(STREAM, complete=page.last)
        if stop.is_set():
            break
    return directory


def read_user(raw: Any, page: str, directory: Directory, org_unit_as_department: bool) -> list[Record]:
    """One user's records, or one problem naming every field that is wrong (half a user would, say,
    record an account without the sign-in that shows it is used)."""
    if not isinstance(raw, Mapping):
        return [RowProblem(page, "not a user object")]
    user_id = text(raw.get("id"))
    where = f"{page}, user {user_id}" if user_id else f"{page}, a user without id"
    if user_id is None:
        return [RowProblem(where, "id: missing")]
    primary = raw.get("primaryEmail")
    if not is_email(primary):
        return [RowProblem(where, f"primaryEmail: not an e-mail address: {shown(primary)}")]
    email = normalise_email(primary)
    errors: list[str] = []

    def time_of(name: str) -> datetime | None:
        value = raw.get(name)
        if value is None:
            return None
        try:
            return parse_time(value, name)
        except BadValue as exc:
            errors.append(str(exc))
            return None

    created = time_of("creationTime")
    suspended = _flag(raw, "suspended", errors)
    archived = _flag(raw, "archived", errors)
    department, cost_center = _organization(raw.get("organizations"), errors)
    if department is None and org_unit_as_department:
        department = text(str(raw.get("orgUnitPath") or "").strip("/"))
    records: list[Record] = [
        PersonRecord(
            email=email,
            display_name=_full_name(raw.get("name")),
            # An archived user cannot sign in either (they hold an Archived User license instead).
            status=IdpStatus.SUSPENDED if suspended or archived else IdpStatus.ACTIVE,
            department=department,
            cost_center=cost_center,
            manager_email=_manager(raw.get("relations")),
            created_at=created,
        ),
        AccountRecord(
            app_id=APP,
            external_id=user_id,
            email=email,
            status="archived" if archived else "suspended" if suspended else "active",
            # A delegated admin holds admin roles too, only narrower ones than a super admin.
            is_admin=_optional_flag(raw, "isAdmin", errors)
            or _optional_flag(raw, "isDelegatedAdmin", errors),
            mfa_enabled=_optional_flag(raw, "isEnrolledIn2Sv", errors),
            created_at=created,
            kind="user",
        ),
    ]
    if raw.get("lastLoginTime") is not None:
        try:
            last = parse_last_login(raw["lastLoginTime"], "lastLoginTime")
        except BadValue as exc:
            errors.append(str(exc))
        else:
            # None is Google's "never signed in" (the 1970 sentinel): a statement, so it is recorded.
            records.append(ActivityRecord(email, APP, last, ActivitySource.IDP_SIGNIN))
    if errors:
        return [RowProblem(where, "; ".join(errors))]
    directory.ids[email] = user_id
    directory.never_signed_in += any(
        isinstance(r, ActivityRecord) and r.last_seen_at is None for r in records
    )
    directory.suspended += bool(suspended and not archived)
    directory.archived += bool(archived)
    if directory.customer_id is None:
        directory.customer_id = text(raw.get("customerId"))
    return records


def _flag(raw: Mapping[str, Any], name: str, errors: list[str]) -> bool:
    return _optional_flag(raw, name, errors) or False


def _optional_flag(raw: Mapping[str, Any], name: str, errors: list[str]) -> bool | None:
    value = raw.get(name)
    if value is None or isinstance(value, bool):
        return value
    errors.append(f"{name}: not true or false: {shown(value)}")
    return None


def _full_name(name: Any) -> str | None:
    return text(name.get("fullName")) if isinstance(name, Mapping) else None


def _organization(organizations: Any, errors: list[str]) -> tuple[str | None, str | None]:
    """Department and cost center of the primary organization (else the first one)."""
    if organizations is None:
        return None, None
    if not isinstance(organizations, list):
        errors.append("organizations: not a list")
        return None, None
    entries = [o for o in organizations if isinstance(o, Mapping)]
    chosen = next((o for o in entries if o.get("primary") is True), entries[0] if entries else None)
    if chosen is None:
        return None, None
    return text(chosen.get("department")), text(chosen.get("costCenter"))


def _manager(relations: Any) -> str | None:
    if not isinstance(relations, list):
        return None
    for relation in relations:
        if (
            isinstance(relation, Mapping)
            and relation.get("type") == "manager"
            and is_email(relation.get("value"))
        ):
            return normalise_email(relation["value"])
    return None
