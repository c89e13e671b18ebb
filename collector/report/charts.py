"""The report's five charts, drawn from its figures with :mod:`collector.report.svg`."""

from __future__ import annotations

from decimal import Decimal

from collector.report import svg
from collector.report.data import CategorySpend, RenewalTerm, ReportData
from collector.report.fmt import count, money
from collector.report.markup import Markup
from collector.report.svg import BarRow, Series, TimelineRow

MAX_ROWS = 20  # bars per chart; the rest are added up in a last row
MAX_CATEGORIES = 14


def _axis_amount(value: float) -> str:
    return f"{value:,.0f}"


def _axis_percent(value: float) -> str:
    return f"{value:.0f}%"


def _axis_count(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _apps(names: tuple[str, ...], shown: int = 2) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def spend_by_category(report: ReportData) -> Markup:
    chart_id, title = "chart-spend", "Monthly spend by category"
    if not report.categories:
        return svg.empty_chart(chart_id, title, "No priced licenses or spend yet.")
    shown = list(report.categories)
    rest: list[CategorySpend] = []
    if len(shown) > MAX_CATEGORIES:
        shown, rest = shown[: MAX_CATEGORIES - 1], shown[MAX_CATEGORIES - 1 :]
    rows = [
        BarRow(c.category, (float(c.monthly),), money(c.monthly, report.currency), detail=_apps(c.apps))
        for c in shown
    ]
    if rest:
        other = sum((c.monthly for c in rest), Decimal(0))
        rows.append(BarRow(f"{len(rest)} other categories", (float(other),), money(other, report.currency)))
    desc = (
        f"Monthly spend of {money(report.monthly_spend, report.currency)} by app category: "
        + "; ".join(
            f"{c.category} {money(c.monthly, report.currency)} ({', '.join(c.apps)})"
            for c in report.categories
        )
        + "."
    )
    return svg.bar_chart(
        chart_id,
        title,
        desc,
        rows,
        [Series("Monthly spend", svg.BLUE)],
        x_title=f"Spend per month ({report.currency})",
        y_title="Category",
        tick_label=_axis_amount,
    )


def waste_by_reason(report: ReportData) -> Markup:
    chart_id, title = "chart-reasons", "Savings available by reason"
    if not report.reasons:
        return svg.empty_chart(chart_id, title, "No savings found.")
    rows = [BarRow(r.label, (float(r.monthly),), money(r.monthly, report.currency)) for r in report.reasons]
    desc = (
        f"Savings of {money(report.savings.monthly, report.currency)} per month by reason, each seat "
        "counted once under its largest finding: "
        + "; ".join(f"{r.label} {money(r.monthly, report.currency)} ({r.count})" for r in report.reasons)
        + "."
    )
    return svg.bar_chart(
        chart_id,
        title,
        desc,
        rows,
        [Series("Savings per month", svg.VERMILLION)],
        x_title=f"Savings per month ({report.currency})",
        y_title="Reason",
        tick_label=_axis_amount,
    )


USAGE_SERIES = (
    Series("Used recently", svg.BLUE),
    Series("Assigned, not used recently", svg.ORANGE, text_colour=svg.INK),
    Series("Bought, not assigned", svg.VERMILLION, hatched=True),
)


def utilisation(report: ReportData) -> Markup:
    chart_id, title = "chart-usage", "Seats bought, assigned and used, per app"
    if not report.usage:
        return svg.empty_chart(chart_id, title, "No license pools yet.")
    rows = []
    for u in report.usage[:MAX_ROWS]:
        seats = max(u.purchased, u.assigned)
        rows.append(
            BarRow(
                u.name,
                tuple(100 * n / seats for n in (u.active, u.idle, u.unassigned)),
                f"{count(u.active)} of {count(seats)} used",
                tuple(count(n) if n else None for n in (u.active, u.idle, u.unassigned)),
            )
        )
    parts = [
        f"{u.name} {u.active} used within {u.active_days} days, {u.idle} idle, {u.unassigned} unassigned "
        f"of {u.purchased} bought"
        for u in report.usage
    ]
    desc = "Seats per app, used recently, assigned but idle, and bought but not assigned: " + "; ".join(parts)
    return svg.bar_chart(
        chart_id,
        title,
        desc,
        rows,
        USAGE_SERIES,
        x_title="Share of the seats bought (%); the numbers in the bars are seats",
        y_title="App",
        tick_label=_axis_percent,
    )


def term_labels(terms: tuple[RenewalTerm, ...]) -> list[str]:
    """The app's name, or with the plan when the app has several terms (``Microsoft 365 · Power BI Pro``)."""
    apps = [t.app_id for t in terms]
    return [t.app if apps.count(t.app_id) == 1 else f"{t.app} · {t.sku}" for t in terms]


def _term_note(term: RenewalTerm) -> str:
    if term.seats is None:
        return f"{count(term.unused_seats)} unused" if term.unused_seats else "—"
    if term.unused_seats:
        return f"{count(term.unused_seats)} of {count(term.seats)} unused"
    return f"all {count(term.seats)} used"


def _term_tooltip(term: RenewalTerm) -> str:
    if term.auto_renew:
        when = f"give notice by {term.deadline.isoformat()}, renews after {term.term_end.isoformat()}"
    else:
        when = f"ends {term.term_end.isoformat()} without renewing"
    return f"{term.app} ({term.sku}): {when}; {_term_note(term)}"


def renewals(report: ReportData) -> Markup:
    chart_id, title = "chart-renewals", "Renewals in the next 12 months"
    if not report.renewals:
        return svg.empty_chart(chart_id, title, "No license term ends in the next 12 months.")
    rows = [
        TimelineRow(label, t.deadline, t.term_end, _term_note(t), t.unused_seats > 0, _term_tooltip(t))
        for label, t in zip(term_labels(report.renewals), report.renewals, strict=True)
    ]
    desc = (
        f"License terms from {report.evaluated_on.isoformat()} to {report.renewal_horizon.isoformat()}: "
        + "; ".join(_term_tooltip(t) for t in report.renewals)
        + "."
    )
    return svg.timeline_chart(
        chart_id,
        title,
        desc,
        rows,
        report.evaluated_on,
        report.renewal_horizon,
        x_title="Month (YYYY-MM)",
        y_title="License term",
    )


OVERLAP_SERIES = (
    Series("Only in the app to keep", svg.BLUE),
    Series("In both", svg.GREEN),
    Series("Only in the app to drop", svg.ORANGE, text_colour=svg.INK),
)


def overlap(report: ReportData) -> Markup:
    chart_id, title = "chart-overlap", "Overlapping tools: who uses which"
    if not report.overlaps:
        return svg.empty_chart(chart_id, title, "No two tools of one category are both in use.")
    rows = [
        BarRow(
            f"{p.keep} / {p.drop} ({p.category})",
            (float(p.only_keep), float(p.both), float(p.only_drop)),
            f"{count(p.both)} in both",
            (f"{p.only_keep} {p.keep}", f"{p.both} both" if p.both else None, f"{p.only_drop} {p.drop}"),
        )
        for p in report.overlaps
    ]
    parts = [
        f"{p.category}: {p.only_keep} only in {p.keep} (keep), {p.both} in both, "
        f"{p.only_drop} only in {p.drop} (drop)"
        for p in report.overlaps
    ]
    desc = "Active people per pair of apps of one category: " + "; ".join(parts)
    return svg.bar_chart(
        chart_id,
        title,
        desc,
        rows,
        OVERLAP_SERIES,
        x_title="Active people",
        y_title="Apps (keep / drop)",
        tick_label=_axis_count,
    )
