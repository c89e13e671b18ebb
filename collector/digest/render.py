"""The digest in words: the sentences every channel shows, the plain-text form and the HTML e-mail.

Chat renderers (:mod:`collector.digest.slack`, :mod:`collector.digest.teams`) take the same
sentences from here and only change the markup, so every channel says the same thing.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from collector.digest.content import Deadline, Digest, StaleSource, TopFinding

MAX_LISTED = 15  # stale sources and deadlines listed before "and N more"
FOOTER = "Sent by saaswatch. `saaswatch findings --tenant {tenant}` lists every finding with its evidence."


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def day(value: date | datetime) -> str:
    return f"{value.day} {value:%b %Y}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def title(digest: Digest) -> str:
    return f"SaaS waste digest for {digest.tenant_name}"


def period(digest: Digest) -> str:
    text = f"{day(digest.since)} to {day(digest.generated_at)}"
    if digest.evaluated_on is not None:
        text += f" (findings judged as of {day(digest.evaluated_on)})"
    return text


def headline(digest: Digest) -> str:
    return (
        f"Waste: {money(digest.monthly_waste, digest.currency)} a month, "
        f"{money(digest.annual_waste, digest.currency)} a year, in "
        f"{plural(digest.open_findings, 'open finding')} (each seat counted once)."
    )


def change(digest: Digest) -> str:
    previous = digest.previous
    if previous is None:
        return "This is the first digest: there is no earlier total to compare with."
    delta = digest.change
    when = day(previous.sent_at)
    if delta is None:
        return f"The reporting currency changed since the last digest ({when}): no comparison."
    was = money(previous.monthly_waste, previous.currency)
    if delta > 0:
        return f"Up {money(delta, digest.currency)} a month since the last digest ({when}, {was})."
    if delta < 0:
        return f"Down {money(-delta, digest.currency)} a month since the last digest ({when}, {was})."
    return f"No change since the last digest ({when})."


def signed_change(digest: Digest) -> str:
    """The change as a short figure for a fact list: ``+120.00 USD``, or why there is none."""
    delta = digest.change
    if delta is None:
        return "first digest" if digest.previous is None else "not comparable (currency changed)"
    return ("+" if delta > 0 else "") + money(delta, digest.currency)


def new_findings(digest: Digest) -> str:
    if not digest.new.findings:
        return f"New since {day(digest.since)}: none."
    return (
        f"New since {day(digest.since)}: {plural(digest.new.findings, 'finding')}, "
        f"{money(digest.new.monthly, digest.currency)} a month."
    )


def resolved_findings(digest: Digest) -> str:
    if not digest.resolved.findings:
        return f"Resolved since {day(digest.since)}: none."
    return (
        f"Resolved since {day(digest.since)}: {plural(digest.resolved.findings, 'finding')}, "
        f"{money(digest.resolved.monthly, digest.currency)} a month saved."
    )


def summary(digest: Digest) -> list[str]:
    """The opening sentences: total, change, new and resolved."""
    return [headline(digest), change(digest), new_findings(digest), resolved_findings(digest)]


def fallback_text(digest: Digest) -> str:
    """One line for notifications and clients that show no rich layout."""
    return f"{title(digest)}: {headline(digest)} {change(digest)}"


def top_heading(digest: Digest) -> str:
    return f"Top {len(digest.top)} findings by money" if digest.top else "No open waste findings"


def finding_heading(finding: TopFinding, currency: str) -> str:
    return f"{finding.app}: {money(finding.monthly_waste, currency)} a month"


STALE_HEADING = "Stale or failing connectors"


def stale_sentence(source: StaleSource) -> str:
    if source.last_success_at is None:
        text = f"Data from {source.source} has never arrived ({source.reason})"
    else:
        since = f"{source.last_success_at:%Y-%m-%d %H:%M} UTC"
        text = f"Data from {source.source} is stale since {since} ({source.reason})"
    text += "; waste there could not be judged."
    if source.error:
        text += f" Last error: {source.error}"
    return text


def unknown_sentence(digest: Digest) -> str | None:
    if not digest.unknown_findings:
        return None
    return f"{plural(digest.unknown_findings, 'finding')} could not be judged until the data is fresh again."


def deadlines_heading(digest: Digest) -> str:
    return f"Cancellation deadlines in the next {digest.deadline_days} days"


def deadline_sentence(deadline: Deadline, currency: str) -> str:
    days = plural(deadline.days_left, "day")
    if deadline.auto_renew:
        text = (
            f"{deadline.app} ({deadline.sku}): give notice by {deadline.deadline.isoformat()} ({days} left) "
            f"or it renews after {deadline.term_end.isoformat()}."
        )
    else:
        text = (
            f"{deadline.app} ({deadline.sku}): ends on {deadline.term_end.isoformat()} without renewing "
            f"({days} left)."
        )
    size = []
    if deadline.seats is not None:
        size.append(plural(deadline.seats, "seat"))
    if deadline.monthly_cost is not None:
        size.append(f"{money(deadline.monthly_cost, currency)} a month")
    if size:
        text += " Now: " + ", ".join(size) + "."
    return text


def footer(digest: Digest) -> str:
    return FOOTER.format(tenant=digest.tenant_id)


def more(count: int) -> str:
    return f"… and {count} more."


@dataclass(frozen=True)
class Section:
    """A heading and its entries; an entry is a lead sentence and optional detail lines."""

    heading: str
    entries: list[tuple[str, list[str]]]
    numbered: bool = False  # a ranking: renderers number the entries


def sections(digest: Digest) -> list[Section]:
    """The body after the summary, as every channel shows it (empty sections left out)."""
    out = []
    top = [
        (finding_heading(f, digest.currency), [f.title, *([f"What to do: {f.action}"] if f.action else [])])
        for f in digest.top
    ]
    out.append(Section(top_heading(digest), top, numbered=True))
    if digest.stale or digest.unknown_findings:
        entries: list[tuple[str, list[str]]] = [(stale_sentence(s), []) for s in digest.stale[:MAX_LISTED]]
        if len(digest.stale) > MAX_LISTED:
            entries.append((more(len(digest.stale) - MAX_LISTED), []))
        unknown = unknown_sentence(digest)
        if unknown:
            entries.append((unknown, []))
        out.append(Section(STALE_HEADING, entries))
    if digest.deadlines:
        due: list[tuple[str, list[str]]] = [
            (deadline_sentence(d, digest.currency), [f"What to do: {d.action}"] if d.action else [])
            for d in digest.deadlines[:MAX_LISTED]
        ]
        if len(digest.deadlines) > MAX_LISTED:
            due.append((more(len(digest.deadlines) - MAX_LISTED), []))
        out.append(Section(deadlines_heading(digest), due))
    return out


def render_text(digest: Digest) -> str:
    """The plain-text digest: the e-mail's text part and ``saaswatch digest --dry-run``."""
    lines = [title(digest), period(digest), "", *summary(digest)]
    for section in sections(digest):
        lines += ["", section.heading]
        for rank, (lead, details) in enumerate(section.entries, start=1):
            lines.append(f" {rank:>2}. {lead}" if section.numbered else f" - {lead}")
            lines += [f"     {detail}" if section.numbered else f"   {detail}" for detail in details]
    lines += ["", footer(digest)]
    return "\n".join(lines) + "\n"


def subject(digest: Digest) -> str:
    return (
        f"{title(digest)}: {money(digest.monthly_waste, digest.currency)} a month "
        f"({day(digest.generated_at)})"
    )


def render_html(digest: Digest) -> str:
    """A simple HTML e-mail: headings, paragraphs and lists, inline styles only (mail clients drop
    style sheets)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html><body style="font-family: Arial, Helvetica, sans-serif; font-size: 14px; color: #222;">',
        f'<h2 style="margin-bottom: 4px;">{e(title(digest))}</h2>',
        f'<p style="color: #666; margin-top: 0;">{e(period(digest))}</p>',
        f"<p><strong>{e(headline(digest))}</strong></p>",
        "<ul>" + "".join(f"<li>{e(line)}</li>" for line in summary(digest)[1:]) + "</ul>",
    ]
    for section in sections(digest):
        parts.append(f'<h3 style="margin-bottom: 4px;">{e(section.heading)}</h3>')
        tag = "ol" if section.numbered else "ul"
        items = []
        for lead, details in section.entries:
            detail = "".join(f'<br><span style="color: #444;">{e(d)}</span>' for d in details)
            items.append(f'<li style="margin-bottom: 6px;"><strong>{e(lead)}</strong>{detail}</li>')
        parts.append(f"<{tag}>{''.join(items)}</{tag}>")
    parts.append(f'<p style="color: #666; font-size: 12px;">{e(footer(digest))}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
