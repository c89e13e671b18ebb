"""Salesforce ``User`` records as accounts, seats, people and last logins.

A user holds a seat of the license of its profile (``Profile.UserLicense.Name``) while it is active;
deactivated users free their license. ``LastLoginDate`` is null for a user who never logged in.

Not every user is a person. Integration identities log in through the API on a schedule, which keeps
their ``LastLoginDate`` fresh and would make them look like active humans. A user is a **service**
account (no person, no last-login activity; its seat is still counted) when any of these holds:

- its profile has the "API Only User" permission (``Profile.PermissionsApiUserOnly``);
- its license is ``Salesforce Integration`` (the API-only integration user license);
- its ``UserType`` is ``AutomatedProcess`` (Flow and Apex automation), ``CloudIntegrationUser``
  (the Platform Integration User) or ``Guest`` (the unauthenticated guest user of a site);
- its ``Username`` is listed in ``service_usernames``.

Such users often carry an administrator's e-mail address, so their account is stored without one:
joined by e-mail, the integration's seat would merge into that administrator's.

Experience Cloud (community and portal) users are external people: kind ``guest``, with their seat
and last login, but no person record for the organisation's directory.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    PersonRecord,
    Record,
    SeatRecord,
)
from connectors.salesforce import values
from connectors.salesforce.values import FieldError

APP = "salesforce"
SERVICE_USER_TYPES = frozenset({"AutomatedProcess", "CloudIntegrationUser", "Guest"})
SERVICE_LICENSES = frozenset({"salesforce integration"})
PORTAL_USER_TYPES = frozenset(
    {"PowerPartner", "PowerCustomerSuccess", "CustomerSuccess", "CspLitePortal", "SelfService"}
)


def kind_of(user_type: str | None, license_name: str | None, api_only: bool, is_listed: bool) -> str:
    """``service``, ``guest`` or ``user``; see the module docstring."""
    if (
        api_only
        or is_listed
        or user_type in SERVICE_USER_TYPES
        or (license_name or "").casefold() in SERVICE_LICENSES
    ):
        return "service"
    return "guest" if user_type in PORTAL_USER_TYPES else "user"


def user_records(raw: Any, service_usernames: Collection[str]) -> list[Record]:
    """The records of one ``User`` record; raises :class:`FieldError` naming the bad field."""
    if not isinstance(raw, Mapping):
        raise FieldError(f"expected a record, got {values.show(raw)}")
    user_id = values.required_text(raw, "Id")
    username = values.required_text(raw, "Username")
    is_active = values.flag(raw, "IsActive")
    if is_active is None:
        raise FieldError("IsActive: missing")
    profile = values.related(raw, "Profile") or {}
    user_license = values.related(profile, "UserLicense") or {}
    license_name = values.text(user_license, "Name")
    user_type = values.text(raw, "UserType")
    kind = kind_of(
        user_type,
        license_name,
        api_only=values.flag(profile, "PermissionsApiUserOnly") is True,
        is_listed=username.casefold() in service_usernames,
    )
    email = None if kind == "service" else values.email(raw, "Email")
    last_login = values.timestamp(raw, "LastLoginDate")
    records: list[Record] = [
        AccountRecord(
            app_id=APP,
            external_id=user_id,
            email=email,
            status="active" if is_active else "inactive",
            is_admin=values.flag(profile, "PermissionsModifyAllData"),
            created_at=values.timestamp(raw, "CreatedDate"),
            kind=kind,
        )
    ]
    if email is not None:
        if kind == "user":
            records.append(PersonRecord(email=email, display_name=values.text(raw, "Name")))
        records.append(
            ActivityRecord(
                email=email, app_id=APP, last_seen_at=last_login, source_kind=ActivitySource.APP_LOGIN
            )
        )
    if is_active and license_name:
        records.append(SeatRecord(app_id=APP, sku=license_name, account_external_id=user_id))
    return records
