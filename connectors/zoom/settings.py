"""Settings of the zoom connector: a Server-to-Server OAuth app and what to read."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from collector.connector import ConnectorSettings

UserStatus = Literal["active", "inactive", "pending"]


class ZoomSettings(ConnectorSettings):
    """Credentials of a Server-to-Server OAuth app of the Zoom account, and what to read with them."""

    account_id: str = Field(min_length=1)
    client_id: SecretStr
    client_secret: SecretStr
    base_url: str = "https://api.zoom.us/v2"
    token_url: str = "https://zoom.us/oauth/token"
    # Every status is read by default: deactivated (inactive) users can still hold a license, and
    # pending users (invited, never joined) reserve one.
    statuses: tuple[UserStatus, ...] = Field(default=("active", "inactive", "pending"), min_length=1)
    page_size: int = Field(default=300, ge=1, le=300)  # Zoom's maximum for GET /users
    # GET /accounts/me/plans/usage needs billing:read:plan_usage:admin; turn it off without that scope.
    plan_usage: bool = True
    # The SKU of the base plan's Licensed seats; make it equal to the sku of a contract in the config
    # to give those seats a price.
    licensed_sku: str = Field(default="Licensed", min_length=1)
    # Proactive pace; List users is a Medium API (20/s on Pro, 60/s on Business and up).
    requests_per_second: float = Field(default=10.0, gt=0)
