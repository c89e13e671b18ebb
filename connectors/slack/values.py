"""Reading single fields of Slack JSON, each failure naming the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from collector.records import normalise_email

EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_SHOWN_CHARS = 40


class FieldError(ValueError):
    """A field of a Slack object is missing or malformed; the message names the field."""


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


def flag(item: Mapping[str, Any], field: str) -> bool | None:
    """A boolean field; absent and null read as None (Slack leaves out flags that do not apply)."""
    value = item.get(field)
    if value is None or isinstance(value, bool):
        return value
    raise FieldError(f"{field}: expected true or false, got {show(value)}")


def email(item: Mapping[str, Any], field: str) -> str | None:
    """An e-mail address, normalised; absent and "" read as None."""
    value = text(item, field)
    if value is None:
        return None
    if not EMAIL.fullmatch(value):
        raise FieldError(f"{field}: not an e-mail address: {show(value)}")
    return normalise_email(value)


def mapping(item: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    """A nested object; absent and null read as an empty one."""
    value = item.get(field)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FieldError(f"{field}: expected an object, got {show(value)}")
    return value
