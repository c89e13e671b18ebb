"""Friendly names of Microsoft 365 / Entra SKUs, as the admin center and invoices show them.

Graph's ``subscribedSkus`` names a SKU only by its part number (``SPE_E3``). The names below follow
Microsoft's "Product names and service plan identifiers for licensing" list
(learn.microsoft.com/entra/identity/users/licensing-service-plan-reference), so a pool read here
meets the same SKU from a contract, an admin-center export (csv_import) or an invoice. A part
number missing from the table is used as it is.
"""

from __future__ import annotations

FRIENDLY_NAMES: dict[str, str] = {
    # Suites
    "SPE_E3": "Microsoft 365 E3",
    "SPE_E5": "Microsoft 365 E5",
    "SPE_F1": "Microsoft 365 F3",
    "ENTERPRISEPACK": "Office 365 E3",
    "ENTERPRISEPREMIUM": "Office 365 E5",
    "ENTERPRISEPREMIUM_NOPSTNCONF": "Office 365 E5 (without Audio Conferencing)",
    "STANDARDPACK": "Office 365 E1",
    "DESKLESSPACK": "Office 365 F3",
    "O365_BUSINESS_ESSENTIALS": "Microsoft 365 Business Basic",
    "O365_BUSINESS_PREMIUM": "Microsoft 365 Business Standard",
    "SPB": "Microsoft 365 Business Premium",
    "O365_BUSINESS": "Microsoft 365 Apps for business",
    "OFFICESUBSCRIPTION": "Microsoft 365 Apps for enterprise",
    "DEVELOPERPACK_E5": "Microsoft 365 E5 Developer (without Windows and Audio Conferencing)",
    "Microsoft_365_Copilot": "Microsoft 365 Copilot",
    # Workloads and add-ons
    "EXCHANGESTANDARD": "Exchange Online (Plan 1)",
    "EXCHANGEENTERPRISE": "Exchange Online (Plan 2)",
    "EXCHANGEDESKLESS": "Exchange Online Kiosk",
    "POWER_BI_PRO": "Power BI Pro",
    "PBI_PREMIUM_PER_USER": "Power BI Premium Per User",
    "VISIOCLIENT": "Visio Plan 2",
    "VISIOONLINE_PLAN1": "Visio Plan 1",
    "PROJECT_P1": "Project Plan 1",
    "PROJECTPROFESSIONAL": "Project Plan 3",
    "PROJECTPREMIUM": "Project Plan 5",
    "EMS": "Enterprise Mobility + Security E3",
    "EMSPREMIUM": "Enterprise Mobility + Security E5",
    "AAD_PREMIUM": "Microsoft Entra ID P1",
    "AAD_PREMIUM_P2": "Microsoft Entra ID P2",
    "INTUNE_A": "Microsoft Intune Plan 1",
    "ATP_ENTERPRISE": "Microsoft Defender for Office 365 (Plan 1)",
    "THREAT_INTELLIGENCE": "Microsoft Defender for Office 365 (Plan 2)",
    "MCOEV": "Microsoft Teams Phone Standard",
    "MCOMEETADV": "Microsoft 365 Audio Conferencing",
    "Microsoft_Teams_Premium": "Microsoft Teams Premium",
    # Free, trial and "viral" (self-service sign-up) SKUs: see FREE_SKUS.
    "FLOW_FREE": "Microsoft Power Automate Free",
    "POWER_BI_STANDARD": "Microsoft Fabric (Free)",  # was "Power BI (free)"
    "TEAMS_EXPLORATORY": "Microsoft Teams Exploratory",
    "STREAM": "Microsoft Stream Trial",
    "POWERAPPS_VIRAL": "Microsoft Power Apps Plan 2 Trial",
    "POWERAPPS_DEV": "Microsoft Power Apps for Developer",
    "CCIBOTS_PRIVPREV_VIRAL": "Power Virtual Agents Viral Trial",
    "WINDOWS_STORE": "Windows Store for Business",
    "RIGHTSMANAGEMENT_ADHOC": "Rights Management Adhoc",
    "MCOPSTNC": "Communications Credits",
    "PHONESYSTEM_VIRTUALUSER": "Microsoft Teams Phone Resource Account",
    "TEAMS_FREE": "Microsoft Teams (Free)",
}

# SKUs that cost nothing: self-service sign-ups, trials and free resource licenses. Graph reports them
# with a notional prepaidUnits.enabled (often 10000 or 1000000), which is a cap, not seats bought,
# so their pools carry no purchased count (nothing can be "unassigned" in them).
FREE_SKUS = frozenset(
    {
        "FLOW_FREE",
        "POWER_BI_STANDARD",
        "TEAMS_EXPLORATORY",
        "STREAM",
        "POWERAPPS_VIRAL",
        "POWERAPPS_DEV",
        "CCIBOTS_PRIVPREV_VIRAL",
        "WINDOWS_STORE",
        "RIGHTSMANAGEMENT_ADHOC",
        "MCOPSTNC",
        "PHONESYSTEM_VIRTUALUSER",
        "TEAMS_FREE",
    }
)


def friendly_name(part_number: str) -> str:
    """The product name of ``part_number``, or the part number itself when the table lacks it."""
    return FRIENDLY_NAMES.get(part_number, part_number)


def is_free(part_number: str) -> bool:
    return part_number in FREE_SKUS
