"""Reading Google's values: RFC 3339 timestamps, the "never" sentinel, e-mail addresses."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

from collector.timeutil import as_utc

# Directory users that never signed in have lastLoginTime 1970-01-01T00:00:00.000Z, the Unix epoch
# (VENDOR_APIS.md 1.2): a sentinel, not a time.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class BadValue(ValueError):
    """A field Google sent that cannot be read; the message names the field."""


def parse_time(raw: Any, field: str) -> datetime:
    """A Google timestamp (``2024-05-01T09:58:12.345Z``) as an aware UTC datetime."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadValue(f"{field}: expected a timestamp, got {shown(raw)}")
    try:
        return as_utc(datetime.fromisoformat(raw.strip()))
    except ValueError:
        raise BadValue(f"{field}: not a timestamp: {shown(raw)}") from None


def parse_last_login(raw: Any, field: str) -> datetime | None:
    """``lastLoginTime``: a time, or None for the 1970 "never signed in" sentinel."""
    moment = parse_time(raw, field)
    return None if moment <= EPOCH else moment


def iso(moment: datetime) -> str:
    """The format Google writes and accepts: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_ms(moment: datetime) -> int:
    """An aware datetime as epoch milliseconds, truncated (exact: no float on the way)."""
    return (moment - EPOCH) // MILLISECOND


def from_ms(ms: int) -> datetime:
    return EPOCH + ms * MILLISECOND


def is_email(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and EMAIL.fullmatch(value.strip()) is not None


def text(raw: Any) -> str | None:
    """A non-empty string, stripped, or None."""
    return (raw.strip() or None) if isinstance(raw, str) else None


def shown(value: Any, limit: int = 40) -> str:
    """A value quoted for a message, cut short so a problem never carries a whole payload."""
    if value is None:
        return "null"
    if not isinstance(value, str):
        plain = repr(value)
        return plain if len(plain) <= limit else plain[:limit] + "..."
    return repr(value if len(value) <= limit else value[:limit] + "...")
