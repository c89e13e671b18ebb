"""Strings to small ints, so pages waiting in a queue are a few arrays of numbers."""

from __future__ import annotations

import threading

# An absent timestamp in an array of epoch milliseconds.
NO_TIME = -(2**63)


class Interner:
    """Numbers ids (with a label each, fixed by the first caller); shared by worker threads."""

    def __init__(self) -> None:
        # id -> number; read it directly to skip working out a label for an id already known
        self.known: dict[str, int] = {}
        self.values: list[tuple[str, str | None]] = []  # (id, label)
        self._lock = threading.Lock()

    def __call__(self, key: str, label: str | None) -> int:
        found = self.known.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self.known.get(key)
            if found is None:
                found = len(self.values)
                self.values.append((key, label))
                self.known[key] = found
            return found
