"""Enterprise Grid member analytics (``admin.analytics.getFile type=member``) as activity.

Each call returns one UTC day as a gzip-compressed file of newline-delimited JSON, one row per member
(``user_id``, ``email_address``, ``is_active``, per-client flags and counts). There is no "last active"
field: a member active on a day was last seen no earlier than that day, and a member not active on
any day read gets no record at all (docs.slack.dev/reference/methods/admin.analytics.getFile). Files
appear a day or two late (``file_not_yet_available``), exist for a rolling 13 months, and only on
Enterprise orgs; elsewhere the method answers ``feature_not_enabled``, ``not_allowed_token_type`` or
``missing_scope``.

The stream is incremental: its cursor is the last day read. A run probes back from yesterday for the
newest file, then reads every day after the cursor up to it (at most ``analytics_backfill_days``), so
a missed run leaves no hole.
"""

from __future__ import annotations

import gzip
import json
import logging
import zlib
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from collector.connector import SyncContext
from collector.http import VendorClient
from collector.records import ActivityRecord, ActivitySource, Checkpoint, Record, RowProblem
from connectors.slack import values
from connectors.slack.client import SlackAPIError
from connectors.slack.settings import SlackSettings
from connectors.slack.values import FieldError

APP = "slack"
METHOD = "admin.analytics.getFile"
STREAM = "analytics"
NOT_YET = "file_not_yet_available"
NO_FILE = frozenset({"file_not_found", "data_not_available"})
# How far back from yesterday to look for the newest file; Slack's lag is a day or two.
MAX_PROBES = 7
GZIP_MAGIC = b"\x1f\x8b"


def read_analytics(
    client: VendorClient, settings: SlackSettings, ctx: SyncContext, emails: Mapping[str, str]
) -> Iterator[Record]:
    """Activity from the days not read yet, with a checkpoint (cursor = the day) after each."""
    now = ctx.clock().astimezone(UTC)
    cursor = _cursor_date(ctx.cursor(STREAM))
    latest: date | None = None
    content = b""
    day = now.date() - timedelta(days=1)
    for _ in range(MAX_PROBES):
        if cursor is not None and day <= cursor:
            break
        try:
            content = _fetch(client, day)
        except SlackAPIError as exc:
            if exc.vendor_code == NOT_YET or exc.vendor_code in NO_FILE:
                day -= timedelta(days=1)
                continue
            yield from _unavailable(settings, ctx, f"Slack answered {exc.vendor_code} ({exc})")
            return
        latest = day
        break
    if latest is None:
        if cursor is None:
            yield from _unavailable(
                settings, ctx, f"no member analytics file in the {MAX_PROBES} days to yesterday"
            )
        else:
            ctx.log.info("slack analytics: no file newer than %s yet", cursor.isoformat())
        return
    first = latest - timedelta(days=settings.analytics_backfill_days - 1)
    if cursor is not None:
        first = max(first, cursor + timedelta(days=1))
    day = first
    while day < latest:
        if ctx.stop.is_set():
            return
        try:
            earlier = _fetch(client, day)
        except SlackAPIError as exc:
            if exc.vendor_code != NOT_YET and exc.vendor_code not in NO_FILE:
                raise
            ctx.log.warning("slack analytics: no file for %s (%s); skipped", day.isoformat(), exc.vendor_code)
        else:
            yield from _day_records(earlier, day, emails, now, ctx.log)
        yield Checkpoint(STREAM, cursor={"date": day.isoformat()})
        day += timedelta(days=1)
    yield from _day_records(content, latest, emails, now, ctx.log)
    yield Checkpoint(STREAM, cursor={"date": latest.isoformat()}, complete=True)


def _fetch(client: VendorClient, day: date) -> bytes:
    return client.get(METHOD, params={"type": "member", "date": day.isoformat()}).content


def _unavailable(settings: SlackSettings, ctx: SyncContext, why: str) -> Iterator[Record]:
    message = (
        f"no member activity from Slack: {why}. Member analytics need an Enterprise org and a user "
        "token of an org owner or admin with admin.analytics:read; without them, activity in Slack "
        "must come from the identity provider (SSO sign-ins)"
    )
    if settings.analytics == "on":
        yield RowProblem(where=METHOD, reason=message)
    else:
        ctx.log.warning("slack analytics (auto): %s", message)


def _cursor_date(cursor: Mapping[str, Any] | None) -> date | None:
    raw = cursor.get("date") if cursor else None
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None  # a cursor this code did not write: start over


def _day_records(
    content: bytes, day: date, emails: Mapping[str, str], now: datetime, log: logging.Logger
) -> Iterator[Record]:
    where = f"{METHOD} date={day.isoformat()}"
    try:
        text = (gzip.decompress(content) if content[:2] == GZIP_MAGIC else content).decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        yield RowProblem(where=where, reason=f"the file is not gzip-compressed UTF-8 JSON lines: {exc}")
        return
    # The day is all the file says about time: a member active on it was seen no earlier than its
    # start, and the file describes the world as of its end.
    seen = datetime.combine(day, time(), tzinfo=UTC)
    observed = min(seen + timedelta(days=1), now)
    unknown = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, Mapping):
                raise FieldError(f"expected an object, got {values.show(row)}")
            user_id = values.required_text(row, "user_id")
            active = values.flag(row, "is_active")
            if active is None:
                raise FieldError("is_active: missing")
            email = emails.get(user_id) or values.email(row, "email_address")
        except (ValueError, FieldError) as exc:
            yield RowProblem(where=f"{where} line {number}", reason=str(exc))
            continue
        if not active:
            continue  # inactive that day says nothing about the day before
        if email is None:
            unknown += 1
            continue
        yield ActivityRecord(
            email=email,
            app_id=APP,
            last_seen_at=seen,
            source_kind=ActivitySource.REPORT,
            observed_at=observed,
        )
    if unknown:
        # Not a problem of the file: members of other workspaces of the org, or without an address.
        log.info("slack analytics %s: %d active member(s) without an e-mail address skipped", day, unknown)
