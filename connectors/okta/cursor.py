"""The System Log cursor: how far the window has been read without a gap, and the uuids before it.

``{"published": <time of the last event read>, "uuids": [<events read in the last overlap before
it>]}``. The next sync reads from ``published`` minus the overlap, to catch events Okta persisted
late, and skips the events whose uuid it already counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.okta.fold import LogPage
from connectors.okta.slices import LogSlice
from connectors.okta.values import BadValue, from_ms, iso, parse_time, to_ms

# Bounds the cursor (stored with every checkpoint) for very busy orgs; the newest are kept.
MAX_CURSOR_UUIDS = 5_000


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
