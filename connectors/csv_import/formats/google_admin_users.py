"""Google Admin console > Directory > Users > Download users (CSV).

The download uses the column names of the bulk-update template (support.google.com/a/answer/40057):
``Email Address [Required]``, ``Status [READ ONLY]`` (Active / Suspended / Archived), ``Last Sign In
[READ ONLY]`` (``2024/05/01 09:58:12`` or ``Never logged in``), ``2sv Enrolled [READ ONLY]`` (True /
False), ``Department``, ``Cost Center``, ``Manager Email`` ...
"""

from __future__ import annotations

from typing import ClassVar

from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    IdpStatus,
    PersonRecord,
    Record,
    SeatRecord,
)
from connectors.csv_import.formats.base import VendorExport
from connectors.csv_import.row import Row

EMAIL = "Email Address [Required]"
FIRST_NAME = "First Name [Required]"
LAST_NAME = "Last Name [Required]"
STATUS = "Status [READ ONLY]"
LAST_SIGN_IN = "Last Sign In [READ ONLY]"
TWO_SV = "2sv Enrolled [READ ONLY]"

# An archived user cannot sign in: for the identity provider the person is gone, like a suspended
# one. Google bills archived users an "Archived User" license instead of their edition's license, so
# an archived user holds no seat of the configured SKU.
ARCHIVED = "archived"
STATUSES = {"active": IdpStatus.ACTIVE, "suspended": IdpStatus.SUSPENDED, ARCHIVED: IdpStatus.SUSPENDED}


class GoogleAdminUsers(VendorExport):
    required: ClassVar[tuple[str, ...]] = (EMAIL,)
    default_app = "google_workspace"

    def records(self, row: Row) -> list[Record]:
        email = row.email(EMAIL)
        status = row.choice(STATUS, STATUSES)
        two_sv = row.boolean(TWO_SV)
        manager = row.email("Manager Email", required=False)
        last_seen = row.last_seen(LAST_SIGN_IN) if row.has(LAST_SIGN_IN) else None
        if email is None or row.errors:
            return []
        name = row.joined(FIRST_NAME, LAST_NAME)
        state = (row.text(STATUS) or "active").casefold()
        # Suspended users keep their seat: Google goes on billing their license until it is removed.
        sku = self.file.sku if state != ARCHIVED else None
        records: list[Record] = [
            PersonRecord(
                email=email,
                display_name=name,
                status=status if self.file.idp is not False else None,
                department=row.text("Department"),
                cost_center=row.text("Cost Center"),
                manager_email=manager,
            ),
            AccountRecord(app_id=self.app, external_id=email, email=email, status=state, mfa_enabled=two_sv),
        ]
        if sku is not None:
            records.append(SeatRecord(app_id=self.app, sku=sku, account_external_id=email))
        if row.has(LAST_SIGN_IN):  # no column, no statement; an empty cell is "never"
            records.append(ActivityRecord(email, self.app, last_seen, ActivitySource.EXPORT))
        return records
