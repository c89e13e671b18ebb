"""Finding lifecycle: identity across runs, resolution with realised savings, and the config mute list."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import ScriptedConnector
from pydantic import ValidationError
from sqlalchemy import select
from test_unused_seats import NOW, days_ago, seat, tenant_with

from collector.analysis import run_analyzers
from collector.config import Config, Mute
from collector.models import Finding
from collector.records import Checkpoint, Record
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

pytestmark = pytest.mark.usefixtures("scripted_connector")


def sync(store: Store, mutes: list[Mute], records: list[Record]) -> dict[str, Finding]:
    tenant = tenant_with(seats=2).model_copy(update={"mute": mutes})
    ScriptedConnector.scripts["s"] = lambda ctx: iter([*records, Checkpoint("all")])
    apply_tenant_config(store, tenant)
    SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW).run(
        tenant, tenant.connectors[0]
    )
    run_analyzers(store, tenant, now=NOW)
    with store.sessions() as session:
        return {f.subject: f for f in session.scalars(select(Finding).where(Finding.rule == "inactive"))}


def mute(**fields: object) -> Mute:
    return Mute.model_validate({"reason": "on parental leave until March", **fields})


def test_a_muted_finding_is_suppressed_until_the_mute_expires(store: Store) -> None:
    records = [
        *seat("old@x.io", "slack", "Business+", days_ago(90)),
        *seat("gone@x.io", "slack", "Business+", days_ago(70)),
    ]
    found = sync(store, [mute(analyzer="unused_seats", subject="old@*", expires=date(2027, 3, 1))], records)
    assert found["old@x.io"].state == "suppressed"
    assert found["old@x.io"].evidence["muted"] == {
        "reason": "on parental leave until March",
        "expires": "2027-03-01",
    }
    assert found["gone@x.io"].state == "open"
    first_seen = found["old@x.io"].first_seen_at

    # The mute expired (mutes follow the wall clock): the finding is open again, same identity.
    found = sync(store, [mute(analyzer="unused_seats", subject="old@*", expires=date(2026, 11, 19))], records)
    assert found["old@x.io"].state == "open"
    assert "muted" not in found["old@x.io"].evidence
    assert found["old@x.io"].first_seen_at == first_seen


def test_a_resolved_finding_keeps_its_money_as_realised_saving(store: Store) -> None:
    records = [
        *seat("old@x.io", "slack", "Business+", days_ago(90)),
        *seat("b@x.io", "slack", "Business+", days_ago(1)),
    ]
    assert sync(store, [], records)["old@x.io"].state == "open"
    # The seat was reclaimed: the next snapshot no longer has it.
    found = sync(store, [], records[3:])
    assert found["old@x.io"].state == "resolved"
    assert found["old@x.io"].monthly_waste == Decimal("15.00")
    assert found["old@x.io"].resolved_at is not None


def test_a_mute_needs_a_reason_an_expiry_and_a_target() -> None:
    with pytest.raises(ValidationError, match="at least one of"):
        Mute.model_validate({"reason": "accepted risk", "expires": "2027-01-01"})
    with pytest.raises(ValidationError, match="expires"):
        Mute.model_validate({"reason": "accepted risk", "app": "slack"})
    with pytest.raises(ValidationError, match="unknown analyzer"):
        Mute.model_validate({"reason": "accepted risk", "analyzer": "nope", "expires": "2027-01-01"})
