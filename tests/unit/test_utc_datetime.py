"""UtcDateTime reads SQLite's text back as aware UTC datetimes, whatever form the text has."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from collector.timeutil import UtcDateTime


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2026-11-20 11:59:59.478464", datetime(2026, 11, 20, 11, 59, 59, 478464, tzinfo=UTC)),
        ("2026-11-20 11:59:59", datetime(2026, 11, 20, 11, 59, 59, tzinfo=UTC)),
        ("2026-11-20 11:59", datetime(2026, 11, 20, 11, 59, tzinfo=UTC)),
        # A date alone: the fast path's parser accepts it with the offset and drops the offset.
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        # Written past the store's conversion (raw SQL with an aware value): converted, not cut off.
        ("2026-11-20 11:59:59+02:00", datetime(2026, 11, 20, 9, 59, 59, tzinfo=UTC)),
        ("2026-11-20T11:59:59Z", datetime(2026, 11, 20, 11, 59, 59, tzinfo=UTC)),
        (None, None),
    ],
)
def test_sqlite_text_reads_back_as_aware_utc(stored: str | None, expected: datetime | None) -> None:
    process = UtcDateTime().result_processor(sqlite.dialect(), None)
    assert process is not None
    got = process(stored)
    assert got == expected
    if got is not None:
        assert got.utcoffset() is not None and got.utcoffset().total_seconds() == 0


def test_a_written_value_reads_back_the_same() -> None:
    dialect = sqlite.dialect()
    column = UtcDateTime()
    write = column.bind_processor(dialect)
    read = column.result_processor(dialect, None)
    assert write is not None and read is not None
    value = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert read(write(value)) == value


def test_postgresql_keeps_the_generic_path() -> None:
    process = UtcDateTime().result_processor(postgresql.dialect(), None)
    value = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (process(value) if process else value) == value
