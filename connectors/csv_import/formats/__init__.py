"""The file formats csv_import reads, by the ``format`` name used in the settings."""

from __future__ import annotations

from connectors.csv_import.formats.base import ExportFormat
from connectors.csv_import.formats.google_admin_users import GoogleAdminUsers
from connectors.csv_import.formats.license_pools import LicensePools
from connectors.csv_import.formats.m365_active_user_detail import M365ActiveUserDetail
from connectors.csv_import.formats.m365_active_users import M365ActiveUsers
from connectors.csv_import.formats.seat_assignments import SeatAssignments
from connectors.csv_import.formats.spend_lines import SpendLines
from connectors.csv_import.settings import FileFormat

FORMATS: dict[FileFormat, type[ExportFormat]] = {
    FileFormat.GOOGLE_ADMIN_USERS: GoogleAdminUsers,
    FileFormat.M365_ACTIVE_USERS: M365ActiveUsers,
    FileFormat.M365_ACTIVE_USER_DETAIL: M365ActiveUserDetail,
    FileFormat.LICENSE_POOLS: LicensePools,
    FileFormat.SEAT_ASSIGNMENTS: SeatAssignments,
    FileFormat.SPEND_LINES: SpendLines,
}

__all__ = ["FORMATS", "ExportFormat"]
