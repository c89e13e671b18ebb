"""Offboarding gaps: people who left the identity provider but still have access or a paid seat.

Flags, one finding per app (per seat where the person holds one):

- ``offboarded``: the identity provider (IdP) says the person is ``suspended`` or ``deprovisioned``
  (``person.status``), yet an account of theirs in some app is still live, or they still hold a paid
  seat. A live account outside the IdP's reach is a way back in; a seat is money every month.
- ``not_in_idp``: the tenant has an IdP (accounts in one of ``idp_apps``: by default Okta, Google
  Workspace, Microsoft 365 and Entra ID, whichever are present) and this person has a live account or
  a seat elsewhere but no account in any IdP app at all: deleted from the IdP, or never in it. Only
  e-mail addresses in a domain the IdP covers count (``company_domains``, by default the domains of
  the IdP's own accounts), and guest accounts are skipped: outside collaborators are not expected
  in the IdP. IdP connectors yield their accounts as a snapshot, so someone deleted there loses
  their IdP account row at the next clean sync and shows up here.

Money: the monthly price of the paid seat, from the effective license pool, in the tenant currency.
A live account without a seat still counts (it is access) with no money. Severity is HIGH: every
finding is a security hole first.

Not flagged: bot and service accounts (``exclude_account_kinds``: they are not people), accounts the
app reports as closed (``closed_account_statuses``), seats the vendor already has scheduled for
cancellation, people in ``exclude_people``, apps with ``exclude: true``, and people still inside
the grace period: offboarding is often done app by app over a day or two. saaswatch does not store
when a status changed, so the grace period counts from the person's last sign-in to an IdP app (a
suspended account cannot sign in, so the suspension came after it): someone who signed in to the
IdP within ``grace_days`` (default 3) was offboarded within ``grace_days``. Without an IdP sign-in on
record there is no grace.

UNKNOWN instead of a finding with money: the source that gave the person's IdP status is stale
(``offboarded``), an IdP account source is stale (``not_in_idp``), or every source reporting the
account or seat is stale.

Example policy::

    policy:
      offboarding:
        grace_days: 3
        idp_apps: [okta, google_workspace]
        exclude_people: ["board-*@example.com"]
        apps:
          github: {grace_days: 7}      # repositories are handed over first
          legacy_crm: {exclude: true}
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from analyzers.base import (
    Analyzer,
    AnalyzerSettings,
    FindingDraft,
    Severity,
    TenantView,
    Verdict,
    code_digest,
    fingerprint_of,
)
from analyzers.sql import account_sources
from analyzers.unused_seats import monthly_price
from collector.models import Account, Activity, App, Person, Seat

CENT = Decimal("0.01")
# This module's code, part of every input digest.
_CODE = code_digest(__file__)
NO_POOL = (None, "no license pool for this SKU")
OFFBOARDED = ("suspended", "deprovisioned")
CHUNK = 500


class AppPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    exclude: bool = False
    grace_days: int | None = Field(default=None, ge=0)


class OffboardingSettings(AnalyzerSettings):
    # Apps whose accounts are the identity provider's users; those present in the tenant are used.
    idp_apps: list[str] = ["okta", "google_workspace", "m365", "entra"]
    grace_days: int = Field(default=3, ge=0)
    # E-mail domains every employee has an IdP account in; empty: the domains of the IdP's accounts.
    company_domains: list[str] = []
    # E-mail addresses or shell-style patterns never reported (board members, shared mailboxes).
    exclude_people: list[str] = []
    exclude_account_kinds: list[str] = ["bot", "service"]
    # Account states (lower case) that no longer give access; anything else counts as live.
    closed_account_statuses: list[str] = [
        "archived",
        "blocked",
        "cancelled",
        "closed",
        "deactivated",
        "deleted",
        "deprovisioned",
        "disabled",
        "inactive",
        "removed",
        "suspended",
    ]
    apps: dict[str, AppPolicy] = {}

    def excludes(self, email: str) -> bool:
        return any(fnmatch.fnmatch(email, p.lower()) for p in self.exclude_people)

    def grace_for(self, app_id: str) -> int:
        override = self.apps.get(app_id, AppPolicy()).grace_days
        return self.grace_days if override is None else override


@dataclass
class Holding:
    """What one person still holds in one app: a seat of one SKU, or a live account (``sku`` None)."""

    rule: str
    person_id: int
    email: str
    name: str | None
    idp_status: str | None
    status_source: str | None
    app_id: str
    sku: str | None
    sources: set[str] = field(default_factory=set)
    account_statuses: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Row:
    person_id: int
    email: str
    name: str | None
    status: str | None
    status_source: str | None
    app_id: str
    account_source: str
    account_status: str
    sku: str | None
    seat_source: str | None


class Offboarding(Analyzer):
    id = "offboarding"
    title = "Offboarding gaps"
    settings_model = OffboardingSettings
    relative_cost = 3

    def run(self, session: Session, tenant: TenantView) -> list[FindingDraft]:
        return self.run_since(session, tenant, {})

    def run_since(
        self, session: Session, tenant: TenantView, stored: Mapping[str, Any]
    ) -> list[FindingDraft]:
        """Every finding; one already stored comes as a stand-in, worded only when the digest of
        what it is worded from changed (a large tenant has tens of thousands, most unchanged)."""
        settings = self.settings
        assert isinstance(settings, OffboardingSettings)
        tid = tenant.tenant_id
        # The IdP apps that have accounts, and the sources reporting them, found through the
        # accounts' unique index (tenant, source, app): a scan of a large tenant's accounts, three
        # times over, cost half a second.
        idp_pairs = session.execute(
            select(Account.source, Account.app_id)
            .where(
                Account.tenant_id == tid,
                Account.source.in_(account_sources(session, tid)),
                Account.app_id.in_(settings.idp_apps),
            )
            .distinct()
        ).all()
        idp_apps = sorted({app_id for _source, app_id in idp_pairs})
        idp_sources = sorted({source for source, _app_id in idp_pairs})
        domains: Iterable[str] = []
        if idp_apps:
            domains = settings.company_domains or self._idp_domains(session, tid, idp_sources, idp_apps)
        rows = self._rows(session, tid, settings, idp_apps, idp_sources, domains)
        holdings = self._holdings(rows, settings)
        if not holdings:
            return []
        people = sorted({h.person_id for h in holdings})
        idp_sign_in = self._last_seen(session, tid, people, app_ids=idp_apps)
        last_seen = self._last_seen(session, tid, people, app_ids=None)
        # Each pool's monthly seat price in the tenant currency, once (not once per seat held).
        prices = {pool.key: monthly_price(pool, tenant) for pool in tenant.license_pools(session)}
        names = dict(session.execute(select(App.id, App.name).where(App.tenant_id == tid)).all())
        idp_names = [names.get(app_id, app_id) for app_id in idp_apps]
        # What every finding is worded from besides its holding, hashed once.
        facts = (tenant.currency, sorted(tenant.stale_sources.items()), idp_apps, idp_names, idp_sources)
        token = hashlib.blake2b(_CODE + repr(facts).encode(), digest_size=16).digest()
        findings = []
        for holding in holdings:
            signed_in = idp_sign_in.get((holding.person_id, None))
            grace = settings.grace_for(holding.app_id)
            if signed_in is not None and (tenant.now.date() - signed_in[0].date()).days <= grace:
                continue  # offboarded within the grace period: deprovisioning may be in progress
            pool_price = prices.get((holding.app_id, (holding.sku or "").casefold()), NO_POOL)
            app_name = names.get(holding.app_id, holding.app_id)
            seen_in_app = last_seen.get((holding.person_id, holding.app_id))
            digest = _input_digest(token, holding, pool_price, app_name, signed_in, seen_in_app)
            word = partial(
                self._draft, holding, tenant, pool_price, app_name, signed_in, seen_in_app,
                idp_apps, idp_names, idp_sources, digest,
            )  # fmt: skip
            fingerprint = fingerprint_of(holding.rule, holding.app_id, holding.sku, holding.email)
            if fingerprint in stored:
                # A stand-in: verdict and money, no words; worded only if the digest changed.
                unknown = bool(_stale(holding, tenant, idp_sources))
                price = _seat_price(holding, pool_price)
                findings.append(_finding(holding, unknown, price, "", {}, digest, word, fingerprint))
            else:
                findings.append(word())
        return findings

    def _select(self) -> Any:
        return (
            select(
                Person.id,
                Person.email,
                Person.display_name,
                Person.status,
                Person.status_source,
                Account.app_id,
                Account.source,
                Account.status,
                Seat.sku,
                Seat.source,
            )
            .join(Account, Account.person_id == Person.id)
            .outerjoin(Seat, (Seat.account_id == Account.id) & Seat.pending_cancellation_on.is_(None))
        )

    def _holds_something(self, settings: OffboardingSettings, kinds: Sequence[str]) -> ColumnElement[bool]:
        """SQL: the account is a person's (not excluded kinds) and is live or holds a seat."""
        live = func.lower(Account.status).not_in(settings.closed_account_statuses)
        kind_ok = or_(Account.kind.is_(None), Account.kind.not_in(kinds)) if kinds else true()
        return and_(kind_ok, or_(live, Seat.id.is_not(None)))

    def _rows(
        self,
        session: Session,
        tid: str,
        settings: OffboardingSettings,
        idp_apps: list[str],
        idp_sources: list[str],
        domains: Iterable[str],
    ) -> list[Row]:
        """The accounts (with their seats) of people who left the IdP, and -- when the tenant has an
        IdP -- those of people in its domains who are missing from it, in one statement.

        The people are picked first (a few thousand on a large tenant); their accounts and seats
        are then looked up by index (``account.person_id``, ``seat.account_id``).
        """
        offboarded = Person.status.in_(OFFBOARDED)
        domain_match = [Person.email.like(f"%@{d.lower()}") for d in sorted(set(domains))]
        if idp_apps and domain_match:
            # The people with an IdP account, worked out once, by the accounts' unique index
            # (tenant, source, app): the IdP sources' accounts only.
            in_idp = select(Account.person_id).where(
                Account.tenant_id == tid,
                Account.source.in_(idp_sources),
                Account.app_id.in_(idp_apps),
                Account.person_id.is_not(None),
            )
            absent = and_(
                Person.id.not_in(in_idp),
                func.coalesce(Person.status, "").not_in(OFFBOARDED),
                or_(*domain_match),
            )
        else:
            absent = false()
        people = select(Person.id).where(Person.tenant_id == tid, or_(offboarded, absent))
        stmt = self._select().where(
            Person.tenant_id == tid,
            Account.person_id.in_(people),
            or_(
                and_(offboarded, self._holds_something(settings, settings.exclude_account_kinds)),
                and_(
                    func.coalesce(Person.status, "").not_in(OFFBOARDED),
                    Account.app_id.not_in(idp_apps),
                    self._holds_something(settings, [*settings.exclude_account_kinds, "guest"]),
                ),
            ),
        )
        return [Row(*r) for r in session.execute(stmt)]

    def _idp_domains(
        self, session: Session, tid: str, idp_sources: list[str], idp_apps: list[str]
    ) -> set[str]:
        emails = session.scalars(
            select(Account.email)
            .where(
                Account.tenant_id == tid,
                Account.source.in_(idp_sources),  # the unique index's order: the IdP's accounts only
                Account.app_id.in_(idp_apps),
                Account.email.is_not(None),
            )
            .distinct()
        )
        return {e.rpartition("@")[2] for e in emails if e and "@" in e}

    def _holdings(self, rows: list[Row], settings: OffboardingSettings) -> list[Holding]:
        """Fold the rows into one holding per seat, plus one per live account holding no seat."""
        seats: dict[tuple[int, str, str], Holding] = {}
        accounts: dict[tuple[int, str], Holding] = {}
        for row in rows:
            if settings.excludes(row.email) or settings.apps.get(row.app_id, AppPolicy()).exclude:
                continue
            status = row.account_status.lower()
            if row.sku is not None:
                holding = seats.setdefault((row.person_id, row.app_id, row.sku.casefold()), _holding(row))
                holding.sources.add(row.seat_source or row.account_source)
            elif status not in settings.closed_account_statuses:
                holding = accounts.setdefault((row.person_id, row.app_id), _holding(row))
                holding.sources.add(row.account_source)
            else:
                continue
            holding.account_statuses.add(status)
        with_seat = {(h.person_id, h.app_id) for h in seats.values()}
        found = [*seats.values(), *(h for key, h in accounts.items() if key not in with_seat)]
        return sorted(found, key=lambda h: (h.email, h.app_id, (h.sku or "").casefold()))

    def _last_seen(
        self, session: Session, tid: str, people: list[int], app_ids: list[str] | None
    ) -> dict[tuple[int, str | None], tuple[datetime, str]]:
        """Latest sighting per (person, app) -- or per (person, None) over ``app_ids`` -- with its source."""
        result: dict[tuple[int, str | None], tuple[datetime, str]] = {}
        if app_ids is not None and not app_ids:
            return result
        for start in range(0, len(people), CHUNK):
            part = people[start : start + CHUNK]
            stmt = select(Activity.person_id, Activity.app_id, Activity.source, Activity.last_seen_at).where(
                Activity.tenant_id == tid,
                Activity.person_id.in_(part),
                Activity.last_seen_at.is_not(None),
                Activity.app_id.in_(app_ids) if app_ids is not None else true(),
            )
            for person_id, app_id, source, seen in session.execute(stmt):
                assert seen is not None
                key = (person_id, None if app_ids is not None else app_id)
                if key not in result or seen > result[key][0]:
                    result[key] = (seen, source)
        return result

    def _draft(
        self,
        holding: Holding,
        tenant: TenantView,
        pool_price: tuple[Decimal | None, str | None],  # the seat's monthly price, or why unknown
        app_name: str,
        idp_sign_in: tuple[datetime, str] | None,
        last_seen: tuple[datetime, str] | None,
        idp_apps: list[str],
        idp_names: list[str],
        idp_sources: list[str],
        input_digest: str | None = None,
    ) -> FindingDraft:
        who = holding.email
        label = f"{app_name} ({holding.sku})" if holding.sku else app_name
        evidence: dict[str, Any] = {
            "person": who,
            "name": holding.name,
            "idp_status": holding.idp_status,
            "idp_status_from": holding.status_source,
            "last_idp_sign_in": idp_sign_in[0].isoformat() if idp_sign_in else None,
            "app": holding.app_id,
            "sku": holding.sku,
            "account_status": sorted(holding.account_statuses),
            "reported_by": sorted(holding.sources),
            "last_seen_in_app": last_seen[0].isoformat() if last_seen else None,
            "last_seen_in_app_by": last_seen[1] if last_seen else None,
            "currency": tenant.currency,
        }
        price = _seat_price(holding, pool_price)
        if holding.sku is not None:
            note = pool_price[1]
            evidence["monthly_price_per_seat"] = None if price is None else str(price.quantize(CENT))
            if note:
                evidence["price_note"] = note
        if holding.rule == "offboarded":
            why = f"is {holding.idp_status} in the identity provider ({holding.status_source})"
        else:
            evidence["idp_apps"] = idp_apps
            why = f"has no account in the identity provider ({', '.join(idp_names)})"
        stale = _stale(holding, tenant, idp_sources)
        holds = f"a paid seat of {label}" if holding.sku else f"a live {app_name} account"
        if stale:
            evidence["stale_sources"] = dict(sorted(stale.items()))
            title = f"Whether {who} still should hold {holds} is unknown: " + "; ".join(
                f"{s} {r}" for s, r in sorted(stale.items())
            )
            return _finding(holding, True, price, title, evidence, input_digest)
        money = _money(price)
        evidence["action"] = _action(holding, label, app_name)
        cost = f", {money} {tenant.currency}/month" if money else ""
        title = f"{who} {why} but still holds {holds}{cost}"
        return _finding(holding, False, price, title, evidence, input_digest)


def _stale(holding: Holding, tenant: TenantView, idp_sources: list[str]) -> dict[str, str]:
    """The stale sources that make the holding's finding UNKNOWN: the one that says the person
    left, or the IdP's (the person may be missing only from a failed sync), or every source
    reporting the holding."""
    stale_sources = tenant.stale_sources
    if holding.rule == "offboarded":
        needed = [holding.status_source] if holding.status_source else []
    else:
        needed = idp_sources
    stale = {s: stale_sources[s] for s in needed if s in stale_sources}
    if all(s in stale_sources for s in holding.sources):
        stale |= {s: stale_sources[s] for s in holding.sources}
    return stale


def _money(price: Decimal | None) -> Decimal:
    return (price or Decimal(0)).quantize(CENT, ROUND_HALF_UP)


def _seat_price(holding: Holding, pool_price: tuple[Decimal | None, str | None]) -> Decimal | None:
    """The monthly price the holding wastes: its seat's (a live account without a seat: none)."""
    return pool_price[0] if holding.sku is not None else None


def _finding(
    holding: Holding,
    unknown: bool,
    price: Decimal | None,
    title: str,
    evidence: dict[str, Any],
    digest: str | None,
    reword: Callable[[], FindingDraft] | None = None,
    fingerprint: str | None = None,
) -> FindingDraft:
    """The holding's finding: UNKNOWN without money when a source it depends on is stale, else
    HIGH with the seat's monthly price (worded, or a stand-in when ``reword`` is given)."""
    return FindingDraft(
        rule=holding.rule,
        subject=holding.email,
        title=title,
        verdict=Verdict.UNKNOWN if unknown else Verdict.FAIL,
        severity=Severity.INFO if unknown else Severity.HIGH,
        monthly_waste=Decimal("0.00") if unknown else _money(price),
        evidence=evidence,
        app_id=holding.app_id,
        sku=holding.sku,
        input_digest=digest,
        reword=reword,
        known_fingerprint=fingerprint,
    )


def _input_digest(
    token: bytes,
    holding: Holding,
    pool_price: tuple[Decimal | None, str | None],
    app_name: str,
    idp_sign_in: tuple[datetime, str] | None,
    last_seen: tuple[datetime, str] | None,
) -> str:
    """A digest of what ``Offboarding._draft`` words the holding's finding from: the holding, its
    price, app name and sightings, and ``token`` (the run's facts and this module's code)."""
    inputs = (
        holding.rule, holding.person_id, holding.email, holding.name, holding.idp_status,
        holding.status_source, holding.app_id, holding.sku, sorted(holding.sources),
        sorted(holding.account_statuses), pool_price, app_name, idp_sign_in, last_seen,
    )  # fmt: skip
    # repr: strings, numbers, Decimals and datetimes each have one, half the cost of pickling them.
    return hashlib.blake2b(token + repr(inputs).encode(), digest_size=16).hexdigest()


def _holding(row: Row) -> Holding:
    rule = "offboarded" if row.status in OFFBOARDED else "not_in_idp"
    return Holding(
        rule, row.person_id, row.email, row.name, row.status, row.status_source, row.app_id, row.sku
    )


def _action(holding: Holding, label: str, app_name: str) -> str:
    who = holding.email
    if holding.rule == "offboarded":
        if holding.sku:
            return (
                f"Remove {who}'s {label} seat and deactivate the {app_name} account; "
                "hand over what they own in it first."
            )
        return f"Deactivate {who}'s {app_name} account: it still lets them in without the identity provider."
    fix = f"remove {who}'s {label} seat" if holding.sku else f"deactivate {who}'s {app_name} account"
    return (
        f"If {who} has left, {fix}; if they still work here, add them to the identity provider "
        "so that leaving is one step."
    )
