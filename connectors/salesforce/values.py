"""Reading single fields of Salesforce records, each failure naming the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from collector.records import normalise_email
from collector.timeutil import as_utc

EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_SHOWN_CHARS = 40


class FieldError(ValueError):
    """A field of a record is missing or malformed; the message names the field."""


def show(value: object) -> str:
    """A value quoted for a problem message, cut short."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def text(item: Mapping[str, Any], field: str) -> str | None:
    """A string field, stripped; null and "" read as None."""
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


def email(item: Mapping[str, Any], field: str) -> str:
    value = required_text(item, field)
    if not EMAIL.fullmatch(value):
        raise FieldError(f"{field}: not an e-mail address: {show(value)}")
    return normalise_email(value)


def flag(item: Mapping[str, Any], field: str) -> bool | None:
    value = item.get(field)
    if value is None or isinstance(value, bool):
        return value
    raise FieldError(f"{field}: expected true or false, got {show(value)}")


def timestamp(item: Mapping[str, Any], field: str) -> datetime | None:
    """A Salesforce dateTime (``2024-05-01T09:58:12.000+0000``) as aware UTC; null reads as None."""
    value = text(item, field)
    if value is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise FieldError(f"{field}: not a date and time: {show(value)}") from None


def count(item: Mapping[str, Any], field: str) -> int | None:
    """A non-negative whole number (SOQL numbers may arrive as 10.0); null reads as None."""
    value = item.get(field)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FieldError(f"{field}: expected a count, got {show(value)}")
    return value


def related(item: Mapping[str, Any], field: str) -> Mapping[str, Any] | None:
    """A parent record in a relationship query (``Profile``); null when there is none."""
    value = item.get(field)
    if value is None or isinstance(value, Mapping):
        return value
    raise FieldError(f"{field}: expected a record, got {show(value)}")
