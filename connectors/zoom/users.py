"""Zoom users (``GET /users``) as records.

User ``type`` (developers.zoom.us/docs/api/users/#tag/users/GET/users): 1 Basic (free), 2 Licensed,
4 "Unassigned without Meetings Basic", 99 None. Only Licensed users hold a paid seat of the base
plan. ``last_login_time`` is the user's last sign-in to Zoom (client, web or SSO); Zoom leaves it out
for a user who never signed in, which reads as "never" here. Add-on licenses (Webinar, Large Meeting)
are per-user settings that this listing does not show; they are counted only as pools.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    PersonRecord,
    Record,
    SeatRecord,
)
from connectors.zoom import values
from connectors.zoom.values import FieldError

APP = "zoom"
LICENSED = 2
# role_id of the built-in roles; custom roles have other ids and say nothing about admin rights.
ADMIN_ROLES = {"0": True, "1": True, "2": False}  # Owner, Admin, Member


def user_records(raw: Any, listed_status: str, licensed_sku: str) -> list[Record]:
    """The records of one user object; raises :class:`FieldError` naming the bad field."""
    if not isinstance(raw, Mapping):
        raise FieldError(f"expected an object, got {values.show(raw)}")
    user_id = values.required_text(raw, "id")
    email = values.email(raw, "email")
    user_type = raw.get("type")
    if isinstance(user_type, bool) or not isinstance(user_type, int):
        raise FieldError(f"type: expected a number, got {values.show(user_type)}")
    last_login = values.timestamp(raw, "last_login_time")
    created = values.timestamp(raw, "user_created_at") or values.timestamp(raw, "created_at")
    status = values.text(raw, "status") or listed_status
    role = raw.get("role_id")
    name = values.text(raw, "display_name") or " ".join(
        filter(None, (values.text(raw, "first_name"), values.text(raw, "last_name")))
    )
    records: list[Record] = [
        PersonRecord(email=email, display_name=name or None, department=values.text(raw, "dept")),
        AccountRecord(
            app_id=APP,
            external_id=user_id,
            email=email,
            status=status,
            is_admin=ADMIN_ROLES.get(role) if isinstance(role, str) else None,
            created_at=created,
            kind="user",
        ),
        # No last_login_time is Zoom's "never signed in" (pending users always lack it).
        ActivityRecord(
            email=email, app_id=APP, last_seen_at=last_login, source_kind=ActivitySource.APP_LOGIN
        ),
    ]
    if user_type == LICENSED:
        # Deactivated users listed as Licensed, and pending (invited) ones, which reserve a license,
        # hold a seat too: a license parked on someone who cannot or did not sign in is what an
        # analyzer should see. Their account status says which they are.
        records.append(SeatRecord(app_id=APP, sku=licensed_sku, account_external_id=user_id))
    return records
