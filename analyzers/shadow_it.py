"""Shadow IT: apps nobody approved that people pay for or hand company data to.

One finding per app that is not sanctioned and has either:

- spend: card, invoice or subscription lines in the last ``window_days`` (default 90) for the app,
  or for a merchant the connector could not map to an app (``spend_line.app_id`` empty). Such a
  merchant is looked up in the tenant's catalog (with its aliases); one it still does not know counts
  only when it looks like software: charged at least twice at least 28 days apart (a subscription),
  or a word of ``software_words`` in its name or description. Restaurants and flights do not recur
  monthly, and ``ignore`` takes care of those that do.
- OAuth grants: people who let the app read company data, with who granted what. Scopes in
  ``risky_scopes`` are called out by name (full mail, all files, the directory); ``offline_access`` is
  not risky by itself.

An app is sanctioned when ``app.sanctioned`` is true (``apps.<id>.sanctioned`` in the config), when it
is in ``sanctioned`` here, or -- unless ``managed_apps_are_sanctioned`` is false -- when its
sanctioned flag is unset and IT manages it: the tenant has a license pool for it or sees its accounts
through a connector. ``sanctioned: false`` always wins.

Money: the average monthly spend on the app over the window (the window's total divided by
``window_days`` / 30), in the tenant currency. Grants without spend have no money; their severity
comes from the riskiest scope granted. A finding's severity is the higher of its scope risk and its
money (100 a month and more is MEDIUM, 1000 HIGH).

UNKNOWN with no money when a source of the app's spend or grants is stale.

Example policy::

    policy:
      shadow_it:
        window_days: 90
        sanctioned: [calendly]            # approved, though nobody set apps.calendly.sanctioned
        ignore: ["uber*", "delta air*"]   # app ids or merchants (shell-style, any case)
        risky_scopes:
          - {label: full mail access, severity: high, patterns: ["https://mail.google.com/", "mail.read"]}
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from analyzers.base import Analyzer, AnalyzerSettings, FindingDraft, Severity, TenantView, Verdict
from analyzers.unused_seats import severity_for
from collector.catalog import slugify, tokens
from collector.models import Account, App, LicensePool, OAuthGrant, Person, SpendLine
from collector.pools import MissingExchangeRate, to_currency

CENT = Decimal("0.01")
DAYS_PER_MONTH = 30
RANK = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}
GRAPH = "https://graph.microsoft.com/"
EVIDENCE_PEOPLE = 50  # people listed per finding; the count is always complete


class RiskyScope(BaseModel):
    """Scopes that give an app a dangerous reach, matched case-insensitively (shell-style patterns).

    Microsoft Graph scopes match with or without their ``https://graph.microsoft.com/`` prefix.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    label: str
    severity: Severity = Severity.HIGH
    patterns: list[str] = Field(min_length=1)

    def matches(self, scope: str) -> bool:
        text = scope.strip().lower()
        bare = text.removeprefix(GRAPH)
        return any(fnmatch.fnmatchcase(t, p.lower()) for p in self.patterns for t in {text, bare})


DEFAULT_RISKY_SCOPES = [
    RiskyScope(
        label="full mail access",
        patterns=[
            "https://mail.google.com/",
            "https://www.googleapis.com/auth/gmail.modify",
            "https://www.googleapis.com/auth/gmail.readonly",
            "mail.readwrite",
            "mail.read",
        ],
    ),
    RiskyScope(
        label="all files",
        patterns=["https://www.googleapis.com/auth/drive", "files.readwrite.all"],
    ),
    RiskyScope(
        label="the directory",
        patterns=[
            "https://www.googleapis.com/auth/admin.directory.*",
            "directory.readwrite.all",
            "directory.read.all",
        ],
    ),
]


class ShadowItSettings(AnalyzerSettings):
    window_days: int = Field(default=90, ge=1)
    # App ids approved in addition to those with ``apps.<id>.sanctioned: true``.
    sanctioned: list[str] = []
    # App ids or merchant names (shell-style patterns, any case) never reported.
    ignore: list[str] = []
    managed_apps_are_sanctioned: bool = True
    spend_kinds: list[str] = ["card", "invoice", "subscription", "expense"]
    # Words that make an unknown merchant software even when it charged only once.
    software_words: list[str] = ["software", "saas", "subscription", "subscr", "license", "licence", "cloud"]
    risky_scopes: list[RiskyScope] = DEFAULT_RISKY_SCOPES

    def ignores(self, *names: str) -> bool:
        return any(fnmatch.fnmatchcase(n.lower(), p.lower()) for p in self.ignore for n in names)


@dataclass
class Shadow:
    """What is known about one unsanctioned app."""

    key: str
    name: str
    spend: Decimal = Decimal(0)
    charges: list[dict[str, Any]] = field(default_factory=list)
    unconverted: set[str] = field(default_factory=set)
    grants: int = 0
    people: set[str] = field(default_factory=set)
    scopes: set[str] = field(default_factory=set)
    risky: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    risk: Severity = Severity.INFO
    sources: set[str] = field(default_factory=set)


class ShadowIt(Analyzer):
    id = "shadow_it"
    title = "Shadow IT"
    settings_model = ShadowItSettings

    def run(self, session: Session, tenant: TenantView) -> list[FindingDraft]:
        settings = self.settings
        assert isinstance(settings, ShadowItSettings)
        apps = self._apps(session, tenant.tenant_id)
        sanctioned = {
            app_id
            for app_id, (_, _, flag, managed) in apps.items()
            if flag is True or (flag is None and managed and settings.managed_apps_are_sanctioned)
        } | (set(settings.sanctioned) - {a for a, (_, _, flag, _) in apps.items() if flag is False})
        found: dict[str, Shadow] = {}
        self._spend(session, tenant, settings, apps, sanctioned, found)
        self._grants(session, tenant, settings, apps, sanctioned, found)
        categories = {app_id: category for app_id, (_, category, _, _) in apps.items() if category}
        return [
            self._draft(shadow, tenant, settings, categories, sanctioned, apps)
            for shadow in sorted(found.values(), key=lambda s: s.key)
        ]

    def _apps(self, session: Session, tid: str) -> dict[str, tuple[str, str | None, bool | None, bool]]:
        """Every app: name, category, sanctioned flag, and whether IT manages it (pool or accounts)."""
        # Two scans with DISTINCT, not an EXISTS per app: no index leads with (tenant_id, app_id).
        managed = set(
            session.scalars(select(LicensePool.app_id).where(LicensePool.tenant_id == tid).distinct())
        )
        managed |= set(session.scalars(select(Account.app_id).where(Account.tenant_id == tid).distinct()))
        stmt = select(App.id, App.name, App.category, App.sanctioned).where(App.tenant_id == tid)
        return {row[0]: (row[1], row[2], row[3], row[0] in managed) for row in session.execute(stmt)}

    def _key(self, app_id: str | None, text: str, tenant: TenantView) -> tuple[str, bool]:
        """The app a spend line or grant is about, and whether the catalog (or connector) knew it."""
        if app_id:
            return app_id, True
        entry = tenant.catalog.match(text)
        return (entry.id, True) if entry else (slugify(text), False)

    def _spend(
        self,
        session: Session,
        tenant: TenantView,
        settings: ShadowItSettings,
        apps: dict[str, tuple[str, str | None, bool | None, bool]],
        sanctioned: set[str],
        found: dict[str, Shadow],
    ) -> None:
        today = tenant.now.date()
        since = today - timedelta(days=settings.window_days)
        stmt = (
            select(
                SpendLine.app_id,
                SpendLine.merchant,
                SpendLine.description,
                SpendLine.kind,
                SpendLine.currency,
                SpendLine.source,
                func.sum(SpendLine.amount),
                func.count(),
                func.min(SpendLine.spent_on),
                func.max(SpendLine.spent_on),
            )
            .where(
                SpendLine.tenant_id == tenant.tenant_id,
                SpendLine.kind.in_(settings.spend_kinds),
                SpendLine.spent_on > since,
                SpendLine.spent_on <= today,
                or_(SpendLine.app_id.is_(None), SpendLine.app_id.not_in(sorted(sanctioned))),
            )
            .group_by(
                SpendLine.app_id,
                SpendLine.merchant,
                SpendLine.description,
                SpendLine.kind,
                SpendLine.currency,
                SpendLine.source,
            )
        )
        unknown: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for row in session.execute(stmt):
            app_id, merchant = row[0], row[1]
            key, known = self._key(app_id, merchant, tenant)
            if key in sanctioned or settings.ignores(key, merchant):
                continue
            if known:
                self._add_charges(found, key, apps, row, tenant)
            else:
                unknown[key].append(tuple(row))
        for key, rows in unknown.items():
            if _looks_like_software(rows, settings.software_words):
                for line in rows:
                    self._add_charges(found, key, apps, line, tenant)

    def _add_charges(
        self,
        found: dict[str, Shadow],
        key: str,
        apps: dict[str, tuple[str, str | None, bool | None, bool]],
        row: Any,
        tenant: TenantView,
    ) -> None:
        _, merchant, description, kind, currency, source, total, count, first, last = row
        shadow = found.setdefault(key, Shadow(key, apps[key][0] if key in apps else merchant))
        shadow.sources.add(source)
        try:
            shadow.spend += to_currency(Decimal(total), currency, tenant.currency, tenant.exchange_rates)
        except MissingExchangeRate:
            shadow.unconverted.add(currency)
        shadow.charges.append(
            {
                "merchant": merchant,
                "description": description,
                "kind": kind,
                "charges": count,
                "total": str(Decimal(total).quantize(CENT, ROUND_HALF_UP)),
                "currency": currency,
                "first": _iso(first),
                "last": _iso(last),
            }
        )

    def _grants(
        self,
        session: Session,
        tenant: TenantView,
        settings: ShadowItSettings,
        apps: dict[str, tuple[str, str | None, bool | None, bool]],
        sanctioned: set[str],
        found: dict[str, Shadow],
    ) -> None:
        stmt = (
            select(OAuthGrant.app_name, OAuthGrant.scopes, OAuthGrant.source, Person.email)
            .join(Person, OAuthGrant.person_id == Person.id)
            .where(OAuthGrant.tenant_id == tenant.tenant_id)
            .execution_options(yield_per=1000)
        )
        # Worked out once per app name and once per scope: a large tenant has tens of thousands of
        # grants but a few hundred apps and scopes, and pattern matching is most of the cost.
        keys: dict[str, tuple[str, bool]] = {}  # app name -> (app key, reported at all)
        risks: dict[str, list[RiskyScope]] = {}  # scope -> the risky scopes it matches
        for app_name, scopes, source, email in session.execute(stmt):
            known = keys.get(app_name)
            if known is None:
                key = self._key(None, app_name, tenant)[0]
                reported = key not in sanctioned and not settings.ignores(key, app_name)
                known = keys[app_name] = (key, reported)
            key, reported = known
            if not reported:
                continue
            shadow = found.setdefault(key, Shadow(key, apps[key][0] if key in apps else app_name))
            shadow.grants += 1
            shadow.people.add(email)
            shadow.sources.add(source)
            for scope in scopes or []:
                text = str(scope)
                shadow.scopes.add(text)
                matched = risks.get(text)
                if matched is None:
                    matched = risks[text] = [r for r in settings.risky_scopes if r.matches(text)]
                for risky in matched:
                    shadow.risky[risky.label].add(email)
                    shadow.risk = max(shadow.risk, risky.severity, key=RANK.__getitem__)

    def _draft(
        self,
        shadow: Shadow,
        tenant: TenantView,
        settings: ShadowItSettings,
        categories: dict[str, str],
        sanctioned: set[str],
        apps: dict[str, tuple[str, str | None, bool | None, bool]],
    ) -> FindingDraft:
        months = Decimal(settings.window_days) / DAYS_PER_MONTH
        monthly = (shadow.spend / months).quantize(CENT, ROUND_HALF_UP)
        category = categories.get(shadow.key) or _catalog_category(tenant, shadow.key)
        alternatives = sorted(a for a in sanctioned if category and categories.get(a) == category)
        evidence: dict[str, Any] = {
            "app": shadow.key,
            "name": shadow.name,
            "category": category,
            "sanctioned": apps[shadow.key][2] if shadow.key in apps else None,
            "window_days": settings.window_days,
            "monthly_spend": str(monthly),
            "spend_in_window": str(shadow.spend.quantize(CENT, ROUND_HALF_UP)),
            "currency": tenant.currency,
            "charges": sorted(shadow.charges, key=lambda c: (c["merchant"], c["description"] or ""))[:20],
            "granted_by": sorted(shadow.people)[:EVIDENCE_PEOPLE],
            "people_granting": len(shadow.people),
            "grants": shadow.grants,
            "scopes": sorted(shadow.scopes),
            "risky_scopes": {label: sorted(p)[:EVIDENCE_PEOPLE] for label, p in sorted(shadow.risky.items())},
            "sanctioned_alternatives": alternatives,
            "reported_by": sorted(shadow.sources),
        }
        if shadow.unconverted:
            evidence["price_note"] = (
                "spend in "
                + ", ".join(sorted(shadow.unconverted))
                + (" is left out: add exchange_rates for it")
            )
        stale = {s: tenant.stale_sources[s] for s in sorted(shadow.sources) if s in tenant.stale_sources}
        if stale:
            evidence["stale_sources"] = stale
            return FindingDraft(
                rule="unsanctioned_app",
                subject=shadow.key,
                title=f"{shadow.name} is not a sanctioned app; what it costs and who uses it is unknown: "
                + "; ".join(f"{s} {r}" for s, r in stale.items()),
                verdict=Verdict.UNKNOWN,
                severity=Severity.INFO,
                monthly_waste=Decimal("0.00"),
                evidence=evidence,
                app_id=shadow.key,
            )
        severity = max(shadow.risk, severity_for(monthly) if monthly else Severity.LOW, key=RANK.__getitem__)
        evidence["action"] = _action(shadow, monthly, alternatives, tenant)
        return FindingDraft(
            rule="unsanctioned_app",
            subject=shadow.key,
            title=_title(shadow, monthly, settings.window_days, tenant),
            verdict=Verdict.FAIL,
            severity=severity,
            monthly_waste=monthly,
            evidence=evidence,
            app_id=shadow.key,
        )


def _looks_like_software(rows: list[tuple[Any, ...]], words: list[str]) -> bool:
    """An unknown merchant is software when it recurs (28+ days apart) or names itself so."""
    first = min(r[8] for r in rows)
    last = max(r[9] for r in rows)
    charges = sum(r[7] for r in rows)
    if charges >= 2 and (last - first).days >= 28:
        return True
    wanted = {w.lower() for w in words}
    return any(wanted & set(tokens(f"{r[1]} {r[2] or ''}")) for r in rows)


def _catalog_category(tenant: TenantView, key: str) -> str | None:
    entry = tenant.catalog.get(key)
    return entry.category or None if entry else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _title(shadow: Shadow, monthly: Decimal, window_days: int, tenant: TenantView) -> str:
    parts = []
    if monthly:
        parts.append(f"paid {monthly} {tenant.currency}/month (last {window_days} days)")
    if shadow.people:
        parts.append(f"{len(shadow.people)} people granted it access")
    if shadow.risky:
        parts.append("with " + ", ".join(f"{label} ({len(p)})" for label, p in sorted(shadow.risky.items())))
    if not parts:
        parts.append("charged in the window")
    return f"{shadow.name} is not a sanctioned app: " + ", ".join(parts)


def _action(shadow: Shadow, monthly: Decimal, alternatives: list[str], tenant: TenantView) -> str:
    steps = [f"Decide whether {shadow.name} is approved."]
    if alternatives:
        steps.append(f"The tenant already pays for {', '.join(alternatives)} in the same category.")
    if monthly:
        steps.append(
            f"If it is, buy it centrally and mark it sanctioned; if not, cancel the charges "
            f"({monthly} {tenant.currency}/month)."
        )
    if shadow.risky:
        steps.append(
            "Revoke the grants with "
            + ", ".join(sorted(shadow.risky))
            + " unless it is approved (Google Admin > Security > API controls, or Entra ID > "
            "Enterprise applications)."
        )
    elif shadow.people:
        steps.append("If it is not approved, revoke its grants and tell the people who granted them.")
    return " ".join(steps)
