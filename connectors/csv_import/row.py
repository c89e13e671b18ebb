"""One data row, read cell by cell, collecting what is wrong instead of stopping at the first fault.

A format reads the cells it needs through :class:`Row`; each bad cell adds ``"<column>: <why>"`` to
:attr:`Row.errors` and reads as missing. The importer then reports the row once, with every fault,
and ingests nothing from it. Messages quote only the offending cell, never the rest of the row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from collector.records import normalise_email
from connectors.csv_import.table import column_key
from connectors.csv_import.values import (
    DateOrder,
    parse_bool,
    parse_count,
    parse_date,
    parse_last_seen,
    parse_money,
    parse_timestamp,
    show,
)

T = TypeVar("T")

EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
APP_ID = re.compile(r"[a-z0-9][a-z0-9_.-]*")
CURRENCY = re.compile(r"[A-Z]{3}")


class Header:
    """A file's columns, looked up by :func:`column_key`; the first of two same-keyed columns wins."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.index: dict[str, int] = {}
        for position, name in enumerate(columns):
            self.index.setdefault(column_key(name), position)

    def has(self, column: str) -> bool:
        return column_key(column) in self.index

    def name(self, column: str) -> str:
        """``column`` as the file spells it (for messages), or as asked when the file lacks it."""
        position = self.index.get(column_key(column))
        return column if position is None else self.columns[position]

    def missing(self, columns: Sequence[str]) -> list[str]:
        return [c for c in columns if not self.has(c)]


class Row:
    def __init__(
        self,
        header: Header,
        cells: Sequence[str],
        date_order: DateOrder = "mdy",
        latest: datetime | None = None,
    ) -> None:
        self.header = header
        self.cells = list(cells)
        self.date_order = date_order
        self.latest = latest  # the latest plausible time in this file (the export time, plus slack)
        self.errors: list[str] = []

    def is_blank(self) -> bool:
        return not any(cell.strip() for cell in self.cells)

    def check_width(self) -> None:
        """A row with more filled cells than the header has columns was split by a stray delimiter."""
        width = len(self.header.columns)
        if any(cell.strip() for cell in self.cells[width:]):
            self.errors.append(
                f"the row has {len(self.cells)} cells but the header has {width} columns "
                "(an unquoted delimiter or a stray quote?)"
            )

    def has(self, column: str) -> bool:
        return self.header.has(column)

    def text(self, column: str) -> str | None:
        """The stripped cell, or ``None`` when it is empty or the file has no such column."""
        position = self.header.index.get(column_key(column))
        if position is None or position >= len(self.cells):
            return None
        return self.cells[position].strip() or None

    def joined(self, *columns: str) -> str | None:
        """The non-empty cells of ``columns`` joined by spaces (a first and a last name), if any."""
        return " ".join(filter(None, map(self.text, columns))) or None

    def fail(self, column: str, why: str) -> None:
        self.errors.append(f"{self.header.name(column)}: {why}")

    def required(self, column: str) -> str | None:
        value = self.text(column)
        if value is None:
            self.fail(column, "empty")
        return value

    def _parsed(self, column: str, parse: Callable[[str], T], required: bool = False) -> T | None:
        value = self.required(column) if required else self.text(column)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            self.fail(column, str(exc))
            return None

    def email(self, column: str, required: bool = True) -> str | None:
        value = self.required(column) if required else self.text(column)
        if value is None:
            return None
        if not EMAIL.fullmatch(value):
            self.fail(column, f"not an e-mail address: {show(value)}")
            return None
        return normalise_email(value)

    def app_id(self, column: str, required: bool = True) -> str | None:
        value = self.required(column) if required else self.text(column)
        if value is None:
            return None
        app = value.lower()
        if not APP_ID.fullmatch(app):
            self.fail(column, f"not an app id (like slack or adobe_cc): {show(value)}")
            return None
        return app

    def currency(self, column: str, required: bool = False) -> str | None:
        value = self.required(column) if required else self.text(column)
        if value is None:
            return None
        if not CURRENCY.fullmatch(value.upper()):
            self.fail(column, f"not a three-letter currency code: {show(value)}")
            return None
        return value.upper()

    def timestamp(self, column: str) -> datetime | None:
        return self._past(column, self._parsed(column, lambda v: parse_timestamp(v, self.date_order)))

    def last_seen(self, column: str) -> datetime | None:
        """A last-seen time; empty, ``Never`` and ``Never logged in`` read as ``None`` ("never")."""
        value = self.text(column) or ""
        try:
            seen = parse_last_seen(value, self.date_order)
        except ValueError as exc:
            self.fail(column, str(exc))
            return None
        return self._past(column, seen)

    def _past(self, column: str, value: datetime | None) -> datetime | None:
        # A time after the export was taken is a misread date (a swapped day and month) or a typo.
        if value is not None and self.latest is not None and value > self.latest:
            self.fail(column, f"{value:%Y-%m-%d} is after the export was taken; is the date order right?")
            return None
        return value

    def date(self, column: str, required: bool = False) -> date | None:
        return self._parsed(column, lambda v: parse_date(v, self.date_order), required)

    def boolean(self, column: str) -> bool | None:
        return self._parsed(column, parse_bool)

    def money(self, column: str, required: bool = False) -> Decimal | None:
        return self._parsed(column, parse_money, required)

    def count(self, column: str) -> int | None:
        return self._parsed(column, parse_count)

    def choice(self, column: str, options: Mapping[str, T]) -> T | None:
        """One of ``options`` (matched case-insensitively), or ``None`` when empty."""
        value = self.text(column)
        if value is None:
            return None
        chosen = options.get(value.casefold())
        if chosen is None:
            self.fail(column, f"unknown value {show(value)} (expected one of {', '.join(options)})")
        return chosen
