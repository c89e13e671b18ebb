"""The vendor catalog: every built-in entry is well formed, and messy real-world strings match."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from collector.catalog import (
    CATALOG_DIR,
    CATEGORIES,
    MIN_ALIAS_CHARS,
    MULTI_PRODUCT,
    OWNERSHIP_VALUES,
    SSO_VALUES,
    Catalog,
    CatalogEntry,
    CatalogError,
    builtin_catalog,
    load_catalog,
    load_entries,
    slugify,
    taxonomy_markdown,
    tokens,
    words,
)
from collector.config import load_config

DOCS = Path(__file__).resolve().parents[2] / "docs" / "catalog.md"
SNAKE_CASE = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$")
# Connectors, the sample tenant and the analyzers refer to these ids.
REQUIRED_IDS = {
    "okta", "google_workspace", "m365", "slack", "github", "github_copilot", "zoom", "salesforce", "jira",
    "confluence", "jira_service_management", "bitbucket", "trello", "loom", "stripe", "figma", "hubspot",
    "notion", "miro", "docusign", "adobe_cc", "1password", "microsoft_teams", "dropbox", "box", "asana",
    "monday", "clickup", "chatgpt", "claude", "gemini", "opsgenie", "calendly", "grammarly",
}  # fmt: skip


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def raw_entries() -> list[tuple[str, dict[str, object]]]:
    """Every built-in entry as written, with its file name."""
    found = []
    for path in sorted(CATALOG_DIR.glob("*.yaml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["apps"]:
            found.append((path.name, raw))
    return found


# -- the built-in data ---------------------------------------------------------------------------------


def test_the_built_in_catalog_is_big_and_has_the_ids_others_use(catalog: Catalog) -> None:
    assert len(catalog) >= 250
    assert {e.id for e in catalog} >= REQUIRED_IDS
    assert builtin_catalog().get("slack") == catalog.get("slack")


def test_ids_are_snake_case_and_unique_across_files() -> None:
    seen: dict[str, str] = {}
    for file, raw in raw_entries():
        app_id = str(raw["id"])
        assert SNAKE_CASE.match(app_id), f"{file}: {app_id!r} is not snake_case"
        assert app_id not in seen, f"{app_id!r} is in {file} and {seen[app_id]}"
        seen[app_id] = file


def test_every_entry_is_well_formed(catalog: Catalog) -> None:
    problems = []
    for e in catalog:
        where = f"{e.id}:"
        if not (e.name and e.vendor and e.category):
            problems.append(f"{where} name, vendor and category are required")
        if e.category not in CATEGORIES:
            problems.append(f"{where} category {e.category!r} is not in the taxonomy")
        problems += [f"{where} {d!r} is not a domain" for d in e.domains if not DOMAIN.match(d)]
        if e.sso not in SSO_VALUES or e.ownership not in OWNERSHIP_VALUES:
            problems.append(f"{where} sso {e.sso!r} / ownership {e.ownership!r}")
        if (e.ownership == "acquired") != bool(e.acquired_by):
            problems.append(f"{where} acquired_by goes with ownership: acquired, and only with it")
        if e.list_price_per_seat is not None and not Decimal(0) < e.list_price_per_seat < Decimal(1000):
            problems.append(f"{where} price {e.list_price_per_seat}")
        if e.list_price_per_seat is not None and not (e.notes and "Price:" in e.notes):
            problems.append(f"{where} a price needs a note naming its tier and billing ('Price: ...')")
        if e.founded is not None and not 1970 <= e.founded <= 2026:
            problems.append(f"{where} founded {e.founded}")
        if e.end_of_life is not None and not (e.notes and isinstance(e.end_of_life, date)):
            problems.append(f"{where} an end of life needs a note saying who announced it")
        if e.price_currency != "USD":
            problems.append(f"{where} built-in prices are in USD")
        names = [*e.aliases, *e.merchant_descriptors, *e.vendor_aliases, e.name]
        problems += [f"{where} alias {n!r} is too short" for n in names if len(n.strip()) < MIN_ALIAS_CHARS]
        if e.notes and len(e.notes) > 400:
            problems.append(f"{where} notes should be short")
    assert problems == []


def test_no_alias_is_claimed_by_two_entries(catalog: Catalog) -> None:
    assert catalog.ambiguous_aliases() == {}


def test_every_name_of_an_entry_matches_that_entry(catalog: Catalog) -> None:
    wrong = []
    for e in catalog:
        for name in (*e.names(), *e.domains, *e.vendor_aliases):
            found = catalog.match(name)
            if found is None or found.id != e.id:
                wrong.append((e.id, name, found.id if found else None))
    assert wrong == []


def test_common_words_match_only_as_labels(catalog: Catalog) -> None:
    checked = 0
    for e in catalog:
        if not e.common_word:
            continue
        own = set(words(e.name)) | set(words(e.id.replace("_", " ")))
        for name in (*e.names(), *e.domains):
            key = words(name)
            if len(key) == 1 and key[0] in own:
                checked += 1
                assert catalog.match(f"notes about {key[0]} and lunch") is None, e.id
                found = catalog.match(f"{key[0].upper()} INC")
                assert found is not None and found.id == e.id, e.id
    assert checked >= 40


def test_the_docs_hold_the_taxonomy_as_generated() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert taxonomy_markdown() in text
    assert MULTI_PRODUCT in CATEGORIES
    for heading in ("## Fields", "## Categories", "## How matching works", "## Adding or overriding",
                    "## Review rule", "catalog_files", "apps.<id>.aliases"):  # fmt: skip
        assert heading in text


# -- matching real-world strings -----------------------------------------------------------------------

MATCHES = [
    # card merchant descriptors
    ("SLACK T0123ABC", "slack"),
    ("SLACK T04ABCDEF", "slack"),
    ("Slack Technologies LLC", "slack"),
    ("ZOOM.US 888-799-9666", "zoom"),
    ("WWW.ZOOM.US", "zoom"),
    ("Atlassian*Jira", "jira"),
    ("ATLASSIAN *CONFLUENCE", "confluence"),
    ("ATLASSIAN", "atlassian"),
    ("Atlassian Pty Ltd", "atlassian"),
    ("ADOBE *CREATIVE CLD", "adobe_cc"),
    ("ADOBE  *ACROPRO SUBS 800-833-6687 CA", "adobe_acrobat"),
    ("Adobe Inc.", "adobe_cc"),
    ("PAYPAL *DROPBOX", "dropbox"),
    ("DROPBOX*1A2B3C4D DROPBOX.COM CA", "dropbox"),
    ("SQ *NOTION LABS", "notion"),
    ("NOTION LABS, INC. SAN FRANCISCO", "notion"),
    ("GOOGLE*GSUITE_NORTHWIND", "google_workspace"),
    ("GOOGLE *Google One", "google_one"),
    ("GOOGLE *CLOUD 5HG7KL", "google_cloud"),
    ("MSFT * E0400ABCDE", "m365"),
    ("MSFT *AZURE", "azure"),
    ("Microsoft Corporation", "m365"),
    ("OPENAI *CHATGPT SUBSCR", "chatgpt"),
    ("CLAUDE.AI SUBSCRIPTION", "claude"),
    ("FIGMA MONTHLY RENEWAL", "figma"),
    ("LINKEDIN PREMIUM 1234567", "linkedin_premium"),
    ("RTB INC*BOARD", "miro"),
    ("BOX INC REDWOOD CITY CA", "box"),
    ("MONDAY.COM LTD", "monday"),
    ("INTUIT *QBOOKS ONLINE", "quickbooks"),
    ("AgileBits Inc. (1Password)", "1password"),
    # OAuth client names, Okta app labels, URLs
    ("Zoom for Google Workspace", "zoom"),
    ("Slack for Gmail", "slack"),
    ("Jira Cloud for Slack", "jira"),
    ("Gemini for Google Workspace", "gemini"),
    ("Copilot for Microsoft 365", "m365"),
    ("https://acme.slack.com", "slack"),
    ("https://slack.com/apps/A01-google-drive", "slack"),
    ("https://acme.atlassian.net/jira/software/projects", "atlassian"),
    ("https://app.mural.co/billing", "mural"),
    ("Salesforce.com", "salesforce"),
    ("Atlassian Cloud", "atlassian"),
    ("GitHub Enterprise Cloud - Organization", "github"),
    ("Microsoft Office 365", "m365"),
    ("Okta Admin Console", "okta"),
    ("Box", "box"),
    ("Notion", "notion"),
    ("monday.com", "monday"),
    ("Docusign", "docusign"),
    ("1password", "1password"),
    # the more specific product wins
    ("Jira Service Management", "jira_service_management"),
    ("Atlassian Jira Service Desk", "jira_service_management"),
    ("Jira Software", "jira"),
    ("GitHub Copilot Business", "github_copilot"),
    ("GitHub", "github"),
    ("Google Workspace", "google_workspace"),
    ("Google Drive", "google_workspace"),
    ("Google Cloud Platform", "google_cloud"),
    ("Google Cloud Identity", "google_workspace"),
    ("Microsoft Teams", "microsoft_teams"),
    ("Microsoft 365 E3", "m365"),
    ("Entra ID", "m365"),
    ("Azure AD", "m365"),
    ("Azure DevOps", "azure_devops"),
    ("Dropbox Sign", "dropbox_sign"),
    ("Adobe Acrobat Sign", "adobe_acrobat_sign"),
    ("Managed Backup for M365", "m365"),
]

NO_MATCH = [
    "AMAZON MKTPLACE PMTS",
    "AMZN Mktp US*2K4LM1",
    "UBER *TRIP",
    "STARBUCKS 1234",
    "BLUE BOTTLE COFFEE",
    "UNITED AIRLINES 0162",
    "DELTA AIR LINES",
    "SHELL OIL 57442",
    "Monday team meeting notes",
    "Box of donuts",
    "Slack off on Friday",
    "Linear regression notes",
    "Front desk",
    "Ramp up plan",
    "Electric bill",
    "Gemini Trust Company",
    "Notion of quarterly planning",
    "Zoom in on the chart",
    "Helpdesk hours",
    "Cloud storage (tiered)",
    "Internal Tool 001",
    "GOOGLE",
    "LINKEDIN",
    "",
]


@pytest.mark.parametrize(("text", "app_id"), MATCHES)
def test_messy_strings_match_the_right_app(catalog: Catalog, text: str, app_id: str) -> None:
    found = catalog.match(text)
    assert (found.id if found else None) == app_id


@pytest.mark.parametrize("text", NO_MATCH)
def test_ordinary_strings_match_nothing(catalog: Catalog, text: str) -> None:
    assert catalog.match(text) is None


def test_unknown_apps_get_a_stable_slug(catalog: Catalog) -> None:
    assert catalog.app_id_for("Acme Wiki!") == "acme-wiki" == slugify("Acme Wiki!")
    assert catalog.app_id_for("ATLASSIAN") == "atlassian"
    assert catalog.app_id_for("AMAZON MKTPLACE PMTS") == "amazon-mktplace-pmts"
    assert catalog.match(None) is None


def test_tokens_keep_their_meaning_for_analyzers() -> None:
    assert tokens("SQ *Acme Software, Inc.") == ("acme", "software")
    assert words("SQ *Acme Software, Inc.") == ("acme", "software", "inc")


def test_matching_is_cached_and_fast(catalog: Catalog) -> None:
    long_text = "SQ *SOME MERCHANT NAME SAN FRANCISCO CA 94107 recurring payment ref " * 20
    assert catalog.match(long_text) is None
    first = catalog.match("SLACK T0123ABC")
    assert catalog.match("SLACK T0123ABC") is first


# -- tenant aliases ------------------------------------------------------------------------------------


def test_a_tenant_alias_wins_over_built_in_names(catalog: Catalog) -> None:
    tenant = catalog.with_aliases({"legacy_wiki": ["Confluence"], "miro": ["RTB INC"]})
    assert tenant.app_id_for("Atlassian Confluence Cloud") == "legacy_wiki"
    assert tenant.app_id_for("RTB INC*BOARD") == "miro"
    assert tenant.get("legacy_wiki") == CatalogEntry(
        id="legacy_wiki", name="legacy_wiki", vendor="", category="", aliases=("Confluence",)
    )
    assert catalog.app_id_for("Atlassian Confluence Cloud") == "confluence"  # the original is unchanged
    assert catalog.with_aliases({"legacy_wiki": ["Confluence"], "miro": ["RTB INC"]}) is tenant


def test_the_first_tenant_app_wins_a_shared_alias(catalog: Catalog) -> None:
    tenant = catalog.with_aliases({"first": ["Acme Tool"], "second": ["Acme Tool"]})
    assert tenant.app_id_for("ACME TOOL 1234") == "first"
    again = tenant.with_aliases({"third": ["Other Tool"]})
    assert (again.app_id_for("Acme Tool"), again.app_id_for("Other Tool")) == ("first", "third")


# -- user catalog files --------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_user_file_overrides_one_field_and_adds_entries(tmp_path: Path) -> None:
    ours = write(
        tmp_path / "ours.yaml",
        """
apps:
  - id: zoom
    list_price_per_seat: 13.33
  - id: acme_wiki
    name: Acme Wiki
    vendor: Acme Corp
    category: wiki
    domains: [wiki.acme.example]
    aliases: [ACME WIKI LLC, Box Inc]
    sso: none
    end_of_life: 2027-03-31
""",
    )
    catalog = load_catalog([ours])
    zoom, builtin = catalog.get("zoom"), builtin_catalog().get("zoom")
    assert zoom is not None and builtin is not None
    assert zoom.list_price_per_seat == Decimal("13.33")
    assert (zoom.name, zoom.domains, zoom.sso) == (builtin.name, builtin.domains, builtin.sso)
    wiki = catalog.get("acme_wiki")
    assert wiki is not None and (wiki.category, wiki.end_of_life) == ("wiki", date(2027, 3, 31))
    assert catalog.app_id_for("ACME WIKI LLC 0042") == "acme_wiki"
    assert catalog.app_id_for("https://wiki.acme.example/page") == "acme_wiki"
    assert catalog.app_id_for("BOX INC") == "acme_wiki"  # a user's entry wins an alias it shares
    assert len(catalog) == len(builtin_catalog()) + 1


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{id: acme, name: Acme, vendor: Acme, category: wiki, sso: kerberos}",
         "apps[1] (acme): sso must be"),
        ("{id: acme, name: Acme, vendor: Acme}", "apps[1] (acme): missing category"),
        ("{id: acme, name: Acme, vendor: Acme, category: wiki, seats: 3}",
         "apps[1] (acme): unknown field(s) seats"),
        ("{id: acme, name: Acme, vendor: Acme, category: wiki, list_price_per_seat: cheap}",
         "apps[1] (acme): list_price_per_seat 'cheap' is not a number"),
        ("{id: acme, name: Acme, vendor: Acme, category: wiki, list_price_per_seat: -5}",
         "apps[1] (acme): list_price_per_seat -5 must be a positive number"),
        ("{id: acme, name: Acme, vendor: Acme, category: wiki, founded: last year}",
         "apps[1] (acme): founded must be a year"),
        ("{id: acme, name: Acme, vendor: Acme, category: wiki, end_of_life: soon}",
         "apps[1] (acme): end_of_life 'soon' is not a YYYY-MM-DD date"),
        ("{id: acme, name: Acme, vendor: Acme, category: wiki, aliases: [1, 2]}",
         "apps[1] (acme): aliases must be a list of strings"),
        ("{id: acme, name: Acme, vendor: Acme, category: wiki, common_word: maybe}",
         "apps[1] (acme): common_word must be true or false"),
        ("{id: zoom, ownership: bankrupt}", "apps[1] (zoom): ownership must be one of"),
        ("{name: Nameless}", "apps[1]: missing id"),
        ("just a string", "apps[1]: missing id"),
    ],
)  # fmt: skip
def test_a_malformed_entry_names_the_file_the_entry_and_the_field(
    tmp_path: Path, entry: str, message: str
) -> None:
    ours = write(
        tmp_path / "ours.yaml", f"apps:\n  - {{id: fine, name: Fine, vendor: F, category: x}}\n  - {entry}\n"
    )
    with pytest.raises(CatalogError) as caught:
        load_entries(ours, {e.id: e for e in builtin_catalog()})
    assert f"ours.yaml {message}" in str(caught.value)


def test_a_file_without_an_apps_list_or_with_duplicate_ids_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="expected a top-level 'apps:' list"):
        load_entries(write(tmp_path / "a.yaml", "- id: x\n"))
    twice = (
        "apps:\n  - {id: x, name: X, vendor: X, category: x}\n  - {id: x, name: X, vendor: X, category: x}\n"
    )
    with pytest.raises(CatalogError, match=r"b.yaml apps\[1\] \(x\): duplicate id 'x'"):
        load_entries(write(tmp_path / "b.yaml", twice))
    with pytest.raises(CatalogError, match=r"missing\.yaml"):
        load_catalog([tmp_path / "missing.yaml"])


def test_a_built_in_id_in_two_files_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "apps:\n  - {id: x, name: X, vendor: X, category: x}\n")
    write(tmp_path / "b.yaml", "apps:\n  - {id: x, name: X2, vendor: X, category: x}\n")
    with pytest.raises(CatalogError, match=r"b\.yaml: id 'x' is also in a\.yaml"):
        load_catalog(directory=tmp_path)


def test_the_config_loads_catalog_files_and_reports_a_broken_one(tmp_path: Path) -> None:
    write(
        tmp_path / "ours.yaml", "apps:\n  - {id: acme_wiki, name: Acme Wiki, vendor: Acme, category: wiki}\n"
    )
    config_text = "catalog_files: [ours.yaml]\ntenants:\n  - id: acme\n    name: Acme\n    connectors: []\n"
    config = load_config(write(tmp_path / "saaswatch.yaml", config_text), environ={})
    assert config.catalog().app_id_for("Acme Wiki") == "acme_wiki"

    write(
        tmp_path / "broken.yaml",
        "apps:\n  - {id: acme_wiki, name: Acme Wiki, vendor: Acme, category: wiki, sso: x}\n",
    )
    write(tmp_path / "saaswatch.yaml", config_text.replace("ours.yaml", "broken.yaml"))
    with pytest.raises(Exception, match=r"broken.yaml apps\[0\] \(acme_wiki\): sso must be"):
        load_config(tmp_path / "saaswatch.yaml", environ={})
