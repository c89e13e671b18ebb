"""The exporter on a populated store: promtool-clean, documented, and never labelled with a person."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import ScriptedConnector, ScriptedSettings
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from collector.analysis import run_analyzers
from collector.config import Alerting, Config, ConnectorConfig, Contract, Schedule, TenantConfig
from collector.exporter import StoreCollector
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    Commitment,
    CredentialRecord,
    Record,
    SeatRecord,
)
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


pytestmark = pytest.mark.usefixtures("scripted_connector")


def populated(store: Store) -> Config:
    records: list[Record] = []
    for i, days in enumerate([1, 5, 90, 120]):
        email = f"user{i}@example.com"
        records += [
            AccountRecord(app_id="slack", external_id=email, email=email),
            SeatRecord(app_id="slack", sku="Business+", account_external_id=email),
            ActivityRecord(email, "slack", NOW - timedelta(days=days), ActivitySource.EXPORT),
        ]
    records.append(CredentialRecord("token", NOW + timedelta(days=10)))
    ScriptedConnector.scripts["m"] = lambda ctx: iter([*records, Checkpoint("all")])
    tenant = TenantConfig(
        id="acme",
        name="Acme",
        as_of=date(2026, 11, 20),
        connectors=[
            ConnectorConfig(
                id="scripted",
                name="exports",
                # Weekdays at 06:00: the longest gap, over the weekend, is three days.
                schedule=Schedule(cron="0 6 * * 1-5"),
                credential_expires=date(2027, 1, 31),
                settings=ScriptedSettings(script="m"),
            )
        ],
        contracts=[
            Contract(
                app="slack",
                sku="Business+",
                seats=6,
                unit_price=Decimal("12.5"),
                commitment=Commitment.ANNUAL,
                term_start=date(2025, 1, 1),
                term_end=date(2025, 12, 31),  # ended, auto-renews: the current term ends 2026-12-31
                auto_renew=True,
                notice_days=30,
            )
        ],
        alerting=Alerting(monthly_waste_threshold=Decimal(250)),
    )
    config = Config(tenants=[tenant], base_dir=Path("."))
    apply_tenant_config(store, tenant, config.catalog_for(tenant))
    SyncRunner(store, config, clock=lambda: NOW).run(tenant, tenant.connectors[0])
    run_analyzers(store, tenant, now=NOW)
    return config


def scrape(store: Store, config: Config) -> str:
    reg = CollectorRegistry()
    reg.register(StoreCollector(store, config, clock=lambda: NOW))
    return generate_latest(reg).decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_scrape_reports_seats_money_and_health(store: Store) -> None:
    values = samples(scrape(store, populated(store)))
    seats = {
        state: values[
            (
                "saaswatch_license_seats",
                (("app", "slack"), ("sku", "Business+"), ("state", state), ("tenant", "acme")),
            )
        ]
        for state in ("purchased", "assigned", "unassigned", "inactive", "never_used", "active")
    }
    assert seats == {
        "purchased": 6,
        "assigned": 4,
        "unassigned": 2,
        "inactive": 2,
        "never_used": 0,
        "active": 2,
    }
    assert (
        values[("saaswatch_app_monthly_spend", (("app", "slack"), ("currency", "USD"), ("tenant", "acme")))]
        == 75.0
    )

    def waste(reason: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        labels = (("analyzer", "unused_seats"), ("app", "slack"), ("currency", "USD"))
        return ("saaswatch_app_monthly_waste", (*labels, ("reason", reason), ("tenant", "acme")))

    assert values[waste("inactive")] == 25.0  # 2 inactive at 12.50
    assert values[waste("unassigned")] == 25.0  # 2 unassigned at 12.50
    assert values[("saaswatch_tenant_monthly_waste", (("currency", "USD"), ("tenant", "acme")))] == 50.0
    health = (("connector", "exports"), ("tenant", "acme"))
    assert values[("saaswatch_connector_last_success_timestamp_seconds", health)] == NOW.timestamp()
    assert values[("saaswatch_connector_stale", health)] == 0
    assert (
        values[("saaswatch_connector_last_run_records", health)] == 13
    )  # 4 x (account, seat, activity) + token
    assert values[("saaswatch_store_up", ())] == 1


def midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def test_scrape_carries_what_the_alert_rules_join_on(store: Store) -> None:
    config = populated(store)
    values = samples(scrape(store, config))
    pool = (("app", "slack"), ("sku", "Business+"), ("tenant", "acme"))
    assert values[("saaswatch_contract_term_end_timestamp_seconds", pool)] == midnight(date(2026, 12, 31))
    deadline = ("saaswatch_contract_cancellation_deadline_timestamp_seconds", pool)
    assert values[deadline] == midnight(date(2026, 12, 1))  # 30 days' notice
    connector = (("connector", "exports"), ("tenant", "acme"))
    assert values[("saaswatch_connector_interval_seconds", connector)] == timedelta(days=3).total_seconds()
    reported = (("connector", "exports"), ("credential", "token"), ("tenant", "acme"))
    assert (
        values[("saaswatch_connector_credential_expiry_timestamp_seconds", reported)]
        == (NOW + timedelta(days=10)).timestamp()
    )
    declared = (("connector", "exports"), ("credential", "configured"), ("tenant", "acme"))
    assert values[("saaswatch_connector_credential_expiry_timestamp_seconds", declared)] == midnight(
        date(2027, 1, 31)
    )
    threshold = (("currency", "USD"), ("tenant", "acme"))
    assert values[("saaswatch_tenant_monthly_waste_threshold", threshold)] == 250
    app = (
        ("app", "slack"),
        ("category", "team-chat"),
        ("name", "Slack"),
        ("sanctioned", "unknown"),
        ("tenant", "acme"),
        ("vendor", "Salesforce"),
    )
    assert values[("saaswatch_app_info", app)] == 1
    flagged = {
        dict(labels)["reason"]: value
        for (name, labels), value in values.items()
        if name == "saaswatch_app_findings" and dict(labels)["analyzer"] == "unused_seats"
    }
    assert flagged == {"inactive": 2, "unassigned": 1}


def test_scrape_passes_promtool_and_has_no_person_labels(store: Store, promtool: str) -> None:
    text = scrape(store, populated(store))
    assert "@" not in text, "a person's e-mail leaked into metrics"
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "" and checked.stderr.strip() == "", checked.stdout + checked.stderr


def test_every_exported_metric_is_documented(store: Store) -> None:
    docs = DOCS.read_text()
    documented = set(re.findall(r"^\| `(saaswatch_[a-z_]+)`", docs, flags=re.M))
    # Families documented as absent in some states (e.g. no vendor at risk) may be missing here.
    conditional = set(re.findall(r"^\| `(saaswatch_[a-z_]+)`.*\bAbsent\b", docs, flags=re.M))
    exported = {name for name, _labels in samples(scrape(store, populated(store)))}
    assert exported <= documented
    assert documented - exported <= conditional


def test_store_outage_reports_store_down_instead_of_failing(tmp_path: Path) -> None:
    broken = Store(f"sqlite:///{tmp_path}/missing-dir-is-fine.sqlite3")  # never migrated: tables missing
    tenant = TenantConfig(id="acme", name="Acme")
    values = samples(scrape(broken, Config(tenants=[tenant], base_dir=tmp_path)))
    assert values[("saaswatch_store_up", ())] == 0


def test_a_credential_the_latest_sync_no_longer_reports_is_not_exported(store: Store) -> None:
    config = populated(store)
    tenant = config.tenants[0]
    ScriptedConnector.scripts["m"] = lambda ctx: iter([Checkpoint("all")])  # e.g. permission withdrawn
    SyncRunner(store, config, clock=lambda: NOW).run(tenant, tenant.connectors[0])
    credentials = {
        dict(labels)["credential"]
        for (name, labels), _value in samples(scrape(store, config)).items()
        if name == "saaswatch_connector_credential_expiry_timestamp_seconds"
    }
    assert credentials == {"configured"}


def test_a_disabled_connector_has_no_interval_to_be_late_against(store: Store) -> None:
    config = populated(store)
    tenant = config.tenants[0]
    disabled = tenant.connectors[0].model_copy(update={"enabled": False})
    config = config.model_copy(update={"tenants": [tenant.model_copy(update={"connectors": [disabled]})]})
    names = {name for name, _labels in samples(scrape(store, config))}
    assert "saaswatch_connector_interval_seconds" not in names
    assert "saaswatch_connector_stale" in names


def test_each_analyzers_last_run_is_exported(store: Store) -> None:
    config = populated(store)
    found = samples(scrape(store, config))
    ran = {
        dict(labels)["analyzer"]: value
        for (name, labels), value in found.items()
        if name == "saaswatch_analyzer_last_run_timestamp_seconds"
    }
    took = {
        dict(labels)["analyzer"]: value
        for (name, labels), value in found.items()
        if name == "saaswatch_analyzer_last_run_duration_seconds"
    }
    assert "unused_seats" in ran and set(ran) == set(took)
    assert set(ran.values()) == {NOW.timestamp()}
    assert all(seconds >= 0 for seconds in took.values())
