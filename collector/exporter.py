"""Prometheus metrics read from the store at scrape time (a custom ``prometheus_client`` Collector).

Money is a gauge per month in the tenant's reporting currency. No label ever names a person: people
live in the store and in reports, not in Prometheus. ``docs/metrics.md`` lists every metric here, and
a test keeps the two in step.
"""

from __future__ import annotations

import logging
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import collector
from analyzers.registry import analyzer_ids
from analyzers.renewals import term_of
from collector.analysis import analysis_runs, evaluation_time
from collector.config import Config, TenantConfig
from collector.health import source_health
from collector.models import App, Credential, Finding, SyncRun
from collector.pools import MissingExchangeRate, effective_pools, to_currency
from collector.schedule import period_of
from collector.showback import showback
from collector.store import Store
from collector.timeutil import utcnow
from collector.waste import deduplicated_waste

log = logging.getLogger("saaswatch.exporter")

SEAT_RULES = {"inactive": "inactive", "never_active": "never_used"}
RUN_STATUSES = ("success", "partial", "failed", "aborted")
# term_of() only answers for terms inside one of the windows it is given: a window this wide takes all.
ANY_WINDOW = 100 * 366


def _midnight(day: date) -> float:
    """00:00 UTC of ``day`` as Unix time: dates in contracts mean the start of that day."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


class StoreCollector(Collector):
    """Yields the saaswatch metric families; a store outage gives ``saaswatch_store_up 0``, not an error."""

    def __init__(self, store: Store, config: Config, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.config = config
        self.clock = clock

    def describe(self) -> Iterable[Metric]:
        # Registering must not query the store, so describe() returns nothing (prometheus_client then
        # skips the duplicate-name check for this collector).
        return []

    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        build = InfoMetricFamily("saaswatch_build", "saaswatch version and runtime")
        build.add_metric([], {"version": collector.__version__, "python_version": platform.python_version()})
        yield build
        families: list[Metric] = []
        up = 1
        try:
            with self.store.sessions() as session:
                families = list(self._collect(session))
        except Exception as exc:
            up = 0
            log.error("metrics: reading the store failed: %s", type(exc).__name__)
        yield from families
        yield GaugeMetricFamily("saaswatch_store_up", "1 if the last scrape could read the store", value=up)
        yield GaugeMetricFamily(
            "saaswatch_scrape_duration_seconds",
            "Time spent reading the store for this scrape",
            value=time.monotonic() - started,
        )

    def _collect(self, session: Session) -> Iterator[Metric]:
        tenant_info = InfoMetricFamily("saaswatch_tenant", "Tenants this instance watches", labels=["tenant"])
        now = self.clock()
        for tenant in self.config.tenants:
            tenant_info.add_metric(
                [tenant.id],
                {
                    "name": tenant.name,
                    "currency": tenant.currency,
                    "evaluated_at": evaluation_time(tenant, now).date().isoformat(),
                },
            )
        yield tenant_info
        yield from self._apps(session)
        yield from self._licenses(session)
        yield from self._contracts(session, now)
        yield from self._findings(session)
        yield from self._showback(session)
        yield from self._connectors(session, now)
        yield from self._analyses(session)
        yield from self._credentials(session)
        yield self._thresholds()

    def _apps(self, session: Session) -> Iterator[Metric]:
        info = InfoMetricFamily(
            "saaswatch_app",
            "Apps known per tenant with name, category and vendor (join on tenant, app)",
            labels=["tenant", "app"],
        )
        tenant_ids = [t.id for t in self.config.tenants]
        for app in session.scalars(
            select(App).where(App.tenant_id.in_(tenant_ids)).order_by(App.tenant_id, App.id)
        ):
            sanctioned = "unknown" if app.sanctioned is None else str(app.sanctioned).lower()
            info.add_metric(
                [app.tenant_id, app.id],
                {
                    "name": app.name,
                    "category": app.category or "uncategorised",
                    "vendor": app.vendor or "",
                    "sanctioned": sanctioned,
                },
            )
        yield info

    def _contracts(self, session: Session, now: datetime) -> Iterator[Metric]:
        labels = ["tenant", "app", "sku"]
        term_end = GaugeMetricFamily(
            "saaswatch_contract_term_end_timestamp_seconds",
            "End of the current term of a license pool with a known term (Unix time, 00:00 UTC that day)",
            labels=labels,
        )
        deadline = GaugeMetricFamily(
            "saaswatch_contract_cancellation_deadline_timestamp_seconds",
            "Last day to cancel or reduce before the term renews: term end minus notice days (Unix time)",
            labels=labels,
        )
        for tenant in self.config.tenants:
            today = evaluation_time(tenant, now).date()
            for pool in effective_pools(session, tenant.id):
                # An auto-renewing term that ended rolls on to the next one; an ended term that does
                # not renew has no deadline left.
                term = term_of(pool, today, [ANY_WINDOW])
                if term is None:
                    continue
                key = [tenant.id, pool.app_id, pool.sku]
                term_end.add_metric(key, _midnight(term.term_end))
                deadline.add_metric(key, _midnight(term.deadline))
        yield from (term_end, deadline)

    def _credentials(self, session: Session) -> Iterator[Metric]:
        expiry = GaugeMetricFamily(
            "saaswatch_connector_credential_expiry_timestamp_seconds",
            "When a connector's credential expires, as the vendor reports it or the config declares it",
            labels=["tenant", "connector", "credential"],
        )
        for tenant in self.config.tenants:
            sources = {c.source for c in tenant.connectors}
            # Only what the source's latest good sync said: a credential it no longer reports (the
            # permission to read it was withdrawn, the token replaced by one without expiry) is
            # unknown now, not still expiring on the old date.
            latest_good: dict[str, int] = {
                connector: run_id
                for connector, run_id in session.execute(
                    select(SyncRun.connector, func.max(SyncRun.id))
                    .where(SyncRun.tenant_id == tenant.id, SyncRun.status.in_(("success", "partial")))
                    .group_by(SyncRun.connector)
                )
            }
            reported = session.scalars(
                select(Credential).where(
                    Credential.tenant_id == tenant.id, Credential.expires_at.is_not(None)
                )
            )
            for credential in reported:
                current = latest_good.get(credential.source) == credential.seen_run_id
                if credential.source in sources and current and credential.expires_at is not None:
                    expiry.add_metric(
                        [tenant.id, credential.source, credential.name], credential.expires_at.timestamp()
                    )
            for connector in tenant.connectors:
                if connector.credential_expires is not None:
                    expiry.add_metric(
                        [tenant.id, connector.source, "configured"], _midnight(connector.credential_expires)
                    )
        yield expiry

    def _thresholds(self) -> Metric:
        threshold = GaugeMetricFamily(
            "saaswatch_tenant_monthly_waste_threshold",
            "Monthly waste above which the tenant's waste alert fires (alerting.monthly_waste_threshold)",
            labels=["tenant", "currency"],
        )
        for tenant in self.config.tenants:
            amount = self.config.alerting_for(tenant).monthly_waste_threshold
            threshold.add_metric([tenant.id, tenant.currency], float(amount))
        return threshold

    def _showback(self, session: Session) -> Iterator[Metric]:
        labels = ["tenant", "department", "currency"]
        seats = GaugeMetricFamily(
            "saaswatch_department_seats",
            "Paid seats held per department; (unassigned) = bought but held by nobody",
            labels=["tenant", "department"],
        )
        spend = GaugeMetricFamily(
            "saaswatch_department_monthly_spend",
            "Monthly license spend per department in the tenant's reporting currency",
            labels=labels,
        )
        waste = GaugeMetricFamily(
            "saaswatch_department_monthly_waste",
            "Monthly money of open waste findings about the department's people",
            labels=labels,
        )
        for tenant in self.config.tenants:
            for row in showback(session, tenant):
                seats.add_metric([tenant.id, row.department], row.seats)
                spend.add_metric([tenant.id, row.department, tenant.currency], float(row.monthly_spend))
                waste.add_metric([tenant.id, row.department, tenant.currency], float(row.monthly_waste))
        yield from (seats, spend, waste)

    def _licenses(self, session: Session) -> Iterator[Metric]:
        purchased = GaugeMetricFamily(
            "saaswatch_license_seats",
            "Seats in a license pool by state: purchased, assigned, unassigned, inactive, never_used, active",
            labels=["tenant", "app", "sku", "state"],
        )
        spend = GaugeMetricFamily(
            "saaswatch_app_monthly_spend",
            "Monthly license spend per app in the tenant's reporting currency (seats purchased x unit price)",
            labels=["tenant", "app", "currency"],
        )
        price_missing = GaugeMetricFamily(
            "saaswatch_license_pools_unpriced",
            "License pools whose price is unknown (or lacks an exchange rate), so spend is understated",
            labels=["tenant"],
        )
        for tenant in self.config.tenants:
            flagged = self._flagged_seats(session, tenant)
            per_app: dict[str, Decimal] = defaultdict(Decimal)
            unpriced = 0
            for pool in effective_pools(session, tenant.id):
                labels = [tenant.id, pool.app_id, pool.sku]
                counts = flagged.get((pool.app_id, pool.sku.casefold()), {})
                assigned = pool.seats_assigned or 0
                states: dict[str, int | None] = {
                    "purchased": pool.seats_purchased,
                    "assigned": pool.seats_assigned,
                    "unassigned": pool.unassigned,
                    "inactive": counts.get("inactive", 0),
                    "never_used": counts.get("never_used", 0),
                    "active": max(assigned - sum(counts.values()), 0)
                    if pool.seats_assigned is not None
                    else None,
                }
                for state, value in states.items():
                    if value is not None:
                        purchased.add_metric([*labels, state], value)
                seats = pool.seats_purchased if pool.seats_purchased is not None else pool.seats_assigned
                price = pool.monthly_unit_price
                if price is None or seats is None:
                    unpriced += 1
                    continue
                try:
                    per_app[pool.app_id] += to_currency(
                        price * seats, pool.currency, tenant.currency, dict(tenant.exchange_rates)
                    )
                except MissingExchangeRate:
                    unpriced += 1
            for app_id, amount in sorted(per_app.items()):
                spend.add_metric([tenant.id, app_id, tenant.currency], float(amount))
            price_missing.add_metric([tenant.id], unpriced)
        yield purchased
        yield spend
        yield price_missing

    def _flagged_seats(self, session: Session, tenant: TenantConfig) -> dict[tuple[str, str], dict[str, int]]:
        stmt = (
            select(Finding.app_id, Finding.sku, Finding.rule, func.count())
            .where(
                Finding.tenant_id == tenant.id,
                Finding.state == "open",
                Finding.verdict == "fail",
                Finding.rule.in_(SEAT_RULES),
            )
            .group_by(Finding.app_id, Finding.sku, Finding.rule)
        )
        result: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for app_id, sku, rule, count in session.execute(stmt):
            result[(app_id or "", (sku or "").casefold())][SEAT_RULES[rule]] = count
        return result

    def _findings(self, session: Session) -> Iterator[Metric]:
        findings = GaugeMetricFamily(
            "saaswatch_findings",
            "Open findings by analyzer, severity and verdict (fail = waste, unknown = data missing or stale)",
            labels=["tenant", "analyzer", "severity", "verdict"],
        )
        waste = GaugeMetricFamily(
            "saaswatch_app_monthly_waste",
            "Monthly money wasted per app according to open findings, in the tenant's reporting currency",
            labels=["tenant", "app", "analyzer", "reason", "currency"],
        )
        suppressed = GaugeMetricFamily(
            "saaswatch_findings_suppressed",
            "Findings muted in the config (accepted, with a reason and an expiry), by analyzer",
            labels=["tenant", "analyzer"],
        )
        savings = GaugeMetricFamily(
            "saaswatch_realised_monthly_savings",
            "Monthly money of findings resolved since saaswatch first saw them",
            labels=["tenant", "analyzer", "currency"],
        )
        currencies = {t.id: t.currency for t in self.config.tenants}
        counts = session.execute(
            select(Finding.tenant_id, Finding.analyzer, Finding.severity, Finding.verdict, func.count())
            .where(Finding.state == "open", Finding.tenant_id.in_(currencies))
            .group_by(Finding.tenant_id, Finding.analyzer, Finding.severity, Finding.verdict)
        )
        for tenant_id, analyzer, severity, verdict, count in counts:
            findings.add_metric([tenant_id, analyzer, severity, verdict], count)
        per_app = GaugeMetricFamily(
            "saaswatch_app_findings",
            "Open findings per app by analyzer, reason (the finding's rule), severity and verdict",
            labels=["tenant", "app", "analyzer", "reason", "severity", "verdict"],
        )
        app_counts = session.execute(
            select(
                Finding.tenant_id,
                Finding.app_id,
                Finding.analyzer,
                Finding.rule,
                Finding.severity,
                Finding.verdict,
                func.count(),
            )
            .where(Finding.state == "open", Finding.tenant_id.in_(currencies))
            .group_by(
                Finding.tenant_id,
                Finding.app_id,
                Finding.analyzer,
                Finding.rule,
                Finding.severity,
                Finding.verdict,
            )
        )
        for tenant_id, app_id, analyzer, rule, severity, verdict, count in app_counts:
            per_app.add_metric([tenant_id, app_id or "none", analyzer, rule, severity, verdict], count)
        muted = session.execute(
            select(Finding.tenant_id, Finding.analyzer, func.count())
            .where(Finding.state == "suppressed", Finding.tenant_id.in_(currencies))
            .group_by(Finding.tenant_id, Finding.analyzer)
        )
        muted_counts = {(tenant_id, analyzer): count for tenant_id, analyzer, count in muted}
        for tenant_id in currencies:
            for analyzer in analyzer_ids():
                suppressed.add_metric([tenant_id, analyzer], muted_counts.get((tenant_id, analyzer), 0))
        money = session.execute(
            select(
                Finding.tenant_id,
                Finding.app_id,
                Finding.analyzer,
                Finding.rule,
                func.sum(Finding.monthly_waste),
            )
            .where(Finding.state == "open", Finding.verdict == "fail", Finding.tenant_id.in_(currencies))
            .group_by(Finding.tenant_id, Finding.app_id, Finding.analyzer, Finding.rule)
        )
        for tenant_id, app_id, analyzer, rule, amount in money:
            waste.add_metric(
                [tenant_id, app_id or "none", analyzer, rule, currencies[tenant_id]], float(amount or 0)
            )
        realised = session.execute(
            select(Finding.tenant_id, Finding.analyzer, func.sum(Finding.monthly_waste))
            .where(Finding.state == "resolved", Finding.verdict == "fail", Finding.tenant_id.in_(currencies))
            .group_by(Finding.tenant_id, Finding.analyzer)
        )
        saved = {(tenant_id, analyzer): float(amount or 0) for tenant_id, analyzer, amount in realised}
        for tenant_id, currency in currencies.items():
            for analyzer in analyzer_ids():  # 0 is a fact here: nothing resolved yet
                savings.add_metric([tenant_id, analyzer, currency], saved.get((tenant_id, analyzer), 0.0))
        risk = GaugeMetricFamily(
            "saaswatch_vendor_risk_score",
            "Vendor risk score 0-100 of apps at or above the vendor_risk analyzer's min_score",
            labels=["tenant", "app"],
        )
        scored = session.execute(
            select(Finding.tenant_id, Finding.app_id, Finding.evidence).where(
                Finding.analyzer == "vendor_risk",
                Finding.state == "open",
                Finding.verdict == "fail",
                Finding.tenant_id.in_(currencies),
            )
        )
        for tenant_id, app_id, evidence in scored:
            score = evidence.get("score") if isinstance(evidence, dict) else None
            if app_id and isinstance(score, int):
                risk.add_metric([tenant_id, app_id], score)
        total = GaugeMetricFamily(
            "saaswatch_tenant_monthly_waste",
            "Monthly waste of the tenant with each seat or subject counted once across analyzers",
            labels=["tenant", "currency"],
        )
        for tenant_id, amount in deduplicated_waste(session, list(currencies)).items():
            total.add_metric([tenant_id, currencies[tenant_id]], float(amount))
        yield findings
        yield per_app
        yield total
        yield risk
        yield suppressed
        yield waste
        yield savings

    def _analyses(self, session: Session) -> Iterator[Metric]:
        """Each analyzer's last run per tenant, from what the runner keeps under ``:analysis``."""
        labels = ["tenant", "analyzer"]
        last_run = GaugeMetricFamily(
            "saaswatch_analyzer_last_run_timestamp_seconds",
            "When the analyzer last ran for the tenant (Unix time)",
            labels=labels,
        )
        duration = GaugeMetricFamily(
            "saaswatch_analyzer_last_run_duration_seconds",
            "How long the analyzer's last run took (its run and the preparation of its findings)",
            labels=labels,
        )
        tenants = {tenant.id for tenant in self.config.tenants}
        for (tenant_id, analyzer), run in sorted(analysis_runs(session).items()):
            if tenant_id not in tenants:
                continue
            if run.ran_at is not None:
                last_run.add_metric([tenant_id, analyzer], run.ran_at.timestamp())
            if run.seconds is not None:
                duration.add_metric([tenant_id, analyzer], run.seconds)
        yield last_run
        yield duration

    def _connectors(self, session: Session, now: datetime) -> Iterator[Metric]:
        labels = ["tenant", "connector"]
        last_success = GaugeMetricFamily(
            "saaswatch_connector_last_success_timestamp_seconds",
            "When the connector last finished a successful or partial sync (Unix time)",
            labels=labels,
        )
        last_run = GaugeMetricFamily(
            "saaswatch_connector_last_run_timestamp_seconds",
            "When the connector's last sync finished, whatever its outcome (Unix time)",
            labels=labels,
        )
        duration = GaugeMetricFamily(
            "saaswatch_connector_last_run_duration_seconds",
            "Duration of the connector's last sync",
            labels=labels,
        )
        records = GaugeMetricFamily(
            "saaswatch_connector_last_run_records", "Records the connector's last sync stored", labels=labels
        )
        problems = GaugeMetricFamily(
            "saaswatch_connector_last_run_problems",
            "Bad rows or items the connector's last sync reported (the run is then partial)",
            labels=labels,
        )
        status = GaugeMetricFamily(
            "saaswatch_connector_last_run_status",
            "1 for the outcome of the connector's last sync (success, partial, failed, aborted), else 0",
            labels=[*labels, "status"],
        )
        stale = GaugeMetricFamily(
            "saaswatch_connector_stale",
            "1 if the connector's data must not be trusted (never synced, last sync failed, or overdue)",
            labels=labels,
        )
        interval = GaugeMetricFamily(
            "saaswatch_connector_interval_seconds",
            "The connector's schedule period: its interval, or the longest gap of its cron schedule",
            labels=labels,
        )
        runs = CounterMetricFamily(
            "saaswatch_connector_runs",
            "Syncs recorded in the store, by outcome",
            labels=[*labels, "status"],
        )
        for tenant in self.config.tenants:
            health = source_health(session, tenant, now)
            sources = [c.source for c in tenant.connectors]
            schedules = {c.source: c.schedule for c in tenant.connectors if c.enabled}
            latest = {
                run.connector: run
                for run in session.scalars(
                    select(SyncRun).where(
                        SyncRun.id.in_(
                            select(func.max(SyncRun.id))
                            .where(SyncRun.tenant_id == tenant.id, SyncRun.status != "running")
                            .group_by(SyncRun.connector)
                        )
                    )
                )
            }
            totals: dict[tuple[str, str], int] = {
                (c, s): n
                for c, s, n in session.execute(
                    select(SyncRun.connector, SyncRun.status, func.count())
                    .where(SyncRun.tenant_id == tenant.id)
                    .group_by(SyncRun.connector, SyncRun.status)
                )
            }
            for source in sources:
                key = [tenant.id, source]
                if source in schedules:  # a disabled connector has no schedule to be late against
                    interval.add_metric(key, period_of(schedules[source], now).total_seconds())
                h = health[source]
                if h.last_success_at is not None:
                    last_success.add_metric(key, h.last_success_at.timestamp())
                stale.add_metric(key, 1 if h.stale else 0)
                run = latest.get(source)
                if run is not None and run.finished_at is not None:
                    last_run.add_metric(key, run.finished_at.timestamp())
                    duration.add_metric(key, (run.finished_at - run.started_at).total_seconds())
                    records.add_metric(key, run.records)
                    problems.add_metric(key, run.problem_count)
                for state in RUN_STATUSES:
                    if run is not None:
                        status.add_metric([*key, state], 1 if run.status == state else 0)
                    runs.add_metric([*key, state], totals.get((source, state), 0))
        yield from (last_success, last_run, duration, records, problems, status, stale, interval, runs)
