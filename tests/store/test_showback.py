"""Department showback: seats, spend and waste per department, aggregated in SQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_unused_seats import days_ago, seat, sync_and_analyze, tenant_with

from collector.records import PersonRecord, Record
from collector.showback import showback
from collector.store import Store

pytestmark = pytest.mark.usefixtures("scripted_connector")


def test_showback_splits_seats_spend_and_waste_by_department(store: Store) -> None:
    records: list[Record] = [
        PersonRecord(email="a@x.io", department="Sales"),
        PersonRecord(email="b@x.io", department="Sales"),
        PersonRecord(email="c@x.io", department="Engineering"),
        *seat("a@x.io", "slack", "Business+", days_ago(1)),
        *seat("b@x.io", "slack", "Business+", days_ago(90)),  # inactive: 15.00 waste
        *seat("c@x.io", "slack", "Business+", days_ago(2)),
        *seat("nodept@x.io", "slack", "Business+", days_ago(3)),
    ]
    tenant = tenant_with(seats=6)  # 180 a year = 15.00 a month per seat; 2 seats unassigned
    sync_and_analyze(store, tenant, records)
    with store.sessions() as session:
        rows = {r.department: r for r in showback(session, tenant)}
    assert set(rows) == {"Sales", "Engineering", "(unknown)", "(unassigned)"}
    assert (rows["Sales"].seats, rows["Sales"].monthly_spend, rows["Sales"].monthly_waste) == (
        2,
        Decimal("30.00"),
        Decimal("15.00"),
    )
    assert (rows["Engineering"].seats, rows["Engineering"].monthly_waste) == (1, Decimal("0.00"))
    assert rows["(unknown)"].seats == 1
    unassigned = rows["(unassigned)"]
    assert (unassigned.seats, unassigned.monthly_spend, unassigned.monthly_waste) == (
        2,
        Decimal("30.00"),
        Decimal("30.00"),  # the pool-level unassigned finding
    )
    assert sum(r.monthly_spend for r in rows.values()) == Decimal("90.00")  # 6 seats x 15.00
