"""atlassian: Atlassian Cloud managed accounts, product access and last activity per product; see
docs/connectors/atlassian.md."""

from connectors.atlassian.connector import AtlassianConnector

__all__ = ["AtlassianConnector"]
