"""``license_pools``: what is bought, one row per (app, SKU), typed from an order form or invoice.

Columns: ``app``, ``sku`` (both required), ``seats_purchased``, ``unit_price``, ``currency``,
``billing_period`` (the period ``unit_price`` pays for: monthly | annual), ``commitment``
(monthly | annual), ``term_start``, ``term_end``, ``auto_renew``, ``notice_days``.
"""

from __future__ import annotations

from typing import ClassVar

from collector.records import BillingPeriod, Commitment, LicensePoolRecord, Record
from connectors.csv_import.formats.base import ExportFormat
from connectors.csv_import.row import Row

PERIODS = {
    "monthly": "monthly",
    "month": "monthly",
    "annual": "annual",
    "annually": "annual",
    "yearly": "annual",
}
BILLING_PERIODS = {spelling: BillingPeriod(value) for spelling, value in PERIODS.items()}
COMMITMENTS = {spelling: Commitment(value) for spelling, value in PERIODS.items()}


class LicensePools(ExportFormat):
    required: ClassVar[tuple[str, ...]] = ("app", "sku")

    def records(self, row: Row) -> list[Record]:
        app = row.app_id("app")
        sku = row.required("sku")
        seats = row.count("seats_purchased")
        price = row.money("unit_price")
        currency = row.currency("currency")
        billing_period = row.choice("billing_period", BILLING_PERIODS)
        commitment = row.choice("commitment", COMMITMENTS)
        term_start = row.date("term_start")
        term_end = row.date("term_end")
        auto_renew = row.boolean("auto_renew")
        notice_days = row.count("notice_days")
        if term_start and term_end and term_end < term_start:
            row.fail("term_end", f"{term_end} is before term_start {term_start}")
        if app is None or sku is None or row.errors:
            return []
        return [
            LicensePoolRecord(
                app_id=app,
                sku=sku,
                seats_purchased=seats,
                unit_price=price,
                currency=currency,
                billing_period=billing_period,
                commitment=commitment,
                term_start=term_start,
                term_end=term_end,
                auto_renew=auto_renew,
                notice_days=notice_days,
            )
        ]
