"""Reading single fields of Atlassian JSON, each failure naming the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from collector.records import normalise_email
from collector.timeutil import as_utc

EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_SHOWN_CHARS = 40


class FieldError(ValueError):
    """A field of a vendor object is missing or malformed; the message names the field."""


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


def optional_email(item: Mapping[str, Any], field: str) -> str | None:
    """An e-mail address, or None when absent (Atlassian leaves out addresses a user hides)."""
    value = text(item, field)
    if value is None:
        return None
    if not EMAIL.fullmatch(value):
        raise FieldError(f"{field}: not an e-mail address: {show(value)}")
    return normalise_email(value)


def day_or_time(item: Mapping[str, Any], field: str) -> datetime | None:
    """``YYYY-MM-DD`` (midnight UTC of that day) or an ISO 8601 time; absent and null read as None."""
    value = text(item, field)
    if value is None:
        return None
    try:
        if len(value) == len("YYYY-MM-DD"):
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise FieldError(f"{field}: not a date: {show(value)}") from None


def items(item: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    """A list of objects; absent and null read as empty."""
    value = item.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise FieldError(f"{field}: expected a list of objects, got {show(value)}")
    return value
