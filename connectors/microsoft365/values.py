"""Reading Graph's values: timestamps with their "never" sentinels, report dates, e-mail addresses."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any, TypeGuard

# Graph writes "no sign-in recorded" as the .NET minimum date, as an empty string, or as null
# (VENDOR_APIS.md 2.3): none of them is a time.
NEVER_PREFIX = "0001-01-01"

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class BadValue(ValueError):
    """A field holds something that is not what Graph documents; the message names the field."""


def graph_time(raw: Any, field: str) -> datetime | None:
    """A Graph ``DateTimeOffset`` (``2021-07-29T15:53:27Z``), or None for a sentinel or an empty value."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise BadValue(f"{field}: not a timestamp: {raw!r}")
    text = raw.strip()
    if text.startswith(NEVER_PREFIX):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadValue(f"{field}: not a timestamp: {shown(text)}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def report_date(raw: Any, field: str) -> date | None:
    """A report date (``2026-11-18``), or None for an empty cell."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        raise BadValue(f"{field}: not a date: {raw!r}")
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise BadValue(f"{field}: not a date (yyyy-mm-dd): {shown(raw)}") from None


def start_of(day: date) -> datetime:
    """Midnight UTC of ``day``: reports give dates, and a date says no more than its start."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def report_bool(raw: Any) -> bool | None:
    """A report flag: JSON true/false or CSV ``True``/``False``; None when absent or unreadable."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        return {"true": True, "false": False}.get(raw.strip().lower())
    return None


def is_email(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and EMAIL.fullmatch(value.strip()) is not None


def shown(value: str, limit: int = 40) -> str:
    """A value quoted for a message, cut short so a problem never carries a whole payload."""
    return repr(value if len(value) <= limit else value[:limit] + "...")
