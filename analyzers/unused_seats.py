"""Unused seats: paid licenses nobody uses.

Flags three things, each with the monthly money it costs:

- ``inactive``: the holder's latest sign-in to the app, taken across every fresh source, is more than
  ``inactive_days`` days old (default 60; override per app under ``apps``).
- ``never_active``: every fresh source says the holder never signed in, and the seat is older than
  ``never_active_grace_days`` (default 30: new joiners get time to start; override per app).
- ``unassigned``: the pool has more seats purchased than assigned.

A seat whose usage comes only from stale or failed sources is reported as UNKNOWN with no money, never
as unused; so is a pool for which no source reports usage at all. A holder is a person (or an account
without one); their seats in a pool are merged across sources: the earliest assignment counts, and
the holder is a bot or service account when any of those accounts says so.

The work is set-based: one SQL statement judges every seat of the tenant and returns only the flagged
holders with their evidence (see ``_flagging_statement``); Python then words the findings. On a
tenant of two million seats that is a few hundred thousand rows, never the whole tenant.

Example policy::

    policy:
      unused_seats:
        inactive_days: 60
        never_active_grace_days: 30
        apps:
          zoom: {inactive_days: 30}
          adobe_cc: {exclude: true}
        exclude_people: ["ceo@example.com", "svc-*@example.com"]
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import marshal
import pickle
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    column,
    func,
    literal,
    or_,
    select,
    type_coerce,
    values,
)
from sqlalchemy.orm import Session, aliased

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
from analyzers.sql import NEVER, fresh_last_seen, json_rows, unindexed, usage_key
from collector.models import Account, Activity, App, AppUsage, Person, Seat
from collector.pools import EffectivePool, MissingExchangeRate, to_currency
from collector.timeutil import UtcDateTime, parse_utc

CENT = Decimal("0.01")
# This module's code, part of every input digest.
_CODE = code_digest(__file__)
# VALUES rows (3 parameters each) per statement: far below SQLite's limit of 32,766 parameters.
POOLS_PER_STATEMENT = 1000
STREAM_ROWS = 5000  # rows fetched at a time from the flagging statement
KEY_SEPARATOR = "\x1f"  # between app and SKU in a pool key: in neither an app id nor a SKU name

NO_DATA, UNKNOWN, NEVER_ACTIVE, INACTIVE = "no_data", "unknown", "never_active", "inactive"
# A sighting in the evidence, in the order ``_sightings`` reads them.
SIGHTING_COLUMNS = (
    Activity.source, Activity.source_kind, Activity.last_seen_at, Activity.observed_at, Activity.feature,
)  # fmt: skip


class AppPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    inactive_days: int | None = Field(default=None, ge=1)
    never_active_grace_days: int | None = Field(default=None, ge=0)
    exclude: bool = False
    # SKUs of this app never judged (e.g. free or viral SKUs nobody is assigned on purpose).
    exclude_skus: list[str] = []


class UnusedSeatsSettings(AnalyzerSettings):
    inactive_days: int = Field(default=60, ge=1)
    # A seat nobody has used yet is not flagged before it is this old (a new joiner's first month).
    never_active_grace_days: int = Field(default=30, ge=0)
    apps: dict[str, AppPolicy] = {}
    # E-mail addresses or shell-style patterns of people whose seats are never flagged
    # (named people, shared mailboxes, service accounts that hold a user license).
    exclude_people: list[str] = []
    # Account kinds that are not people: their seats are never "unused" (bots and API-only
    # integration users do not sign in; whether they need a paid seat is a separate question).
    exclude_account_kinds: list[str] = ["bot", "service"]

    def excludes_sku(self, app_id: str, sku: str) -> bool:
        override = self.apps.get(app_id, AppPolicy())
        return any(sku.casefold() == s.casefold() for s in override.exclude_skus)

    def for_app(self, app_id: str) -> tuple[int, int, bool]:
        override = self.apps.get(app_id, AppPolicy())
        return (
            override.inactive_days or self.inactive_days,
            self.never_active_grace_days
            if override.never_active_grace_days is None
            else override.never_active_grace_days,
            override.exclude,
        )

    def excludes(self, email: str | None) -> bool:
        return email is not None and any(fnmatch.fnmatch(email, p.lower()) for p in self.exclude_people)


def severity_for(monthly: Decimal) -> Severity:
    if monthly >= 1000:
        return Severity.HIGH
    if monthly >= 100:
        return Severity.MEDIUM
    return Severity.LOW


class Flagged(NamedTuple):
    """One holder of seats in a pool (merged across sources) as the flagging statement returns it,
    its values as the database gave them: times and sightings stay text until a finding is worded.
    On a rerun most findings are stored already, and a digest of this text tells which changed."""

    holder: int  # the person's id, or minus the id of an account without a person
    bucket: str  # inactive | never_active | unknown | no_data: the statement's verdict
    person_email: str | None
    account_email: str | None
    display_name: str | None
    idp_status: str | None
    assigned_at: str | None  # the earliest assignment any source reports
    # Held since: the assignment, else the account's creation, else the person's (worked out in SQL).
    since: str | None
    seat_sources: str  # the sources reporting the holder's seats, comma-separated
    fresh_last: str | None  # the latest fresh sighting the statement judged by (NEVER: only nevers)
    sightings: str | None  # every source's sighting of the holder in the app (``json_rows``)

    @property
    def email(self) -> str | None:
        return self.person_email or self.account_email

    @property
    def label(self) -> str:
        return self.person_email or self.account_email or "an account without e-mail"

    @property
    def subject(self) -> str:
        return self.email or f"account:{self.label}"


@dataclass(frozen=True, slots=True)
class Sighting:
    source: str
    kind: str
    last_seen_at: datetime | None
    observed_at: datetime
    feature: str = ""

    def as_evidence(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "last_seen": self.last_seen_at.isoformat() if self.last_seen_at else "never",
            "reported_at": self.observed_at.isoformat(),
        }


# The statement's verdict on a holder: the finding's rule and verdict (no_data holders are counted
# per pool instead, in one ``no_usage_data`` finding).
VERDICTS = {
    INACTIVE: ("inactive", Verdict.FAIL),
    NEVER_ACTIVE: ("never_active", Verdict.FAIL),
    UNKNOWN: ("inactive", Verdict.UNKNOWN),
}


def _days(now: datetime, then: datetime) -> int:
    return (now.date() - then.date()).days


def _day_start(now: datetime, days_before: int) -> datetime:
    """Midnight UTC ``days_before`` days before ``now``'s date: ``_days(now, t) > days_before``
    exactly when ``t`` is earlier than this."""
    return datetime.combine(now.date() - timedelta(days=days_before), time(0), tzinfo=UTC)


def _time(text: str | None) -> datetime | None:
    return None if text is None else parse_utc(text)


def _sightings(flagged: Flagged) -> list[Sighting]:
    """The holder's sightings, in evidence order (source, kind, feature)."""
    rows = json.loads(flagged.sightings) if flagged.sightings else []
    seen = [
        Sighting(source, kind, _time(last_seen), _time(observed) or NEVER, feature)
        for source, kind, last_seen, observed, feature in rows
    ]
    seen.sort(key=_sighting_order)
    return seen


class UnusedSeats(Analyzer):
    id = "unused_seats"
    title = "Unused seats"
    settings_model = UnusedSeatsSettings
    relative_cost = 10

    def run(self, session: Session, tenant: TenantView) -> list[FindingDraft]:
        return self.run_since(session, tenant, {})

    def run_since(
        self, session: Session, tenant: TenantView, stored: Mapping[str, Any]
    ) -> list[FindingDraft]:
        """Every finding; a seat's finding already stored comes as a stand-in (see ``_judge``)."""
        settings = self.settings
        assert isinstance(settings, UnusedSeatsSettings)
        app_names = dict(
            session.execute(select(App.id, App.name).where(App.tenant_id == tenant.tenant_id)).all()
        )
        pools = {pool.key: pool for pool in tenant.license_pools(session)}
        judged = [
            pool
            for _key, pool in sorted(pools.items())
            if pool.seat_skus
            and not settings.for_app(pool.app_id)[2]
            and not settings.excludes_sku(pool.app_id, pool.sku)
        ]
        seat_apps = {pool.app_id for pool in pools.values() if pool.seat_skus}
        excluded = _people_matcher(settings.exclude_people)
        flagged = [
            (key, holder)
            for key, holder in self._flagged(session, tenant, settings, judged, seat_apps)
            if excluded is None or (email := holder.email) is None or not excluded(email)
        ]
        flagged.sort(key=_holder_order)
        findings: list[FindingDraft] = []
        contexts: dict[tuple[str, str], _PoolContext] = {}
        no_data: dict[tuple[str, str], list[str]] = defaultdict(list)
        flagged.reverse()
        while flagged:
            key, holder = flagged.pop()  # popped: each holder's row is freed once worded
            if holder.bucket == NO_DATA:
                no_data[key].append(holder.label)
                continue
            context = contexts.get(key)
            if context is None:
                pool = pools[key]
                name = app_names.get(pool.app_id, pool.app_id)
                context = contexts[key] = _PoolContext(pool, name, tenant, settings)
            findings.append(self._judge(holder, context, stored))
        for key, missing in sorted(no_data.items()):
            pool = pools[key]
            findings.append(
                _no_usage_data(pool, app_names.get(key[0], key[0]), missing, pool.seats_assigned or 0)
            )
        for _key, pool in sorted(pools.items()):
            if settings.for_app(pool.app_id)[2] or settings.excludes_sku(pool.app_id, pool.sku):
                continue
            unassigned = _unassigned(pool, app_names.get(pool.app_id, pool.app_id), tenant)
            if unassigned is not None:
                findings.append(unassigned)
        return findings

    def _flagged(
        self,
        session: Session,
        tenant: TenantView,
        settings: UnusedSeatsSettings,
        pools: Sequence[EffectivePool],
        seat_apps: set[str],
    ) -> Iterator[tuple[tuple[str, str], Flagged]]:
        """The holders the statement flags, each with its pool's key, pool batch by pool batch
        (usually one batch)."""
        for start in range(0, len(pools), POOLS_PER_STATEMENT):
            batch = pools[start : start + POOLS_PER_STATEMENT]
            skipped = seat_apps - {pool.app_id for pool in batch}  # apps none of whose seats matter here
            # Core rows, not ORM ones, streamed (a server-side cursor on PostgreSQL): a few hundred
            # thousand rows come back on a large tenant.
            statement = _flagging_statement(tenant, settings, batch, skipped)
            result = session.connection().execute(statement.execution_options(yield_per=STREAM_ROWS))
            keys = [pool.key for pool in batch]
            make = Flagged._make
            for row in result:
                yield keys[row[0]], make(row[1:])

    def _judge(self, holder: Flagged, context: _PoolContext, stored: Mapping[str, Any]) -> FindingDraft:
        """The holder's finding, as the statement judged it; worded by ``_word``, at once for a
        finding not in ``stored``, else only when the runner finds its ``input_digest`` changed (a
        stand-in: on a rerun most findings are the same, and wording is most of the Python time)."""
        digest = context.input_digest(holder)
        pool = context.pool
        fingerprint = fingerprint_of(VERDICTS[holder.bucket][0], pool.app_id, pool.sku, holder.subject)
        if fingerprint not in stored:
            return _word(holder, context, digest)
        return context.draft(holder, "", {}, digest, partial(_word, holder, context, digest), fingerprint)


def _word(holder: Flagged, context: _PoolContext, digest: str) -> FindingDraft:
    """The finding the statement decided on (``holder.bucket``), in words, with its evidence."""
    tenant = context.tenant
    stale_sources = tenant.stale_sources
    seen = _sightings(holder)
    assigned_at = _time(holder.assigned_at)
    evidence: dict[str, Any] = {
        "person": holder.email,
        "name": holder.display_name,
        "idp_status": holder.idp_status,
        "seat_assigned": assigned_at.date().isoformat() if assigned_at else None,
        "seat_reported_by": sorted(set(holder.seat_sources.split(","))),
        "sources": [s.as_evidence() for s in seen],
        **context.pool_evidence,
    }
    if holder.bucket == UNKNOWN:
        reasons = {s.source: stale_sources[s.source] for s in seen if s.source in stale_sources}
        evidence["stale_sources"] = reasons
        title = f"Usage of {context.app_label} by {holder.label} is unknown: " + "; ".join(
            f"{source} {reason}" for source, reason in sorted(reasons.items())
        )
    elif holder.bucket == NEVER_ACTIVE:
        since = _time(holder.since)
        evidence["grace_days"] = context.grace_days
        assigned = f", seat held since {since.date().isoformat()}" if since else ""
        title = f"{holder.label} has never used {context.app_label}{assigned}"
    else:
        last = _time(holder.fresh_last)
        assert last is not None  # inactive: the statement had a fresh sighting
        fresh = [s for s in seen if s.source not in stale_sources and s.last_seen_at == last]
        evidence["last_seen"] = last.isoformat()
        evidence["last_seen_by"] = max(fresh, key=_observed).source if fresh else None
        days = _days(tenant.now, last)
        evidence["days_inactive"] = days
        evidence["threshold_days"] = context.inactive_days
        per = f", per {evidence['last_seen_by']}" if fresh else ""
        title = (
            f"{holder.label} has not used {context.app_label} for {days} days "
            f"(last seen {last.date().isoformat()}{per})"
        )
    if VERDICTS[holder.bucket][1] is Verdict.FAIL:
        evidence["action"] = context.action(holder)
    return context.draft(holder, title, evidence, digest)


def _holder_order(flagged: tuple[tuple[str, str], Flagged]) -> tuple[tuple[str, str], str]:
    return flagged[0], flagged[1].label


def _sighting_order(sighting: Sighting) -> tuple[str, str, str]:
    return (sighting.source, sighting.kind, sighting.feature)


def _observed(sighting: Sighting) -> datetime:
    return sighting.observed_at


def _people_matcher(patterns: Sequence[str]) -> Callable[[str], object] | None:
    """One compiled regex for ``exclude_people`` (what ``UnusedSeatsSettings.excludes`` answers)."""
    if not patterns:
        return None
    return re.compile("|".join(fnmatch.translate(p.lower()) for p in patterns)).match


def _flagging_statement(
    tenant: TenantView, settings: UnusedSeatsSettings, pools: Sequence[EffectivePool], skipped: set[str]
) -> Select[Any]:
    """One statement: the holders of ``pools`` whose seats look unused, with what the finding needs.

    ``candidates``: per seat row, the holder's fresh usage of the app from the usage summary, by
    its key (``fresh_last_seen``) -- the latest last seen, NEVER when every fresh source says
    "never", NULL without a fresh row -- keeping the rows
    older than the app's threshold, never seen or without fresh data (a small part of all seats).
    ``held``: only those rows are mapped to their pool (an app and its SKU's spellings) and grouped
    per (pool, holder) -- a person, or an account without one; bots and service accounts drop out.
    Last, the holder's earliest assignment decides the new joiner's grace, and each row comes back
    with its bucket (inactive, never_active, unknown: only stale sources know, no_data: nobody
    knows), the holder's person and every source's sighting of them as evidence.
    ``skipped``: the apps with seats that no pool of ``pools`` is of, kept out before their seats' usage
    is looked up (a SKU left out of a judged app is dropped by the join to the pool list).
    """
    tid = tenant.tenant_id
    never = literal(NEVER, UtcDateTime())
    fresh_last, stale = fresh_last_seen(AppUsage, tenant.stale_sources)
    # The inactivity cutoff per app: one branch per distinct per-app threshold.
    by_days: dict[int, list[str]] = defaultdict(list)
    for app_id in sorted({pool.app_id for pool in pools}):
        by_days[settings.for_app(app_id)[0]].append(app_id)
    default = literal(_day_start(tenant.now, settings.inactive_days), UtcDateTime())
    branches = [
        (Seat.app_id.in_(apps), literal(_day_start(tenant.now, days), UtcDateTime()))
        for days, apps in sorted(by_days.items())
        if days != settings.inactive_days
    ]
    cutoff = case(*branches, else_=default) if branches else default
    kinds = settings.exclude_account_kinds
    seat_filter = [unindexed(Seat.tenant_id) == tid]
    judged_apps = {pool.app_id for pool in pools}
    # The shorter list of the two: a test against a list of hundreds of apps, on each of millions
    # of seats, costs half a second.
    if skipped and len(skipped) < len(judged_apps):
        seat_filter.append(Seat.app_id.not_in(sorted(skipped)))
    elif skipped:
        seat_filter.append(Seat.app_id.in_(sorted(judged_apps)))
    candidates = (
        select(
            Seat.app_id,
            (Seat.app_id + KEY_SEPARATOR + Seat.sku).label("pool_key"),
            # What the holder's finding needs of the seat and its account, carried along: read
            # again by primary key, PostgreSQL hashes both whole tables instead.
            Seat.source.label("seat_source"),
            Seat.assigned_at,
            Account.id.label("account_id"),
            Account.person_id,
            Account.email,
            Account.kind,
            Account.created_at.label("account_created_at"),
            fresh_last.label("fresh_last"),
            stale.label("stale"),
        )
        .select_from(Seat)
        .join(Account, Account.id == Seat.account_id)
        # The holder's usage of the app: the ingest's per-(person, app) summary, by its key.
        .outerjoin(AppUsage, usage_key(tid, Account.person_id, Seat.app_id))
        # No fresh sighting (NULL) or older than the cutoff, in one test: NEVER is older than any.
        .where(*seat_filter, func.coalesce(fresh_last, never) < cutoff)
        # Materialized: the few candidate rows are what meets the pool list below, and no
        # planner may start from that short list and probe the seat table once per pool.
        .cte("candidates")
        .prefix_with("MATERIALIZED")
    )
    # One row per SKU spelling of each judged pool, keyed by app and spelling in one column: a
    # single equality is what PostgreSQL can estimate (two made it expect a few hundred rows and
    # read every candidate's seat by index instead of hashing), and what SQLite can index.
    # CAST gives the key text affinity on SQLite, which its automatic index needs.
    rows = [
        (
            cast(literal(f"{pool.app_id}{KEY_SEPARATOR}{sku}"), String),
            pool_no,
            _day_start(tenant.now, settings.for_app(pool.app_id)[1]),
        )
        for pool_no, pool in enumerate(pools)
        for sku in pool.seat_skus
    ]
    judged = (
        values(
            column("pool_key", String),
            column("pool_no", Integer),
            column("grace", UtcDateTime()),
            name="judged",
        )
        .data(rows)
        .cte("judged")
    )
    c = candidates.c
    holder = func.coalesce(c.person_id, -c.account_id)
    excluded = case((c.kind.in_(kinds), 1), else_=0) if kinds else literal(0)
    held = (
        select(
            judged.c.pool_no,
            holder.label("holder"),
            func.min(c.app_id).label("app_id"),
            func.min(c.person_id).label("person_id"),
            func.min(c.email).label("account_email"),
            type_coerce(func.min(c.assigned_at), UtcDateTime()).label("assigned_at"),
            type_coerce(func.min(c.account_created_at), UtcDateTime()).label("account_created_at"),
            func.aggregate_strings(c.seat_source, ",").label("seat_sources"),
            type_coerce(func.max(c.fresh_last), UtcDateTime()).label("fresh_last"),
            func.max(c.stale).label("stale"),
            type_coerce(func.max(judged.c.grace), UtcDateTime()).label("grace"),
        )
        .select_from(candidates)
        .join(judged, judged.c.pool_key == c.pool_key)
        .group_by(judged.c.pool_no, holder)
        .having(func.max(excluded) == 0)
        .subquery("held")
    )
    h = held.c
    person = aliased(Person)
    since = func.coalesce(h.assigned_at, h.account_created_at, person.created_at)
    bucket = case(
        (and_(h.fresh_last.is_(None), func.coalesce(h.stale, 0) == 0), NO_DATA),
        (h.fresh_last.is_(None), UNKNOWN),
        (h.fresh_last == never, NEVER_ACTIVE),
        else_=INACTIVE,
    )
    # A seat nobody has used yet is left alone while it is new (the grace period).
    outside_grace = or_(h.fresh_last.is_(None), h.fresh_last != never, since.is_(None), since < h.grace)
    # The evidence: every source's sighting, looked up for the flagged holders only, one JSON text
    # per holder (a row per sighting cost more to take apart in Python than the lookups in SQL).
    sightings = (
        select(json_rows(*SIGHTING_COLUMNS))
        .where(Activity.tenant_id == tid, Activity.person_id == h.person_id, Activity.app_id == h.app_id)
        .scalar_subquery()
    )
    return (
        select(
            h.pool_no,
            h.holder,
            bucket.label("bucket"),
            person.email.label("person_email"),
            h.account_email,
            person.display_name,
            person.status.label("idp_status"),
            cast(h.assigned_at, String).label("assigned_at"),
            cast(since, String).label("since"),
            h.seat_sources,
            cast(h.fresh_last, String).label("fresh_last"),
            sightings.label("sightings"),
        )
        .select_from(held)
        .outerjoin(person, person.id == h.person_id)
        .where(outside_grace)
    )


class _PoolContext:
    """Per-pool facts shared by every finding about the pool's seats."""

    def __init__(
        self, pool: EffectivePool, app_name: str, tenant: TenantView, settings: UnusedSeatsSettings
    ) -> None:
        self.pool = pool
        self.tenant = tenant
        self.inactive_days, self.grace_days, _ = settings.for_app(pool.app_id)
        self.app_label = f"{app_name} ({pool.sku})"
        self.seat_price, price_note = monthly_price(pool, tenant)
        self.pool_evidence: dict[str, Any] = {
            "app": pool.app_id,
            "sku": pool.sku,
            "monthly_price_per_seat": _money(self.seat_price),
            "currency": tenant.currency,
        }
        if price_note:
            self.pool_evidence["price_note"] = price_note
        if pool.commitment == "annual" and pool.term_end:
            self.pool_evidence["reclaimable"] = _reclaim_note(pool.term_end, pool.notice_days)
        self.pool_evidence["saving_from"] = _saving_from(pool, tenant)
        # The same for every finding of the pool: worked out once.
        fail = self.seat_price if self.seat_price is not None else Decimal(0)
        self.fail_money = fail.quantize(CENT, ROUND_HALF_UP)
        self.fail_severity = severity_for(self.fail_money)
        self.no_money = Decimal(0).quantize(CENT, ROUND_HALF_UP)
        # What every finding of the pool is worded from besides its holder: a new evaluation day,
        # price, stale source or threshold, or a change to this module, words them all again.
        pool_facts = (
            pool.key, pool.commitment, pool.term_end, tenant.currency, tenant.now.date(),
            sorted(tenant.stale_sources.items()), self.app_label, self.inactive_days, self.grace_days,
            str(self.fail_money), self.pool_evidence,
        )  # fmt: skip
        # Once per pool, any type; hashed down, so each holder's digest hashes 16 bytes of it, not 300.
        self.token = hashlib.blake2b(_CODE + pickle.dumps(pool_facts, protocol=5), digest_size=16).digest()

    def action(self, holder: Flagged) -> str:
        pool = self.pool
        if pool.commitment == "annual" and pool.term_end:
            return (
                f"Reclaim {holder.label}'s {self.app_label} seat and lower the seat count at the renewal "
                f"on {pool.term_end.isoformat()}; until then the seat can go to a new joiner."
            )
        return f"Remove {holder.label}'s {self.app_label} seat: the saving starts with the next bill."

    def input_digest(self, holder: Flagged) -> str:
        """A digest of everything the holder's finding is worded from: the pool's facts and this
        module's code (``token``), and the holder's row as the database returned it (every value a
        string, a number or None: ``marshal`` gives equal rows equal bytes, fast)."""
        return hashlib.blake2b(self.token + marshal.dumps(tuple(holder), 2), digest_size=16).hexdigest()

    def draft(
        self,
        holder: Flagged,
        title: str,
        evidence: dict[str, Any],
        digest: str,
        reword: Callable[[], FindingDraft] | None = None,
        fingerprint: str | None = None,
    ) -> FindingDraft:
        """The holder's finding, with the rule and verdict the statement's bucket gives (a stand-in
        when ``reword`` is given: no words yet)."""
        rule, verdict = VERDICTS[holder.bucket]
        fail = verdict is Verdict.FAIL
        return FindingDraft(
            rule=rule,
            subject=holder.subject,
            title=title,
            verdict=verdict,
            severity=self.fail_severity if fail else Severity.INFO,
            monthly_waste=self.fail_money if fail else self.no_money,
            evidence=evidence,
            app_id=self.pool.app_id,
            sku=self.pool.sku,
            input_digest=digest,
            reword=reword,
            known_fingerprint=fingerprint,
        )


def monthly_price(pool: EffectivePool, tenant: TenantView) -> tuple[Decimal | None, str | None]:
    """One seat's monthly price in the tenant currency, or why it is not known."""
    price = pool.monthly_unit_price
    if price is None:
        return None, "no price known for this SKU: add a contract or a license_pools row"
    try:
        return to_currency(price, pool.currency, tenant.currency, tenant.exchange_rates), None
    except MissingExchangeRate as exc:
        return None, str(exc)


def _no_usage_data(pool: EffectivePool, app_name: str, people: list[str], total: int) -> FindingDraft:
    return FindingDraft(
        rule="no_usage_data",
        subject=f"{pool.app_id}/{pool.sku}",
        title=f"{len(people)} of {total} {app_name} ({pool.sku}) seats have no usage data from any source",
        verdict=Verdict.UNKNOWN,
        severity=Severity.INFO,
        monthly_waste=Decimal("0.00"),
        evidence={"app": pool.app_id, "sku": pool.sku, "seats_without_usage_data": people[:100]},
        app_id=pool.app_id,
        sku=pool.sku,
    )


def _unassigned(pool: EffectivePool, app_name: str, tenant: TenantView) -> FindingDraft | None:
    count = pool.unassigned
    if not count:
        return None
    price, note = monthly_price(pool, tenant)
    money = (price * count).quantize(CENT, ROUND_HALF_UP) if price is not None else Decimal("0.00")
    stale = sorted(s for s in pool.sources if s in tenant.stale_sources)
    verdict = Verdict.UNKNOWN if stale else Verdict.FAIL
    evidence: dict[str, Any] = {
        "app": pool.app_id,
        "sku": pool.sku,
        "seats_purchased": pool.seats_purchased,
        "seats_assigned": pool.seats_assigned,
        "unassigned": count,
        "monthly_price_per_seat": _money(price),
        "currency": tenant.currency,
        "reported_by": list(pool.sources),
    }
    if note:
        evidence["price_note"] = note
    if stale:
        evidence["stale_sources"] = {s: tenant.stale_sources[s] for s in stale}
    if pool.commitment == "annual" and pool.term_end:
        evidence["reclaimable"] = _reclaim_note(pool.term_end, pool.notice_days)
    evidence["saving_from"] = _saving_from(pool, tenant)
    evidence["action"] = (
        f"Lower the {pool.sku} seat count by {count} at the renewal on {pool.term_end.isoformat()}."
        if pool.commitment == "annual" and pool.term_end
        else f"Lower the {pool.sku} seat count by {count}: the saving starts with the next bill."
    )
    return FindingDraft(
        rule="unassigned",
        subject=f"{pool.app_id}/{pool.sku}",
        title=f"{count} of {pool.seats_purchased} {app_name} ({pool.sku}) seats are paid for "
        "but not assigned",
        verdict=verdict,
        severity=severity_for(money) if verdict is Verdict.FAIL else Severity.INFO,
        monthly_waste=money if verdict is Verdict.FAIL else Decimal("0.00"),
        evidence=evidence,
        app_id=pool.app_id,
        sku=pool.sku,
    )


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount.quantize(CENT, ROUND_HALF_UP))


def _saving_from(pool: EffectivePool, tenant: TenantView) -> str:
    """When removing a seat starts saving money: now for monthly seats, at renewal for annual ones."""
    if pool.commitment == "annual" and pool.term_end and pool.term_end >= tenant.now.date():
        return pool.term_end.isoformat()
    return tenant.now.date().isoformat()


def _reclaim_note(term_end: date, notice_days: int | None) -> str:
    notice = f", give notice {notice_days} days before" if notice_days else ""
    return f"at the renewal on {term_end.isoformat()} (annual commitment{notice})"
