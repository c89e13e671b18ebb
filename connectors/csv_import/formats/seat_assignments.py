"""``seat_assignments``: who holds a license of which app, for apps without an export of their own.

Columns: ``app``, ``sku``, ``email`` (required), ``account_id`` (default: the e-mail),
``assigned_at``, ``last_active_at`` (empty or ``Never``: never active), ``status`` (the account's
status in the app, default active) and ``is_admin``. Without a ``last_active_at`` column the file
says nothing about activity, so no activity is recorded.
"""

from __future__ import annotations

from typing import ClassVar

from collector.records import AccountRecord, ActivityRecord, ActivitySource, PersonRecord, Record, SeatRecord
from connectors.csv_import.formats.base import ExportFormat
from connectors.csv_import.row import Row

LAST_ACTIVE = "last_active_at"


class SeatAssignments(ExportFormat):
    required: ClassVar[tuple[str, ...]] = ("app", "sku", "email")

    def records(self, row: Row) -> list[Record]:
        app = row.app_id("app")
        sku = row.required("sku")
        email = row.email("email")
        assigned_at = row.timestamp("assigned_at")
        last_active = row.last_seen(LAST_ACTIVE)
        is_admin = row.boolean("is_admin")
        if app is None or sku is None or email is None or row.errors:
            return []
        account_id = row.text("account_id") or email
        records: list[Record] = [
            PersonRecord(email=email),
            AccountRecord(
                app_id=app,
                external_id=account_id,
                email=email,
                status=(row.text("status") or "active").casefold(),
                is_admin=is_admin,
            ),
            SeatRecord(app_id=app, sku=sku, account_external_id=account_id, assigned_at=assigned_at),
        ]
        if row.has(LAST_ACTIVE):
            records.append(ActivityRecord(email, app, last_active, ActivitySource.EXPORT))
        return records
