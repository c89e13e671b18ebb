"""The client report read from the store (SQLite and PostgreSQL): its figures are the store's (the
deduplicated waste, effective pools, findings), vendor text is escaped, findings that could not be
judged are listed and never counted, an empty tenant gets a page that says so, and the period of
realised savings starts at the previous report."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from collector.analysis import run_analyzers
from collector.config import TenantConfig, load_config
from collector.models import Finding
from collector.pools import effective_pools, to_currency
from collector.report.data import ReportData
from collector.report.fmt import money
from collector.report.gather import build_report
from collector.report.page import render_report
from collector.report.state import last_report_at, record_report
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config
from collector.waste import deduplicated_waste

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "samples" / "northwind.yaml"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CENT = Decimal("0.01")
CHARTS = ("chart-reasons", "chart-spend", "chart-usage", "chart-renewals", "chart-overlap")
HOSTILE_NAME = '<script>alert("app")</script>'
HOSTILE_SKU = '"><img src=x onerror=alert(1)>'


class Tags(HTMLParser):
    """Every start tag of a page, and the text of the elements with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.by_id: dict[str, str] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in ("meta", "rect", "line", "circle", "path", "stop"):
            self._open.append(dict(attrs).get("id"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open:
            if element_id:
                self.by_id[element_id] = self.by_id.get(element_id, "") + data


def parsed(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


@pytest.fixture
def sample(store: Store) -> Iterator[tuple[Store, TenantConfig]]:
    """The bundled Northwind sample synced and analysed into ``store``."""
    config = load_config(SAMPLE)
    tenant = config.tenant("northwind")
    apply_tenant_config(store, tenant, config.catalog_for(tenant))
    result = SyncRunner(store, config, clock=lambda: NOW).run(tenant, tenant.connectors[0])
    assert result.status == "success", result.error
    run_analyzers(store, tenant, now=NOW, catalog=config.catalog_for(tenant))
    yield store, tenant


def report_of(store: Store, tenant: TenantConfig, now: datetime = NOW, **kwargs: Any) -> ReportData:
    with store.sessions() as session:
        return build_report(session, tenant, now, **kwargs)


def open_fail(store: Store, tenant_id: str) -> list[Finding]:
    with store.sessions() as session:
        return list(
            session.scalars(
                select(Finding).where(
                    Finding.tenant_id == tenant_id, Finding.state == "open", Finding.verdict == "fail"
                )
            )
        )


def test_headline_and_breakdowns_equal_the_deduplicated_waste(sample: tuple[Store, TenantConfig]) -> None:
    store, tenant = sample
    report = report_of(store, tenant)
    with store.sessions() as session:
        total = deduplicated_waste(session, [tenant.id])[tenant.id]
    findings = open_fail(store, tenant.id)
    # Independently: the largest open finding of each (app, SKU, subject).
    per_seat: dict[tuple[str | None, str | None, str], Decimal] = {}
    for f in findings:
        key = (f.app_id, f.sku, f.subject)
        per_seat[key] = max(per_seat.get(key, Decimal(0)), f.monthly_waste)
    assert total > 0
    assert report.savings.monthly == total == sum(per_seat.values(), Decimal(0)).quantize(CENT)
    assert report.savings.annual == total * 12
    assert report.savings.findings == len(findings)
    assert sum(findings_money.monthly for findings_money in report.reasons) == total
    assert sum(r.count for r in report.reasons) == len([m for m in per_seat.values() if m > 0])
    assert sum(d.monthly_waste for d in report.departments) == total
    listed = [*report.top, *report.others]
    assert report.others_left_off == 0
    assert sum(f.monthly for f in listed) == total
    assert [f.monthly for f in listed] == sorted((f.monthly for f in listed), reverse=True)
    assert report.top[0].monthly == max(per_seat.values())
    assert report.unknown_count == 0 and report.unknown == ()


def test_a_seat_flagged_twice_is_listed_once_under_the_offboarding_gap(
    sample: tuple[Store, TenantConfig],
) -> None:
    store, tenant = sample
    report = report_of(store, tenant)
    flagged = defaultdict(list)
    for f in open_fail(store, tenant.id):
        if f.evidence.get("person"):
            flagged[(f.app_id, f.sku, f.subject)].append(f)
    twice = {key: fs for key, fs in flagged.items() if len(fs) > 1}
    assert twice, "the sample's leavers hold seats that are also inactive"
    listed = [f for f in (*report.top, *report.others) if f.who]
    for (_app, _sku, subject), fs in twice.items():
        entries = [f for f in listed if f.who and f"({subject})" in f.who and f.sku == fs[0].sku]
        assert len(entries) == 1, subject
        assert entries[0].reason == "Leavers still holding seats"
        assert len(entries[0].also) == 1
    leavers = next(r for r in report.reasons if r.rule == "offboarded")
    assert leavers.monthly == sum(
        (fs[0].monthly_waste for fs in flagged.values() if any(f.rule == "offboarded" for f in fs)),
        Decimal(0),
    )


def test_spend_and_seats_per_app_are_the_effective_pools(sample: tuple[Store, TenantConfig]) -> None:
    store, tenant = sample
    report = report_of(store, tenant)
    with store.sessions() as session:
        pools = effective_pools(session, tenant.id)
    spend: dict[str, Decimal] = defaultdict(Decimal)
    bought: dict[str, int] = defaultdict(int)
    assigned: dict[str, int] = defaultdict(int)
    for pool in pools:
        price = pool.monthly_unit_price
        if price is None or price == 0:
            continue
        seats = max(pool.seats_purchased or 0, pool.seats_assigned or 0)
        spend[pool.app_id] += to_currency(price * seats, pool.currency, tenant.currency, {})
        bought[pool.app_id] += pool.seats_purchased or 0
        assigned[pool.app_id] += pool.seats_assigned or 0
    by_app = {a.app_id: a for a in report.app_spend}
    for app_id, amount in spend.items():
        assert by_app[app_id].monthly == amount.quantize(CENT), app_id
        assert by_app[app_id].basis == "license pools"
    # Apps without a pool are the unapproved ones, at the shadow-IT finding's money.
    shadow = {f.app_id: f.monthly_waste for f in open_fail(store, tenant.id) if f.analyzer == "shadow_it"}
    assert {a for a in by_app if a not in spend} == set(shadow)
    for app_id, amount in shadow.items():
        assert by_app[app_id].monthly == amount
    assert sum(c.monthly for c in report.categories) == report.monthly_spend
    assert report.monthly_spend == sum(spend.values(), Decimal(0)).quantize(CENT) + sum(shadow.values())
    usage = {u.app_id: u for u in report.usage}
    assert set(usage) == set(bought)
    for app_id in bought:
        assert (usage[app_id].purchased, usage[app_id].assigned) == (bought[app_id], assigned[app_id])
        assert 0 < usage[app_id].active <= usage[app_id].assigned


def test_renewal_terms_and_unused_seats_follow_the_findings(sample: tuple[Store, TenantConfig]) -> None:
    store, tenant = sample
    report = report_of(store, tenant)
    findings = open_fail(store, tenant.id)
    unused: dict[tuple[str, str], set[str]] = defaultdict(set)
    spare: dict[tuple[str, str], int] = {}
    for f in findings:
        if f.sku is None or f.app_id is None:
            continue
        key = (f.app_id, f.sku.casefold())
        if f.rule == "unassigned":
            spare[key] = int(f.evidence["unassigned"])
        elif f.analyzer in ("unused_seats", "offboarding"):
            unused[key].add(f.subject)
    renewals = {(f.app_id, f.sku): f.evidence for f in findings if f.analyzer == "renewals"}
    assert renewals
    terms = {(t.app_id, t.sku): t for t in report.renewals}
    for key, evidence in renewals.items():
        term = terms[key]
        assert term.deadline.isoformat() == evidence["deadline"]
        assert term.term_end.isoformat() == evidence["term_end"]
        assert term.recommended_seats == evidence["recommended_seats"]
        assert term.monthly_saving == Decimal(evidence["monthly_saving"])
    for (app_id, sku), term in terms.items():
        key = (app_id, sku.casefold())
        assert term.unused_seats == len(unused.get(key, set())) + spare.get(key, 0), (app_id, sku)
        assert report.evaluated_on <= term.term_end or term.days_left < 0
        assert term.deadline <= report.renewal_horizon


def test_overlap_pairs_are_the_overlap_findings(sample: tuple[Store, TenantConfig]) -> None:
    store, tenant = sample
    report = report_of(store, tenant)
    found = [f for f in open_fail(store, tenant.id) if f.analyzer == "overlap"]
    assert len(report.overlaps) == len(found) > 0
    for finding in found:
        evidence = finding.evidence
        keep = evidence["apps"][evidence["keep"]]
        pair = next(p for p in report.overlaps if p.keep == keep["name"])
        assert (pair.only_keep, pair.both, pair.only_drop) == (
            keep["active_only_here"],
            evidence["active_in_both"],
            evidence["apps"][evidence["drop"]]["active_only_here"],
        )
        assert pair.monthly == finding.monthly_waste


def test_realised_savings_count_resolutions_in_the_period_each_seat_once(
    sample: tuple[Store, TenantConfig],
) -> None:
    store, tenant = sample
    leaver = "priya.torqueman@northwind.example"
    with store.transaction() as session:
        # Both findings of one seat (offboarding and unused) resolved last week; one older seat before it.
        session.execute(
            update(Finding)
            .where(Finding.subject == leaver, Finding.app_id == "salesforce")
            .values(state="resolved", resolved_at=NOW - timedelta(days=7))
        )
        session.execute(
            update(Finding)
            .where(Finding.subject == "carla.dynamo@northwind.example")
            .values(state="resolved", resolved_at=NOW - timedelta(days=200))
        )
    report = report_of(store, tenant)
    assert report.period.start == NOW - timedelta(days=90)
    assert report.realised_in_period.monthly == Decimal("165.00")  # one seat, not two findings' money
    assert report.realised_in_period.findings == 2
    assert report.realised_total.monthly == Decimal("330.00")
    page = render_report(report)
    assert parsed(page).by_id["realised-period"] == money(Decimal("165.00"), "USD")
    since = report_of(store, tenant, since=NOW - timedelta(days=365))
    assert since.realised_in_period.monthly == Decimal("330.00")
    assert since.period.basis == "the period asked for"


def test_the_period_starts_at_the_previous_report(sample: tuple[Store, TenantConfig]) -> None:
    store, tenant = sample
    with store.sessions() as session:
        assert last_report_at(session, tenant.id) is None
    previous = NOW - timedelta(days=30)
    with store.transaction() as session:
        record_report(session, tenant.id, previous, Decimal("10.00"), "USD")
    with store.sessions() as session:
        assert last_report_at(session, tenant.id) == previous
    report = report_of(store, tenant)
    assert (report.period.start, report.period.basis) == (previous, "the time since the previous report")


def test_the_page_shows_the_store_figures_and_every_chart(sample: tuple[Store, TenantConfig]) -> None:
    store, tenant = sample
    report = report_of(store, tenant)
    page = render_report(report)
    tags = parsed(page)
    assert tags.by_id["monthly-savings"] == money(report.savings.monthly, "USD")
    assert tags.by_id["annual-savings"] == money(report.savings.monthly * 12, "USD")
    for chart in CHARTS:
        assert chart in tags.by_id, chart
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in page
        assert tags.by_id[f"{chart}-title"] and tags.by_id[f"{chart}-desc"]
    # Self-contained: no script, no external file of any kind.
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(tags.tags)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert "Carla Dynamo (carla.dynamo@northwind.example)" in page  # people are named: the client's report
    assert "2026-09-06 (per exports)" in page  # last seen when, by which source


def hostile_tenant() -> TenantConfig:
    return TenantConfig.model_validate(
        {
            "id": "acme",
            "name": "Acme & Sons <Ltd>",
            "currency": "EUR",
            "as_of": "2026-11-20",
            "apps": {"evil": {"name": HOSTILE_NAME, "category": "<b>chat</b>"}},
            "connectors": [{"id": "csv_import", "name": "okta", "schedule": {"interval": "1h"}}],
            "contracts": [
                {
                    "app": "evil",
                    "sku": HOSTILE_SKU,
                    "seats": 10,
                    "unit_price": 1234.5,
                    "term_start": "2026-01-01",
                    "term_end": "2027-01-31",
                    "notice_days": 30,
                    "auto_renew": True,
                }
            ],
        }
    )


def add_finding(store: Store, subject: str, verdict: str, money_value: str, evidence: dict[str, Any]) -> None:
    with store.transaction() as session:
        session.add(
            Finding(
                tenant_id="acme",
                analyzer="unused_seats",
                rule="inactive",
                fingerprint=f"inactive|evil|{HOSTILE_SKU}|{subject}",
                app_id="evil",
                sku=HOSTILE_SKU,
                subject=subject,
                verdict=verdict,
                severity="medium",
                title=f"{subject} has not used {HOSTILE_NAME} <i>for 90 days</i>",
                monthly_waste=Decimal(money_value),
                currency="EUR",
                evidence=evidence,
                state="open",
                first_seen_at=NOW,
                last_seen_at=NOW,
                resolved_at=None,
            )
        )


def test_vendor_text_is_escaped_everywhere(store: Store) -> None:
    tenant = hostile_tenant()
    apply_tenant_config(store, tenant)
    add_finding(
        store,
        "o'brien@acme.example",
        "fail",
        "1234.50",
        {
            "person": "o'brien@acme.example",
            "name": "<svg onload=alert(2)>",
            "last_seen": "2026-08-01T10:00:00+00:00",
            "last_seen_by": "<okta>",
            "action": "Remove the seat <a href='https://evil.example'>now</a>",
        },
    )
    report = report_of(store, tenant)
    page = render_report(report)
    tags = parsed(page)
    for text in (
        HOSTILE_NAME,
        HOSTILE_SKU,
        "<svg onload",
        "<okta>",
        "<a href=",
        "<i>for",
        "<b>chat",
        "<Ltd>",
    ):
        assert text not in page, text
    assert "&lt;script&gt;alert(&quot;app&quot;)&lt;/script&gt;" in page  # shown as text, in the HTML and SVG
    assert page.count("&lt;script&gt;") >= 3
    assert "Acme &amp; Sons &lt;Ltd&gt;" in page
    assert not {"script", "img", "a", "i", "b"} & set(tags.tags)
    assert tags.by_id["monthly-savings"] == "€1,234.50"
    assert tags.by_id["annual-savings"] == "€14,814.00"


def test_unknown_findings_are_listed_as_not_judged_and_never_counted(store: Store) -> None:
    tenant = hostile_tenant()
    apply_tenant_config(store, tenant)
    add_finding(store, "active@acme.example", "fail", "12.00", {"person": "active@acme.example"})
    add_finding(
        store,
        "stale@acme.example",
        "unknown",
        "0.00",
        {"person": "stale@acme.example", "stale_sources": {"okta": "last sync failed"}},
    )
    report = report_of(store, tenant)
    assert report.savings.monthly == Decimal("12.00")
    assert report.unknown_count == 1
    (unknown,) = report.unknown
    assert (unknown.subject, unknown.reason) == ("stale@acme.example", "okta last sync failed")
    assert all("stale@" not in (f.who or "") for f in (*report.top, *report.others))
    assert all(r.monthly for r in report.reasons)
    page = render_report(report)
    assert "stale@acme.example: could not be judged: " in page
    assert "okta last sync failed" in page


def test_an_empty_tenant_gets_a_page_that_says_so(store: Store) -> None:
    tenant = TenantConfig.model_validate({"id": "newco", "name": "NewCo", "currency": "GBP"})
    apply_tenant_config(store, tenant)
    report = report_of(store, tenant)
    assert not report.has_data
    assert report.savings.monthly == Decimal(0) and report.monthly_spend == Decimal(0)
    page = render_report(report)
    tags = parsed(page)
    assert "no-data" in tags.by_id and "saaswatch sync --tenant newco" in tags.by_id["no-data"]
    assert tags.by_id["monthly-savings"] == "£0.00"
    for chart in CHARTS:
        assert tags.by_id[f"{chart}-desc"], chart  # an empty chart still says why


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2132.25", "USD", "$2,132.25"),
        ("1234567.005", "EUR", "€1,234,567.01"),
        ("0", "GBP", "£0.00"),
        ("-5", "CHF", "\u2212CHF\u00a05.00"),
    ],
)
def test_money_has_two_decimals_thousands_separators_and_the_currency(
    amount: str, currency: str, expected: str
) -> None:
    assert money(Decimal(amount), currency) == expected


def test_a_report_without_an_as_of_judges_today(store: Store) -> None:
    tenant = TenantConfig.model_validate({"id": "today", "name": "Today Ltd"})
    apply_tenant_config(store, tenant)
    assert report_of(store, tenant).evaluated_on == NOW.date()
