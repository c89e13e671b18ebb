"""The vendor catalog: which SaaS product a messy string names.

Apps show up under many names: an Okta app label ("Slack"), an OAuth client name ("Zoom for Google
Workspace"), a card merchant descriptor ("ZOOM.US 888-799-9666", "SQ *NOTION LABS"), an invoice line
("Atlassian*Jira"). The catalog is data (``config/catalog/*.yaml``, reviewed like code) plus this
matcher. Users add or override entries with their own YAML files (``catalog_files`` in the config);
tenants add aliases for their own internal apps (``apps.<id>.aliases``).

Matching works on lower-case word tokens (docs/catalog.md has the full rules). Every name of every
entry (its id, name, aliases, merchant descriptors and domains) is a key of one or more tokens; a key
found anywhere in the string is a candidate, and the best candidate wins:

1. a tenant alias beats everything;
2. a candidate that starts before the word "for" beats one after it ("Zoom for Google Workspace" is
   Zoom, "Backup for M365" still falls back to Microsoft 365);
3. a product name beats a vendor-level fallback (``vendor_aliases``, and every name of a
   ``multi-product`` entry): "Atlassian*Jira" is Jira, "ATLASSIAN" alone is the Atlassian account;
4. the longest key wins ("Jira Service Management" beats "Jira"), then the earliest.

Entries whose name is a common word (``common_word: true``: Monday, Box, Notion, Slack ...) match by
that word alone only when the rest of the string is filler (company suffixes, plan names, reference
numbers): "SLACK T0123ABC" and "Box Inc" match, "Monday team meeting notes" does not. Their company-
style names ("monday.com", "BOX INC", "Notion Labs") match anywhere.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

CATALOG_DIR = Path(__file__).resolve().parent.parent / "config" / "catalog"

SSO_VALUES = frozenset({"saml", "oidc", "none", "unknown"})
OWNERSHIP_VALUES = frozenset({"public", "private", "acquired", "open_source", "unknown"})
MIN_ALIAS_CHARS = 3  # shorter aliases ("hr", "x") match far too much card noise

# The category taxonomy of the built-in catalog: what the overlap analyzer compares (two apps of one
# category do the same job). Users may use other categories in their own files; the built-in files
# use only these. docs/catalog.md holds this table as rendered by taxonomy_markdown().
CATEGORIES: Mapping[str, str] = {
    # communication
    "team-chat": "Team messaging and chat (Slack, Microsoft Teams)",
    "video-meetings": "Video meetings and calls (Zoom, Webex)",
    "async-video": "Recorded video messages and screen recording (Loom, Vidyard)",
    "phone-system": "Cloud business phone systems (RingCentral, Dialpad, Aircall)",
    "contact-center": "Cloud contact centres for support and sales teams (Talkdesk, Five9)",
    "events-webinars": "Webinars and virtual or hybrid events (ON24, Cvent)",
    "email-client": "Email clients bought per seat on top of the mailbox (Superhuman)",
    "whiteboard": "Online whiteboards and diagramming (Miro, Mural, Lucid)",
    "scheduling": "Meeting scheduling and calendar assistants (Calendly, Chili Piper)",
    "meeting-assistant": "AI note takers and meeting recorders (Otter.ai, Fireflies.ai)",
    # productivity
    "office-suite": "Mail, calendar, documents and storage suites (Google Workspace, Microsoft 365)",
    "file-storage": "Cloud file storage and sharing (Dropbox, Box)",
    "knowledge-base": "Wikis, team docs and knowledge bases (Confluence, Notion)",
    "project-management": "Project, task and work management (Jira, Asana, monday.com)",
    "forms-surveys": "Forms, surveys and experience feedback (Typeform, SurveyMonkey, Qualtrics)",
    "automation": "Workflow automation and integration platforms (Zapier, Make, Workato)",
    "low-code": "Low-code app and internal-tool builders (Retool, Bubble)",
    "time-tracking": "Time tracking and timesheets (Harvest, Toggl)",
    "pdf": "PDF editors (Adobe Acrobat, Foxit)",
    "e-signature": "Electronic signatures (Docusign, Dropbox Sign)",
    "presentations": "Presentation tools outside the office suites (Pitch, Prezi, Gamma)",
    "translation": "Machine translation and localization management (DeepL, Lokalise)",
    "saas-management": "SaaS spend, license and purchasing management (Zylo, Vendr)",
    "contract-management": "Contract lifecycle management (Ironclad, Juro)",
    "procurement": "Procurement and spend approval (Coupa)",
    # sales and marketing
    "crm": "Customer relationship management (Salesforce, HubSpot, Pipedrive)",
    "sales-engagement": "Sales sequences and outreach (Outreach, Salesloft)",
    "sales-intelligence": "Prospect data and intent (ZoomInfo, Sales Navigator, Apollo.io)",
    "revenue-intelligence": "Call recording and pipeline analytics for sales (Gong, Clari)",
    "marketing-automation": "Marketing automation and customer engagement (Marketo, Braze)",
    "email-marketing": "Newsletters and e-mail campaigns (Mailchimp, Klaviyo)",
    "social-media": "Social media publishing and listening (Hootsuite, Sprout Social)",
    "seo": "Search engine optimisation research (Semrush, Ahrefs)",
    "web-analytics": "Website traffic analytics (Adobe Analytics, Similarweb, Plausible)",
    "cms": "Website builders and content management (Webflow, WordPress.com, Contentful)",
    "customer-success": "Customer success platforms (Gainsight, ChurnZero)",
    "video-hosting": "Business video hosting (Vimeo, Wistia)",
    "stock-media": "Stock photos, video and assets (Shutterstock, Adobe Stock)",
    # design and media
    "design": "Design and creative tools (Figma, Adobe Creative Cloud, Canva)",
    "video-editing": "Video and podcast editing (Descript, Camtasia)",
    "generative-media": "AI image, video and voice generation (Midjourney, Runway, ElevenLabs)",
    # engineering
    "source-control": "Git hosting and code review (GitHub, GitLab, Bitbucket)",
    "ci-cd": "Continuous integration and delivery (CircleCI, Buildkite)",
    "observability": "Monitoring, logs, metrics and traces (Datadog, New Relic, Grafana Cloud)",
    "error-monitoring": "Application error and crash reporting (Sentry, Bugsnag)",
    "incident-management": "On-call, alerting, incident response and status pages (PagerDuty)",
    "ide": "Code editors and IDE subscriptions (JetBrains, Visual Studio)",
    "ai-coding": "AI coding assistants (GitHub Copilot, Cursor)",
    "api-development": "API design and testing (Postman)",
    "containers": "Container tooling sold per seat (Docker)",
    "feature-flags": "Feature flags and experimentation (LaunchDarkly, Optimizely)",
    "appsec": "Code and dependency security scanning (Snyk, Semgrep)",
    "web-hosting": "Front-end and app hosting billed per member (Vercel, Netlify, Heroku)",
    "cloud-platform": "Public cloud infrastructure, billed by usage (AWS, Google Cloud, Azure)",
    "data-platform": "Data warehouses and data platforms (Snowflake, Databricks)",
    "data-integration": "Data pipelines, ELT and customer data platforms (Fivetran, Segment)",
    # analytics and product
    "bi": "Business intelligence and dashboards (Tableau, Looker, Metabase)",
    "product-analytics": "Product usage analytics (Amplitude, Mixpanel, Pendo)",
    "session-replay": "Session replay and heatmaps (Hotjar, FullStory)",
    "user-research": "User research and usability testing (UserTesting, Maze, Dovetail)",
    "product-management": "Roadmaps and product feedback (Productboard, Aha!)",
    "digital-adoption": "In-app guidance and onboarding (WalkMe, Whatfix)",
    # security and IT
    "password-manager": "Password managers (1Password, Bitwarden)",
    "identity": "Single sign-on, MFA and identity management (Okta, JumpCloud, Duo)",
    "endpoint-security": "Endpoint protection, EDR and antivirus (CrowdStrike, SentinelOne)",
    "device-management": "Device management, MDM and RMM (Jamf, Kandji, NinjaOne)",
    "network-access": "VPN and zero-trust network access (Tailscale, Zscaler)",
    "compliance": "Security compliance automation and privacy (Vanta, Drata, OneTrust)",
    "email-security": "E-mail security gateways and filtering (Proofpoint, Mimecast)",
    "security-awareness": "Security awareness training and phishing simulation (KnowBe4)",
    "vulnerability-management": "Vulnerability scanning and management (Tenable, Rapid7)",
    "remote-access": "Remote desktop and remote support (TeamViewer, AnyDesk)",
    "backup": "Backup of devices and SaaS data (Backblaze, Druva)",
    # people
    "hr": "HR information systems and core HR (Workday, BambooHR, HiBob)",
    "payroll": "Payroll, employer of record and PEO (Gusto, ADP, Deel)",
    "performance": "Performance reviews, goals and engagement surveys (Lattice, Culture Amp)",
    "recruiting": "Applicant tracking and recruiting (Greenhouse, Lever, Ashby)",
    "learning": "Learning platforms and course libraries (Udemy Business, Coursera)",
    # finance
    "accounting": "Accounting and ERP (QuickBooks, Xero, NetSuite)",
    "expenses": "Expense management and corporate cards (Expensify, Ramp, Brex)",
    "payables": "Bill pay and accounts payable (BILL, Tipalti)",
    "payments": "Payment processing (Stripe)",
    "subscription-billing": "Subscription billing and revenue management (Chargebee, Zuora)",
    "financial-planning": "Budgeting, planning and forecasting (Anaplan, Pigment)",
    "travel": "Business travel booking (Navan, TravelPerk)",
    # support
    "helpdesk": "Customer support help desks and messaging (Zendesk, Intercom, Freshdesk)",
    "itsm": "IT service management and internal service desks (ServiceNow, Jira Service Management)",
    # AI
    "ai-assistant": "General-purpose AI chat assistants (ChatGPT, Claude, Gemini)",
    "ai-api": "AI model APIs billed by usage (OpenAI API, Anthropic API)",
    "writing-assistant": "Writing, grammar and copy assistants (Grammarly, Jasper)",
    # accounts
    "multi-product": "A vendor-level account spanning several products (Atlassian Cloud, Zoho One)",
}
MULTI_PRODUCT = "multi-product"

_TOKEN = re.compile(r"[a-z0-9]+")
# Payment processors and their prefixes say nothing about the product behind them.
_NOISE_TOKENS = frozenset({"sq", "tst", "paypal", "pp", "www", "com", "inc", "llc", "ltd", "gmbh"})
# The matcher keeps company suffixes ("BOX INC" is not "BOX") and drops only processor prefixes.
_PROCESSOR_TOKENS = frozenset({"sq", "tst", "paypal", "pp", "www", "sp", "dri", "2co"})
# A URL names its host: "https://slack.com/apps/A01-google-drive" is Slack, not Google Drive.
_URL_PATH = re.compile(r"((?:[a-z0-9-]+\.)+[a-z]{2,24})(?::\d+)?[/?#]\S*")


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Trailing words a name may have or lack: "Notion Labs, Inc." is also "Notion Labs".
_SUFFIXES = _word_set(
    "inc incorporated llc ltd limited corp corporation co company gmbh ag sa sas sarl bv nv pty plc srl "
    "spa oy ab aps pte kk lp llp com net org io ai so app us"
)
# Words that may surround a common-word name that still means the product ("Slack Business+",
# "BOX INC", "ZOOM.US 888-799-9666"). Anything else ("Monday team meeting") means it is not a label.
_FILLER = _SUFFIXES | _word_set(
    "www https http hq technologies technology tech software labs online cloud services svcs systems "
    "group holdings subscription subscr subscrip subs sub payment pmt recurring monthly annual annually "
    "yearly renewal billing invoice license licence licenses seat seats charge purchase pro plus "
    "business enterprise premium standard basic starter essentials edition"
)
# Two-letter tokens of card descriptors: US states and common country codes.
_CODES = _word_set(
    "al ak az ar ca co ct de fl ga hi id il in ia ks ky la me md ma mi mn ms mo mt ne nv nh nj nm ny nc "
    "nd oh ok or pa ri sc sd tn tx ut vt va wa wv wi wy dc us uk gb ie nl fr au nz sg jp lu se dk no fi "
    "es it pt ch at be pl ai"
)
_FOR = "for"

# Candidate ranks. A tenant alias beats everything; a fallback (vendor-level) name loses to any product.
TENANT, PRODUCT, FALLBACK = 3, 2, 1
MATCH_CACHE_SIZE = 8192
_DERIVED_CACHE_SIZE = 32

Key = tuple[str, ...]


class CatalogError(ValueError):
    """A catalog file is malformed; the message names the file, the entry and the field."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    id: str
    name: str
    vendor: str
    category: str
    domains: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    merchant_descriptors: tuple[str, ...] = ()
    sso: str = "unknown"  # saml | oidc | none | unknown
    list_price_per_seat: Decimal | None = None  # typical public list price, per seat per month
    price_currency: str = "USD"
    founded: int | None = None
    ownership: str = "unknown"  # public | private | acquired | open_source | unknown
    acquired_by: str | None = None
    end_of_life: date | None = None  # announced end of life / sunset date
    notes: str | None = None
    subcategories: tuple[str, ...] = field(default=())
    # The name is an ordinary word (Monday, Box, Notion): alone it matches only label-like strings.
    common_word: bool = False
    # Names of the vendor ("Microsoft", "MSFT", "Atlassian") that mean this entry only when the
    # string names no product of any entry.
    vendor_aliases: tuple[str, ...] = ()

    def names(self) -> Iterator[str]:
        """Every string that names this entry, for the alias index."""
        yield self.id.replace("_", " ").replace("-", " ")
        yield self.name
        yield from self.aliases
        yield from self.merchant_descriptors


def tokens(text: str) -> tuple[str, ...]:
    """Lower-case word tokens of ``text`` without payment-processor noise."""
    return tuple(t for t in _TOKEN.findall(text.lower()) if t not in _NOISE_TOKENS)


def slugify(text: str) -> str:
    """A stable app id for a product the catalog does not know: ``"Acme Wiki!"`` -> ``"acme-wiki"``."""
    slug = "-".join(_TOKEN.findall(text.lower()))[:64].strip("-")
    return slug or "unknown"


def words(text: str) -> Key:
    """The tokens the matcher compares: lower-case words, URL paths and processor prefixes removed."""
    lowered = _URL_PATH.sub(r"\1", text.lower())
    return tuple(t for t in _TOKEN.findall(lowered) if t not in _PROCESSOR_TOKENS)


def _stripped(key: Key) -> Key:
    end = len(key)
    while end > 1 and key[end - 1] in _SUFFIXES:
        end -= 1
    return key[:end]


def _is_filler(word: str) -> bool:
    return (
        word in _FILLER
        or len(word) == 1
        or (len(word) == 2 and word in _CODES)
        or any(c.isdigit() for c in word)
    )


@dataclass(frozen=True, slots=True)
class _Hit:
    rank: int  # TENANT, PRODUCT or FALLBACK
    weak: bool  # a common word alone: counts only in a label-like string
    app_id: str


def _entry_keys(entry: CatalogEntry) -> dict[Key, _Hit]:
    """The index keys of ``entry``: each name's words, and (when two words or more remain) the
    name without trailing company suffixes and top-level domains."""
    fallback = entry.category == MULTI_PRODUCT
    rank = FALLBACK if fallback else PRODUCT
    own_words = set(words(entry.name)) | set(words(entry.id.replace("_", " ")))
    vendor = {k for v in entry.vendor_aliases for k in (words(v), _stripped(words(v))) if _long_enough(k)}
    keys: dict[Key, _Hit] = {}
    names = [words(n) for n in (*entry.names(), *entry.domains)]
    for key in names:
        if _long_enough(key) and key not in vendor:
            weak = entry.common_word and len(key) == 1 and key[0] in own_words
            keys[key] = _Hit(rank, weak, entry.id)
    for key in names:
        short = _stripped(key)
        # "Notion Labs, Inc." is also "Notion Labs"; but "Cal.com" does not make "cal" a name.
        if len(short) > 1 and short not in keys and short not in vendor:
            keys[short] = _Hit(rank, False, entry.id)
    for key in vendor:
        keys[key] = _Hit(FALLBACK, False, entry.id)
    return keys


def _long_enough(key: Key) -> bool:
    return bool(key) and len("".join(key)) >= MIN_ALIAS_CHARS


def _label_like(found: Key, start: int, cut: int) -> bool:
    """Whether the word at ``start`` stands alone: every other word before "for" is filler."""
    if start >= cut:
        return False
    return all(_is_filler(w) for i, w in enumerate(found[:cut]) if i != start)


class Catalog:
    """An immutable set of entries with an alias index. Later entries win a contested alias."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self._entries: dict[str, CatalogEntry] = {}
        for entry in entries:
            self._entries[entry.id] = entry
        self._index: dict[Key, _Hit] = {}
        self._claims: dict[Key, list[str]] = {}
        for entry in self._entries.values():
            for key, hit in _entry_keys(entry).items():
                self._index[key] = hit
                self._claims.setdefault(key, []).append(entry.id)
        self._pinned: tuple[tuple[str, tuple[str, ...]], ...] = ()
        self._longest = max((len(k) for k in self._index), default=0)
        self._cached_match = functools.lru_cache(maxsize=MATCH_CACHE_SIZE)(self._match)
        self._derived: dict[tuple[tuple[str, tuple[str, ...]], ...], Catalog] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self._entries.values())

    def __contains__(self, app_id: object) -> bool:
        return app_id in self._entries

    def get(self, app_id: str) -> CatalogEntry | None:
        return self._entries.get(app_id)

    def match(self, text: str | None) -> CatalogEntry | None:
        """The entry ``text`` names, or ``None`` when no name of any entry occurs in it."""
        if not text:
            return None
        return self._cached_match(text)

    def _match(self, text: str) -> CatalogEntry | None:
        found = words(text)
        cut = found.index(_FOR) if _FOR in found else len(found)
        best: tuple[tuple[bool, bool, int, bool, int, int], str] | None = None
        for start in range(len(found)):
            for length in range(1, min(self._longest, len(found) - start) + 1):
                hit = self._index.get(found[start : start + length])
                if hit is None or (hit.weak and not _label_like(found, start, cut)):
                    continue
                score = (hit.rank == TENANT, start < cut, hit.rank, not hit.weak, length, -start)
                if best is None or score > best[0]:
                    best = (score, hit.app_id)
        if best is not None and best[0][0]:
            return self._entries[best[1]]
        exact = text.strip().lower()
        if exact in self._entries:  # an id typed as is ("1password", "acme-wiki")
            return self._entries[exact]
        return self._entries[best[1]] if best is not None else None

    def app_id_for(self, text: str) -> str:
        """The catalog id ``text`` names, else a slug of it, so unknown apps still get a stable id."""
        entry = self.match(text)
        return entry.id if entry else slugify(text)

    def ambiguous_aliases(self) -> dict[str, list[str]]:
        """Alias keys that more than one entry claims (the later one wins), for reviews and tests."""
        return {" ".join(k): ids for k, ids in self._claims.items() if len(set(ids)) > 1}

    def with_entries(self, extra: Iterable[CatalogEntry]) -> Catalog:
        """A copy with ``extra`` added; an entry with a known id replaces it."""
        return Catalog([*self._entries.values(), *extra])

    def with_aliases(self, aliases: Mapping[str, Iterable[str]]) -> Catalog:
        """A copy where ``app_id`` is also known by ``aliases[app_id]`` (tenant-specific names).

        Tenant aliases beat every built-in name (the first app listed wins an alias two apps claim).
        An alias for an id the catalog does not know creates a minimal, uncategorised entry. The
        copies are cached: the daemon asks for a tenant's catalog on every page it writes.
        """
        wanted = tuple((app_id, tuple(names)) for app_id, names in aliases.items())
        cached = self._derived.get(wanted)
        if cached is not None:
            return cached
        entries = dict(self._entries)
        for app_id, names in wanted:
            base = entries.get(app_id) or CatalogEntry(id=app_id, name=app_id, vendor="", category="")
            entries[app_id] = replace(base, aliases=base.aliases + names)
        derived = Catalog(entries.values())
        derived._pin(self._pinned + wanted)
        if len(self._derived) >= _DERIVED_CACHE_SIZE:
            self._derived.clear()
        self._derived[wanted] = derived
        return derived

    def _pin(self, pinned: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        self._pinned = pinned
        tenant: dict[Key, _Hit] = {}
        for app_id, names in pinned:
            for name in names:
                key = words(name)
                if _long_enough(key):
                    tenant.setdefault(key, _Hit(TENANT, False, app_id))
                short = _stripped(key)
                if len(short) > 1:
                    tenant.setdefault(short, _Hit(TENANT, False, app_id))
        self._index.update(tenant)
        self._longest = max((len(k) for k in self._index), default=0)


def taxonomy_markdown() -> str:
    """The category table of docs/catalog.md, from :data:`CATEGORIES`."""
    rows = ["| Category | What it covers |", "|---|---|"]
    rows += [f"| `{name}` | {text} |" for name, text in CATEGORIES.items()]
    return "\n".join(rows) + "\n"


# -- loading -----------------------------------------------------------------------------------------

_LIST_FIELDS = ("domains", "aliases", "merchant_descriptors", "subcategories", "vendor_aliases")
_TEXT_FIELDS = ("id", "name", "vendor", "category", "sso", "ownership", "price_currency")
_OPTIONAL_TEXT_FIELDS = ("acquired_by", "notes")
_REQUIRED = ("id", "name", "vendor", "category")
# The C loader reads the built-in files five times faster; both are safe loaders.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _value(key: str, value: Any, where: str) -> Any:
    """``value`` of field ``key`` as the entry holds it; a CatalogError naming the field if invalid."""
    if key in _LIST_FIELDS:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CatalogError(f"{where}: {key} must be a list of strings")
        return tuple(value)
    if key in _TEXT_FIELDS or (key in _OPTIONAL_TEXT_FIELDS and value is not None):
        if not isinstance(value, str):
            raise CatalogError(f"{where}: {key} must be a string, not {value!r}")
        return value
    if key == "list_price_per_seat" and value is not None:
        if isinstance(value, bool):
            raise CatalogError(f"{where}: list_price_per_seat {value!r} is not a number")
        try:
            price = Decimal(str(value))
        except ArithmeticError as exc:
            raise CatalogError(f"{where}: list_price_per_seat {value!r} is not a number") from exc
        if not price.is_finite() or price < 0:
            raise CatalogError(f"{where}: list_price_per_seat {value!r} must be a positive number")
        return price
    if key == "end_of_life" and value is not None and not isinstance(value, date):
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            raise CatalogError(f"{where}: end_of_life {value!r} is not a YYYY-MM-DD date") from exc
    if key == "founded" and value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise CatalogError(f"{where}: founded must be a year, not {value!r}")
    if key == "common_word" and not isinstance(value, bool):
        raise CatalogError(f"{where}: common_word must be true or false")
    return value


def _entry(raw: Any, where: str, base: CatalogEntry | None) -> CatalogEntry:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: an entry must be a mapping")
    known = set(CatalogEntry.__dataclass_fields__)
    unknown = sorted(str(k) for k in set(raw) - known)
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {', '.join(unknown)}")
    values = {key: _value(key, value, where) for key, value in raw.items()}
    if base is not None:
        entry = replace(base, **values)
    else:
        missing = [k for k in _REQUIRED if not values.get(k)]
        if missing:
            raise CatalogError(f"{where}: missing {', '.join(missing)}")
        entry = CatalogEntry(**values)
    if entry.sso not in SSO_VALUES:
        raise CatalogError(f"{where}: sso must be one of {sorted(SSO_VALUES)}, not {entry.sso!r}")
    if entry.ownership not in OWNERSHIP_VALUES:
        raise CatalogError(
            f"{where}: ownership must be one of {sorted(OWNERSHIP_VALUES)}, not {entry.ownership!r}"
        )
    return entry


def load_entries(path: Path, known: Mapping[str, CatalogEntry] | None = None) -> list[CatalogEntry]:
    """Entries of one catalog file (a top-level ``apps:`` list). An entry whose id is in ``known``
    overrides only the fields it names."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("apps"), list):
        raise CatalogError(f"{path}: expected a top-level 'apps:' list")
    entries: list[CatalogEntry] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["apps"]):
        app_id = raw.get("id") if isinstance(raw, dict) else None
        where = f"{path.name} apps[{index}]" + (f" ({app_id})" if isinstance(app_id, str) else "")
        if not isinstance(app_id, str) or not app_id:
            raise CatalogError(f"{where}: missing id")
        if app_id in seen:
            raise CatalogError(f"{where}: duplicate id {app_id!r} in this file")
        seen.add(app_id)
        entries.append(_entry(raw, where, (known or {}).get(app_id)))
    return entries


def load_catalog(extra_files: Iterable[Path] = (), directory: Path = CATALOG_DIR) -> Catalog:
    """The built-in catalog from ``directory`` plus the user's files, later files overriding."""
    entries: dict[str, CatalogEntry] = {}
    builtin_ids: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        for entry in load_entries(path):
            if entry.id in builtin_ids:
                raise CatalogError(f"{path.name}: id {entry.id!r} is also in {builtin_ids[entry.id]}")
            builtin_ids[entry.id] = path.name
            entries[entry.id] = entry
    for path in extra_files:
        for entry in load_entries(Path(path), entries):
            # Re-inserted at the end, so that a user's entry wins an alias a built-in one also claims.
            entries.pop(entry.id, None)
            entries[entry.id] = entry
    return Catalog(entries.values())


@functools.cache
def builtin_catalog() -> Catalog:
    return load_catalog()
