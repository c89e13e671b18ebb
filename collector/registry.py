"""Connector registry keyed by id.

In-tree connectors are listed in a lazy id -> "module:Class" map, so listing ids imports nothing;
third-party connectors register through the ``saaswatch.connectors`` entry-point group.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from collector.connector import Connector

BUILTIN: dict[str, str] = {
    "atlassian": "connectors.atlassian:AtlassianConnector",
    "csv_import": "connectors.csv_import:CsvImportConnector",
    "github": "connectors.github:GitHubConnector",
    "google_workspace": "connectors.google_workspace:GoogleWorkspaceConnector",
    "microsoft365": "connectors.microsoft365:Microsoft365Connector",
    "okta": "connectors.okta:OktaConnector",
    "salesforce": "connectors.salesforce:SalesforceConnector",
    "slack": "connectors.slack:SlackConnector",
    "stripe": "connectors.stripe:StripeConnector",
    "zoom": "connectors.zoom:ZoomConnector",
}

ENTRY_POINT_GROUP = "saaswatch.connectors"


class UnknownConnector(KeyError):
    def __str__(self) -> str:
        return f"unknown connector {self.args[0]!r}; known: {', '.join(connector_ids())}"


def _targets() -> dict[str, str]:
    targets = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    targets.update(BUILTIN)  # an in-tree connector always wins over a plugin of the same id
    return targets


def connector_ids() -> list[str]:
    return sorted(_targets())


def get_connector(connector_id: str) -> type[Connector]:
    target = _targets().get(connector_id)
    if target is None:
        raise UnknownConnector(connector_id)
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Connector)) or cls.id != connector_id:
        raise TypeError(f"{target} is not a Connector with id {connector_id!r}")
    return cls
