"""Copilot Business / Enterprise: the subscription's seats, who holds them and when each last used it.

``GET /orgs/{org}/copilot/billing`` gives ``seat_breakdown`` (``total`` seats billed this cycle,
``active_this_cycle``, ``pending_cancellation`` ...) and ``plan_type`` (``business`` or
``enterprise``). ``GET /orgs/{org}/copilot/billing/seats`` lists the seats (``total_seats`` and
``seats[]``, ``page``/``per_page`` up to 100) with ``assignee`` (a user), ``created_at`` (assigned),
``last_activity_at`` and ``last_activity_editor`` (null: never used, or IDE telemetry is off),
``pending_cancellation_date`` (the seat goes at the end of the cycle) and the seat's ``plan_type``.
Only organization owners may read either (docs.github.com/rest/copilot/copilot-user-management).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from collector.http import VendorClient, VendorHTTPError, paginate
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    LicensePoolRecord,
    Record,
    RowProblem,
    SeatRecord,
)
from connectors.github import values
from connectors.github.client import VENDOR, GitHubShapeError, TotalCountPaginator, json_object
from connectors.github.settings import GitHubSettings
from connectors.github.values import FieldError

APP = "github_copilot"
COPILOT_SKUS = {"business": "Copilot Business", "enterprise": "Copilot Enterprise"}
# Answers that mean "no Copilot to read here": 404 (no subscription, or Copilot is managed by the
# enterprise), 422 (Copilot is not set up for the org), 403 (the token may not read it).
UNAVAILABLE = frozenset({403, 404, 422})
SEATS_PAGER = TotalCountPaginator("total_seats")


def copilot_sku(plan_type: str | None) -> str:
    """The SKU of a Copilot plan type: "business" -> "Copilot Business"."""
    if plan_type is None:
        return "Copilot"
    return COPILOT_SKUS.get(plan_type.lower()) or "Copilot " + plan_type.replace("_", " ").title()


def read_copilot(
    client: VendorClient, settings: GitHubSettings, stop: threading.Event, log: logging.Logger
) -> Iterator[Record]:
    """The Copilot pool, then every seat with its account and last activity, page by page."""
    billing_path = f"orgs/{settings.org}/copilot/billing"
    where = f"GET /{billing_path}"
    try:
        response = client.get(billing_path)
    except VendorHTTPError as exc:
        if exc.status not in UNAVAILABLE:
            raise
        yield from _unavailable(settings, log, where, exc)
        return
    body = json_object(response, where)
    plan_type: str | None = None
    try:
        plan_type = values.text(body, "plan_type")
        total = _total(body)
    except FieldError as exc:
        yield RowProblem(where=where, reason=str(exc))
    else:
        # Copilot bills every assigned seat, so what is bought is what is assigned.
        yield LicensePoolRecord(
            app_id=APP, sku=copilot_sku(plan_type), seats_purchased=total, seats_assigned=total
        )
        yield Checkpoint("copilot_billing", complete=True)
    yield from _seats(client, settings, plan_type, stop, log)


def _total(body: Mapping[str, Any]) -> int | None:
    """Seats billed this cycle: ``seat_breakdown.total``."""
    breakdown = values.mapping(body, "seat_breakdown") or {}
    try:
        return values.count(breakdown, "total")
    except FieldError as exc:
        raise FieldError(f"seat_breakdown.{exc}") from None


def _seats(
    client: VendorClient,
    settings: GitHubSettings,
    plan_type: str | None,
    stop: threading.Event,
    log: logging.Logger,
) -> Iterator[Record]:
    path = f"orgs/{settings.org}/copilot/billing/seats"
    read = 0
    total: Any = None
    for page in paginate(client, path, SEATS_PAGER, items=_seats_of, params={"per_page": settings.per_page}):
        total = page.body.get("total_seats")
        where = f"GET /{path} page {page.number}"
        for index, raw in enumerate(page.items):
            try:
                records = seat_records(raw, plan_type, settings)
            except FieldError as exc:
                yield RowProblem(where=where, reason=f"seats[{index}]{_login_of(raw)}: {exc}")
                continue
            read += 1
            yield from records
        yield Checkpoint("copilot_seats", complete=page.next_url is None)
        if stop.is_set():
            return
    if isinstance(total, int) and total != read:
        # Seats assigned or removed while the pages were read, or skipped as problems.
        log.warning("github copilot: %d seats read of the %d GitHub counts", read, total)


def seat_records(raw: Any, plan_type: str | None, settings: GitHubSettings) -> list[Record]:
    """The account, seat and (with a known e-mail) last activity of one seat."""
    if not isinstance(raw, Mapping):
        raise FieldError(f"expected an object, got {values.show(raw)}")
    assignee = values.mapping(raw, "assignee")
    if assignee is None:
        raise FieldError("assignee: missing")
    try:
        login = values.required_text(assignee, "login")
        kind = "bot" if values.text(assignee, "type") == "Bot" else "user"
    except FieldError as exc:
        raise FieldError(f"assignee.{exc}") from None
    assigned = values.timestamp(raw, "created_at")
    last_activity = values.timestamp(raw, "last_activity_at")
    leaving = values.day(raw, "pending_cancellation_date")
    sku = copilot_sku(values.text(raw, "plan_type") or plan_type)
    email = settings.email_of(login)
    records: list[Record] = [
        AccountRecord(app_id=APP, external_id=login, email=email, status="active", kind=kind),
        SeatRecord(
            app_id=APP,
            sku=sku,
            account_external_id=login,
            assigned_at=assigned,
            pending_cancellation_on=leaving,
        ),
    ]
    if email is not None:
        # null last_activity_at is GitHub's "never used" (or IDE telemetry off): a positive "never".
        records.append(
            ActivityRecord(
                email=email, app_id=APP, last_seen_at=last_activity, source_kind=ActivitySource.APP_LOGIN
            )
        )
    return records


def _unavailable(
    settings: GitHubSettings, log: logging.Logger, where: str, exc: VendorHTTPError
) -> Iterator[Record]:
    message = (
        f"no Copilot seats: {where} answered HTTP {exc.status}"
        + (f" ({exc.vendor_message})" if exc.vendor_message else "")
        + ". The organization has no Copilot Business or Enterprise subscription of its own, or the "
        "token is not an organization owner's with the GitHub Copilot Business (read) permission"
    )
    if settings.copilot == "on":
        yield RowProblem(where=where, reason=message)
    else:
        log.warning("github copilot (auto): %s", message)


def _seats_of(body: Any) -> list[Any]:
    seats = body.get("seats") if isinstance(body, dict) else None
    if seats is None and isinstance(body, dict) and body.get("total_seats") == 0:
        return []
    if not isinstance(seats, list):
        raise GitHubShapeError(f"{VENDOR}: the Copilot seat listing answered without a seats list")
    return seats


def _login_of(raw: Any) -> str:
    assignee = raw.get("assignee") if isinstance(raw, Mapping) else None
    login = assignee.get("login") if isinstance(assignee, Mapping) else None
    return f" (login {login})" if isinstance(login, str) and login else ""
