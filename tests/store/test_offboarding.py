"""The offboarding analyzer on a real store (SQLite and PostgreSQL): leavers' live accounts and seats,
people missing from the identity provider, grace period, exclusions, stale sources."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import ScriptedConnector, ScriptedSettings
from sqlalchemy import select

from analyzers.base import FindingDraft, Severity, Verdict
from analyzers.offboarding import Offboarding, OffboardingSettings
from collector.analysis import run_analyzers, tenant_view
from collector.config import Config, ConnectorConfig, Contract, TenantConfig
from collector.models import Finding
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    IdpStatus,
    PersonRecord,
    Record,
    SeatRecord,
)
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

APP_NAMES = {"okta": "Okta", "slack": "Slack", "zoom": "Zoom", "github": "GitHub", "notion": "Notion"}

pytestmark = pytest.mark.usefixtures("scripted_connector")


def days_ago(n: int) -> datetime:
    return datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC) - timedelta(days=n) + timedelta(hours=9)


def tenant_with(policy: OffboardingSettings | None = None, **extra: object) -> TenantConfig:
    contracts = [
        Contract(app="slack", sku="Business+", seats=10, unit_price=Decimal("180"), billing_period="annual"),
        Contract(app="github", sku="Enterprise", seats=10, unit_price=Decimal("21")),
        Contract(app="zoom", sku="Pro", seats=10, unit_price=Decimal("20"), currency="EUR"),
    ]
    return TenantConfig.model_validate(
        {
            "id": "acme",
            "name": "Acme",
            "as_of": AS_OF,
            "exchange_rates": {"EUR": Decimal("1.10")},
            "connectors": [
                ConnectorConfig(id="scripted", name="okta", settings=ScriptedSettings(script="okta")),
                ConnectorConfig(id="scripted", name="apps", settings=ScriptedSettings(script="apps")),
            ],
            "contracts": contracts,
            # Names fixed here, so titles do not depend on what the built-in catalog knows.
            "apps": {app: {"name": name} for app, name in APP_NAMES.items()},
            "policy": {"offboarding": policy} if policy else {},
        }
        | extra
    )


def sync(store: Store, tenant: TenantConfig, **scripts: list[Record]) -> None:
    """Run each named connector once with the given records (a clean, complete snapshot)."""
    apply_tenant_config(store, tenant)
    runner = SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW)
    for connector in tenant.connectors:
        if connector.source in scripts:
            records = [*scripts[connector.source], Checkpoint("all")]
            ScriptedConnector.scripts[connector.source] = lambda ctx, r=records: iter(r)
            runner.run(tenant, connector)


def fail(store: Store, tenant: TenantConfig, source: str) -> None:
    def broken(ctx: object) -> Iterator[Record]:
        raise ConnectionError("HTTP 503")
        yield  # pragma: no cover

    ScriptedConnector.scripts[source] = broken
    runner = SyncRunner(store, Config(tenants=[tenant], base_dir=Path(".")), clock=lambda: NOW)
    runner.run(tenant, next(c for c in tenant.connectors if c.source == source))


def analyze(
    store: Store, tenant: TenantConfig
) -> dict[tuple[str, str, str | None, str | None], FindingDraft]:
    settings = tenant.policy.get("offboarding") or OffboardingSettings()
    view = tenant_view(store, tenant, NOW)
    with store.sessions() as session:
        drafts = Offboarding(settings).run(session, view)
    return {(d.rule, d.subject, d.app_id, d.sku): d for d in drafts}


def idp_user(email: str, status: IdpStatus, signed_in: datetime | None = None) -> list[Record]:
    records: list[Record] = [
        PersonRecord(email=email, display_name=email.split("@")[0].title(), status=status),
        AccountRecord(app_id="okta", external_id=f"00u{email}", email=email, status=status.value),
    ]
    if signed_in is not None:
        records.append(ActivityRecord(email, "okta", signed_in, ActivitySource.IDP_SIGNIN))
    return records


def seat(email: str, app: str, sku: str, **seat_args: object) -> list[Record]:
    return [
        AccountRecord(app_id=app, external_id=f"{app}-{email}", email=email),
        SeatRecord(app_id=app, sku=sku, account_external_id=f"{app}-{email}", **seat_args),  # type: ignore[arg-type]
    ]


def test_leaver_with_seats_and_live_accounts(store: Store) -> None:
    tenant = tenant_with()
    sync(
        store,
        tenant,
        okta=[
            *idp_user("gone@x.io", IdpStatus.SUSPENDED, days_ago(20)),
            *idp_user("stay@x.io", IdpStatus.ACTIVE, days_ago(1)),
        ],
        apps=[
            *seat("gone@x.io", "slack", "Business+"),  # 180 a year: 15.00 a month
            *seat("gone@x.io", "zoom", "Pro"),  # 20.00 EUR at 1.10: 22.00 USD
            AccountRecord(app_id="notion", external_id="n-gone", email="gone@x.io"),  # live, no seat
            AccountRecord(app_id="github", external_id="gh-gone", email="gone@x.io", status="deactivated"),
            AccountRecord(app_id="jira", external_id="ci", email="gone@x.io", kind="service"),
            ActivityRecord("gone@x.io", "slack", days_ago(25), ActivitySource.APP_LOGIN),
            *seat("stay@x.io", "slack", "Business+"),
        ],
    )
    found = analyze(store, tenant)
    assert set(found) == {
        ("offboarded", "gone@x.io", "slack", "Business+"),
        ("offboarded", "gone@x.io", "zoom", "Pro"),
        ("offboarded", "gone@x.io", "notion", None),
    }
    slack = found[("offboarded", "gone@x.io", "slack", "Business+")]
    assert (slack.verdict, slack.severity, slack.monthly_waste) == (
        Verdict.FAIL,
        Severity.HIGH,
        Decimal("15.00"),
    )
    assert slack.title == (
        "gone@x.io is suspended in the identity provider (okta) but still holds a paid seat of "
        "Slack (Business+), 15.00 USD/month"
    )
    assert slack.evidence["idp_status_from"] == "okta"
    assert slack.evidence["last_idp_sign_in"] == days_ago(20).isoformat()
    assert slack.evidence["last_seen_in_app"] == days_ago(25).isoformat()
    assert slack.evidence["last_seen_in_app_by"] == "apps"
    assert slack.evidence["reported_by"] == ["apps"]
    assert slack.evidence["action"].startswith("Remove gone@x.io's Slack (Business+) seat")
    assert found[("offboarded", "gone@x.io", "zoom", "Pro")].monthly_waste == Decimal("22.00")
    notion = found[("offboarded", "gone@x.io", "notion", None)]
    assert (notion.monthly_waste, notion.severity) == (Decimal("0.00"), Severity.HIGH)
    assert "still holds a live Notion account" in notion.title


def test_grace_period_counts_from_the_last_idp_sign_in(store: Store) -> None:
    policy = OffboardingSettings.model_validate({"grace_days": 3, "apps": {"github": {"grace_days": 7}}})
    tenant = tenant_with(policy)
    sync(
        store,
        tenant,
        okta=[
            *idp_user("three@x.io", IdpStatus.SUSPENDED, days_ago(3)),  # inside: 3 days is still grace
            *idp_user("four@x.io", IdpStatus.DEPROVISIONED, days_ago(4)),
            *idp_user("unknown@x.io", IdpStatus.SUSPENDED),  # no sign-in on record: no grace
        ],
        apps=[
            *seat("three@x.io", "slack", "Business+"),
            *seat("four@x.io", "slack", "Business+"),
            *seat("four@x.io", "github", "Enterprise"),  # github waits 7 days
            *seat("unknown@x.io", "github", "Enterprise"),
        ],
    )
    found = analyze(store, tenant)
    assert set(found) == {
        ("offboarded", "four@x.io", "slack", "Business+"),
        ("offboarded", "unknown@x.io", "github", "Enterprise"),
    }
    assert (
        "is deprovisioned in the identity provider"
        in found[("offboarded", "four@x.io", "slack", "Business+")].title
    )
    assert found[("offboarded", "unknown@x.io", "github", "Enterprise")].monthly_waste == Decimal("21.00")


def test_exclusions_bots_and_pending_cancellations(store: Store) -> None:
    policy = OffboardingSettings.model_validate(
        {"grace_days": 0, "exclude_people": ["board-*@x.io"], "apps": {"zoom": {"exclude": True}}}
    )
    tenant = tenant_with(policy)
    sync(
        store,
        tenant,
        okta=[
            *idp_user("board-chair@x.io", IdpStatus.SUSPENDED),
            *idp_user("left@x.io", IdpStatus.SUSPENDED),
        ],
        apps=[
            *seat("board-chair@x.io", "slack", "Business+"),
            *seat("left@x.io", "zoom", "Pro"),  # zoom excluded
            *seat("left@x.io", "github", "Enterprise", pending_cancellation_on=date(2026, 12, 1)),
            AccountRecord(app_id="slack", external_id="B01", email="left@x.io", kind="bot"),
            SeatRecord(app_id="slack", sku="Business+", account_external_id="B01"),
        ],
    )
    found = analyze(store, tenant)
    # The GitHub seat is already on its way out, but the account is still live: access, no money.
    assert set(found) == {("offboarded", "left@x.io", "github", None)}
    assert found[("offboarded", "left@x.io", "github", None)].monthly_waste == Decimal("0.00")


def test_one_seat_reported_by_two_sources_is_one_finding(store: Store) -> None:
    tenant = tenant_with()
    sync(
        store,
        tenant,
        okta=[*idp_user("gone@x.io", IdpStatus.SUSPENDED), *seat("gone@x.io", "slack", "Business+")],
        apps=[*seat("gone@x.io", "slack", "business+")],
    )
    found = analyze(store, tenant)
    assert list(found) == [("offboarded", "gone@x.io", "slack", "Business+")]
    assert found[("offboarded", "gone@x.io", "slack", "Business+")].evidence["reported_by"] == [
        "apps",
        "okta",
    ]


def test_people_missing_from_the_idp(store: Store) -> None:
    tenant = tenant_with()
    okta = [*idp_user("a@x.io", IdpStatus.ACTIVE, days_ago(1)), *idp_user("c@x.io", IdpStatus.ACTIVE)]
    apps = [
        *seat("a@x.io", "slack", "Business+"),
        *seat("c@x.io", "slack", "Business+"),
        *seat("contractor@x.io", "github", "Enterprise"),  # never in okta
        *seat("partner@partner.io", "slack", "Business+"),  # another domain: not expected in okta
        AccountRecord(app_id="slack", external_id="g1", email="guest@x.io", kind="guest"),
    ]
    sync(store, tenant, okta=okta, apps=apps)
    assert set(analyze(store, tenant)) == {("not_in_idp", "contractor@x.io", "github", "Enterprise")}

    # c@x.io is deleted from okta: the next clean sync retires the account, and c shows up.
    sync(store, tenant, okta=okta[:2])
    found = analyze(store, tenant)
    assert set(found) == {
        ("not_in_idp", "contractor@x.io", "github", "Enterprise"),
        ("not_in_idp", "c@x.io", "slack", "Business+"),
    }
    gone = found[("not_in_idp", "c@x.io", "slack", "Business+")]
    assert (gone.monthly_waste, gone.severity) == (Decimal("15.00"), Severity.HIGH)
    assert gone.title == (
        "c@x.io has no account in the identity provider (Okta) but still holds a paid seat of "
        "Slack (Business+), 15.00 USD/month"
    )
    assert gone.evidence["idp_apps"] == ["okta"]


def test_company_domains_setting_and_no_idp_at_all(store: Store) -> None:
    policy = OffboardingSettings(company_domains=["partner.io"])
    tenant = tenant_with(policy)
    sync(
        store,
        tenant,
        okta=[*idp_user("a@x.io", IdpStatus.ACTIVE)],
        apps=[*seat("b@x.io", "slack", "Business+"), *seat("p@partner.io", "slack", "Business+")],
    )
    assert set(analyze(store, tenant)) == {("not_in_idp", "p@partner.io", "slack", "Business+")}

    bare = tenant_with(id="other", name="Other")  # no IdP accounts at all: nobody is "missing"
    sync(store, bare, apps=[*seat("b@x.io", "slack", "Business+")])
    assert analyze(store, bare) == {}


def test_stale_idp_source_gives_unknown_not_waste(store: Store) -> None:
    tenant = tenant_with()
    sync(
        store,
        tenant,
        okta=[*idp_user("gone@x.io", IdpStatus.SUSPENDED), *idp_user("a@x.io", IdpStatus.ACTIVE)],
        apps=[*seat("gone@x.io", "slack", "Business+"), *seat("missing@x.io", "github", "Enterprise")],
    )
    assert {d.verdict for d in analyze(store, tenant).values()} == {Verdict.FAIL}
    fail(store, tenant, "okta")
    found = analyze(store, tenant)
    assert set(found) == {
        ("offboarded", "gone@x.io", "slack", "Business+"),
        ("not_in_idp", "missing@x.io", "github", "Enterprise"),
    }
    for draft in found.values():
        assert (draft.verdict, draft.severity, draft.monthly_waste) == (
            Verdict.UNKNOWN,
            Severity.INFO,
            Decimal("0.00"),
        )
        assert draft.evidence["stale_sources"] == {"okta": "last sync failed"}
        assert "action" not in draft.evidence


def test_stale_app_source_alone_gives_unknown(store: Store) -> None:
    tenant = tenant_with()
    sync(
        store,
        tenant,
        okta=idp_user("gone@x.io", IdpStatus.SUSPENDED),
        apps=seat("gone@x.io", "slack", "Business+"),
    )
    fail(store, tenant, "apps")
    (draft,) = analyze(store, tenant).values()
    assert (draft.verdict, draft.monthly_waste) == (Verdict.UNKNOWN, Decimal("0.00"))
    assert draft.evidence["stale_sources"] == {"apps": "last sync failed"}


def test_findings_are_kept_and_resolved_through_the_runner(store: Store) -> None:
    tenant = tenant_with()
    sync(
        store,
        tenant,
        okta=idp_user("gone@x.io", IdpStatus.SUSPENDED),
        apps=seat("gone@x.io", "slack", "Business+"),
    )
    run_analyzers(store, tenant, now=NOW)
    sync(store, tenant, apps=[])  # the seat was removed
    run_analyzers(store, tenant, now=NOW + timedelta(hours=1))
    with store.sessions() as session:
        finding = session.scalars(select(Finding).where(Finding.analyzer == "offboarding")).one()
    assert (finding.rule, finding.subject, finding.state, finding.monthly_waste) == (
        "offboarded",
        "gone@x.io",
        "resolved",
        Decimal("15.00"),
    )
