"""slack: Slack members, billable seats and Enterprise Grid activity; see docs/connectors/slack.md."""

from connectors.slack.connector import SlackConnector

__all__ = ["SlackConnector"]
