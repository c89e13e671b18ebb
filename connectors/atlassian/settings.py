"""Settings of the atlassian connector: the organization, its admin API key and product plans."""

from __future__ import annotations

from pydantic import Field, SecretStr

from collector.connector import ConnectorSettings


class AtlassianSettings(ConnectorSettings):
    """An Atlassian organization read with an organization admin API key."""

    org_id: str = Field(min_length=1)
    api_key: SecretStr
    base_url: str = "https://api.atlassian.com/admin"
    # The organization API does not say which plan a product is on, so the SKU of its seats comes
    # from here: app id -> plan, e.g. {jira: Premium}; make it equal to the contract's sku.
    editions: dict[str, str] = {}
    default_edition: str = Field(default="Standard", min_length=1)
    # Atlassian does not publish the admin API's limits; about 200 requests a minute per
    # organization have been observed, so the default stays well below.
    requests_per_second: float = Field(default=2.0, gt=0)

    def edition(self, app_id: str) -> str:
        return self.editions.get(app_id, self.default_edition)
