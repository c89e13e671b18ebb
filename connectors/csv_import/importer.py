"""Reading one configured export file into records, problems and checkpoints."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from itertools import chain
from pathlib import Path

from collector.connector import SyncContext
from collector.records import ActivityRecord, Checkpoint, Record, RowProblem
from connectors.csv_import.formats import FORMATS
from connectors.csv_import.row import Header, Row
from connectors.csv_import.settings import ExportFile
from connectors.csv_import.table import TableError, read_table

PAGE_ROWS = 1000  # rows per page: one transaction in the runner, so memory stays flat on big files
# How far past the export time a timestamp may lie before it reads as a misread date: a day covers
# exports stamped in one time zone and written in another.
CLOCK_SLACK = timedelta(days=1)


def import_file(file: ExportFile, ctx: SyncContext) -> Iterator[Record]:
    """Yield the records of ``file``; end with a complete :class:`Checkpoint` if it was read through."""
    name = Path(file.path).name
    try:
        table = read_table(ctx.resolve_path(file.path))
    except TableError as exc:
        yield RowProblem(where=name, reason=str(exc))
        return
    header = Header(table.columns)
    fmt = FORMATS[file.format](file, name)
    missing = fmt.missing_columns(header)
    if missing:
        yield RowProblem(
            where=name,
            reason=f"missing column(s): {', '.join(missing)}; found: {', '.join(table.columns)}",
        )
        return

    count = 0
    try:
        first = next(table.rows, None)
        peek = Row(header, first[1], date_order=file.date_order) if first else None
        exported_at = file.exported_at or (peek and fmt.exported_at(peek)) or table.modified_at
        problem = peek and fmt.file_problem(peek)
        if problem:
            yield RowProblem(where=name, reason=problem)
            return
        ctx.log.info("reading %s as %s, exported at %s", name, file.format, exported_at.isoformat())
        latest = exported_at + CLOCK_SLACK
        for number, cells in chain([first], table.rows) if first else ():
            count += 1
            row = Row(header, cells, date_order=file.date_order, latest=latest)
            if not row.is_blank():
                row.check_width()
                records = fmt.records(row)
                if row.errors:
                    yield RowProblem(where=f"{name} row {number}", reason="; ".join(row.errors))
                else:
                    # Activity in an export was true when the export was taken, not when it is read.
                    yield from (
                        replace(r, observed_at=exported_at) if isinstance(r, ActivityRecord) else r
                        for r in records
                    )
            if count % PAGE_ROWS == 0:
                yield Checkpoint(stream=file.path)
                if ctx.stop.is_set():
                    return
    except csv.Error as exc:
        yield RowProblem(where=f"{name} row {count + 2}", reason=f"not valid CSV from here on: {exc}")
        return
    cursor: dict[str, object] = {
        "sha256": table.sha256,
        "rows": count,
        "exported_at": exported_at.isoformat(),
    }
    yield Checkpoint(stream=file.path, cursor=cursor, complete=True)
