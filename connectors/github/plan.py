"""The organization's GitHub plan (``GET /orgs/{org}``) as a license pool.

``plan`` is ``{name, space, private_repos, filled_seats, seats}`` and GitHub returns it only to
organization owners (and GitHub Apps with the "Plan" organization permission). ``seats`` is what was
bought; ``filled_seats`` counts members, outside collaborators with access to private repositories
and pending invitations. Plan names seen: ``free``, ``team``, ``business`` and ``enterprise``
(Enterprise Cloud).
"""

from __future__ import annotations

import logging
from collections.abc import Generator

from collector.http import VendorClient
from collector.records import Checkpoint, LicensePoolRecord, Record, RowProblem
from connectors.github import values
from connectors.github.client import json_object
from connectors.github.settings import GitHubSettings
from connectors.github.values import FieldError

APP = "github"
FREE = "free"
PLAN_SKUS = {
    "team": "GitHub Team",
    "business": "GitHub Enterprise",
    "enterprise": "GitHub Enterprise",
    "business_plus": "GitHub Enterprise",
}


def plan_sku(name: str) -> str:
    """The SKU of a plan name: "team" -> "GitHub Team"; unknown names keep their words."""
    return PLAN_SKUS.get(name.lower()) or "GitHub " + name.replace("_", " ").title()


def read_plan(
    client: VendorClient, settings: GitHubSettings, log: logging.Logger
) -> Generator[Record, None, str | None]:
    """Yield the plan's pool; return the SKU of the members' seats (None: they hold no paid seat)."""
    where = f"GET /orgs/{settings.org}"
    body = json_object(client.get(f"orgs/{settings.org}"), where)
    if body.get("plan") is None:
        if settings.plan_sku is None:
            yield RowProblem(
                where=where,
                reason="plan: missing: GitHub shows the plan only to organization owners (and GitHub "
                "Apps with the Plan permission), so no pool and no member seats are recorded; use an "
                "owner's token, or set plan_sku to record the seats without the plan's counts",
            )
        return settings.plan_sku
    try:
        plan = values.mapping(body, "plan") or {}
        name = values.required_text(plan, "name")
        purchased = values.count(plan, "seats")
        filled = values.count(plan, "filled_seats")
    except FieldError as exc:
        yield RowProblem(where=where, reason=f"plan.{exc}")
        return settings.plan_sku
    if name.lower() == FREE:
        # Nothing is paid per seat on GitHub Free: seats there would only be noise for analyzers.
        log.info("github: %s is on GitHub Free; no paid seats recorded", settings.org)
        return None
    sku = settings.plan_sku or plan_sku(name)
    yield LicensePoolRecord(app_id=APP, sku=sku, seats_purchased=purchased, seats_assigned=filled)
    yield Checkpoint("plan", complete=True)
    return sku
