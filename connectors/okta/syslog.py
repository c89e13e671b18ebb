"""The System Log: single sign-ons into apps, folded to the latest time per (person, app).

``GET /api/v1/logs?filter=eventType eq "user.authentication.sso"`` over ``[since, until)``, oldest
first, 1,000 events a page. Nothing keeps the events: each page is folded, as it arrives, into the
latest time per (actor, app instance), in packed arrays, and the sync thread turns that into
activity records and a checkpoint.

Reading is parallel: the window is cut into time slices, each followed by one worker. Pages are
written as they arrive, whatever their slice (a later time never loses to an earlier one in the
store), but the cursor only moves over the part of the window read without a gap, so a sync that
fails keeps a cursor with nothing unread before it.

The cursor is ``{"published": <time of the last event read>, "uuids": [<events read in the last
overlap before it>]}``. The next sync reads from ``published`` minus the overlap, to catch events
Okta persisted late, and skips the events whose uuid it already counted.

Okta's paging quirk: the System Log sends a ``rel="next"`` link on every page, the last (empty)
one included (VENDOR_APIS.md 3.3), and a page can hold fewer events than the limit while more
follow; so a slice ends at its first empty page, not its first short one.
"""

from __future__ import annotations

import json
import threading
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from collector.http import VendorClient
from collector.records import ActivityRecord, ActivitySource, Record, RowProblem
from connectors.okta.interning import Interner
from connectors.okta.listing import decoded_pages
from connectors.okta.prefetch import Prefetcher
from connectors.okta.values import BadValue, email_like, from_ms, iso, parse_time, text, to_ms

LOGS_PATH = "/api/v1/logs"
SSO_FILTER = 'eventType eq "user.authentication.sso"'
PAGE_SIZE = 1000  # the endpoint's maximum
STREAM = "system_log"

HOUR_MS = 3_600_000
# Each slice costs one extra request (its final empty page), so there are only enough of them to
# keep the workers busy; shorter windows than this per slice are not worth a worker.
MIN_SLICE_MS = HOUR_MS
SLICES_PER_WORKER = 2
# A first sync reads newest first, and the more slices there are, the more of its older sign-ons
# are already outdated when they are read (see SystemLogReader).
FIRST_SYNC_SLICES_PER_WORKER = 4
# What remembering that may take (a byte per user and app; see NewestSlices); beyond, sign-ons of
# pairs not remembered are written, not skipped.
MAX_TRACKED_BYTES = 64 * 2**20
# Bounds the cursor (stored with every checkpoint) for very busy orgs; the newest are kept.
MAX_CURSOR_UUIDS = 5_000
# Folded pages waiting for the sync thread. They are small (16 bytes an entry plus the uuids of
# the overlap), and while the users are read first, the System Log readers keep going until this
# many wait: most of what a 600-a-minute budget allows during a 50,000-user listing.
BUFFERED_PAGES = 384
APP_BITS = 24  # an (actor, app) pair is packed into one 64-bit key: actor index << 24 | app index
APP_MASK = (1 << APP_BITS) - 1


# What the fold needs of an event, taken as the page is parsed: (uuid, published, outcome, actor,
# target). Everything else of the event is dropped at once.
CompactEvent = tuple[Any, Any, Any, Any, Any]


def _compact(obj: dict[str, Any]) -> Any:
    if "eventType" in obj and "uuid" in obj:  # a LogEvent; its nested objects come first, unchanged
        return (obj["uuid"], obj.get("published"), obj.get("outcome"), obj.get("actor"), obj.get("target"))
    return obj


EVENT_DECODER = json.JSONDecoder(object_hook=_compact)


@dataclass(frozen=True)
class LogCursor:
    published_ms: int
    uuids: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {"published": iso(from_ms(self.published_ms)), "uuids": list(self.uuids)}

    @classmethod
    def from_json(cls, raw: Any) -> LogCursor | None:
        """The saved cursor, or None when there is none or it cannot be read."""
        if not isinstance(raw, dict):
            return None
        try:
            published = to_ms(parse_time(raw.get("published"), "published"))
        except BadValue:
            return None
        uuids = raw.get("uuids")
        if not isinstance(uuids, list):
            return None
        return cls(published, tuple(u for u in uuids if isinstance(u, str)))


@dataclass(frozen=True)
class LogSlice:
    index: int
    start_ms: int  # inclusive
    end_ms: int  # exclusive, except for the last slice
    last: bool


def plan_slices(
    since_ms: int, until_ms: int, workers: int, per_worker: int = SLICES_PER_WORKER
) -> list[LogSlice]:
    """Cut ``[since, until]`` into equal slices, enough for ``workers`` to read side by side."""
    span = until_ms - since_ms
    if span <= 0:
        return []
    count = max(1, min(per_worker * workers, span // MIN_SLICE_MS))
    bounds = [since_ms + span * i // count for i in range(count + 1)]
    return [LogSlice(i, bounds[i], bounds[i + 1], i == count - 1) for i in range(count)]


@dataclass
class LogPage:
    """One page of one slice, folded."""

    slice: int
    where: str
    keys: array[int]  # packed (actor, app instance)
    times: array[int]  # the latest sign-on of each key, epoch ms
    last_ms: int | None  # the last event of the page inside the slice
    tail: list[tuple[int, str]]  # (ms, uuid) of the events in the overlap before last_ms
    counted: int = 0  # successful sign-ons not seen before
    duplicates: int = 0  # already counted by an earlier sync
    failed: int = 0  # outcome other than SUCCESS
    problems: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True)
class SliceDone:
    slice: int
    requests: int


@dataclass
class LogStats:
    events: int = 0
    duplicates: int = 0
    failed: int = 0
    unknown_actors: int = 0
    superseded: int = 0  # folded sign-ons not written: a later slice had a later one
    written: int = 0  # activity records yielded
    requests: int = 0
    since: datetime | None = None
    until: datetime | None = None


class Folder:
    """Folds pages of one sync's window; the seen uuids come from the saved cursor."""

    def __init__(self, previous: LogCursor | None, overlap_ms: int) -> None:
        self.actors = Interner()
        self.apps = Interner()
        self.overlap_ms = overlap_ms
        self.seen = frozenset(previous.uuids) if previous else frozenset()
        self.seen_until = previous.published_ms if previous else -1
        self._hours: dict[str, int] = {}  # "YYYY-MM-DDTHH" -> epoch ms (shared by workers: a cache)

    def fold(self, events: list[Any], piece: LogSlice, where: str) -> LogPage:
        """Fold a page of compact events (see :data:`EVENT_DECODER`)."""
        latest: dict[int, int] = {}
        read_ms = array("q")
        read_uuids: list[str] = []
        page = LogPage(piece.index, where, array("q"), array("q"), None, [])
        start, end, last = piece.start_ms, piece.end_ms, piece.last
        for event in events:
            if not isinstance(event, tuple):
                page.problems.append(RowProblem(where, "not a log event object"))
                continue
            uuid, published, outcome, actor, targets = event
            if not isinstance(uuid, str) or not uuid:
                page.problems.append(RowProblem(where, "uuid: missing"))
                continue
            ms = self._ms(published)
            if ms is None:
                try:
                    ms = to_ms(parse_time(published, "published"))
                except BadValue as exc:
                    page.problems.append(RowProblem(f"{where} (event {uuid})", str(exc)))
                    continue
            # The neighbouring slice's (asked for with a millisecond to spare on each side).
            if ms < start or (ms >= end and not last):
                continue
            read_ms.append(ms)
            read_uuids.append(uuid)
            if ms <= self.seen_until and uuid in self.seen:
                page.duplicates += 1
                continue
            if not isinstance(outcome, dict) or outcome.get("result") != "SUCCESS":
                page.failed += 1  # a refused sign-on is no use of the app
                continue
            key = self._key(actor, targets, uuid, where, page.problems)
            if key is None:
                continue
            page.counted += 1
            if latest.get(key, -1) < ms:
                latest[key] = ms
        if read_ms:
            page.last_ms = max(read_ms)
            floor = page.last_ms - self.overlap_ms
            page.tail = [(ms, uuid) for ms, uuid in zip(read_ms, read_uuids, strict=True) if ms >= floor]
        page.keys = array("q", latest.keys())
        page.times = array("q", latest.values())
        return page

    def _ms(self, published: Any) -> int | None:
        """Epoch ms of ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (Okta's form) from a cache of hours; else None."""
        if not isinstance(published, str) or len(published) != 24 or published[-1] != "Z":
            return None
        hour = self._hours.get(published[:13])
        if hour is None:
            try:
                hour = to_ms(parse_time(published[:13] + ":00:00.000Z", "published"))
            except BadValue:
                return None
            self._hours[published[:13]] = hour
        minute, second, milli = published[14:16], published[17:19], published[20:23]
        if not (minute.isdigit() and second.isdigit() and milli.isdigit()):
            return None
        return hour + int(minute) * 60_000 + int(second) * 1000 + int(milli)

    def _key(self, actor: Any, targets: Any, uuid: str, where: str, problems: list[RowProblem]) -> int | None:
        actor_id = actor.get("id") if isinstance(actor, dict) else None
        if not isinstance(actor_id, str) or not actor_id:
            problems.append(RowProblem(f"{where} (event {uuid})", "actor.id: missing"))
            return None
        app = None
        if isinstance(targets, list):
            for target in targets:
                if isinstance(target, dict) and target.get("type") == "AppInstance":
                    app = target
                    break
        app_id = app.get("id") if app is not None else None
        if not isinstance(app_id, str):
            problems.append(RowProblem(f"{where} (event {uuid})", "target: no AppInstance"))
            return None
        actor_index = self.actors.known.get(actor_id)
        if actor_index is None:
            actor_index = self.actors(actor_id, text(actor.get("alternateId")))
        app_index = self.apps.known.get(app_id)
        if app_index is None:
            assert app is not None
            app_index = self.apps(app_id, text(app.get("displayName")) or text(app.get("alternateId")))
        return actor_index << APP_BITS | app_index


class Watermark:
    """The cursor: how far the window has been read without a gap, and the uuids just before it."""

    def __init__(self, slices: list[LogSlice], overlap_ms: int, previous: LogCursor | None) -> None:
        count = len(slices)
        self.overlap_ms = overlap_ms
        self.done = [False] * count
        self.last_ms: list[int | None] = [None] * count
        self.tails: list[list[tuple[int, str]]] = [[] for _ in range(count)]
        self.prefix = 0  # the first slice not finished
        self.prefix_ms: int | None = None  # the last event of the finished slices
        self.prefix_tail: list[tuple[int, str]] = []
        self.current = previous

    def page(self, page: LogPage) -> LogCursor | None:
        """Take in a page; the new cursor when it moved."""
        if page.last_ms is not None:
            i = page.slice
            self.last_ms[i] = page.last_ms
            self.tails[i] = self._trim(self.tails[i] + page.tail, page.last_ms)
        return self._advance()

    def slice_done(self, index: int) -> LogCursor | None:
        self.done[index] = True
        return self._advance()

    def _trim(self, tail: list[tuple[int, str]], end_ms: int) -> list[tuple[int, str]]:
        kept = [t for t in tail if t[0] >= end_ms - self.overlap_ms]
        return kept[-MAX_CURSOR_UUIDS:]

    def _advance(self) -> LogCursor | None:
        while self.prefix < len(self.done) and self.done[self.prefix]:
            end = self.last_ms[self.prefix]
            if end is not None:
                self.prefix_ms = end
                self.prefix_tail = self._trim(self.prefix_tail + self.tails[self.prefix], end)
            self.prefix += 1
        position, tail = self.prefix_ms, self.prefix_tail
        if self.prefix < len(self.done) and self.last_ms[self.prefix] is not None:
            position = self.last_ms[self.prefix]
            assert position is not None
            tail = self._trim(tail + self.tails[self.prefix], position)
        if position is None:
            return None
        current = self.current
        # The overlap re-reads events before the saved cursor; it never moves back.
        if current is not None and position < current.published_ms:
            return None
        cursor = LogCursor(position, tuple(sorted({uuid for _, uuid in tail})))
        if cursor == current:
            return None
        self.current = cursor
        return cursor


def slice_job(
    client: VendorClient, folder: Folder, piece: LogSlice
) -> Callable[[Callable[[LogPage | SliceDone], None]], None]:
    """Reads one slice to its first empty page."""
    # A millisecond beyond each inner boundary: whether Okta's since/until include the boundary or
    # not, an event on it is returned to both slices and kept by one (see Folder.fold).
    since = piece.start_ms - (1 if piece.index > 0 else 0)
    until = piece.end_ms + (0 if piece.last else 1)
    params: dict[str, str | int] = {
        "filter": SSO_FILTER,
        "since": iso(from_ms(since)),
        "until": iso(from_ms(until)),
        "sortOrder": "ASCENDING",
        "limit": PAGE_SIZE,
    }
    span = f"{iso(from_ms(piece.start_ms))}..{iso(from_ms(piece.end_ms))}"

    def job(emit: Callable[[LogPage | SliceDone], None]) -> None:
        requests = 0
        listing = decoded_pages(
            client, LOGS_PATH, params, f"GET {LOGS_PATH}", EVENT_DECODER, stop_on_empty_page=True
        )
        for page in listing:
            requests += 1
            where = f"GET {LOGS_PATH} {span} page {page.number}"
            if page.items:
                emit(folder.fold(page.items, piece, where))
        emit(SliceDone(piece.index, requests))

    return job


class NewestSlices:
    """(actor, app) -> the latest slice a sign-on of the pair was written from, in this sync.

    A byte per pair, in one array per app indexed by actor: a dict of pairs would cost a hundred
    bytes a pair and grow with the events read; this is about users x apps bytes from the start.
    """

    def __init__(self, budget: int = MAX_TRACKED_BYTES) -> None:
        self.by_app: list[bytearray] = []
        self.budget = budget

    def get(self, actor: int, app: int) -> int:
        """The slice, or -1 when no sign-on of the pair was written (or it is not remembered)."""
        by_app = self.by_app
        if app < len(by_app):
            slices = by_app[app]
            if actor < len(slices):
                return slices[actor] - 1
        return -1

    def put(self, actor: int, app: int, piece: int, actors: int) -> None:
        """Remember ``piece`` for the pair; ``actors`` is how many actors are numbered so far."""
        by_app = self.by_app
        if app >= len(by_app):
            by_app.extend(bytearray() for _ in range(app + 1 - len(by_app)))
        slices = by_app[app]
        if actor >= len(slices):
            # To the number of actors known: an app's array grows a few times, to the user count.
            grow = max(actor + 1, actors) - len(slices)
            if grow > self.budget:
                return
            self.budget -= grow
            slices.extend(bytes(grow))
        slices[actor] = piece + 1


class SystemLogReader:
    """Plans the window from the saved cursor and reads it on worker threads from construction on.

    Slices are read oldest first, so the cursor moves on while the sync goes, except on a first
    sync (no cursor yet): that one reads its slices newest first. A pair's newest sign-on makes
    its older ones useless to the store, so once a newer slice wrote a pair, an older slice's
    sign-on of it is skipped; on a 90-day window that is most of them (a 2,000,000-event org: about
    a quarter are written). Its cursor is saved when the whole window is read, and a first sync
    that fails starts over (what it wrote stays).
    """

    def __init__(
        self,
        client: VendorClient,
        *,
        saved: Any,
        now: datetime,
        lookback: timedelta,
        overlap: timedelta,
        workers: int,
        stop: threading.Event,
        wake: threading.Event,
    ) -> None:
        previous = LogCursor.from_json(saved)
        overlap_ms = int(overlap / timedelta(milliseconds=1))
        until_ms = to_ms(now)
        oldest_ms = to_ms(now - lookback)
        since_ms = oldest_ms if previous is None else max(oldest_ms, previous.published_ms - overlap_ms)
        self.stats = LogStats(since=from_ms(since_ms), until=now)
        self.folder = Folder(previous, overlap_ms)
        newest_first = previous is None
        per_worker = FIRST_SYNC_SLICES_PER_WORKER if newest_first else SLICES_PER_WORKER
        slices = plan_slices(since_ms, until_ms, workers, per_worker)
        self.watermark = Watermark(slices, overlap_ms, previous)
        self.newest_slice = NewestSlices()
        order = reversed(slices) if newest_first else iter(slices)
        self.prefetcher: Prefetcher[LogPage | SliceDone] = Prefetcher(
            [slice_job(client, self.folder, piece) for piece in order],
            workers=min(workers, max(1, len(slices))),
            capacity=BUFFERED_PAGES,
            stop=stop,
            name="logs",
            wake=wake,
        )

    def records(
        self, page: LogPage, email_of: Callable[[str], str | None], app_of: Callable[[str, str | None], str]
    ) -> Iterator[Record]:
        """The page's activity records and problems."""
        yield from page.problems
        self.stats.events += page.counted
        self.stats.duplicates += page.duplicates
        self.stats.failed += page.failed
        actors, apps = self.folder.actors.values, self.folder.apps.values
        newest, here = self.newest_slice, page.slice
        for key, ms in zip(page.keys, page.times, strict=True):
            actor, app = key >> APP_BITS, key & APP_MASK
            seen = newest.get(actor, app)
            if seen > here:
                # A later slice already wrote a later sign-on of this pair: this one changes nothing.
                self.stats.superseded += 1
                continue
            if seen < here:
                newest.put(actor, app, here, len(actors))
            actor_id, login = actors[actor]
            email = email_of(actor_id) or email_like(login)
            if email is None:
                # A user deleted from Okta since (its events stay 90 days): nobody to credit.
                self.stats.unknown_actors += 1
                continue
            instance_id, label = apps[app]
            self.stats.written += 1
            yield ActivityRecord(email, app_of(instance_id, label), from_ms(ms), ActivitySource.IDP_SSO)

    def cursor_after(self, item: LogPage | SliceDone) -> dict[str, object] | None:
        """The cursor to checkpoint after ``item``, or None to keep the saved one."""
        if isinstance(item, SliceDone):
            self.stats.requests += item.requests
            moved = self.watermark.slice_done(item.slice)
        else:
            moved = self.watermark.page(item)
        return moved.as_json() if moved is not None else None

    def close(self) -> None:
        self.prefetcher.close()
