"""Slack members (``users.list``) as records.

Member fields (docs.slack.dev/reference/objects/user-object): ``deleted`` (deactivated, still listed),
``is_bot`` (and Slackbot, ``USLACKBOT``, which says ``is_bot: false``), ``is_restricted``
(multi-channel guest), ``is_ultra_restricted`` (single-channel guest), ``is_admin``, ``is_owner``,
``is_primary_owner``, ``is_invited_user`` (invited, not joined yet), ``has_2fa`` (shown to admins
only) and ``profile.email``, which needs the ``users:read.email`` scope and which bots do not have.
There is no creation date and no last-activity time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collector.records import AccountRecord, PersonRecord, Record, SeatRecord
from connectors.slack import values
from connectors.slack.values import FieldError

APP = "slack"
SLACKBOT = "USLACKBOT"


@dataclass(frozen=True)
class Member:
    """What the connector keeps of a member after yielding its records."""

    user_id: str
    email: str | None
    kind: str


def member_records(raw: Any, billable: Mapping[str, bool], sku: str) -> tuple[Member, list[Record]]:
    """The member and its records; raises :class:`FieldError` naming the bad field."""
    if not isinstance(raw, Mapping):
        raise FieldError(f"expected an object, got {values.show(raw)}")
    user_id = values.required_text(raw, "id")
    profile = values.mapping(raw, "profile")
    try:
        email = values.email(profile, "email")
        profile_name = values.text(profile, "real_name")
    except FieldError as exc:
        raise FieldError(f"profile.{exc}") from None
    kind = _kind(raw, user_id)
    if kind == "bot":
        email = None  # a bot is no person, even when an app gave it an address
    deleted = values.flag(raw, "deleted")
    status = "deleted" if deleted else "invited" if values.flag(raw, "is_invited_user") else "active"
    is_admin = any(values.flag(raw, f) for f in ("is_admin", "is_owner", "is_primary_owner"))
    records: list[Record] = []
    if email is not None:
        name = profile_name or values.text(raw, "real_name")
        records.append(PersonRecord(email=email, display_name=name))
    records.append(
        AccountRecord(
            app_id=APP,
            external_id=user_id,
            email=email,
            status=status,
            is_admin=is_admin,
            mfa_enabled=values.flag(raw, "has_2fa"),
            kind=kind,
        )
    )
    if billable.get(user_id):
        records.append(SeatRecord(app_id=APP, sku=sku, account_external_id=user_id))
    return Member(user_id, email, kind), records


def _kind(raw: Mapping[str, Any], user_id: str) -> str:
    if values.flag(raw, "is_bot") or user_id == SLACKBOT:
        return "bot"
    if values.flag(raw, "is_restricted") or values.flag(raw, "is_ultra_restricted"):
        return "guest"
    return "user"
