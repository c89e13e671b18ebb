"""The effective pools of an analysis run are read once, by the first analyzer that asks."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

import collector.pools
from analyzers.base import SharedPools, TenantView
from collector.pools import EffectivePool

POOL = EffectivePool("zoom", "Pro", 10, 8, None, None, None, None, None, None, None, None, ("zoom",))


class Reads:
    """A stand-in for ``effective_pools`` that counts its calls; the first ``failures`` raise."""

    def __init__(self, failures: int = 0, gate: threading.Event | None = None) -> None:
        self.calls = 0
        self.failures = failures
        self.gate = gate
        self.started = threading.Event()

    def __call__(self, session: Any, tenant_id: str) -> list[EffectivePool]:
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(5)
        if self.calls <= self.failures:
            raise RuntimeError("database went away")
        return [POOL]


def view(pools: SharedPools) -> TenantView:
    return TenantView(tenant_id="acme", currency="EUR", now=datetime(2026, 11, 1, tzinfo=UTC), pools=pools)


def test_pools_are_read_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = Reads()
    monkeypatch.setattr(collector.pools, "effective_pools", reads)
    shared = view(SharedPools())
    assert shared.license_pools(session=None) == [POOL]  # type: ignore[arg-type]
    assert shared.license_pools(session=None) == [POOL]  # type: ignore[arg-type]
    assert reads.calls == 1
    # A view without shared pools reads them on every call.
    alone = TenantView(tenant_id="acme", currency="EUR", now=datetime(2026, 11, 1, tzinfo=UTC))
    alone.license_pools(session=None)  # type: ignore[arg-type]
    alone.license_pools(session=None)  # type: ignore[arg-type]
    assert reads.calls == 3


def test_a_failed_read_is_tried_again_by_the_next_analyzer(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = Reads(failures=1)
    monkeypatch.setattr(collector.pools, "effective_pools", reads)
    shared = view(SharedPools())
    with pytest.raises(RuntimeError):
        shared.license_pools(session=None)  # type: ignore[arg-type]
    assert shared.license_pools(session=None) == [POOL]  # type: ignore[arg-type]
    assert reads.calls == 2


def test_an_analyzer_asking_during_the_read_waits_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    reads = Reads(gate=gate)
    monkeypatch.setattr(collector.pools, "effective_pools", reads)
    shared = SharedPools()
    got: list[tuple[EffectivePool, ...]] = []

    def ask() -> None:
        got.append(shared.get(None, "acme"))  # type: ignore[arg-type]

    first = threading.Thread(target=ask)
    first.start()
    assert reads.started.wait(5)  # the first analyzer is reading
    second = threading.Thread(target=ask)
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waits for the read in progress rather than starting its own
    gate.set()
    first.join(5)
    second.join(5)
    assert reads.calls == 1
    assert len(got) == 2 and got[0] is got[1]
