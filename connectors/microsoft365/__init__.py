"""microsoft365: Microsoft 365 / Entra ID through Microsoft Graph; see docs/connectors/microsoft365.md."""

from connectors.microsoft365.connector import Microsoft365Connector

__all__ = ["Microsoft365Connector"]
