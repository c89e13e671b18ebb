"""Microsoft 365 admin center > Reports > Usage > Active users, exported user details.

The same CSV as Graph ``reports/getOffice365ActiveUserDetail``: ``Report Refresh Date``, ``User
Principal Name``, ``Display Name``, ``Is Deleted``, and one ``<workload> Last Activity Date`` per
workload (Exchange, OneDrive, SharePoint, Skype For Business, Yammer, Teams), as ``yyyy-mm-dd``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar

from collector.records import ActivityRecord, ActivitySource, PersonRecord, Record
from connectors.csv_import.formats.base import VendorExport
from connectors.csv_import.row import Header, Row
from connectors.csv_import.values import parse_timestamp, show

UPN = "User Principal Name"
WORKLOADS = ("Exchange", "OneDrive", "SharePoint", "Skype For Business", "Yammer", "Teams")
ACTIVITY_COLUMNS = tuple(f"{w} Last Activity Date" for w in WORKLOADS)

# With "Display concealed user, group, and site names in all reports" on (the default since
# September 2021), user names in every usage report are replaced by a 32-digit hex hash.
CONCEALED = re.compile(r"[0-9A-Fa-f]{32}")
UNCONCEAL = (
    "the report was exported with concealed user names, which cannot be matched to anyone: "
    "in the Microsoft 365 admin center go to Settings > Org settings > Reports, clear "
    "'Display concealed user, group, and site names in all reports', and export the report again"
)


class M365ActiveUserDetail(VendorExport):
    required: ClassVar[tuple[str, ...]] = (UPN,)
    default_app = "m365"

    def missing_columns(self, header: Header) -> list[str]:
        missing = super().missing_columns(header)
        if not any(header.has(c) for c in ACTIVITY_COLUMNS):
            missing.append("any of " + ", ".join(ACTIVITY_COLUMNS))
        return missing

    def exported_at(self, first: Row) -> datetime | None:
        refreshed = first.text("Report Refresh Date")
        try:
            return parse_timestamp(refreshed, first.date_order) if refreshed else None
        except ValueError:
            return None

    def file_problem(self, first: Row) -> str | None:
        upn = first.text(UPN)
        if upn is not None and CONCEALED.fullmatch(upn):
            return f"{first.header.name(UPN)}: {UNCONCEAL} (first value: {show(upn)})"
        return None

    def records(self, row: Row) -> list[Record]:
        if row.boolean("Is Deleted"):
            return []  # a deleted user holds nothing any more
        email = row.email(UPN)
        times = [row.last_seen(c) for c in ACTIVITY_COLUMNS if row.has(c)]
        if email is None or row.errors:
            return []
        seen = [t for t in times if t is not None]
        return [
            PersonRecord(email=email, display_name=row.text("Display Name")),
            # Empty activity dates in every workload: the report's statement that the user never used it.
            ActivityRecord(email, self.app, max(seen) if seen else None, ActivitySource.EXPORT),
        ]
