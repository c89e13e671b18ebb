"""okta: users, app assignments, sign-ins and per-app SSO from an Okta org; see docs/connectors/okta.md."""

from connectors.okta.connector import OktaConnector

__all__ = ["OktaConnector"]
