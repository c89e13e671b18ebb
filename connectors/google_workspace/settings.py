"""Settings of the google_workspace connector: the service account, the admin it acts as, and what
is read how."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from collector.connector import ConnectorSettings
from connectors.google_workspace.key import parse_key
from connectors.google_workspace.skus import EDITION_FAMILIES

ActivityApplication = Literal["login", "saml", "token"]


class GoogleWorkspaceSettings(ConnectorSettings):
    """A service account with domain-wide delegation, acting as a Google Workspace admin.

    ``service_account_key`` is the JSON key file's content (give ``service_account_key_file`` in the
    config to read it from a file, or ``${ENV}``); ``admin_email`` is the admin it impersonates.
    """

    # A validation error must never quote its input: the input holds the private key.
    model_config = ConfigDict(hide_input_in_errors=True)

    admin_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    service_account_key: SecretStr
    # The customer id (C0xxxxxxx) the License Manager needs; by default the one the users carry.
    customer_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]+$")
    # Where all three APIs are served (Admin SDK Directory and Reports, License Manager), e.g. a
    # local fake in tests: it replaces Google's host and keeps the method paths. None: Google's own.
    api_endpoint: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    # Replaces the key file's token_uri (normally https://oauth2.googleapis.com/token).
    token_uri: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    # Products whose license assignments are read (Google-Apps: the Workspace editions; also e.g.
    # 101047 Gemini, Google-Vault). Empty: no License Manager calls (and no apps.licensing scope).
    product_ids: tuple[str, ...] = ("Google-Apps",)
    # Purchased and used licenses per edition from the customer usage report.
    read_usage_report: bool = True
    # How many days before today the usage report is tried when a day's report is not out yet.
    usage_report_days_back: int = Field(default=4, ge=0, le=30)
    # Which usage report license counter (gsuite_basic, gsuite_unlimited, gsuite_enterprise, apps)
    # counts which SKU id, when the built-in choice is wrong for this tenant.
    usage_license_skus: dict[str, str] = Field(default_factory=dict)
    # Audit logs read incrementally from the Reports API: login (Google sign-ins), saml (single
    # sign-on into SAML apps with Google as the IdP), token (third-party OAuth grants).
    activity_applications: tuple[ActivityApplication, ...] = ("login", "saml", "token")
    # First sync: how far back the audit logs are read (Google keeps them about 180 days).
    activity_lookback_days: int = Field(default=30, ge=1, le=180)
    # Later syncs re-read this much before the last event read, for events Google logged late;
    # events already counted are recognised by (id.time, id.uniqueQualifier).
    activity_overlap_minutes: float = Field(default=60.0, ge=0, le=7 * 24 * 60)
    # A long window is read in slices of this many hours, oldest first; the cursor moves after each.
    activity_slice_hours: int = Field(default=24, ge=1, le=24 * 31)
    # A person without a department on their user (organizations[].department) gets their org unit
    # path as department ("/Sales/EMEA" -> "Sales/EMEA"); users in "/" get none.
    org_unit_as_department: bool = True
    # The steady request rate for this tenant; Google's default quota for the Directory API is
    # 2,400 queries per minute per user per project.
    requests_per_second: float = Field(default=10.0, gt=0)
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)

    @field_validator("service_account_key")
    @classmethod
    def _key_shape(cls, value: SecretStr) -> SecretStr:
        parse_key(value.get_secret_value())  # its message names the field, never the key
        return value

    @field_validator("activity_applications", "product_ids")
    @classmethod
    def _no_duplicates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("lists an entry twice")
        return value

    @field_validator("usage_license_skus")
    @classmethod
    def _known_families(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(EDITION_FAMILIES))
        if unknown:
            raise ValueError(f"unknown counter {unknown[0]!r}; known: {', '.join(EDITION_FAMILIES)}")
        return value

    @field_validator("api_endpoint")
    @classmethod
    def _endpoint_slash(cls, value: str | None) -> str | None:
        # googleapiclient joins api_endpoint and the method path without a separator.
        return value if value is None or value.endswith("/") else value + "/"
