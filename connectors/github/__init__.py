"""github: GitHub organization members, plan seats and Copilot seats; see docs/connectors/github.md."""

from connectors.github.connector import GitHubConnector

__all__ = ["GitHubConnector"]
