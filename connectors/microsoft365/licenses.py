"""``GET /v1.0/subscribedSkus``: what the tenant bought, per SKU, and the SKU names users' licenses use."""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from collector.http import BodyUrlPaginator, VendorClient, paginate
from collector.records import Checkpoint, LicensePoolRecord, Record, RowProblem
from connectors.microsoft365.graph import values
from connectors.microsoft365.skus import friendly_name, is_free

APP = "m365"
PATH = "/v1.0/subscribedSkus"
STREAM = "subscribed_skus"
# prepaidUnits besides "enabled": expired but in the grace period, disabled, cancelled for good.
HELD_BACK_UNITS = ("warning", "suspended", "lockedOut")


@dataclass(frozen=True)
class Sku:
    sku_id: str
    part_number: str
    applies_to: str
    enabled: int
    consumed: int
    held_back: dict[str, int]

    @property
    def name(self) -> str:
        return friendly_name(self.part_number)


@dataclass
class Pool:
    purchased: int | None = None
    assigned: int = 0


def read_subscribed_skus(
    client: VendorClient, log: logging.Logger
) -> Generator[Record, None, dict[str, str]]:
    """Yield one pool per SKU name and return the map skuId -> SKU name for users' licenses.

    ``prepaidUnits.enabled`` is what is bought and in force, ``consumedUnits`` what is assigned.
    Units in ``warning``, ``suspended`` or ``lockedOut`` are logged, not counted as purchased: they
    are expired or cancelled and go away unless renewed.
    """
    names: dict[str, str] = {}
    pools: dict[str, Pool] = {}
    for page in paginate(client, PATH, BodyUrlPaginator("@odata.nextLink"), items=values):
        for number, raw in enumerate(page.items, start=1):
            sku = parse_sku(raw)
            if isinstance(sku, str):
                yield RowProblem(f"GET {PATH} page {page.number} item {number}", sku)
                continue
            names[sku.sku_id] = sku.name
            if sku.held_back:
                held = ", ".join(f"{kind} {count}" for kind, count in sku.held_back.items())
                log.info("%s (%s): units not in force: %s", sku.name, sku.part_number, held)
            if sku.applies_to != "User":
                # Tenant-wide SKUs (appliesTo "Company") are never assigned to users: no seats.
                log.debug("%s (%s) applies to the company: no pool", sku.name, sku.part_number)
                continue
            # Two part numbers may carry one product name (a SKU bought twice under old and new
            # part numbers): one pool, summed.
            pool = pools.setdefault(sku.name, Pool())
            if not is_free(sku.part_number):  # a free SKU's "enabled" is a notional cap (skus.py)
                pool.purchased = (pool.purchased or 0) + sku.enabled
            pool.assigned += sku.consumed
    for name, pool in sorted(pools.items()):
        yield LicensePoolRecord(APP, name, seats_purchased=pool.purchased, seats_assigned=pool.assigned)
    yield Checkpoint(STREAM, complete=True)
    return names


def parse_sku(raw: Any) -> Sku | str:
    """The SKU in a ``subscribedSku`` object, or the reason it cannot be used."""
    if not isinstance(raw, Mapping):
        return "not a subscribedSku object"
    sku_id, part = raw.get("skuId"), raw.get("skuPartNumber")
    if not isinstance(sku_id, str) or not sku_id:
        return "skuId: missing"
    if not isinstance(part, str) or not part:
        return f"skuPartNumber: missing (skuId {sku_id})"
    prepaid = raw.get("prepaidUnits")
    if not isinstance(prepaid, Mapping):
        return f"prepaidUnits: missing ({part})"
    enabled, consumed = prepaid.get("enabled"), raw.get("consumedUnits")
    if not _is_count(enabled):
        return f"prepaidUnits.enabled: not a count: {enabled!r} ({part})"
    if not _is_count(consumed):
        return f"consumedUnits: not a count: {consumed!r} ({part})"
    applies_to = raw.get("appliesTo")
    return Sku(
        sku_id=sku_id,
        part_number=part,
        applies_to=applies_to if isinstance(applies_to, str) else "User",
        enabled=enabled,
        consumed=consumed,
        held_back={k: prepaid[k] for k in HELD_BACK_UNITS if _is_count(prepaid.get(k)) and prepaid[k] > 0},
    )


def _is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
