"""Time helpers: every datetime in saaswatch is timezone-aware UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Treat a naive datetime as UTC; convert an aware one to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware UTC datetimes and returns them aware, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        aware = as_utc(value)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return as_utc(value)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        """On SQLite, ISO text straight to an aware datetime with the C parser, in one call per value:
        the generic path (a regular expression, then ``process_result_value``) is most of the cost
        of reading a few hundred thousand timestamps, and so is ``replace(tzinfo=...)`` (seven
        times the parse). Text it does not take goes the generic way."""
        generic = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite":
            return generic

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            try:
                return parse_utc(value)
            except (TypeError, ValueError):
                return generic(value) if generic is not None else value

        return process


def parse_utc(text: str) -> datetime:
    """A time the database wrote as text -- SQLite's naive UTC (the store's own form), or with an
    offset, ``T`` or not (PostgreSQL's text and JSON) -- as an aware UTC datetime; ValueError if
    it is none of those. The store's own form is made aware by the C parser itself: a
    ``replace(tzinfo=...)`` afterwards costs seven times the parse."""
    try:
        aware = datetime.fromisoformat(text + "+00:00")
        if aware.tzinfo is not None:  # (a date alone parses, and drops the offset)
            return aware
    except ValueError:
        pass
    return as_utc(datetime.fromisoformat(text))  # an offset, or a date only
