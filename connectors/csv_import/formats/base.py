"""What every file format provides to the importer."""

from __future__ import annotations

import abc
from datetime import datetime
from typing import ClassVar

from collector.records import Record
from connectors.csv_import.row import Header, Row
from connectors.csv_import.settings import ExportFile


class ExportFormat(abc.ABC):
    """Turns the rows of one file into records. One instance reads one file, so it may keep state."""

    required: ClassVar[tuple[str, ...]]

    def __init__(self, file: ExportFile, file_name: str) -> None:
        self.file = file
        self.file_name = file_name

    def missing_columns(self, header: Header) -> list[str]:
        return header.missing(self.required)

    def exported_at(self, first: Row) -> datetime | None:
        """When the export was taken, if the file itself says so (read from its first data row)."""
        return None

    def file_problem(self, first: Row) -> str | None:
        """Why the whole file is unusable, judged from its first data row; ``None`` if it is fine."""
        return None

    @abc.abstractmethod
    def records(self, row: Row) -> list[Record]:
        """The records of one row; when the row has :attr:`Row.errors` the result is discarded."""


class VendorExport(ExportFormat):
    """An export from one vendor's admin console: every row is about the one app it describes."""

    default_app: ClassVar[str]

    def __init__(self, file: ExportFile, file_name: str) -> None:
        super().__init__(file, file_name)
        self.app = file.app or self.default_app
