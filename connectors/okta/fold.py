"""Folding a page of System Log events into the latest sign-on per (actor, app instance).

The page is parsed with :data:`EVENT_DECODER`, which keeps only what the fold needs of each event
as it is parsed; the fold drops the events of neighbouring slices and those a previous sync
counted (by uuid), skips failed sign-ons, and packs what is left into two arrays.
"""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass, field
from typing import Any

from collector.records import RowProblem
from connectors.okta.interning import Interner
from connectors.okta.slices import LogSlice
from connectors.okta.values import BadValue, parse_time, text, to_ms

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


class Folder:
    """Folds the pages of one sync's window (on the readers' threads)."""

    def __init__(self, overlap_ms: int, seen: frozenset[str] = frozenset(), seen_until: int = -1) -> None:
        """``seen``: uuids a previous sync counted, all published at or before ``seen_until`` (ms)."""
        self.actors = Interner()
        self.apps = Interner()
        self.overlap_ms = overlap_ms
        self.seen = seen
        self.seen_until = seen_until
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
