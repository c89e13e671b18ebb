"""The csv_import connector: admin-console exports and hand-made CSVs, before API access exists."""

from __future__ import annotations

from collections.abc import Iterator

from collector.connector import Connector, SyncContext
from collector.records import DataKind, Record
from connectors.csv_import.importer import import_file
from connectors.csv_import.settings import CsvImportSettings


class CsvImportConnector(Connector):
    """Reads the export files listed in its settings, each a full snapshot of what it describes.

    Example settings::

        settings:
          files:
            - {path: exports/google_users.csv, format: google_admin_users,
               sku: "Google Workspace Business Standard"}
            - {path: exports/m365_users.csv, format: m365_active_users}
            - {path: exports/seats.csv, format: seat_assignments}
    """

    id = "csv_import"
    title = "CSV exports (Google Admin, Microsoft 365, generic seats, pools and spend)"
    settings_model = CsvImportSettings
    data_kinds = frozenset(
        {
            DataKind.PEOPLE,
            DataKind.ACCOUNTS,
            DataKind.LICENSE_POOLS,
            DataKind.SEATS,
            DataKind.ACTIVITY,
            DataKind.SPEND,
        }
    )
    scopes = ()  # it reads local files: no vendor credentials, so no permissions to ask for
    # Each export is a full picture of what it lists, so a clean run retires what it no longer lists.
    snapshot_kinds = data_kinds

    def sync(self, ctx: SyncContext) -> Iterator[Record]:
        settings = self.settings
        if not isinstance(settings, CsvImportSettings):
            raise TypeError(f"csv_import needs CsvImportSettings, got {type(settings).__name__}")
        for file in settings.files:
            if ctx.stop.is_set():
                return
            yield from import_file(file, ctx)
