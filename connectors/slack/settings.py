"""Settings of the slack connector: an admin's user token, the plan's SKU and what to read."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, SecretStr

from collector.connector import ConnectorSettings
from collector.records import BillingPeriod, Commitment

AnalyticsMode = Literal["auto", "on", "off"]


class SlackSettings(ConnectorSettings):
    """A user token of a Workspace (or Org) Admin or Owner, and the plan the workspace pays for."""

    # A user token (xoxp-...) with admin, users:read and users:read.email; admin.analytics:read too
    # on Enterprise Grid. Sent as "Authorization: Bearer".
    token: SecretStr
    base_url: str = "https://slack.com/api/"
    # Only with an org-level token on Enterprise Grid: the workspace to read (team.billableInfo and
    # users.list need it there). A workspace token ignores it.
    team_id: str | None = Field(default=None, pattern=r"^[TE][A-Z0-9]+$")
    # The plan's name. The API does not say which plan a workspace is on, so this names the pool and
    # every billable member's seat; make it equal to a contract's sku to price the seats.
    sku: str = Field(min_length=1)
    # What was bought, when the contract is not in the config's contracts (which win for price and
    # terms, see collector/pools.py). Slack's Fair Billing Policy bills active members only, so on
    # monthly plans leave seats_purchased unset: the bill follows the billable members.
    seats_purchased: int | None = Field(default=None, ge=0)
    unit_price: Decimal | None = Field(default=None, ge=0)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None  # None: the tenant's currency
    billing_period: BillingPeriod | None = None
    commitment: Commitment | None = None
    # Member activity from admin.analytics.getFile (Enterprise Grid with admin.analytics:read).
    # auto: read it where the org has it, note once and go on where it does not; on: its absence is
    # a problem of the run; off: never ask.
    analytics: AnalyticsMode = "auto"
    # Days of daily analytics files the first run reads, and the most any later run catches up.
    analytics_backfill_days: int = Field(default=7, ge=1, le=90)
    # users.list and team.billableInfo page size; Slack advises no more than 200.
    page_size: int = Field(default=200, ge=1, le=1000)
    # Every method read is Tier 2 (20+ per minute per workspace); this paces all of them together.
    requests_per_minute: float = Field(default=20.0, gt=0)
