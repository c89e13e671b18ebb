"""Rightsizing: premium tiers whose holders only use what a cheaper tier has.

A Microsoft 365 E5 holder who, over the last ``window_days``, was active only in Exchange and Teams
pays for a suite they do not open: Office 365 E1 (or Business Basic) covers that. Each rule names an
app, the premium SKUs it applies to, the cheaper SKU, the features (per-workload activity, e.g. the
M365 active-user detail report's ``exchange``, ``teams``, ``sharepoint``, ``onedrive``) the cheaper
SKU covers, and its price when the tenant does not already buy it.

A holder is flagged when every feature they used in the window is covered by the cheaper SKU. A
holder with no per-feature activity at all is not judged here (the unused-seats analyzer handles
people who use nothing); a holder whose per-feature data comes only from stale sources is UNKNOWN.

Money: the monthly price difference between the two SKUs, in the tenant currency. Premium SKUs on an
annual commitment save at renewal, with the date in the evidence.

Usage reports cannot see everything a premium tier sells (security features, desktop-app installs,
phone system): the evidence says so, and the action asks the IT lead to check before downgrading.

Example policy::

    policy:
      rightsizing:
        window_days: 30
        rules:
          - app: m365
            from_skus: ["Microsoft 365 E5", "Microsoft 365 E3"]
            to_sku: Office 365 E1
            to_price: 10.00
            covers: [exchange, teams, yammer, skype]
        exclude_people: ["ceo@example.com"]
"""

from __future__ import annotations

import fnmatch
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, case, func, select, type_coerce
from sqlalchemy.orm import Session

from analyzers.base import Analyzer, AnalyzerSettings, FindingDraft, Severity, TenantView, Verdict
from collector.models import Account, Activity, Person, Seat
from collector.pools import EffectivePool, MissingExchangeRate, to_currency
from collector.timeutil import UtcDateTime

CENT = Decimal("0.01")
# Someone active only in mail and chat: no OneDrive or SharePoint files, which is where the desktop
# Office apps of the premium suites show up in the usage report.
M365_MAIL_AND_CHAT = ["exchange", "teams", "yammer", "skype"]


class TierRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    app: str
    from_skus: list[str] = Field(min_length=1)
    to_sku: str
    # Monthly list price of ``to_sku`` per seat in ``to_currency``, used when the tenant has no pool
    # for it; a pool the tenant already buys wins (its negotiated price).
    to_price: Decimal | None = Field(default=None, ge=0)
    to_currency: str = "USD"
    covers: list[str] = Field(min_length=1)
    caveat: str = (
        "usage reports do not show security features, desktop-app installs or phone system use: "
        "check the person does not need them before downgrading"
    )


DEFAULT_RULES = [
    TierRule(
        app="m365",
        from_skus=["Microsoft 365 E5", "Office 365 E5", "Microsoft 365 E3", "Office 365 E3"],
        to_sku="Office 365 E1",
        to_price=Decimal("10.00"),
        covers=M365_MAIL_AND_CHAT,
    ),
    TierRule(
        app="m365",
        from_skus=["Microsoft 365 Business Premium", "Microsoft 365 Business Standard"],
        to_sku="Microsoft 365 Business Basic",
        to_price=Decimal("6.00"),
        covers=M365_MAIL_AND_CHAT,
    ),
]


class RightsizingSettings(AnalyzerSettings):
    window_days: int = Field(default=30, ge=1)
    rules: list[TierRule] = DEFAULT_RULES
    exclude_people: list[str] = []


class Rightsizing(Analyzer):
    id = "rightsizing"
    title = "Premium tiers used like cheaper ones"
    settings_model = RightsizingSettings

    def run(self, session: Session, tenant: TenantView) -> list[FindingDraft]:
        settings = self.settings
        assert isinstance(settings, RightsizingSettings)
        pools = {pool.key: pool for pool in tenant.license_pools(session)}
        since = tenant.now - timedelta(days=settings.window_days)
        findings: list[FindingDraft] = []
        seen: set[tuple[str, str, str]] = set()
        for rule in settings.rules:
            target = pools.get((rule.app, rule.to_sku.casefold()))
            to_price = self._to_price(rule, target, tenant)
            for from_sku in rule.from_skus:
                pool = pools.get((rule.app, from_sku.casefold()))
                if pool is None:
                    continue
                from_price = _monthly(pool, tenant)
                for holder in self._holders(session, tenant, rule, rule.app, pool.sku, since):
                    key = (rule.app, pool.sku, holder["email"])
                    if key in seen or _excluded(holder["email"], settings.exclude_people):
                        continue
                    draft = self._judge(rule, pool, holder, from_price, to_price, tenant)
                    if draft is not None:
                        seen.add(key)
                        findings.append(draft)
        return findings

    def _to_price(self, rule: TierRule, target: EffectivePool | None, tenant: TenantView) -> Decimal | None:
        if target is not None and target.monthly_unit_price is not None:
            return _monthly(target, tenant)
        if rule.to_price is None:
            return None
        try:
            return to_currency(rule.to_price, rule.to_currency, tenant.currency, tenant.exchange_rates)
        except MissingExchangeRate:
            return None

    def _holders(
        self, session: Session, tenant: TenantView, rule: TierRule, app_id: str, sku: str, since: datetime
    ) -> list[dict[str, Any]]:
        """Holders of ``sku`` who, since ``since``, used some features and only ones ``rule`` covers,
        with the latest use of each of those features and every source reporting on their features.

        The database picks them (grouping each holder's per-feature activity), so only the few
        candidates for a cheaper tier come back, never every holder's activity.
        """
        tid = tenant.tenant_id
        holder_ids = (
            select(Account.person_id)
            .join(Seat, Seat.account_id == Account.id)
            .where(Seat.tenant_id == tid, Seat.app_id == app_id, Seat.sku == sku)
        )
        recent = Activity.last_seen_at >= since
        per_feature = and_(Activity.tenant_id == tid, Activity.app_id == app_id, Activity.feature != "")
        light = (
            select(Activity.person_id)
            .where(per_feature, Activity.person_id.in_(holder_ids))
            .group_by(Activity.person_id)
            .having(
                func.max(case((recent, 1), else_=0)) == 1,
                func.max(case((and_(recent, Activity.feature.not_in(rule.covers)), 1), else_=0)) == 0,
            )
        )
        stmt = (
            select(
                Person.id,
                Person.email,
                Person.department,
                Activity.feature,
                Activity.source,
                type_coerce(func.max(case((recent, Activity.last_seen_at))), UtcDateTime()),
            )
            .join(Activity, and_(Activity.person_id == Person.id, per_feature))
            .where(Person.tenant_id == tid, Person.id.in_(light))
            .group_by(Person.id, Person.email, Person.department, Activity.feature, Activity.source)
        )
        found: dict[int, dict[str, Any]] = {}
        for person_id, email, department, feature, source, last_seen in session.execute(stmt):
            entry = found.setdefault(
                person_id, {"email": email, "department": department, "features": {}, "sources": set()}
            )
            entry["sources"].add(source)
            if last_seen is not None:
                previous = entry["features"].get(feature)
                entry["features"][feature] = max(previous, last_seen) if previous else last_seen
        return sorted(found.values(), key=lambda info: str(info["email"]))

    def _judge(
        self,
        rule: TierRule,
        pool: EffectivePool,
        holder: dict[str, Any],
        from_price: Decimal | None,
        to_price: Decimal | None,
        tenant: TenantView,
    ) -> FindingDraft | None:
        features: dict[str, Any] = holder["features"]
        sources: set[str] = holder["sources"]
        if not features:
            return None  # used nothing at all: the unused-seats analyzer's case
        extra = sorted(set(features) - set(rule.covers))
        if extra:
            return None
        evidence: dict[str, Any] = {
            "person": holder["email"],
            "department": holder["department"],
            "app": rule.app,
            "sku": pool.sku,
            "cheaper_sku": rule.to_sku,
            "used_features": {f: t.date().isoformat() for f, t in sorted(features.items())},
            "covered_by_cheaper_sku": list(rule.covers),
            "reported_by": sorted(sources),
            "caveat": rule.caveat,
            "currency": tenant.currency,
        }
        stale = sorted(s for s in sources if s in tenant.stale_sources)
        if stale and len(stale) == len(sources):
            evidence["stale_sources"] = {s: tenant.stale_sources[s] for s in stale}
            return _draft(rule, pool, holder, Verdict.UNKNOWN, Decimal("0.00"), evidence, tenant)
        if from_price is None or to_price is None:
            evidence["price_note"] = "no price known for one of the two SKUs: add a contract"
            saving = Decimal("0.00")
        else:
            saving = max(from_price - to_price, Decimal(0)).quantize(CENT, ROUND_HALF_UP)
            evidence["monthly_price_now"] = str(from_price.quantize(CENT, ROUND_HALF_UP))
            evidence["monthly_price_cheaper"] = str(to_price.quantize(CENT, ROUND_HALF_UP))
        if pool.commitment == "annual" and pool.term_end and pool.term_end >= tenant.now.date():
            evidence["saving_from"] = pool.term_end.isoformat()
            when = f"at the renewal on {pool.term_end.isoformat()}"
        else:
            evidence["saving_from"] = tenant.now.date().isoformat()
            when = "from the next bill"
        evidence["action"] = (
            f"Move {holder['email']} from {pool.sku} to {rule.to_sku} {when}, after checking the caveat."
        )
        if saving == 0 and "price_note" not in evidence:
            return None  # the "cheaper" SKU is not cheaper here
        return _draft(rule, pool, holder, Verdict.FAIL, saving, evidence, tenant)


def _draft(
    rule: TierRule,
    pool: EffectivePool,
    holder: dict[str, Any],
    verdict: Verdict,
    saving: Decimal,
    evidence: dict[str, Any],
    tenant: TenantView,
) -> FindingDraft:
    used = ", ".join(sorted(holder["features"])) or "nothing"
    if verdict is Verdict.UNKNOWN:
        title = f"Whether {holder['email']} needs {pool.sku} is unknown: the usage source is stale"
    else:
        title = (
            f"{holder['email']} holds {pool.sku} but only used {used}: {rule.to_sku} would do "
            f"({saving} {tenant.currency}/month less)"
        )
    return FindingDraft(
        rule="downgrade",
        subject=holder["email"],
        title=title,
        verdict=verdict,
        severity=Severity.MEDIUM
        if saving >= 20
        else Severity.LOW
        if verdict is Verdict.FAIL
        else Severity.INFO,
        monthly_waste=saving,
        evidence=evidence,
        app_id=rule.app,
        sku=pool.sku,
    )


def _severity(verdict: Verdict, saving: Decimal) -> Severity:
    if verdict is not Verdict.FAIL:
        return Severity.INFO
    return Severity.MEDIUM if saving >= 20 else Severity.LOW


def _monthly(pool: EffectivePool, tenant: TenantView) -> Decimal | None:
    price = pool.monthly_unit_price
    if price is None:
        return None
    try:
        return to_currency(price, pool.currency, tenant.currency, tenant.exchange_rates)
    except MissingExchangeRate:
        return None


def _excluded(email: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(email, p.lower()) for p in patterns)
