"""Billable members (``team.billableInfo``) and the workspace's license pool.

``billing_active`` says whether Slack bills a member under its Fair Billing Policy: members inactive
for 14 days stop being billed, and start again when they come back. Slack computes it periodically,
not in real time (docs.slack.dev/reference/methods/team.billableInfo). A billable member holds a seat
of the plan; the pool's assigned count is how many are billable.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Mapping
from typing import Any

from collector.http import CursorPaginator, VendorClient, paginate
from collector.records import LicensePoolRecord, Record, RowProblem
from connectors.slack import values
from connectors.slack.settings import SlackSettings

APP = "slack"
METHOD = "team.billableInfo"
NEXT_CURSOR = CursorPaginator(("response_metadata", "next_cursor"), "cursor")


class SlackShapeError(Exception):
    """A Slack answer is not shaped as documented; nothing after it can be trusted."""


def read_billable(
    client: VendorClient, settings: SlackSettings, stop: threading.Event
) -> Generator[Record, None, dict[str, bool] | None]:
    """Yield problems with single entries; return ``user id -> billing_active`` (None if stopped)."""
    params: dict[str, str | int] = {"limit": settings.page_size}
    if settings.team_id:
        params["team_id"] = settings.team_id
    billable: dict[str, bool] = {}
    for page in paginate(client, METHOD, NEXT_CURSOR, items=_entries, params=params):
        for user_id, info in page.items:
            active = info.get("billing_active") if isinstance(info, Mapping) else None
            if not isinstance(active, bool):
                yield RowProblem(
                    where=f"{METHOD} page {page.number}",
                    reason=f"billable_info.{user_id}.billing_active: expected true or false, "
                    f"got {values.show(active)}",
                )
                continue
            billable[user_id] = active
        if stop.is_set():
            return None
    return billable


def _entries(body: Any) -> list[tuple[str, Any]]:
    info = body.get("billable_info") if isinstance(body, dict) else None
    if not isinstance(info, dict):
        # Without the list, every seat would look given up: fail rather than retire them.
        raise SlackShapeError(f"{APP}: {METHOD} answered without a billable_info object")
    return list(info.items())


def plan_pool(settings: SlackSettings, billable: Mapping[str, bool]) -> LicensePoolRecord:
    """The plan's pool: billable members assigned; purchase and price from the settings, if given."""
    return LicensePoolRecord(
        app_id=APP,
        sku=settings.sku,
        seats_purchased=settings.seats_purchased,
        seats_assigned=sum(1 for active in billable.values() if active),
        unit_price=settings.unit_price,
        currency=settings.currency if settings.unit_price is not None else None,
        billing_period=settings.billing_period,
        commitment=settings.commitment,
    )
