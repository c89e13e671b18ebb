"""At-risk vendors: apps the tenant depends on whose vendor may not be there, or not the same, next year.

A score from 0 to 100 with its reasons, from:

- catalog facts: an announced end of life (the strongest signal), a young company, a recent
  acquisition, no single sign-on (access cannot be cut centrally when someone leaves);
- observed signals: spend rising (the last ``trend_days`` of card/invoice spend against the ones
  before), spend concentrated on one vendor (its share of the tenant's monthly spend), paid on a
  personal card (spend lines of kind ``expense``);
- the renewal calendar: a term ending within ``renewal_days`` makes a decision due now.

Each finding adds migration readiness: how many people and which departments depend on the app, and
which alternative in the same category the tenant already pays for.

Money: vendor risk is exposure, not waste. ``monthly_waste`` is 0; the monthly spend at risk is in
``evidence["monthly_spend_at_risk"]`` and in the title, and the score is exported as
``saaswatch_vendor_risk_score``.

Example policy::

    policy:
      vendor_risk:
        min_score: 30
        young_company_years: 3
        apps: {legacy_wiki: {exclude: true}}
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analyzers.base import Analyzer, AnalyzerSettings, FindingDraft, Severity, TenantView, Verdict
from analyzers.sql import unindexed
from collector.catalog import CatalogEntry
from collector.models import Account, Activity, App, Person, SpendLine
from collector.pools import EffectivePool, MissingExchangeRate, to_currency

CENT = Decimal("0.01")


class AppPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    exclude: bool = False


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    end_of_life: int = 60
    young_company: int = 15
    acquired: int = 15
    no_sso: int = 15
    spend_rising: int = 15
    concentration: int = 10
    personal_card: int = 10
    renewal_due: int = 10


class VendorRiskSettings(AnalyzerSettings):
    min_score: int = Field(default=30, ge=0, le=100)
    young_company_years: int = Field(default=3, ge=0)
    trend_days: int = Field(default=90, ge=7)
    rising_percent: int = Field(default=20, ge=1)
    concentration_percent: int = Field(default=30, ge=1, le=100)
    renewal_days: int = Field(default=90, ge=1)
    weights: Weights = Weights()
    apps: dict[str, AppPolicy] = {}


class VendorRisk(Analyzer):
    id = "vendor_risk"
    title = "At-risk vendors"
    settings_model = VendorRiskSettings

    def run(self, session: Session, tenant: TenantView) -> list[FindingDraft]:
        settings = self.settings
        assert isinstance(settings, VendorRiskSettings)
        apps = {
            app_id: (name, category)
            for app_id, name, category in session.execute(
                select(App.id, App.name, App.category).where(App.tenant_id == tenant.tenant_id)
            )
        }
        pools = tenant.license_pools(session)
        spend = self._monthly_spend(session, tenant, pools)
        total_spend = sum(spend.values(), Decimal(0))
        trend = self._trend(session, tenant, settings.trend_days)
        personal = self._personal_card(session, tenant)
        renewals = self._renewals(tenant, pools, settings.renewal_days)
        at_risk = []
        for app_id, (name, category) in sorted(apps.items()):
            if settings.apps.get(app_id, AppPolicy()).exclude:
                continue
            entry = tenant.catalog.get(app_id)
            reasons = self._reasons(
                settings, tenant, entry, spend.get(app_id), total_spend, trend.get(app_id),
                personal.get(app_id), renewals.get(app_id), len([v for v in spend.values() if v > 0]),
            )  # fmt: skip
            score = min(sum(points for points, _ in reasons), 100)
            if score >= settings.min_score:
                at_risk.append((app_id, name, category, entry, reasons, score))
        # Who depends on an app is only worked out for the apps at risk (usually a handful).
        people, departments = self._dependants(session, tenant, [app_id for app_id, *_ in at_risk])
        findings = []
        for app_id, name, category, entry, reasons, score in at_risk:
            alternatives = sorted(
                other
                for other, (_, other_category) in apps.items()
                if other != app_id and category and other_category == category and spend.get(other)
            )
            findings.append(
                self._draft(
                    app_id,
                    name,
                    score,
                    reasons,
                    spend.get(app_id),
                    people.get(app_id, 0),
                    departments.get(app_id, {}),
                    alternatives,
                    entry,
                    tenant,
                )
            )
        return findings

    def _reasons(
        self,
        settings: VendorRiskSettings,
        tenant: TenantView,
        entry: CatalogEntry | None,
        spend: Decimal | None,
        total_spend: Decimal,
        trend: tuple[Decimal, Decimal] | None,
        personal: Decimal | None,
        renewal: date | None,
        apps_with_spend: int,
    ) -> list[tuple[int, str]]:
        weights = settings.weights
        today = tenant.now.date()
        reasons: list[tuple[int, str]] = []
        if entry is not None:
            if entry.end_of_life is not None:
                when = "reached" if entry.end_of_life <= today else "announced for"
                reasons.append((weights.end_of_life, f"end of life {when} {entry.end_of_life.isoformat()}"))
            if entry.founded and today.year - entry.founded <= settings.young_company_years:
                reasons.append((weights.young_company, f"young company (founded {entry.founded})"))
            if entry.ownership == "acquired":
                by = f" by {entry.acquired_by}" if entry.acquired_by else ""
                reasons.append((weights.acquired, f"acquired{by}: roadmap and pricing may change"))
            if entry.sso == "none":
                reasons.append((weights.no_sso, "no single sign-on: access cannot be cut centrally"))
        if trend is not None:
            before, recent = trend
            if before > 0 and (recent - before) * 100 / before >= settings.rising_percent:
                rise = ((recent - before) * 100 / before).quantize(Decimal(1))
                reasons.append(
                    (weights.spend_rising, f"spend up {rise}% over the last {settings.trend_days} days")
                )
        # A share only means concentration when there is something to compare with.
        if spend and total_spend > 0 and apps_with_spend >= 3:
            share = (spend * 100 / total_spend).quantize(Decimal(1))
            if share >= settings.concentration_percent:
                reasons.append((weights.concentration, f"{share}% of the tenant's SaaS spend goes to it"))
        if personal:
            reasons.append(
                (weights.personal_card, f"{personal.quantize(CENT)} {tenant.currency} paid on personal cards")
            )
        if renewal is not None and reasons:
            reasons.append((weights.renewal_due, f"renews on {renewal.isoformat()}: decide before then"))
        return reasons

    def _monthly_spend(
        self, session: Session, tenant: TenantView, pools: list[EffectivePool]
    ) -> dict[str, Decimal]:
        """Monthly spend per app: license pools where known, else the last 90 days of spend lines."""
        result: dict[str, Decimal] = defaultdict(Decimal)
        for pool in pools:
            price = pool.monthly_unit_price
            if price is None or not pool.seats_purchased:
                continue
            try:
                converted = to_currency(price, pool.currency, tenant.currency, tenant.exchange_rates)
            except MissingExchangeRate:
                continue
            result[pool.app_id] += converted * pool.seats_purchased
        since = tenant.now.date() - timedelta(days=90)
        for app_id, currency, amount in session.execute(
            select(SpendLine.app_id, SpendLine.currency, func.sum(SpendLine.amount))
            .where(
                SpendLine.tenant_id == tenant.tenant_id,
                SpendLine.app_id.is_not(None),
                SpendLine.spent_on >= since,
            )
            .group_by(SpendLine.app_id, SpendLine.currency)
        ):
            if app_id in result and result[app_id] > 0:
                continue  # the pool already says what it costs; spend lines would double count
            try:
                monthly = to_currency(Decimal(amount) / 3, currency, tenant.currency, tenant.exchange_rates)
            except MissingExchangeRate:
                continue
            result[str(app_id)] += monthly
        return dict(result)

    def _trend(self, session: Session, tenant: TenantView, days: int) -> dict[str, tuple[Decimal, Decimal]]:
        """Spend per app in the window before the last ``days`` and in the last ``days``."""
        today = tenant.now.date()
        start, middle = today - timedelta(days=2 * days), today - timedelta(days=days)
        # One label object in SELECT and GROUP BY renders as its name, so PostgreSQL sees one expression.
        recent = (SpendLine.spent_on >= middle).label("recent")
        rows = session.execute(
            select(SpendLine.app_id, recent, SpendLine.currency, func.sum(SpendLine.amount))
            .where(
                SpendLine.tenant_id == tenant.tenant_id,
                SpendLine.app_id.is_not(None),
                SpendLine.spent_on >= start,
                SpendLine.spent_on <= today,
            )
            .group_by(SpendLine.app_id, recent, SpendLine.currency)
        )
        result: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for app_id, is_recent, currency, amount in rows:
            try:
                converted = to_currency(Decimal(amount), currency, tenant.currency, tenant.exchange_rates)
            except MissingExchangeRate:
                continue
            result[str(app_id)][1 if is_recent else 0] += converted
        return {app_id: (before, recent) for app_id, (before, recent) in result.items()}

    def _personal_card(self, session: Session, tenant: TenantView) -> dict[str, Decimal]:
        rows = session.execute(
            select(SpendLine.app_id, SpendLine.currency, func.sum(SpendLine.amount))
            .where(
                SpendLine.tenant_id == tenant.tenant_id,
                SpendLine.app_id.is_not(None),
                SpendLine.kind == "expense",
            )
            .group_by(SpendLine.app_id, SpendLine.currency)
        )
        result: dict[str, Decimal] = defaultdict(Decimal)
        for app_id, currency, amount in rows:
            try:
                result[str(app_id)] += to_currency(
                    Decimal(amount), currency, tenant.currency, tenant.exchange_rates
                )
            except MissingExchangeRate:
                continue
        return dict(result)

    def _dependants(
        self, session: Session, tenant: TenantView, app_ids: list[str]
    ) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
        """People per app of ``app_ids`` (an account or any activity) and their departments, counted
        in SQL. Both tables are read whole (their indexes lead with the tenant, then not the app)."""
        if not app_ids:
            return {}, {}
        tid = tenant.tenant_id
        users = (
            select(Account.app_id.label("app_id"), Account.person_id.label("person_id"))
            .where(
                unindexed(Account.tenant_id) == tid,
                Account.app_id.in_(app_ids),
                Account.person_id.is_not(None),
            )
            .union(
                select(Activity.app_id, Activity.person_id).where(
                    unindexed(Activity.tenant_id) == tid,
                    Activity.app_id.in_(app_ids),
                    Activity.last_seen_at.is_not(None),
                )
            )
            .subquery()
        )
        rows = session.execute(
            select(users.c.app_id, Person.department, func.count())
            .join(Person, Person.id == users.c.person_id)
            .group_by(users.c.app_id, Person.department)
        )
        people: dict[str, int] = defaultdict(int)
        departments: dict[str, dict[str, int]] = defaultdict(dict)
        for app_id, department, count in rows:
            people[app_id] += count
            departments[app_id][department or "(unknown)"] = count
        return dict(people), dict(departments)

    def _renewals(self, tenant: TenantView, pools: list[EffectivePool], days: int) -> dict[str, date]:
        today = tenant.now.date()
        result: dict[str, date] = {}
        for pool in pools:
            if pool.term_end and today <= pool.term_end <= today + timedelta(days=days):
                result[pool.app_id] = min(result.get(pool.app_id, pool.term_end), pool.term_end)
        return result

    def _draft(
        self,
        app_id: str,
        name: str,
        score: int,
        reasons: list[tuple[int, str]],
        spend: Decimal | None,
        people: int,
        departments: dict[str, int],
        alternatives: list[str],
        entry: CatalogEntry | None,
        tenant: TenantView,
    ) -> FindingDraft:
        at_risk = (spend or Decimal(0)).quantize(CENT, ROUND_HALF_UP)
        top = sorted(departments.items(), key=lambda kv: (-kv[1], kv[0]))
        evidence: dict[str, Any] = {
            "app": app_id,
            "score": score,
            "reasons": [{"points": points, "reason": reason} for points, reason in reasons],
            "monthly_spend_at_risk": str(at_risk),
            "currency": tenant.currency,
            "people_depending": people,
            "departments": dict(top),
            "alternatives_already_paid_for": alternatives,
            "vendor": entry.vendor if entry else None,
        }
        if alternatives:
            evidence["action"] = (
                f"Plan a move of {people} people to {alternatives[0]}, which the tenant already pays for, "
                "before the next renewal."
            )
        else:
            evidence["action"] = f"Name an owner for {name}, export its data and shortlist an alternative."
        main_reason = max(reasons)[1]
        return FindingDraft(
            rule="vendor_risk",
            subject=app_id,
            title=f"{name} is at risk (score {score}/100: {main_reason}); {people} people and "
            f"{at_risk} {tenant.currency}/month depend on it",
            verdict=Verdict.FAIL,
            severity=Severity.HIGH if score >= 70 else Severity.MEDIUM if score >= 50 else Severity.LOW,
            monthly_waste=Decimal("0.00"),
            evidence=evidence,
            app_id=app_id,
        )
