"""Licenses: who holds which SKU (Enterprise License Manager) and how many are bought and used per
edition (the customer usage report).

- ``GET /apps/licensing/v1/product/{productId}/users?customerId&maxResults=1000`` per configured
  product (``licenseAssignments.listForProduct``), paged with ``pageToken``: one seat per assignment.
  It lists assigned licenses only; nothing in it says how many were bought (VENDOR_APIS.md 1.5).
- ``GET /admin/reports/v1/usage/dates/{date}?parameters=accounts:<edition>_total_licenses,...``
  (``customerUsageReports.get``): per edition, licenses purchased and used. A day's report comes out
  a day or more later: the newest date is tried first, stepping back a day at a time (up to
  ``usage_report_days_back`` days) while Google answers "Data for dates later than ... is not yet
  available" (it then names the last date it has, which is tried next) or sends the day without the
  accounts data (warnings ``PARTIAL_DATA_AVAILABLE`` / ``DATA_NOT_AVAILABLE``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from collector.http import VendorHTTPError
from collector.records import Checkpoint, LicensePoolRecord, Record, RowProblem, SeatRecord, normalise_email
from connectors.google_workspace.api import LICENSING, USAGE, AccessDenied, GoogleApi, ShapeError
from connectors.google_workspace.directory import Directory
from connectors.google_workspace.skus import APP, EDITION_FAMILIES, WORKSPACE_PRODUCT, sku_name
from connectors.google_workspace.values import shown, text

SEATS_STREAM = "seats"
POOLS_STREAM = "license_pools"
LICENSES_PAGE_SIZE = 1000  # the endpoint's maximum
USAGE_PATH = "GET /admin/reports/v1/usage/dates"
# Google's 400 when the date asked for is newer than its last report; it names that last date.
NOT_YET = re.compile(r"(?:Data for dates later than|Start date can not be later than) (\d{4}-\d{2}-\d{2})")
NOT_READY_WARNINGS = frozenset({"PARTIAL_DATA_AVAILABLE", "DATA_NOT_AVAILABLE"})


@dataclass
class Assigned:
    """Assignments per SKU id as the License Manager listed them."""

    counts: Counter[str] = field(default_factory=Counter)
    names: dict[str, str] = field(default_factory=dict)  # skuId -> the API's skuName
    products: dict[str, str] = field(default_factory=dict)  # skuId -> productId
    complete: bool = True  # every configured product was read


def read_seats(
    api: GoogleApi,
    product_ids: Iterable[str],
    directory: Directory,
    customer_id: str | None,
    stop: threading.Event,
) -> Generator[Record, None, Assigned]:
    """Yield a seat per assignment, page by page; return the counts per SKU."""
    assigned = Assigned()
    if customer_id is None:
        assigned.complete = False
        yield RowProblem(
            "GET /apps/licensing/v1/product/*/users",
            "customer_id: unknown (no user carried a customerId); set customer_id in the settings",
        )
        return assigned
    assignments = api.client(LICENSING).licenseAssignments()
    for product in product_ids:
        path = f"GET /apps/licensing/v1/product/{product}/users"

        def request(token: str | None, product: str = product) -> Any:
            return assignments.listForProduct(
                productId=product, customerId=customer_id, maxResults=LICENSES_PAGE_SIZE, pageToken=token
            )

        try:
            for page in api.pages(LICENSING, request, path):
                items = page.body.get("items", [])
                if not isinstance(items, list):
                    raise ShapeError(f"{page.where}: items is not a list")
                for raw in items:
                    yield from _seat(raw, page.where, directory, assigned)
                yield Checkpoint(SEATS_STREAM)
                if stop.is_set():
                    assigned.complete = False
                    return assigned
        except AccessDenied as exc:
            assigned.complete = False
            yield RowProblem(path, f"{exc}; seats were not read")
            return assigned
        except VendorHTTPError as exc:
            if exc.status not in (400, 404):
                raise
            # A product id Google does not know (a typo in product_ids): the other products stand.
            assigned.complete = False
            yield RowProblem(path, f"{exc}; check product_ids")
    yield Checkpoint(SEATS_STREAM, complete=True)
    return assigned


def _seat(raw: Any, where: str, directory: Directory, assigned: Assigned) -> list[Record]:
    if not isinstance(raw, Mapping):
        return [RowProblem(where, "not a license assignment object")]
    user = text(raw.get("userId"))
    sku_id = text(raw.get("skuId"))
    if sku_id is None:
        return [RowProblem(f"{where}, user {shown(user)}", "skuId: missing")]
    if user is None:
        return [RowProblem(f"{where}, SKU {sku_id}", "userId: missing")]
    account = directory.ids.get(normalise_email(user))
    if account is None:
        # userId is the primary e-mail; one renamed between the two reads, or a user the listing
        # rejected, has no account to hold the seat. The next run will match it.
        return [RowProblem(f"{where}, user {shown(user)}", "userId: not a user the Directory API listed")]
    name = text(raw.get("skuName"))
    if name:
        assigned.names.setdefault(sku_id, name)
    product = text(raw.get("productId"))
    if product:
        assigned.products.setdefault(sku_id, product)
    assigned.counts[sku_id] += 1
    return [SeatRecord(APP, sku_name(sku_id, name), account)]


@dataclass(frozen=True)
class LicenseTotals:
    """One day's customer usage report: per edition counter, (purchased, used)."""

    day: date
    counts: dict[str, tuple[int, int | None]]


def read_totals(api: GoogleApi, today: date, days_back: int) -> LicenseTotals | RowProblem:
    """The newest day's license totals, or a problem saying why there are none."""
    parameters = ",".join(
        f"accounts:{family}_{kind}_licenses" for family in EDITION_FAMILIES for kind in ("total", "used")
    )
    reports = api.client(USAGE).customerUsageReports()
    oldest = today - timedelta(days=days_back)
    day = today
    tried: list[str] = []
    while day >= oldest:
        tried.append(day.isoformat())
        where = f"{USAGE_PATH}/{day.isoformat()}"
        try:
            body = api.call(USAGE, reports.get(date=day.isoformat(), parameters=parameters))
        except AccessDenied as exc:
            return RowProblem(where, f"{exc}; license totals were not read")
        except VendorHTTPError as exc:
            if exc.status not in (400, 404):
                raise
            later = NOT_YET.search(exc.vendor_message or "")
            if later is None:
                # E.g. a counter Google no longer knows: the totals are lost, the rest of the run stands.
                return RowProblem(where, f"{exc}; license totals were not read")
            day = min(day - timedelta(days=1), date.fromisoformat(later.group(1)))
            continue
        totals = _totals(body, day, where)
        if totals is not None:
            return totals
        day -= timedelta(days=1)
    return RowProblem(
        USAGE_PATH,
        f"no customer usage report with license totals for {', '.join(tried)}; "
        "purchased licenses were not read (the stored ones are kept)",
    )


def _totals(body: Mapping[str, Any], day: date, where: str) -> LicenseTotals | None:
    """The day's totals, or None when the day's accounts data is not out yet."""
    for warning in body.get("warnings") or []:
        if isinstance(warning, Mapping) and warning.get("code") in NOT_READY_WARNINGS:
            data = warning.get("data") or []
            apps = {d.get("value") for d in data if isinstance(d, Mapping) and d.get("key") == "application"}
            if not apps or "accounts" in apps:
                return None
    reports = body.get("usageReports") or []
    if not isinstance(reports, list) or not reports or not isinstance(reports[0], Mapping):
        return None
    params = reports[0].get("parameters") or []
    if not isinstance(params, list) or not params:
        return None
    values: dict[str, int] = {}
    for param in params:
        if not isinstance(param, Mapping) or not isinstance(param.get("name"), str):
            continue
        raw = param.get("intValue")  # an int64, sent as a string
        if isinstance(raw, int | str) and not isinstance(raw, bool) and str(raw).strip().isdigit():
            values[param["name"].removeprefix("accounts:")] = int(raw)
        else:
            raise ShapeError(f"{where}: {param['name']}: intValue is not a count: {shown(raw)}")
    counts: dict[str, tuple[int, int | None]] = {}
    for family in EDITION_FAMILIES:
        total = values.get(f"{family}_total_licenses")
        used = values.get(f"{family}_used_licenses")
        # Counters of editions the tenant does not hold are missing or zero: they name no pool.
        if total is not None and (total > 0 or (used or 0) > 0):
            counts[family] = (total, used)
    if "gsuite_basic" in counts:
        counts.pop("apps", None)  # the same G Suite Basic licenses under their older name
    return LicenseTotals(day, counts)


def edition_sku(
    family: str, totals: LicenseTotals, assigned: Assigned | None, overrides: Mapping[str, str]
) -> str:
    """The SKU id whose licenses ``family`` counts.

    A setting (``usage_license_skus``) wins. Otherwise, when the report has one edition and the
    License Manager shows one Google Workspace edition assigned, that edition is it: Google reports
    today's editions (Business Starter, Standard, Plus ...) under the legacy counter names, and a
    tenant holds one edition. Otherwise the legacy SKU the counter is named after.
    """
    if family in overrides:
        return overrides[family]
    if assigned is not None and len(totals.counts) == 1:
        editions = {
            s for s, n in assigned.counts.items() if n and assigned.products.get(s) == WORKSPACE_PRODUCT
        }
        if len(editions) == 1:
            return editions.pop()
    return EDITION_FAMILIES[family]


def pools(
    totals: LicenseTotals | None, assigned: Assigned | None, overrides: Mapping[str, str], log: logging.Logger
) -> list[LicensePoolRecord]:
    """A pool per SKU: purchased and used from the report where it counts the SKU, else only the
    assignments the License Manager listed (purchased unknown)."""
    bought: dict[str, tuple[int, int | None]] = {}
    if totals is not None:
        for family, (total, used) in sorted(totals.counts.items()):
            sku_id = edition_sku(family, totals, assigned, overrides)
            before_total, before_used = bought.get(sku_id, (0, 0))
            bought[sku_id] = (before_total + total, None if used is None else (before_used or 0) + used)
            log.info(
                "usage report %s: %s licenses (%d purchased, %s used) counted as %s",
                totals.day.isoformat(),
                family,
                total,
                "?" if used is None else used,
                sku_name(sku_id),
            )
    names = assigned.names if assigned is not None else {}
    records = [
        LicensePoolRecord(
            APP, sku_name(sku_id, names.get(sku_id)), seats_purchased=total, seats_assigned=used
        )
        for sku_id, (total, used) in sorted(bought.items())
    ]
    if assigned is not None and assigned.complete:
        records += [
            LicensePoolRecord(APP, sku_name(sku_id, names.get(sku_id)), seats_assigned=count)
            for sku_id, count in sorted(assigned.counts.items())
            if sku_id not in bought
        ]
    return records
