"""Cutting a System Log window into time slices that readers follow side by side."""

from __future__ import annotations

from dataclasses import dataclass

HOUR_MS = 3_600_000
# Each slice costs one extra request (its final empty page), so there are only enough of them to
# keep the workers busy; shorter windows than this per slice are not worth a worker.
MIN_SLICE_MS = HOUR_MS
SLICES_PER_WORKER = 2
# A first sync reads newest first, and the more slices there are, the more of its older sign-ons
# are already outdated when they are read (see SystemLogReader).
FIRST_SYNC_SLICES_PER_WORKER = 4


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
