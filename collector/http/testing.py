"""Test doubles for the HTTP layer, shared by its own tests and by connector fakes."""

from __future__ import annotations


class FakeClock:
    """A clock (epoch seconds) whose ``sleep`` returns at once, moves time on and records the wait.

    Pass ``clock=fake`` and ``sleep=fake.sleep`` to a client or limiter, then assert on ``sleeps``.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record ``seconds`` and advance the clock by it."""
        self.sleeps.append(seconds)
        self.now += seconds
