"""Atlassian product keys as catalog app ids.

``product_access[].key`` names the product (developer.atlassian.com/cloud/admin/organization/rest,
"Get users in an organization"). Several keys are one product for licensing and activity here: Jira
Software, Jira Core and Jira Work Management are now all "Jira"; Jira Service Desk is Jira Service
Management. Keys not in the table go through the vendor catalog by the product's display name, so a
tenant alias can place them (Opsgenie, Statuspage, Jira Product Discovery, ...).
"""

from __future__ import annotations

from collector.catalog import Catalog

PRODUCT_APPS: dict[str, str] = {
    "jira": "jira",
    "jira-software": "jira",
    "jira-core": "jira",
    "jira-work-management": "jira",
    "jira-servicedesk": "jira_service_management",
    "jira-service-desk": "jira_service_management",
    "jira-service-management": "jira_service_management",
    "confluence": "confluence",
    "bitbucket": "bitbucket",
    "trello": "trello",
    "loom": "loom",
}


def app_for(key: str, name: str | None, catalog: Catalog) -> str:
    """The app id of product ``key`` (display name ``name``)."""
    known = PRODUCT_APPS.get(key.lower())
    return known if known is not None else catalog.app_id_for(name or key)
