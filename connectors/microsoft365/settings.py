"""Settings of the microsoft365 connector: the Entra ID app registration and what to read."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from collector.connector import ConnectorSettings

ReportPeriod = Literal["D7", "D30", "D90", "D180"]


class Microsoft365Settings(ConnectorSettings):
    """An app registration with application permissions and a client secret (client credentials).

    ``login_base_url`` and ``graph_base_url`` are configurable for national clouds (and for tests);
    ``token_scope`` must then name the same cloud's Graph (``https://graph.microsoft.us/.default``).
    """

    # The Directory (tenant) ID, a GUID, or a verified domain such as contoso.onmicrosoft.com.
    tenant_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9.-]+$")
    # The Application (client) ID of the app registration.
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    login_base_url: str = "https://login.microsoftonline.com"
    graph_base_url: str = "https://graph.microsoft.com"
    token_scope: str = "https://graph.microsoft.com/.default"
    # The Microsoft 365 active user detail report: per-workload last activity (Exchange, Teams ...),
    # the only activity a tenant without Entra ID P1 has. Needs Reports.Read.All.
    read_usage_report: bool = True
    usage_report_period: ReportPeriod = "D30"
    # csv: the v1.0 report (a CSV download); json: the beta endpoint's $format=application/json.
    usage_report_format: Literal["csv", "json"] = "csv"
    # Delegated consents (oauth2PermissionGrants). Needs Directory.Read.All and Application.Read.All.
    read_oauth_grants: bool = True
    # When the client secret in use expires, read from the app registration (needs
    # Application.Read.All); see credentials.py for which secret that is.
    read_credential_expiry: bool = True
    # Whether accountEnabled is the person's identity-provider status (Entra ID is the IdP). Turn it
    # off when another IdP (Okta, Google) decides who is still employed.
    idp_status: bool = True
    # Steady request rate towards Graph for this tenant; 429s are retried on top of it.
    requests_per_second: float = Field(default=5.0, gt=0)
