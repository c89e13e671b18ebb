"""Zoom plan usage (``GET /accounts/me/plans/usage``) as license pools.

The body has one entry per plan the account pays for: ``plan_base`` (the Licensed seats), and add-ons
such as ``plan_large_meeting[]``, ``plan_webinar[]``, ``plan_zoom_rooms``, ``plan_united`` and more
that Zoom keeps adding (changelog 2025-05-19, 2026-04-23). Any ``plan_*`` entry with ``hosts`` is a
pool: ``hosts`` purchased, ``usage`` assigned, ``pending`` reserved by invited users. Entries without
``hosts`` (``plan_recording`` storage) are not seats and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collector.records import BillingPeriod, LicensePoolRecord
from connectors.zoom import values
from connectors.zoom.values import FieldError

APP = "zoom"


def billing_period(plan_type: str | None) -> BillingPeriod | None:
    """Zoom plan types name their period: ``monthly``, ``webinar500_monthly``, ``yearly``, ``annual``."""
    lowered = (plan_type or "").lower()
    if "month" in lowered:
        return BillingPeriod.MONTHLY
    if "year" in lowered or "annual" in lowered:
        return BillingPeriod.ANNUAL
    return None


def _pool(item: Mapping[str, Any], sku: str) -> LicensePoolRecord:
    hosts = values.count(item, "hosts")
    usage = values.count(item, "usage")
    pending = values.count(item, "pending")
    # Invited users reserve a license before they join; Zoom counts them apart from usage.
    assigned = None if usage is None else usage + (pending or 0)
    return LicensePoolRecord(
        app_id=APP,
        sku=sku,
        seats_purchased=hosts,
        seats_assigned=assigned,
        billing_period=billing_period(values.text(item, "type")),
    )


def plan_pools(body: Any, licensed_sku: str) -> tuple[list[LicensePoolRecord], list[str]]:
    """The pools of a plan-usage body, and the reasons entries were unusable (naming the field)."""
    if not isinstance(body, Mapping):
        return [], [f"expected an object, got {values.show(body)}"]
    pools: dict[str, LicensePoolRecord] = {}
    problems: list[str] = []
    for key, value in body.items():
        if not key.startswith("plan_"):
            continue
        entries = value if isinstance(value, list) else [value]
        for index, item in enumerate(entries):
            where = f"{key}[{index}]" if isinstance(value, list) else key
            if not isinstance(item, Mapping) or "hosts" not in item:
                continue
            try:
                sku = licensed_sku if key == "plan_base" else _addon_sku(item)
                pool = _pool(item, sku)
            except FieldError as exc:
                problems.append(f"{where}.{exc}")
                continue
            pools[sku.casefold()] = _merge(pools.get(sku.casefold()), pool)
    return list(pools.values()), problems


def _addon_sku(item: Mapping[str, Any]) -> str:
    # plan_united carries a display name ("Zoom Workplace Business Plus"); the others only a type.
    sku = values.text(item, "name") or values.text(item, "type")
    if sku is None:
        raise FieldError("type: missing")
    return sku


def _merge(known: LicensePoolRecord | None, new: LicensePoolRecord) -> LicensePoolRecord:
    """Two entries of one plan type (bought at different times) make one pool."""
    if known is None:
        return new

    def add(a: int | None, b: int | None) -> int | None:
        return None if a is None and b is None else (a or 0) + (b or 0)

    return LicensePoolRecord(
        app_id=APP,
        sku=known.sku,
        seats_purchased=add(known.seats_purchased, new.seats_purchased),
        seats_assigned=add(known.seats_assigned, new.seats_assigned),
        billing_period=known.billing_period or new.billing_period,
    )
