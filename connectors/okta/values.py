"""Reading Okta's values: timestamps, statuses, e-mail addresses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from collector.records import IdpStatus
from collector.timeutil import as_utc

# User.status (okta SDK models/user_status.py). Only SUSPENDED and DEPROVISIONED mean the person is
# gone; STAGED is a user not activated yet (typically a new hire), so not gone either.
USER_STATUS: dict[str, IdpStatus] = {
    "ACTIVE": IdpStatus.ACTIVE,
    "PROVISIONED": IdpStatus.ACTIVE,
    "RECOVERY": IdpStatus.ACTIVE,
    "PASSWORD_EXPIRED": IdpStatus.ACTIVE,
    "LOCKED_OUT": IdpStatus.ACTIVE,
    "STAGED": IdpStatus.ACTIVE,
    "SUSPENDED": IdpStatus.SUSPENDED,
    "DEPROVISIONED": IdpStatus.DEPROVISIONED,
}


class BadValue(ValueError):
    """A field Okta sent that cannot be read; the message names the field."""


def parse_time(value: Any, field: str) -> datetime:
    """An Okta timestamp (``2024-05-01T10:02:00.123Z``) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        raise BadValue(f"{field}: expected a timestamp, got {_show(value)}")
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise BadValue(f"{field}: not a timestamp: {_show(value)}") from None


def parse_optional_time(value: Any, field: str) -> datetime | None:
    """Like :func:`parse_time`, with ``null`` (Okta's "never", e.g. ``lastLogin``) as None."""
    return None if value is None else parse_time(value, field)


def iso(moment: datetime) -> str:
    """The format Okta writes and accepts: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime (exact: no float on the way)."""
    return EPOCH + ms * MILLISECOND


def to_ms(moment: datetime) -> int:
    """An aware datetime as epoch milliseconds, truncated (exact: no float on the way)."""
    return (moment - EPOCH) // MILLISECOND


def email_like(value: Any) -> str | None:
    """``value`` lower-cased when it looks like an e-mail address, else None."""
    if isinstance(value, str) and "@" in value.strip()[1:-1]:
        return value.strip().lower()
    return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def text(value: Any) -> str | None:
    """A non-empty, stripped string, or None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
