"""``spend_lines``: money out, from an accounting export or a card statement.

Columns: ``date``, ``amount``, ``currency``, ``merchant`` (required), ``id``, ``app``, ``description``
and ``kind`` (invoice | card | subscription, default invoice). Without an ``id`` a line is named by a
hash of the file name and the row's cells, so re-reading the same file never duplicates a line.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import ClassVar

from collector.records import Record, SpendRecord
from connectors.csv_import.formats.base import ExportFormat
from connectors.csv_import.row import Row
from connectors.csv_import.settings import ExportFile

KINDS = {"invoice": "invoice", "card": "card", "subscription": "subscription"}


class SpendLines(ExportFormat):
    required: ClassVar[tuple[str, ...]] = ("date", "amount", "currency", "merchant")

    def __init__(self, file: ExportFile, file_name: str) -> None:
        super().__init__(file, file_name)
        self._seen: Counter[str] = Counter()

    def records(self, row: Row) -> list[Record]:
        spent_on = row.date("date", required=True)
        amount = row.money("amount", required=True)
        currency = row.currency("currency", required=True)
        merchant = row.required("merchant")
        app = row.app_id("app", required=False)
        kind = row.choice("kind", KINDS) or "invoice"
        if spent_on is None or amount is None or currency is None or merchant is None or row.errors:
            return []
        return [
            SpendRecord(
                external_id=row.text("id") or self._row_id(row),
                spent_on=spent_on,
                amount=amount,
                currency=currency,
                merchant=merchant,
                app_id=app,
                description=row.text("description"),
                kind=kind,
            )
        ]

    def _row_id(self, row: Row) -> str:
        content = "\x1f".join([self.file_name, *(cell.strip() for cell in row.cells)])
        # Two identical lines (the same charge twice in a day) are both real: number the repeats.
        self._seen[content] += 1
        digest = hashlib.sha256(f"{content}\x1f{self._seen[content]}".encode()).hexdigest()
        return f"{self.file_name}#{digest[:16]}"
