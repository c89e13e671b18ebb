"""The vendor catalog: which SaaS product a messy string names.

Apps show up under many names: an Okta app label ("Slack"), an OAuth client name ("Zoom for Google
Workspace"), a card merchant descriptor ("ZOOM.US 888-799-9666", "SQ *NOTION LABS"), an invoice line
("Atlassian*Jira"). The catalog is data (``config/catalog/*.yaml``, reviewed like code) plus this
matcher. Users add or override entries with their own YAML files (``catalog_files`` in the config);
tenants add aliases for their own internal apps (``apps.<id>.aliases``).

Matching works on normalised word tokens: the longest alias found anywhere in the string wins, so
"Atlassian Jira Service Management" beats "Atlassian Jira", which beats "Atlassian". A domain in
the string (``zoom.us``, ``https://acme.slack.com``) is matched before any alias.
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

_TOKEN = re.compile(r"[a-z0-9]+")
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}")
# Payment processors and their prefixes say nothing about the product behind them.
_NOISE_TOKENS = frozenset({"sq", "tst", "paypal", "pp", "www", "com", "inc", "llc", "ltd", "gmbh"})


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


class Catalog:
    """An immutable set of entries with an alias and domain index."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self._entries: dict[str, CatalogEntry] = {}
        for entry in entries:
            self._entries[entry.id] = entry
        self._aliases: dict[tuple[str, ...], str] = {}
        self._domains: dict[str, str] = {}
        for entry in self._entries.values():
            for name in entry.names():
                key = tokens(name)
                if key and len("".join(key)) >= MIN_ALIAS_CHARS:
                    self._aliases.setdefault(key, entry.id)
            for domain in entry.domains:
                self._domains.setdefault(domain.lower().lstrip("."), entry.id)
        self._longest = max((len(k) for k in self._aliases), default=0)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self._entries.values())

    def __contains__(self, app_id: object) -> bool:
        return app_id in self._entries

    def get(self, app_id: str) -> CatalogEntry | None:
        return self._entries.get(app_id)

    def match(self, text: str | None) -> CatalogEntry | None:
        """The entry ``text`` names, or ``None`` when no domain or alias of any entry occurs in it."""
        if not text:
            return None
        lowered = text.lower()
        if lowered in self._entries:
            return self._entries[lowered]
        for domain in _DOMAIN.findall(lowered):
            found = self._match_domain(domain)
            if found:
                return self._entries[found]
        words = tokens(lowered)
        best: tuple[int, int] | None = None  # (length, -position)
        best_id = None
        for start in range(len(words)):
            for length in range(min(self._longest, len(words) - start), 0, -1):
                app_id = self._aliases.get(words[start : start + length])
                if app_id is not None:
                    if best is None or (length, -start) > best:
                        best, best_id = (length, -start), app_id
                    break
        return self._entries[best_id] if best_id else None

    def _match_domain(self, domain: str) -> str | None:
        labels = domain.split(".")
        for i in range(len(labels) - 1):  # acme.slack.com -> slack.com
            found = self._domains.get(".".join(labels[i:]))
            if found:
                return found
        return None

    def app_id_for(self, text: str) -> str:
        """The catalog id ``text`` names, else a slug of it, so unknown apps still get a stable id."""
        entry = self.match(text)
        return entry.id if entry else slugify(text)

    def with_entries(self, extra: Iterable[CatalogEntry]) -> Catalog:
        """A copy with ``extra`` added; an entry with a known id replaces it."""
        return Catalog([*self._entries.values(), *extra])

    def with_aliases(self, aliases: Mapping[str, Iterable[str]]) -> Catalog:
        """A copy where ``app_id`` is also known by ``aliases[app_id]`` (tenant-specific names).

        An alias for an id the catalog does not know creates a minimal, uncategorised entry.
        """
        entries = dict(self._entries)
        for app_id, names in aliases.items():
            names = tuple(names)
            base = entries.get(app_id) or CatalogEntry(id=app_id, name=app_id, vendor="", category="")
            entries[app_id] = replace(base, aliases=base.aliases + names)
        # Tenant aliases must win over built-in aliases of the same words: index them first.
        ordered = [entries[a] for a in aliases if a in entries] + [
            e for i, e in entries.items() if i not in aliases
        ]
        return Catalog(ordered)


# -- loading -----------------------------------------------------------------------------------------

_LIST_FIELDS = ("domains", "aliases", "merchant_descriptors", "subcategories")
_REQUIRED = ("id", "name", "vendor", "category")


def _entry(raw: Any, where: str, base: CatalogEntry | None) -> CatalogEntry:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: an entry must be a mapping")
    known = set(CatalogEntry.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _LIST_FIELDS:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise CatalogError(f"{where}: {key} must be a list of strings")
            value = tuple(value)
        elif key == "list_price_per_seat" and value is not None:
            try:
                value = Decimal(str(value))
            except ArithmeticError as exc:
                raise CatalogError(f"{where}: list_price_per_seat {value!r} is not a number") from exc
        elif key == "end_of_life" and value is not None and not isinstance(value, date):
            try:
                value = date.fromisoformat(str(value))
            except ValueError as exc:
                raise CatalogError(f"{where}: end_of_life {value!r} is not a YYYY-MM-DD date") from exc
        elif key == "founded" and value is not None and not isinstance(value, int):
            raise CatalogError(f"{where}: founded must be a year")
        values[key] = value
    if base is not None:
        return replace(base, **values)
    missing = [k for k in _REQUIRED if not values.get(k)]
    if missing:
        raise CatalogError(f"{where}: missing {', '.join(missing)}")
    entry = CatalogEntry(**values)
    if entry.sso not in SSO_VALUES:
        raise CatalogError(f"{where}: sso must be one of {sorted(SSO_VALUES)}")
    if entry.ownership not in OWNERSHIP_VALUES:
        raise CatalogError(f"{where}: ownership must be one of {sorted(OWNERSHIP_VALUES)}")
    return entry


def load_entries(path: Path, known: Mapping[str, CatalogEntry] | None = None) -> list[CatalogEntry]:
    """Entries of one catalog file (a top-level ``apps:`` list). An entry whose id is in ``known``
    overrides only the fields it names."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("apps"), list):
        raise CatalogError(f"{path}: expected a top-level 'apps:' list")
    entries: list[CatalogEntry] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["apps"]):
        app_id = raw.get("id") if isinstance(raw, dict) else None
        where = f"{path.name} apps[{index}]" + (f" ({app_id})" if app_id else "")
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
            entries[entry.id] = entry
    return Catalog(entries.values())


@functools.cache
def builtin_catalog() -> Catalog:
    return load_catalog()
