"""Parsing single cells: the spellings of dates, money, counts and yes/no that real exports contain.

Every parser takes the stripped, non-empty text of a cell and returns a value or raises
:class:`ValueError` whose message names the value, so a bad row can be reported as
``"<column>: <message>"`` without quoting the rest of the row.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Literal

from collector.timeutil import as_utc

DateOrder = Literal["mdy", "dmy"]
"""How to read ``a/b/yyyy``: month first (US, the default) or day first (UK and most of Europe)."""

# Spellings of "never signed in": the Google Admin console writes "Never logged in" in "Last Sign In".
NEVER = frozenset({"never", "never logged in"})

# Sentinels that mean "never" in exports built from vendor APIs: Google Directory's lastLoginTime is
# 1970-01-01T00:00:00.000Z and Microsoft Graph's signInActivity is 0001-01-01T00:00:00Z for accounts
# that never signed in.
NEVER_BEFORE_YEAR = 1971

TRUE = frozenset({"true", "yes", "y", "1"})
FALSE = frozenset({"false", "no", "n", "0"})

_SHOWN_CHARS = 40

_DATE_TIME = re.compile(
    r"(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4})"
    r"(?:[ T]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?\s*(?P<ampm>[AaPp][Mm])?)?"
    r"\s*(?P<zone>Z|UTC|GMT)?"
)
_YEAR_FIRST = re.compile(r"(\d{4})[./-](\d{1,2})[./-](\d{1,2})")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")

_CURRENCY_MARKS = re.compile(r"US\$|[$€£¥]|\b[A-Za-z]{3}\b")
_THOUSANDS_COMMAS = re.compile(r"\d{1,3}(,\d{3})+(\.\d*)?")
_THOUSANDS_DOTS = re.compile(r"\d{1,3}(\.\d{3}){2,}(,\d*)?|\d{1,3}(\.\d{3})+,\d*")


def show(value: str) -> str:
    """A cell value quoted for a problem message, cut short so a message never carries a paragraph."""
    cut = value if len(value) <= _SHOWN_CHARS else value[: _SHOWN_CHARS - 1] + "…"
    return repr(cut)


def is_never(text: str) -> bool:
    return text.strip().casefold() in NEVER


def parse_timestamp(text: str, order: DateOrder = "mdy") -> datetime:
    """An aware UTC datetime; a time without a zone is taken as UTC, a bare date as its midnight."""
    return as_utc(_parse(text, order))


def parse_date(text: str, order: DateOrder = "mdy") -> date:
    """The calendar date as written (a time or zone after it is ignored, not converted)."""
    return _parse(text, order).date()


def parse_last_seen(text: str, order: DateOrder = "mdy") -> datetime | None:
    """A last-seen time, or ``None`` for "never" (empty, ``Never``, ``Never logged in``, API sentinels)."""
    if not text.strip() or is_never(text):
        return None
    seen = parse_timestamp(text, order)
    return None if seen.year < NEVER_BEFORE_YEAR else seen


def _parse(text: str, order: DateOrder) -> datetime:
    text = text.strip()
    try:
        # ISO 8601 in all the forms the vendors write: 2024-05-01, 2022-03-18 19:49:35Z,
        # 2024-05-01T10:00:00.000Z, 2024-05-01T10:00:00.000+0000 (Python 3.11 reads them all).
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"not a date: {show(text)}")
    day = _calendar_date(match["date"], order, text)
    clock = time()
    if match["hour"] is not None:
        hour = int(match["hour"])
        if match["ampm"]:
            if not 1 <= hour <= 12:
                raise ValueError(f"not a time of day: {show(text)}")
            hour = hour % 12 + (12 if match["ampm"].casefold() == "pm" else 0)
        try:
            clock = time(hour, int(match["minute"]), int(match["second"] or 0))
        except ValueError:
            raise ValueError(f"not a time of day: {show(text)}") from None
    return datetime.combine(day, clock)


def _calendar_date(part: str, order: DateOrder, text: str) -> date:
    if m := _YEAR_FIRST.fullmatch(part):  # 2024/05/01, as in Google's "Last Sign In"
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _DOTTED.fullmatch(part):  # 01.05.2024: dotted dates are day-first wherever they are used
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    elif m := _SLASHED.fullmatch(part):
        first, second, year = int(m[1]), int(m[2]), int(m[3])
        month, day = (first, second) if order == "mdy" else (second, first)
        if month > 12:
            hint = "dmy" if order == "mdy" else "mdy"
            raise ValueError(
                f"not a {'M/D/YYYY' if order == 'mdy' else 'D/M/YYYY'} date: {show(text)} "
                f"(set date_order: {hint} for this file if that is how it writes dates)"
            )
    else:
        raise ValueError(f"not a date: {show(text)}")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"no such date: {show(text)}") from None


def parse_bool(text: str) -> bool:
    folded = text.strip().casefold()
    if folded in TRUE:
        return True
    if folded in FALSE:
        return False
    raise ValueError(f"not yes/no: {show(text)} (use True/False, Yes/No or 1/0)")


def parse_money(text: str) -> Decimal:
    """An amount such as ``1234.5``, ``$1,234.50``, ``1.234,50 €``, ``USD 12`` or ``(12.00)`` (negative).

    A lone comma followed by one or two digits is a decimal comma (``12,50``); commas grouping digits in
    threes are thousands separators (``1,234``). Currency symbols and codes are dropped: the currency
    comes from its own column.
    """
    cleaned = text.strip()
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    cleaned = _CURRENCY_MARKS.sub("", cleaned.strip("()"))
    cleaned = re.sub(r"[\s\u00a0']", "", cleaned)  # spaces, no-break spaces, Swiss 1'234.50
    if cleaned.startswith("-"):
        negative, cleaned = not negative, cleaned[1:]
    if _THOUSANDS_COMMAS.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")
    elif _THOUSANDS_DOTS.fullmatch(cleaned):
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d*)?|\.\d+", cleaned):
        raise ValueError(f"not an amount: {show(text)}")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"not an amount: {show(text)}") from None
    return -amount if negative else amount


def parse_count(text: str) -> int:
    """A non-negative whole number; ``1,200`` and ``12.0`` (a spreadsheet's float) are accepted."""
    cleaned = re.sub(r"[\s,]", "", text)
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", cleaned):  # 1.200 is a European thousands separator here
        cleaned = cleaned.replace(".", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"not a whole number: {show(text)}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"not a whole number: {show(text)}")
    if number < 0:
        raise ValueError(f"must not be negative: {show(text)}")
    return int(number)
