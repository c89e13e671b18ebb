"""The client report as one self-contained HTML page: inline CSS and SVG, no script, no external
file, font or image, so it opens anywhere, prints on A4 and can be mailed as an attachment."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version

from collector.report import charts
from collector.report.data import FindingView, ReportData
from collector.report.fmt import count, day, money, plural
from collector.report.markup import Child, Markup, element, join
from collector.report.style import CSS
from collector.showback import UNASSIGNED, UNKNOWN

DEPARTMENT_NAMES = {
    UNASSIGNED: "Not tied to a person (unassigned seats, app-level findings)",
    UNKNOWN: "No department on record",
}


def render_report(report: ReportData) -> str:
    title = f"SaaS review: {report.tenant_name}, {day(report.generated_at)}"
    head = element(
        "head",
        Markup('<meta charset="utf-8">'),
        element("meta", name="viewport", content="width=device-width, initial-scale=1"),
        element("meta", name="generator", content="saaswatch"),
        element("title", title),
        element("style", Markup(CSS)),
    )
    body = element(
        "body",
        element(
            "main",
            _masthead(report),
            element(
                "div",
                _headline(report),
                _savings(report),
                _top_findings(report),
                _utilisation(report),
                _renewals(report),
                _overlap(report),
                _vendor_risks(report),
                _showback(report),
                _unknown(report),
                _others(report),
                _method(report),
                class_="content",
            ),
            class_="page",
        ),
    )
    return "<!doctype html>\n" + element("html", head, body, lang="en") + "\n"


def _m(report: ReportData, amount: Decimal) -> str:
    return money(amount, report.currency)


def _section(section_id: str, title: str, *content: Child) -> Markup:
    return element("section", element("h2", title), *content, id=section_id)


def _lead(*content: Child) -> Markup:
    return element("p", *content, class_="lead")


def _figure(chart: Markup, caption: str, sub: str) -> Markup:
    return element(
        "figure",
        element("figcaption", caption, element("span", sub, class_="sub")),
        chart,
    )


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Child]],
    numeric: Sequence[int] = (),
    foot: Sequence[Child] | None = None,
    class_: str | None = None,
) -> Markup:
    def cells(tag: str, values: Sequence[Child]) -> Markup:
        return join(element(tag, v, class_="num" if i in numeric else None) for i, v in enumerate(values))

    return element(
        "table",
        element("thead", element("tr", cells("th", headers))),
        element("tbody", *(element("tr", cells("td", row)) for row in rows)),
        element("tfoot", element("tr", cells("td", foot))) if foot else None,
        class_=class_,
    )


def _masthead(report: ReportData) -> Markup:
    meta = (
        f"Report of {day(report.generated_at)} · findings judged as of {day(report.evaluated_on)} · "
        f"amounts in {report.currency}"
    )
    return element(
        "header",
        element("div", "SaaS review", class_="eyebrow"),
        element("h1", report.tenant_name),
        element("p", meta, class_="meta"),
        class_="masthead",
    )


def _kpi(label: str, value: str, amount: Decimal, kpi_id: str, *units: str, main: bool = False) -> Markup:
    return element(
        "div",
        element("div", label, class_="kpi-label"),
        element("div", value, class_="kpi-value", id=kpi_id, data_amount=f"{amount:.2f}"),
        *(element("div", unit, class_="kpi-unit") for unit in units),
        class_="kpi kpi-main" if main else "kpi",
    )


def _headline(report: ReportData) -> Markup:
    period = report.period
    notice = None
    if not report.has_data:
        notice = element(
            "div",
            element("strong", "No data yet. "),
            f"No source of {report.tenant_name} has synced and no contract is configured, so there "
            "is nothing to judge. Run ",
            element("code", f"saaswatch sync --tenant {report.tenant_id}"),
            " and make the report again.",
            class_="notice",
            id="no-data",
        )
    cards = element(
        "section",
        _kpi(
            "Savings available",
            _m(report, report.savings.monthly),
            report.savings.monthly,
            "monthly-savings",
            "per month",
            f"in {plural(report.savings.findings, 'open finding')}",
            main=True,
        ),
        _kpi(
            "Savings per year",
            _m(report, report.savings.annual),
            report.savings.annual,
            "annual-savings",
            "twelve months",
            "at today's prices",
        ),
        _kpi(
            "Saved this period",
            _m(report, report.realised_in_period.monthly),
            report.realised_in_period.monthly,
            "realised-period",
            "per month",
            f"since {day(period.start)}",
            f"{plural(report.realised_in_period.findings, 'finding')} resolved",
        ),
        _kpi(
            "Saved in total",
            _m(report, report.realised_total.monthly),
            report.realised_total.monthly,
            "realised-total",
            "per month",
            f"{plural(report.realised_total.findings, 'finding')} resolved",
        ),
        class_="headline",
        aria_label="Summary",
    )
    if not report.has_data:
        return join([notice, cards])
    apps = len(report.app_spend)
    summary = element(
        "p",
        f"{report.tenant_name} spends about {_m(report, report.monthly_spend)} a month on "
        f"{plural(apps, 'app')} we can price. Fixing the {plural(report.savings.findings, 'open finding')} "
        f"below saves {_m(report, report.savings.monthly)} a month; a seat flagged for two reasons is "
        "counted once. ",
        f"Realised savings cover {period.basis}: {day(period.start)} to {day(period.end)}. ",
        f"{plural(report.unknown_count, 'finding')} could not be judged (see the end of the report)."
        if report.unknown_count
        else None,
        class_="summary",
    )
    return join([notice, cards, summary])


def _savings(report: ReportData) -> Markup:
    return _section(
        "savings",
        "Where the savings are",
        _figure(
            charts.waste_by_reason(report),
            "Savings available by reason",
            f"Per month, in {report.currency}; each seat counted once, under its largest finding.",
        ),
        _figure(
            charts.spend_by_category(report),
            "Monthly spend by category",
            "License pools at their seat count and price; apps without one at their card and invoice "
            "spend of the last 90 days.",
        ),
    )


def _finding(rank: int, finding: FindingView, report: ReportData) -> Markup:
    details = [(d.label, d.text) for d in finding.details]
    if finding.who:
        details.insert(0, ("Who", finding.who))
    return element(
        "li",
        element(
            "div",
            element("span", str(rank), class_="rank"),
            element("span", finding.app, class_="app"),
            element("span", finding.sku, class_="sku") if finding.sku else None,
            element("span", finding.reason, class_="tag"),
            element("span", finding.severity, class_="sev"),
            element("span", _m(report, finding.monthly), element("small", " /month"), class_="money"),
            class_="finding-head",
        ),
        element("p", finding.title, class_="what"),
        element("dl", *(join([element("dt", k), element("dd", v)]) for k, v in details), class_="evidence")
        if details
        else None,
        element("p", element("strong", "What to do: "), finding.action, class_="action")
        if finding.action
        else None,
        element("p", "Also flagged: " + "; ".join(finding.also), class_="also") if finding.also else None,
        class_=f"finding sev-{finding.severity}",
    )


def _top_findings(report: ReportData) -> Markup:
    if not report.top:
        return _section("top-findings", "Top findings", element("p", "No savings found.", class_="empty"))
    return _section(
        "top-findings",
        "Top findings",
        _lead(
            f"The {plural(len(report.top), 'biggest saving')}, with the evidence behind each: who, "
            "when they were last seen and by which source, and what to do."
        ),
        element("ol", *(_finding(n, f, report) for n, f in enumerate(report.top, 1)), class_="findings"),
    )


def _utilisation(report: ReportData) -> Markup:
    common = _common_days(report)
    overrides = [f"{u.name}: {u.active_days}" for u in report.usage if u.active_days != common]
    days = f"{common} days" + (f" ({', '.join(overrides)} days)" if overrides else "")
    return _section(
        "utilisation",
        "Seat utilisation",
        _figure(
            charts.utilisation(report),
            "Seats bought, assigned and used, per app",
            f"Used recently: the holder was seen in the app within {days}, the line the unused-seat "
            "findings use. Apps with the most idle or unassigned seats first.",
        ),
    )


def _common_days(report: ReportData) -> int:
    days = [u.active_days for u in report.usage]
    return max(set(days), key=days.count) if days else 60


def _renewal_rows(report: ReportData) -> list[Markup]:
    """A row per term, with the renewals analyzer's advice on a full-width line under it."""
    rows = []
    for t in report.renewals:
        deadline = (
            day(t.deadline) + ("" if t.auto_renew else " (ends)") + (" (passed)" if t.days_left < 0 else "")
        )
        cells = [
            element("td", element("strong", t.app), element("span", t.sku, class_="sub")),
            element("td", deadline, class_="date"),
            element("td", day(t.term_end), class_="date"),
            element("td", count(t.seats) if t.seats is not None else "—", class_="num"),
            element("td", count(t.unused_seats), class_="num unused" if t.unused_seats else "num"),
            element(
                "td", count(t.recommended_seats) if t.recommended_seats is not None else "—", class_="num"
            ),
            element(
                "td", _m(report, t.monthly_saving) if t.monthly_saving is not None else "—", class_="num"
            ),
        ]
        rows.append(element("tr", *cells, class_="has-advice" if t.action else None))
        if t.action:
            rows.append(element("tr", element("td", t.action, colspan=len(cells)), class_="advice"))
    return rows


def _renewals(report: ReportData) -> Markup:
    headers = ["App and plan", "Give notice by", "Term ends", "Seats", "Unused", "Renew at", "Saving /month"]
    table = element(
        "table",
        element(
            "thead",
            element(
                "tr", *(element("th", h, class_="num" if n >= 3 else None) for n, h in enumerate(headers))
            ),
        ),
        element("tbody", *_renewal_rows(report)),
        class_="renewals",
    )
    return _section(
        "renewals",
        "Renewals and cancellation deadlines",
        _lead(
            "Unused seats can only be given back at a renewal, and only if the vendor is told by the notice "
            "deadline. The savings here are the unused seats counted above, not extra money."
        ),
        _figure(
            charts.renewals(report),
            "Renewals in the next 12 months",
            f"From {day(report.evaluated_on)} to {day(report.renewal_horizon)}. Unused seats: not assigned, "
            "not used recently, or held by people who left.",
        ),
        table if report.renewals else None,
    )


def _overlap(report: ReportData) -> Markup:
    items = [
        element(
            "li",
            element("strong", f"{p.keep} and {p.drop} ({p.category}): "),
            p.action or p.title,
            f" ({_m(report, p.monthly)} a month)" if p.monthly and not p.action else None,
            "" if p.judged else " Could not be judged with fresh data; the counts are the last known.",
        )
        for p in report.overlaps
    ]
    return _section(
        "overlap",
        "Overlapping tools",
        _figure(
            charts.overlap(report),
            "Overlapping tools: who uses which",
            "People active in each app of a pair of the same category: only in the app to keep, in both, "
            "only in the app to drop.",
        ),
        element("ul", *items, class_="plain") if items else None,
    )


def _vendor_risks(report: ReportData) -> Markup:
    if not report.vendor_risks:
        return _section(
            "vendor-risk",
            "Vendor risks",
            element("p", "No vendor reached the risk threshold.", class_="empty"),
        )
    rows = [
        [
            element("strong", r.app),
            join([element("span", f"{r.score}/100"), element("span", r.severity, class_="sub")]),
            element(
                "ul",
                *(element("li", f"{reason} (+{points})") for points, reason in r.reasons),
                class_="plain",
            ),
            _m(report, r.monthly_at_risk),
            count(r.people),
            r.action or "",
        ]
        for r in report.vendor_risks
    ]
    return _section(
        "vendor-risk",
        "Vendor risks",
        _lead("Apps whose vendor may not be there, or not the same, next year: exposure, not waste."),
        _table(["App", "Score", "Why", "At risk /month", "People", "What to do"], rows, numeric=(1, 3, 4)),
    )


def _showback(report: ReportData) -> Markup:
    if not report.departments:
        return _section("showback", "Department showback", element("p", "No seats yet.", class_="empty"))
    rows = [
        [
            DEPARTMENT_NAMES.get(d.department, d.department),
            count(d.seats),
            _m(report, d.monthly_spend),
            _m(report, d.monthly_waste),
        ]
        for d in report.departments
    ]
    foot = [
        "Total",
        count(sum(d.seats for d in report.departments)),
        _m(report, sum((d.monthly_spend for d in report.departments), Decimal(0))),
        _m(report, sum((d.monthly_waste for d in report.departments), Decimal(0))),
    ]
    unpriced = sum(d.unpriced_seats for d in report.departments)
    seat_spend = sum((d.monthly_spend for d in report.departments), Decimal(0))
    elsewhere = report.monthly_spend - seat_spend
    return _section(
        "showback",
        "Department showback",
        _lead(
            "Seats each department holds, what they cost and what could be saved per month. A seat is "
            "charged to its holder's department; savings count each seat once."
        ),
        _table(["Department", "Seats", "Spend /month", "Savings /month"], rows, numeric=(1, 2, 3), foot=foot),
        element("p", f"{plural(unpriced, 'seat')} without a price are counted but not costed.", class_="lead")
        if unpriced
        else None,
        element(
            "p",
            f"Spend here is license seats; {_m(report, elsewhere)} a month of card and invoice spend "
            "(apps without a license pool) is not tied to a department.",
            class_="lead",
        )
        if elsewhere > 0
        else None,
    )


def _unknown(report: ReportData) -> Markup:
    if not report.unknown:
        return _section(
            "unknown",
            "Could not be judged",
            element("p", "Every finding could be judged with fresh data.", class_="empty"),
        )
    items = [
        element(
            "li",
            element("strong", u.app),
            f" {u.subject}: could not be judged: ",
            element("span", u.reason, class_="unknown-reason"),
        )
        for u in report.unknown
    ]
    return _section(
        "unknown",
        "Could not be judged",
        _lead(
            "The data these depend on is stale or missing, so they are neither waste nor fine. They carry no "
            "money and are not in any total above."
        ),
        element("ul", *items, class_="plain"),
    )


def _person_cell(finding: FindingView) -> Markup:
    """Name over e-mail, like app over plan; the finding's sentence when it names nobody."""
    if finding.person is None:
        return join([finding.who or finding.title])
    name, email = finding.person
    if name is None:
        return join([email])
    return join([name, element("span", email, class_="sub")])


def _others(report: ReportData) -> Markup:
    if not report.others:
        return Markup("")
    rows = [
        [
            join([element("strong", f.app), element("span", f.sku, class_="sub") if f.sku else None]),
            f.reason,
            _person_cell(f),
            _m(report, f.monthly),
        ]
        for f in report.others
    ]
    more = (
        element(
            "p",
            f"And {plural(report.others_left_off, 'more seat')}: ",
            element("code", f"saaswatch findings --tenant {report.tenant_id} --format csv"),
            " lists them all.",
            class_="lead",
        )
        if report.others_left_off
        else None
    )
    return _section(
        "other-findings",
        "All other savings",
        _table(["App", "Reason", "Who or what", "Saving /month"], rows, numeric=(3,), class_="others"),
        more,
    )


def _method(report: ReportData) -> Markup:
    sources = [
        [
            s.source,
            day(s.last_success_at) if s.last_success_at else "never",
            element("span", "stale: " + (s.reason or ""), class_="status-stale")
            if s.stale
            else element("span", "fresh", class_="status-ok"),
        ]
        for s in report.sources
    ]
    points = [
        "Savings available: the open findings' monthly money, each app, plan and person counted once "
        "(a leaver's unused seat is both an offboarding gap and an unused seat, and one saving). It is the "
        "same figure as the monitoring total.",
        "Per year: the monthly figure times twelve; annual contracts save from their renewal.",
        f"Realised savings: findings resolved in the period ({day(report.period.start)} to "
        f"{day(report.period.end)}, {report.period.basis}), at their monthly money when they were open.",
        "Spend: license pools (contracts, vendor APIs, exports) at their seat count and price, converted "
        "to the reporting currency; apps without a priced pool at their average monthly card and invoice "
        "spend of the last 90 days.",
        "Findings whose data was stale are listed as could not be judged, never as waste.",
    ]
    return _section(
        "method",
        "How the figures are computed",
        element("ul", *(element("li", p) for p in points), class_="plain"),
        _table(["Data source", "Last successful sync", "Status"], sources) if sources else None,
        element(
            "footer",
            f"Made by saaswatch {_version()} on {report.generated_at:%Y-%m-%d %H:%M} UTC for tenant "
            f"{report.tenant_id}.",
            class_="colophon",
        ),
    )


def _version() -> str:
    try:
        return version("saaswatch")
    except PackageNotFoundError:
        return "(development)"
