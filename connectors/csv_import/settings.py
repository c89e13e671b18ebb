"""Settings of the csv_import connector: which export files to read, and how."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from collector.connector import ConnectorSettings
from collector.timeutil import as_utc
from connectors.csv_import.values import DateOrder


class FileFormat(enum.StrEnum):
    GOOGLE_ADMIN_USERS = "google_admin_users"
    M365_ACTIVE_USERS = "m365_active_users"
    M365_ACTIVE_USER_DETAIL = "m365_active_user_detail"
    LICENSE_POOLS = "license_pools"
    SEAT_ASSIGNMENTS = "seat_assignments"
    SPEND_LINES = "spend_lines"


# Vendor exports describe one app, named in the settings; the generic formats carry an ``app`` column.
VENDOR_FORMATS = frozenset(
    {FileFormat.GOOGLE_ADMIN_USERS, FileFormat.M365_ACTIVE_USERS, FileFormat.M365_ACTIVE_USER_DETAIL}
)
# Directory exports that can speak for the identity provider (see ``ExportFile.idp``).
DIRECTORY_FORMATS = frozenset({FileFormat.GOOGLE_ADMIN_USERS, FileFormat.M365_ACTIVE_USERS})


class ExportFile(BaseModel):
    """One export file.

    ``path`` is relative to the config file's folder. ``exported_at`` is when the export was taken;
    left out, it is the Microsoft report's "Report Refresh Date" if the file has one, else the file's
    modification time. Times in the file later than a day after it are reported as misread dates.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)
    format: FileFormat
    # The app the vendor export describes (default google_workspace or m365); vendor formats only.
    app: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    # google_admin_users: the SKU every listed, non-archived user holds; no seats are yielded without.
    sku: str | None = Field(default=None, min_length=1)
    exported_at: datetime | None = None
    # Whether the file's account states are the person's identity-provider status (a suspended
    # account means the person is gone). Default: yes for Google, no for Microsoft 365, where a
    # blocked sign-in is often app-side only; set it for tenants whose identity provider is Entra ID.
    idp: bool | None = None
    # How to read a/b/yyyy dates: month first (mdy, US) or day first (dmy, UK and most of Europe).
    date_order: DateOrder = "mdy"

    @field_validator("exported_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)

    @model_validator(mode="after")
    def _fits_format(self) -> ExportFile:
        if self.sku is not None and self.format is not FileFormat.GOOGLE_ADMIN_USERS:
            raise ValueError("sku is only for google_admin_users files (other formats name SKUs in rows)")
        if self.app is not None and self.format not in VENDOR_FORMATS:
            raise ValueError(f"app is not used by {self.format} files: they have an app column")
        if self.idp is not None and self.format not in DIRECTORY_FORMATS:
            raise ValueError("idp is only for google_admin_users and m365_active_users files")
        return self


class CsvImportSettings(ConnectorSettings):
    """Settings of ``csv_import``: the export files to read, each once per run."""

    files: tuple[ExportFile, ...]

    @model_validator(mode="after")
    def _distinct_paths(self) -> CsvImportSettings:
        # Checked here, not with Field(min_length=1): pydantic would also report "0 items" for a
        # list whose only entry has a typo, a second error for one mistake.
        if not self.files:
            raise ValueError("list at least one file")
        paths = [f.path for f in self.files]
        repeated = sorted({p for p in paths if paths.count(p) > 1})
        if repeated:
            raise ValueError(f"each file may be listed once; repeated: {', '.join(repeated)}")
        return self
