"""Microsoft 365 admin center > Users > Active users > Export users (CSV).

Columns used: ``User principal name``, ``Display name``, ``First name``, ``Last name``, ``Department``,
``When created`` (``2022-03-18 19:49:35Z``), ``Block credential`` (True / False), ``Object Id`` and
``Licenses``: license display names joined by ``+`` (``Unlicensed`` when there are none).
"""

from __future__ import annotations

import re
from typing import ClassVar

from collector.records import AccountRecord, IdpStatus, PersonRecord, Record, SeatRecord
from connectors.csv_import.formats.base import VendorExport
from connectors.csv_import.row import Row

UPN = "User principal name"
BLOCKED = "Block credential"
UNLICENSED = "unlicensed"

# Licenses are joined by a bare "+", while a name may itself hold a spaced " + " ("Enterprise
# Mobility + Security E5"), so only a "+" without a space on either side separates. People who
# tidy the list by hand often use ";" instead.
LICENSE_SEPARATOR = re.compile(r"\s*;\s*|(?<=\S)\+(?=\S)")


def split_licenses(value: str | None) -> list[str]:
    names = [name.strip() for name in LICENSE_SEPARATOR.split(value or "")]
    return [name for name in names if name and name.casefold() != UNLICENSED]


class M365ActiveUsers(VendorExport):
    required: ClassVar[tuple[str, ...]] = (UPN,)
    default_app = "m365"

    def records(self, row: Row) -> list[Record]:
        email = row.email(UPN)
        blocked = row.boolean(BLOCKED)
        created = row.timestamp("When created")
        if email is None or row.errors:
            return []
        name = row.text("Display name") or row.joined("First name", "Last name")
        # A blocked sign-in says the Microsoft account is off; it speaks for the person only when
        # Entra ID is the identity provider (idp: true), else the IdP's own export decides.
        status = None
        if self.file.idp and blocked is not None:
            status = IdpStatus.SUSPENDED if blocked else IdpStatus.ACTIVE
        account_id = row.text("Object Id") or email
        records: list[Record] = [
            PersonRecord(
                email=email,
                display_name=name,
                status=status,
                department=row.text("Department"),
                created_at=created,
            ),
            AccountRecord(
                app_id=self.app,
                external_id=account_id,
                email=email,
                status="blocked" if blocked else "active",
                created_at=created,
            ),
        ]
        records += [
            SeatRecord(app_id=self.app, sku=sku, account_external_id=account_id)
            for sku in split_licenses(row.text("Licenses"))
        ]
        return records
