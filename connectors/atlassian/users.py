"""Managed accounts (``GET /v1/orgs/{orgId}/users``) as accounts, seats, people and activity.

Each user lists the products it can use (``product_access[]``) with the date it was last active in
each (``last_active``, ``YYYY-MM-DD``; absent when it never used that product). "Active" means
viewing a page of the product for at least two seconds, and the dates lag by up to a day
(developer.atlassian.com/cloud/admin/organization/user-last-active-dates).

``account_type`` says who the account is: ``atlassian`` a person, ``app`` a bot of an app (no seat,
no person, no activity), ``customer`` a Jira Service Management portal customer (an external person,
never a licensed user). Atlassian bills each product per user with access, so an active person's
product access is a seat of that product.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    PersonRecord,
    Record,
    SeatRecord,
)
from connectors.atlassian import values
from connectors.atlassian.values import FieldError

KINDS = {"atlassian": "user", "app": "bot", "customer": "guest"}


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def user_records(
    raw: Any, app_of: Callable[[str, str | None], str], edition: Callable[[str], str]
) -> list[Record]:
    """The records of one user; ``app_of(key, name)`` names a product's app, ``edition(app)`` its SKU.

    Raises :class:`FieldError` naming the bad field.
    """
    if not isinstance(raw, Mapping):
        raise FieldError(f"expected an object, got {values.show(raw)}")
    account_id = values.required_text(raw, "account_id")
    account_type = values.required_text(raw, "account_type")
    status = values.required_text(raw, "account_status")
    email = values.optional_email(raw, "email")
    kind = KINDS.get(account_type)
    # Last active per app: one app can come from several product keys (Jira Software and Core).
    apps: dict[str, datetime | None] = {}
    for index, product in enumerate(values.items(raw, "product_access")):
        try:
            key = values.required_text(product, "key")
            app = app_of(key, values.text(product, "name"))
            last_active = values.day_or_time(product, "last_active")
        except FieldError as exc:
            raise FieldError(f"product_access[{index}].{exc}") from None
        apps[app] = _later(apps[app], last_active) if app in apps else last_active
    records: list[Record] = []
    if kind == "user" and email is not None:
        records.append(PersonRecord(email=email, display_name=values.text(raw, "name")))
    for app, last_active in apps.items():
        records.append(
            AccountRecord(app_id=app, external_id=account_id, email=email, status=status, kind=kind)
        )
        if kind == "user" and status == "active":
            records.append(SeatRecord(app_id=app, sku=edition(app), account_external_id=account_id))
        if kind in ("user", "guest") and email is not None:
            records.append(
                ActivityRecord(
                    email=email, app_id=app, last_seen_at=last_active, source_kind=ActivitySource.APP_LOGIN
                )
            )
    return records
