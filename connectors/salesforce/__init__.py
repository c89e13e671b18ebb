"""salesforce: Salesforce users, license pools, seats and last logins; see docs/connectors/salesforce.md."""

from connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector"]
