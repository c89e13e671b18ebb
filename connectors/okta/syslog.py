"""The System Log: single sign-ons into apps, folded to the latest time per (person, app).

``GET /api/v1/logs?filter=eventType eq "user.authentication.sso"`` over ``[since, until)``, oldest
first, 1,000 events a page. Nothing keeps the events: each page is folded, as it arrives, into the
latest time per (actor, app instance), in packed arrays, and the sync thread turns that into
activity records and a checkpoint.

Reading is parallel: the window is cut into time slices (slices.py), each followed by one worker
that folds its pages (fold.py). Pages are written as they arrive, whatever their slice (a later
time never loses to an earlier one in the store), but the cursor (cursor.py) only moves over the
part of the window read without a gap, so a sync that fails keeps a cursor with nothing unread
before it.

Okta's paging quirk: the System Log sends a ``rel="next"`` link on every page, the last (empty)
one included (VENDOR_APIS.md 3.3), and a page can hold fewer events than the limit while more
follow; so a slice ends at its first empty page, not its first short one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from collector.http import VendorClient
from collector.records import ActivityRecord, ActivitySource, Record
from connectors.okta.cursor import LogCursor, Watermark
from connectors.okta.fold import APP_BITS, APP_MASK, EVENT_DECODER, Folder, LogPage
from connectors.okta.listing import decoded_pages
from connectors.okta.prefetch import Prefetcher
from connectors.okta.slices import FIRST_SYNC_SLICES_PER_WORKER, SLICES_PER_WORKER, LogSlice, plan_slices
from connectors.okta.values import email_like, from_ms, iso, to_ms

LOGS_PATH = "/api/v1/logs"
SSO_FILTER = 'eventType eq "user.authentication.sso"'
PAGE_SIZE = 1000  # the endpoint's maximum
STREAM = "system_log"

# What NewestSlices may take (a byte per user and app); beyond, sign-ons of pairs it does not
# remember are written, not skipped.
MAX_TRACKED_BYTES = 64 * 2**20
# Folded pages waiting for the sync thread. They are small (16 bytes an entry plus the uuids of
# the overlap), and while the users are read first, the System Log readers keep going until this
# many wait: most of what a 600-a-minute budget allows during a 50,000-user listing.
BUFFERED_PAGES = 384


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
        if previous is None:
            self.folder = Folder(overlap_ms)
        else:
            self.folder = Folder(overlap_ms, frozenset(previous.uuids), previous.published_ms)
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
