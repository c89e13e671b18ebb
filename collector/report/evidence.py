"""A finding's evidence in plain words for a client: who, last seen when by which source, what the
identity provider says, when the money can be saved. Evidence comes from vendor data and differs per
analyzer, so every key is optional and every value is turned into text defensively."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from collector.report.data import Detail
from collector.report.fmt import money

# Reasons in plain words, in the order a seat flagged twice is listed under: a leaver's idle seat is
# first an offboarding gap (remove the leaver), then an unused seat.
REASONS: dict[tuple[str, str], str] = {
    ("offboarding", "offboarded"): "Leavers still holding seats",
    ("offboarding", "not_in_idp"): "Accounts outside the identity provider",
    ("billing_reconciliation", "over_billed"): "Billed for more seats than exist",
    ("unused_seats", "unassigned"): "Seats bought, never assigned",
    ("unused_seats", "never_active"): "Seats never used",
    ("unused_seats", "inactive"): "Inactive seats",
    ("rightsizing", "downgrade"): "A cheaper plan would do",
    ("overlap", "duplicate_tools"): "Two tools for one job",
    ("shadow_it", "unsanctioned_app"): "Unapproved apps",
    ("overlap", "parallel_tools"): "Parallel tools",
    ("renewals", "renewal"): "Renewals",
    ("vendor_risk", "vendor_risk"): "Vendor risk",
    ("billing_reconciliation", "under_billed"): "Seats not billed",
    ("unused_seats", "no_usage_data"): "No usage data",
}
RANK = {key: n for n, key in enumerate(REASONS)}
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2, "info": 3}
PEOPLE_LISTED = 6  # names of an overlap's shared users printed before "and N more"
CHARGES_LISTED = 3


def reason_label(analyzer: str, rule: str) -> str:
    return REASONS.get((analyzer, rule)) or f"{analyzer} {rule}".replace("_", " ").capitalize()


def reason_rank(analyzer: str, rule: str) -> int:
    return RANK.get((analyzer, rule), len(RANK))


def day_of(value: Any) -> str | None:
    """``2026-09-06T14:00:00+00:00`` as ``2026-09-06``; "never" stays; None for nothing."""
    if value is None or value == "":
        return None
    text = str(value)
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        return text


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _names(values: Any) -> str:
    if isinstance(values, list | tuple):
        return ", ".join(str(v) for v in values)
    return str(values)


def person(evidence: dict[str, Any]) -> tuple[str | None, str] | None:
    """(name, e-mail) of the person a finding names."""
    email = evidence.get("person")
    if not email:
        return None
    name = evidence.get("name")
    return (str(name) if name else None, str(email))


def who(evidence: dict[str, Any]) -> str | None:
    person = evidence.get("person")
    if person:
        name = evidence.get("name")
        return f"{name} ({person})" if name else str(person)
    people = evidence.get("people_in_both")
    if isinstance(people, list) and people:
        both = int(evidence.get("active_in_both") or len(people))
        listed = ", ".join(str(p) for p in people[:PEOPLE_LISTED])
        more = both - min(len(people), PEOPLE_LISTED)
        return f"{both} people use both: {listed}" + (f" and {more} more" if more > 0 else "")
    granted = evidence.get("granted_by")
    if isinstance(granted, list) and granted:
        return "granted access: " + _names(granted[:PEOPLE_LISTED])
    return None


def details(evidence: dict[str, Any], currency: str) -> tuple[Detail, ...]:
    """The evidence a client checks before acting, each line labelled."""
    found: list[Detail] = []

    def add(label: str, text: str | None) -> None:
        if text:
            found.append(Detail(label, text))

    add("Last seen", _last_seen(evidence))
    add("Identity provider", _idp(evidence))
    add("Seat held since", day_of(evidence.get("seat_assigned")))
    if evidence.get("unassigned") is not None:
        add(
            "Seats",
            f"{evidence.get('unassigned')} of {evidence.get('seats_purchased')} bought are not assigned",
        )
    price = _decimal(evidence.get("monthly_price_per_seat"))
    if price is not None:
        add("Price", f"{money(price, str(evidence.get('currency') or currency))} per seat per month")
    add("Charges", _charges(evidence, currency))
    add("Risky access", _scopes(evidence))
    add("Can be saved", str(evidence["reclaimable"]) if evidence.get("reclaimable") else None)
    add("Note", str(evidence["caveat"]) if evidence.get("caveat") else None)
    sources = evidence.get("reported_by") or evidence.get("seat_reported_by")
    add("Reported by", _names(sources) if sources else None)
    return tuple(found)


def _last_seen(evidence: dict[str, Any]) -> str | None:
    for when_key, by_key in (("last_seen", "last_seen_by"), ("last_seen_in_app", "last_seen_in_app_by")):
        when = day_of(evidence.get(when_key))
        if when:
            by = evidence.get(by_key)
            return f"{when} (per {by})" if by else when
    sources = evidence.get("sources")
    if (
        isinstance(sources, list)
        and sources
        and all(isinstance(s, dict) and s.get("last_seen") in (None, "never") for s in sources)
    ):
        return "never (per " + ", ".join(str(s.get("source")) for s in sources) + ")"
    return None


def _idp(evidence: dict[str, Any]) -> str | None:
    status = evidence.get("idp_status")
    if status and status != "active":
        source = evidence.get("idp_status_from")
        text = f"{status}" + (f" (per {source})" if source else "")
        last = day_of(evidence.get("last_idp_sign_in"))
        return text + (f", last sign-in {last}" if last else "")
    if "idp_apps" in evidence and not status:
        return "no account in " + _names(evidence.get("idp_apps") or [])
    return None


def _charges(evidence: dict[str, Any], currency: str) -> str | None:
    charges = evidence.get("charges")
    if not isinstance(charges, list) or not charges:
        return None
    lines = []
    for charge in charges[:CHARGES_LISTED]:
        if not isinstance(charge, dict):
            continue
        total = _decimal(charge.get("total"))
        paid = money(total, str(charge.get("currency") or currency)) if total is not None else "?"
        what = charge.get("description") or charge.get("merchant")
        lines.append(
            f"{what}: {charge.get('charges')} {charge.get('kind') or ''} charges, {paid} "
            f"({day_of(charge.get('first'))} to {day_of(charge.get('last'))})"
        )
    more = len(charges) - CHARGES_LISTED
    return "; ".join(lines) + (f"; and {more} more" if more > 0 else "")


def _scopes(evidence: dict[str, Any]) -> str | None:
    risky = evidence.get("risky_scopes")
    if isinstance(risky, dict) and risky:
        return "; ".join(f"{label}: {_names(people)}" for label, people in risky.items())
    return None


def unknown_reason(evidence: dict[str, Any], title: str) -> str:
    """Why a finding could not be judged: its stale sources with their reasons, else its title."""
    stale = evidence.get("stale_sources")
    if isinstance(stale, dict) and stale:
        return "; ".join(f"{source} {reason}" for source, reason in sorted(stale.items()))
    if isinstance(stale, list) and stale:
        return "stale source: " + _names(stale)
    return title
