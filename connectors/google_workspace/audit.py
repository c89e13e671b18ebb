"""Audit logs of the Reports API, read incrementally: Google sign-ins (``login``), single sign-on into
SAML apps with Google as the IdP (``saml``) and third-party OAuth grants (``token``).

``GET /admin/reports/v1/activity/users/all/applications/{app}?startTime&endTime&eventName&maxResults``
over a window, one listing per event name, paged with ``pageToken``. Google pages a window newest
first in practice and promises no order, so a window counts as read only when its last page is. A
long window (a first sync looks back ``activity_lookback_days``) is cut into slices read oldest first,
and the cursor moves at the end of each slice: a sync that fails re-reads at most the slice it was in.
Each page's events are folded per (person, app) into activity records and committed at once.

The cursor is ``{"time": <position>, "seen": [[<epoch ms>, <id.uniqueQualifier>], ...]}``. The next
sync reads from the position minus the overlap (``activity_overlap_minutes``), for events Google logged
late (Reports data lags minutes to hours, some logs a day or more: support.google.com/a/answer/7061566),
and skips events whose ``(id.time, id.uniqueQualifier)`` it already counted. The position is the newest
event read, or the end of the window read minus the overlap when that is later (so a quiet log is not
re-read from its last event every time); the seen keys are those of the overlap before it, at most
``MAX_SEEN`` (the newest). A re-read event that fell out of that set is counted again, which changes
nothing: the store keeps the latest time per person and app.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from collector.catalog import Catalog
from collector.records import (
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    OAuthGrantRecord,
    Record,
    RowProblem,
    normalise_email,
)
from connectors.google_workspace.api import AUDIT, GoogleApi, ShapeError
from connectors.google_workspace.skus import APP
from connectors.google_workspace.values import BadValue, from_ms, is_email, iso, parse_time, text, to_ms

PAGE_SIZE = 1000  # the endpoint's maximum (and default)
MAX_SEEN = 5_000  # keys kept in the cursor, which is stored with every checkpoint


@dataclass(frozen=True)
class LogSpec:
    application: str
    stream: str
    event_names: tuple[str, ...]  # read one listing each; the API takes one eventName per request
    sliced: bool = True  # read a long window in slices; False: as one (see the token log)


LOGS: dict[str, LogSpec] = {
    # A successful sign-in to Google itself (login_failure, logout and the rest are not use).
    "login": LogSpec("login", "login_events", ("login_success",)),
    # Google as the SAML IdP signing someone in to an app (parameter application_name).
    "saml": LogSpec("saml", "saml_events", ("login_success",)),
    # Third-party OAuth grants: authorize and revoke only (the far more numerous "activity" events,
    # one per API call an app makes, are not read). They are few, so the window is read as one and
    # its grants are written with the cursor at its end: a revoke anywhere in the window cancels an
    # authorization before it, which a grant already written by an earlier slice could not undo.
    "token": LogSpec("token", "token_events", ("authorize", "revoke"), sliced=False),
}


@dataclass(frozen=True)
class EventCursor:
    position_ms: int
    seen: tuple[tuple[int, str], ...]

    def as_json(self) -> dict[str, object]:
        return {"time": iso(from_ms(self.position_ms)), "seen": [[ms, key] for ms, key in self.seen]}

    @classmethod
    def from_json(cls, raw: Any) -> EventCursor | None:
        """The saved cursor, or None when there is none or it cannot be read (then: a first sync)."""
        if not isinstance(raw, Mapping):
            return None
        try:
            position = to_ms(parse_time(raw.get("time"), "time"))
        except BadValue:
            return None
        seen = raw.get("seen")
        if not isinstance(seen, list):
            return None
        keys = tuple(
            (int(entry[0]), str(entry[1]))
            for entry in seen
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int)
        )
        return cls(position, keys)


@dataclass(frozen=True)
class Slice:
    start: datetime
    end: datetime
    last: bool

    def holds(self, moment: datetime) -> bool:
        # Whether Google's startTime and endTime include their bounds or not, an event on a boundary
        # between two slices is read by both and kept by one.
        return self.start <= moment and (moment < self.end or (self.last and moment == self.end))


def plan_slices(since: datetime, until: datetime, step: timedelta) -> list[Slice]:
    """``[since, until]`` in consecutive slices of at most ``step``, oldest first."""
    slices: list[Slice] = []
    start = since
    while start < until:
        end = min(start + step, until)
        slices.append(Slice(start, end, end >= until))
        start = end
    return slices


@dataclass
class Grant:
    """The latest authorize or revoke of one (person, OAuth client) in a slice."""

    at: datetime
    revoked: bool
    app_name: str
    scopes: frozenset[str]


@dataclass
class LogStats:
    events: int = 0  # events counted (not seen by an earlier sync)
    duplicates: int = 0  # read again in the overlap, already counted
    without_actor: int = 0  # no actor e-mail (e.g. events of a service account or an API key)
    unknown_actors: int = 0  # users the Directory API no longer lists (deleted since)
    requests: int = 0
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class LogReader:
    """Reads one audit log over the window its cursor leaves, yielding records and checkpoints."""

    api: GoogleApi
    spec: LogSpec
    catalog: Catalog
    people: Collection[str]  # the e-mails the Directory API listed this run
    stop: threading.Event
    log: logging.Logger
    stats: LogStats = field(default_factory=LogStats)
    _app_ids: dict[str, str] = field(default_factory=dict)

    def read(
        self, saved: Any, *, now: datetime, lookback: timedelta, overlap: timedelta, step: timedelta
    ) -> Iterator[Record]:
        previous = EventCursor.from_json(saved)
        overlap_ms = overlap // timedelta(milliseconds=1)
        oldest = now - lookback
        since = oldest if previous is None else max(oldest, from_ms(previous.position_ms - overlap_ms))
        self.stats = LogStats(since=since, until=now)
        seen = frozenset(previous.seen) if previous else frozenset()
        position = previous.position_ms if previous else None
        tail: list[tuple[int, str]] = list(previous.seen) if previous else []
        slices = plan_slices(since, now, step if self.spec.sliced else max(now - since, step))
        for piece in slices:
            read: list[tuple[int, str]] = []
            grants: dict[tuple[str, str], Grant] = {}
            for event_name in self.spec.event_names:
                for page in self._pages(piece, event_name):
                    yield from self._fold(page.body, page.where, piece, seen, read, grants)
                    yield Checkpoint(self.spec.stream)
                    if self.stop.is_set():
                        return
            yield from _grant_records(grants)
            newest = max((ms for ms, _ in read), default=None)
            candidates = [to_ms(piece.end) - overlap_ms]
            candidates += [ms for ms in (newest, position) if ms is not None]
            position = max(candidates)
            floor = position - overlap_ms
            tail = sorted({entry for entry in tail + read if entry[0] >= floor})[-MAX_SEEN:]
            cursor = EventCursor(position, tuple(tail))
            yield Checkpoint(self.spec.stream, cursor=cursor.as_json(), complete=piece.last)
        if not slices:
            yield Checkpoint(self.spec.stream, complete=True)

    def _pages(self, piece: Slice, event_name: str) -> Iterator[Any]:
        activities = self.api.client(AUDIT).activities()
        app = self.spec.application

        def request(token: str | None) -> Any:
            return activities.list(
                userKey="all",
                applicationName=app,
                eventName=event_name,
                startTime=iso(piece.start),
                endTime=iso(piece.end),
                maxResults=PAGE_SIZE,
                pageToken=token,
            )

        where = (
            f"GET /admin/reports/v1/activity/users/all/applications/{app} {event_name} "
            f"{iso(piece.start)}..{iso(piece.end)}"
        )
        for page in self.api.pages(AUDIT, request, where):
            self.stats.requests += 1
            yield page

    def _fold(
        self,
        body: Mapping[str, Any],
        where: str,
        piece: Slice,
        seen: frozenset[tuple[int, str]],
        read: list[tuple[int, str]],
        grants: dict[tuple[str, str], Grant],
    ) -> Iterator[Record]:
        items = body.get("items", [])  # a page without events has no "items" key
        if not isinstance(items, list):
            raise ShapeError(f"{where}: items is not a list")
        latest: dict[tuple[str, str], datetime] = {}
        for raw in items:
            event = self._event(raw, where, piece)
            if isinstance(event, RowProblem):
                yield event
                continue
            if event is None:
                continue
            key, moment, email, events = event
            read.append(key)
            if key in seen:
                self.stats.duplicates += 1
                continue
            if email is None:
                self.stats.without_actor += 1
                continue
            if email not in self.people:
                # A user deleted since (their events stay for 180 days): nobody left to credit.
                self.stats.unknown_actors += 1
                continue
            self.stats.events += 1
            for problem in self._take(events, email, moment, latest, grants):
                yield RowProblem(f"{where} (event {key[1]})", problem)
        source = ActivitySource.IDP_SIGNIN if self.spec.application == "login" else ActivitySource.IDP_SSO
        for (email, app_id), moment in latest.items():
            yield ActivityRecord(email, app_id, moment, source)

    def _event(
        self, raw: Any, where: str, piece: Slice
    ) -> tuple[tuple[int, str], datetime, str | None, list[Mapping[str, Any]]] | RowProblem | None:
        """(key, time, actor e-mail, events) of an activity in the slice; None for one outside it."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), Mapping):
            return RowProblem(where, "not an activity with an id")
        ident = raw["id"]
        qualifier = ident.get("uniqueQualifier")
        if not isinstance(qualifier, str | int) or isinstance(qualifier, bool) or qualifier == "":
            return RowProblem(where, "id.uniqueQualifier: missing")
        try:
            moment = parse_time(ident.get("time"), "id.time")
        except BadValue as exc:
            return RowProblem(f"{where} (event {qualifier})", str(exc))
        if not piece.holds(moment):
            return None
        actor = raw.get("actor")
        email = actor.get("email") if isinstance(actor, Mapping) else None
        events = raw.get("events")
        if not isinstance(events, list):
            return RowProblem(f"{where} (event {qualifier})", "events: not a list")
        wanted = [e for e in events if isinstance(e, Mapping) and e.get("name") in self.spec.event_names]
        key = (to_ms(moment), str(qualifier))
        return key, moment, normalise_email(email) if is_email(email) else None, wanted

    def _take(
        self,
        events: list[Mapping[str, Any]],
        email: str,
        moment: datetime,
        latest: dict[tuple[str, str], datetime],
        grants: dict[tuple[str, str], Grant],
    ) -> Iterator[str]:
        """Fold one activity's events; yield what is wrong with them."""
        for event in events:
            params = _parameters(event.get("parameters"))
            if self.spec.application == "login":
                _later(latest, (email, APP), moment)
            elif self.spec.application == "saml":
                label = text(params.get("application_name"))
                if label is None:
                    yield "parameter application_name: missing"
                    continue
                _later(latest, (email, self._app_id(label)), moment)
            else:
                client_id = text(params.get("client_id"))
                if client_id is None:
                    yield "parameter client_id: missing"
                    continue
                revoked = event.get("name") == "revoke"
                scopes = params.get("scope")
                grant = Grant(
                    moment,
                    revoked,
                    text(params.get("app_name")) or client_id,
                    frozenset(s for s in scopes if isinstance(s, str))
                    if isinstance(scopes, list)
                    else frozenset(),
                )
                _merge_grant(grants, (email, client_id), grant)

    def _app_id(self, label: str) -> str:
        found = self._app_ids.get(label)
        if found is None:
            found = self._app_ids[label] = self.catalog.app_id_for(label)
        return found


def _later(latest: dict[tuple[str, str], datetime], key: tuple[str, str], moment: datetime) -> None:
    if key not in latest or latest[key] < moment:
        latest[key] = moment


def _merge_grant(grants: dict[tuple[str, str], Grant], key: tuple[str, str], grant: Grant) -> None:
    """Keep the latest authorize or revoke. An authorization lists the scopes the app holds from then
    on, so the latest one's scopes are the grant's; a revoke after it ends the grant."""
    current = grants.get(key)
    if current is None or grant.at >= current.at:
        grants[key] = grant


def _grant_records(grants: Mapping[tuple[str, str], Grant]) -> Iterator[OAuthGrantRecord]:
    for (email, client_id), grant in sorted(grants.items()):
        if not grant.revoked:
            yield OAuthGrantRecord(email, client_id, grant.app_name, tuple(sorted(grant.scopes)), grant.at)


def _parameters(raw: Any) -> dict[str, Any]:
    """An event's parameters by name: ``value``, else ``multiValue``, ``intValue``, ``boolValue``."""
    found: dict[str, Any] = {}
    if not isinstance(raw, list):
        return found
    for param in raw:
        if not isinstance(param, Mapping) or not isinstance(param.get("name"), str):
            continue
        for kind in ("value", "multiValue", "intValue", "boolValue"):
            if kind in param:
                found[param["name"]] = param[kind]
                break
    return found
