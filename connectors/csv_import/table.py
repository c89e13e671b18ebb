"""Reading an export file into a header and numbered rows, whatever program saved it.

Exports reach us in several shapes: UTF-8 with or without a byte-order mark (Microsoft Graph report
CSVs start with one), Windows-1252 from older Excel, UTF-16 from Excel's "Unicode text", and a
semicolon instead of a comma where Excel's list separator follows a locale with a decimal comma.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DELIMITERS = (",", ";", "\t")
_QUOTED = re.compile(r'"[^"]*"')


class TableError(Exception):
    """The file as a whole cannot be read; the message says why, in words for the person who made it."""


def column_key(name: str) -> str:
    """The key a column is matched by: case, spacing, ``_``/``-`` and Google's ``[Required]`` /
    ``[READ ONLY]`` annotations do not matter, so ``Email Address [Required]`` is ``email address``."""
    name = re.sub(r"\[[^\]]*\]", " ", name)
    return re.sub(r"[\s_-]+", " ", name).strip().casefold()


@dataclass
class Table:
    columns: list[str]  # the header as written in the file
    rows: Iterator[tuple[int, list[str]]]  # (row number as a spreadsheet shows it, cells)
    sha256: str
    modified_at: datetime


def read_table(path: Path) -> Table:
    try:
        data = path.read_bytes()
        modified_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except FileNotFoundError:
        raise TableError(f"file not found: {path}") from None
    except OSError as exc:
        raise TableError(f"cannot read {path}: {exc.strerror or exc}") from None
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise TableError(f"the header row is not valid CSV: {exc}") from None
    if header is None or not any(cell.strip() for cell in header):
        raise TableError("the file is empty: expected a header row first")
    # The header is row 1, so data rows are numbered from 2, counting every record (blank ones too)
    # the way a spreadsheet numbers them; a cell with a line break is still one row.
    return Table(
        columns=[cell.strip() for cell in header],
        rows=enumerate(reader, start=2),
        sha256=hashlib.sha256(data).hexdigest(),
        modified_at=modified_at,
    )


def decode(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):  # a zip archive: an .xlsx workbook saved under a .csv name
        raise TableError("this is an Excel workbook, not CSV: save it as CSV UTF-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        # utf-8-sig drops a byte-order mark if there is one; cp1252 is what Excel on Windows writes
        # when "CSV (Comma delimited)" is chosen instead of "CSV UTF-8".
        encodings = ("utf-8-sig", "cp1252")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # NUL characters mean a binary or BOM-less UTF-16 file, and no database accepts them in text.
        if "\x00" in text:
            raise TableError("the file contains NUL characters: save it as CSV UTF-8")
        return text
    raise TableError("the file is neither UTF-8, UTF-16 nor Windows-1252 text; save it as CSV UTF-8")


def sniff_delimiter(text: str) -> str:
    """The delimiter used most in the header line outside quotes (``,`` when there is none)."""
    header = _QUOTED.sub("", text.split("\n", 1)[0])
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties keep the earlier, so "," wins
    return best if counts[best] else ","
