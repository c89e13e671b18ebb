"""Reading listings on worker threads while the sync thread writes what already arrived.

Okta's budgets are per minute, so a listing read one request after another is bound by the round
trip, not by the budget. A :class:`Prefetcher` runs jobs (one listing each: an app's assignments, a
slice of the System Log) on a few threads; each job hands its pages to :meth:`Emit` and they land
in one bounded queue. The bound is what keeps memory flat: a full queue blocks the workers until
the sync thread catches up. A job's failure is handed over in the queue as well and raised in the
sync thread, after the pages that came before it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

T = TypeVar("T")

# How often a blocked worker looks up from a full queue to see whether the sync was stopped.
POLL_SECONDS = 0.2


class Cancelled(Exception):
    """The prefetcher was closed (the sync ended or was stopped) while a job was running."""


@dataclass(frozen=True)
class _Failure:
    error: BaseException


_DONE = object()


class Prefetcher(Generic[T]):
    """Runs ``jobs`` on ``workers`` daemon threads; their items come out of :meth:`get` / :meth:`poll`.

    A job is called with an ``emit`` function and calls it once per item; ``emit`` blocks while
    ``capacity`` items wait, and raises :class:`Cancelled` once the prefetcher is closed or ``stop``
    is set. Items of one job keep their order; items of different jobs interleave. ``wake`` is set
    whenever an item arrives, so one consumer can wait on several prefetchers at once.
    """

    def __init__(
        self,
        jobs: Iterable[Callable[[Callable[[T], None]], None]],
        *,
        workers: int,
        capacity: int,
        stop: threading.Event,
        name: str,
        wake: threading.Event | None = None,
    ) -> None:
        self._jobs = iter(jobs)
        self._jobs_lock = threading.Lock()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self._closed = threading.Event()
        self._stop = stop
        self.wake = wake if wake is not None else threading.Event()
        self._running = workers
        self._running_lock = threading.Lock()
        self.finished = False
        self._threads = [
            threading.Thread(target=self._work, name=f"okta-{name}-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def _next_job(self) -> Callable[[Callable[[T], None]], None] | None:
        with self._jobs_lock:
            return next(self._jobs, None)

    def _put(self, item: object) -> None:
        while True:
            if self._closed.is_set() or self._stop.is_set():
                raise Cancelled
            try:
                self._queue.put(item, timeout=POLL_SECONDS)
            except queue.Full:
                continue
            self.wake.set()
            return

    def _emit(self, item: T) -> None:
        self._put(item)

    def _work(self) -> None:
        with contextlib.suppress(Cancelled):
            try:
                while not self._closed.is_set():
                    job = self._next_job()
                    if job is None:
                        break
                    job(self._emit)
            except Cancelled:
                pass
            except BaseException as exc:  # handed to the sync thread, which raises it
                self._put(_Failure(exc))
            finally:
                with self._running_lock:
                    self._running -= 1
                    last = self._running == 0
                if last:
                    self._put(_DONE)

    def poll(self) -> tuple[bool, T | None]:
        """``(True, item)`` when an item is ready, ``(False, None)`` when none is (yet, or any more).

        Raises a job's exception when that is what comes next.
        """
        if self.finished:
            return False, None
        try:
            item = self._queue.get_nowait()
        except queue.Empty:
            return False, None
        return self._unwrap(item)

    def get(self) -> Iterator[T]:
        """Every item, blocking until the jobs are done; stops early when ``stop`` is set."""
        while not self.finished:
            if self._stop.is_set():
                return
            try:
                item = self._queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            ready, value = self._unwrap(item)
            if ready:
                yield cast(T, value)

    def _unwrap(self, item: object) -> tuple[bool, T | None]:
        if item is _DONE:
            # The last worker to finish puts it, after every worker's items and failures.
            self.finished = True
            return False, None
        if isinstance(item, _Failure):
            self.close()
            raise item.error
        return True, cast(T, item)

    def close(self) -> None:
        """Stop the workers (a request in flight finishes; what it brings is dropped)."""
        self._closed.set()
        # Unblock workers waiting on a full queue; they see the flag and end.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        for thread in self._threads:
            thread.join(timeout=POLL_SECONDS * 2)


def interleave(
    stop: threading.Event, *sources: Prefetcher[T], batch: int = 1
) -> Iterator[tuple[int, list[T]]]:
    """Items of several prefetchers sharing one ``wake`` event, as they arrive, with their source's index.

    Sources come in priority order: each round takes what the first source with items waiting has,
    up to ``batch`` items; a later source is served when the ones before it have nothing waiting.
    Ends when all are finished, or at once when ``stop`` is set.
    """
    wake = sources[0].wake
    while not all(s.finished for s in sources) and not stop.is_set():
        wake.clear()  # before polling: an item put after the poll sets it again
        progressed = False
        for index, source in enumerate(sources):
            was_finished = source.finished
            items: list[T] = []
            failure: BaseException | None = None
            while len(items) < batch:
                try:
                    ready, item = source.poll()
                except BaseException as exc:  # a job failed: first hand over what came before it
                    failure = exc
                    break
                if not ready:
                    break
                items.append(cast(T, item))
            progressed = progressed or bool(items) or source.finished != was_finished
            if items:
                yield index, items
            if failure is not None:
                raise failure
            if items:
                break  # back to the first source
        if not progressed:
            wake.wait(POLL_SECONDS)
