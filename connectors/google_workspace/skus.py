"""Google's product and SKU ids, their product names, and the usage report's license counters.

The Enterprise License Manager names SKUs by id (``1010020028``) and usually also by ``skuName``.
Seats and pools are recorded under the product name from Google's "Products and SKUs" page
(developers.google.com/workspace/admin/licensing/v1/how-tos/products), so a pool read from the usage
report and the seats read from the License Manager meet under one name, and a contract in the config
can use the name the Admin console and invoices show.
"""

from __future__ import annotations

APP = "google_workspace"  # every Google Workspace product and add-on goes under this catalog app

SKU_NAMES: dict[str, str] = {
    # Product Google-Apps: Google Workspace editions.
    "1010020027": "Google Workspace Business Starter",
    "1010020028": "Google Workspace Business Standard",
    "1010020025": "Google Workspace Business Plus",
    "1010060003": "Google Workspace Enterprise Essentials",
    "1010020029": "Google Workspace Enterprise Starter",
    "1010020026": "Google Workspace Enterprise Standard",
    "1010020020": "Google Workspace Enterprise Plus",  # formerly G Suite Enterprise
    "1010060001": "Google Workspace Essentials",  # formerly G Suite Essentials
    "1010060005": "Google Workspace Enterprise Essentials Plus",
    "1010020030": "Google Workspace Frontline Starter",
    "1010020031": "Google Workspace Frontline Standard",
    "1010020034": "Google Workspace Frontline Plus",
    "1010020035": "Google Workspace Business Continuity",
    "1010020036": "Google Workspace Business Continuity Plus",
    # G Suite and legacy SKUs of product Google-Apps.
    "Google-Apps-Unlimited": "G Suite Business",
    "Google-Apps-For-Business": "G Suite Basic",
    "Google-Apps-Lite": "G Suite Lite",
    "Google-Apps-For-Postini": "Google Apps Message Security",
    # Gemini and AI add-ons (products 101047 and 101068).
    "1010470001": "Gemini Enterprise",  # formerly Duet AI for Enterprise
    "1010470002": "Gemini Labs",
    "1010470003": "Gemini Business",
    "1010470006": "Gemini Security",
    "1010470007": "Gemini Meet",
    "1010470008": "Google AI Ultra for Business",
    "1010470009": "AI Expanded Access",
    "1010680001": "Gemini Enterprise Business Edition",
    # Google Vault (product Google-Vault).
    "Google-Vault": "Google Vault",
    "Google-Vault-Former-Employee": "Google Vault - Former Employee",
}

WORKSPACE_PRODUCT = "Google-Apps"

# customerUsageReports ``accounts:<family>_total_licenses`` / ``_used_licenses`` (Reports API,
# usage-ref-appendix-a/customers-accounts). Google documents only these legacy edition names and
# has kept them for today's editions; the SKU each one counts by default is the one its name and
# Google's description say (GAM's ``info domain`` reads them the same way). See ``edition_sku`` in
# licenses.py for how a tenant on a current edition gets its totals under the right SKU.
EDITION_FAMILIES: dict[str, str] = {
    "gsuite_basic": "Google-Apps-For-Business",
    "gsuite_unlimited": "Google-Apps-Unlimited",
    "gsuite_enterprise": "1010020020",
    # "Total number of G Suite Basic licenses": the older name of gsuite_basic's count, read only
    # when gsuite_basic is absent so one edition is never counted twice.
    "apps": "Google-Apps-For-Business",
}


def sku_name(sku_id: str, api_name: str | None = None) -> str:
    """The product name of ``sku_id``: the table's, else the License Manager's ``skuName``, else the id."""
    return SKU_NAMES.get(sku_id) or api_name or sku_id
