"""google_workspace: users, licenses, sign-ins, SAML SSO and OAuth grants from Google Workspace;
see docs/connectors/google_workspace.md."""

from connectors.google_workspace.connector import GoogleWorkspaceConnector

__all__ = ["GoogleWorkspaceConnector"]
