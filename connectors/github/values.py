"""Reading single fields of GitHub JSON, each failure naming the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from collector.timeutil import as_utc

EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_SHOWN_CHARS = 40


class FieldError(ValueError):
    """A field of a GitHub object is missing or malformed; the message names the field."""


def show(value: object) -> str:
    """A value quoted for a problem message, cut short."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def text(item: Mapping[str, Any], field: str) -> str | None:
    """A string field, stripped; absent, null and "" read as None."""
    value = item.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(f"{field}: expected a string, got {show(value)}")
    return value.strip() or None


def required_text(item: Mapping[str, Any], field: str) -> str:
    value = text(item, field)
    if value is None:
        raise FieldError(f"{field}: missing")
    return value


def count(item: Mapping[str, Any], field: str) -> int | None:
    """A non-negative whole number; absent and null read as None."""
    value = item.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FieldError(f"{field}: expected a count, got {show(value)}")
    return value


def timestamp(item: Mapping[str, Any], field: str) -> datetime | None:
    """An ISO 8601 time (``2024-05-01T09:58:12Z``) as aware UTC; absent and null read as None."""
    value = text(item, field)
    if value is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise FieldError(f"{field}: not an ISO 8601 time: {show(value)}") from None


def day(item: Mapping[str, Any], field: str) -> date | None:
    """A ``YYYY-MM-DD`` date; absent and null read as None."""
    value = text(item, field)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError(f"{field}: not a YYYY-MM-DD date: {show(value)}") from None


def mapping(item: Mapping[str, Any], field: str) -> Mapping[str, Any] | None:
    """A nested object; absent and null read as None."""
    value = item.get(field)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise FieldError(f"{field}: expected an object, got {show(value)}")
    return value
