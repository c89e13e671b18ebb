"""Settings of the salesforce connector: the org, its credentials and the API budget to keep."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from collector.connector import ConnectorSettings


class SalesforceSettings(ConnectorSettings):
    """An org reached through a connected (or external client) app, or a pre-issued access token."""

    # The org's My Domain URL, e.g. https://acme.my.salesforce.com; the token endpoint is below it.
    my_domain_url: str = Field(min_length=1)
    # Where the REST API is, if not at My Domain (the token response's instance_url); rarely needed.
    instance_url: str | None = None
    api_version: str = Field(default="62.0", pattern=r"^\d{2,3}\.0$")
    # OAuth 2.0 client credentials flow of a connected app with a run-as user ...
    client_id: SecretStr | None = None
    client_secret: SecretStr | None = None
    # ... or an access token issued elsewhere (it cannot be renewed: a 401 fails the run).
    access_token: SecretStr | None = None
    # The share of the org's rolling 24-hour API allocation to leave to its other integrations: the
    # run stops when fewer requests than this are left.
    api_reserve_percent: float = Field(default=10.0, ge=0, lt=100)
    # Users (by Username) that are integrations although nothing in Salesforce marks them so, e.g.
    # an ETL tool signing in as a user with a full Salesforce license.
    service_usernames: tuple[str, ...] = ()
    requests_per_second: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _one_credential(self) -> SalesforceSettings:
        pair = (self.client_id is not None, self.client_secret is not None)
        if pair[0] != pair[1]:
            raise ValueError("client_id and client_secret go together")
        if pair[0] == (self.access_token is not None):
            raise ValueError("give either client_id and client_secret, or access_token")
        return self

    @property
    def token_url(self) -> str:
        return self.my_domain_url.rstrip("/") + "/services/oauth2/token"

    @property
    def api_url(self) -> str:
        return (self.instance_url or self.my_domain_url).rstrip("/") + f"/services/data/v{self.api_version}/"
