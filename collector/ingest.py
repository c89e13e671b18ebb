"""Writes one page of connector records into the store (inside the caller's transaction).

People are joined across sources by normalised e-mail; every e-mail a record mentions gets a person
row. Activity is folded: the stored last seen only ever moves forward, and a "never" from a source
does not erase a time the same source reported before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, case, select, tuple_
from sqlalchemy.orm import Session

from collector.catalog import Catalog
from collector.models import (
    Account,
    Activity,
    App,
    BilledItem,
    Credential,
    LicensePool,
    OAuthGrant,
    Person,
    Seat,
    SpendLine,
)
from collector.records import (
    AccountRecord,
    ActivityRecord,
    BilledItemRecord,
    CredentialRecord,
    LicensePoolRecord,
    OAuthGrantRecord,
    PersonRecord,
    Record,
    SeatRecord,
    SpendRecord,
    normalise_email,
)
from collector.store import later_of, upsert
from collector.usage import record as record_usage

CHUNK = 500  # rows per statement: well under SQLite's bound-parameter limit


def table(model: type[Any]) -> Table:
    result = model.__table__
    assert isinstance(result, Table)
    return result


def chunks(rows: Sequence[Mapping[str, Any]], size: int = CHUNK) -> Iterable[Sequence[Mapping[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


class PageWriter:
    """Writes records for one (tenant, source, run)."""

    def __init__(
        self,
        session: Session,
        tenant_id: str,
        source: str,
        run_id: int,
        now: datetime,
        catalog: Catalog | None = None,
    ) -> None:
        self.session = session
        self.catalog = catalog
        self.tenant_id = tenant_id
        self.source = source
        self.run_id = run_id
        self.now = now

    def write(self, records: Sequence[Record]) -> int:
        """Write ``records``; return how many were stored."""
        by_type: dict[type, list[Any]] = defaultdict(list)
        for record in records:
            by_type[type(record)].append(record)
        people: list[PersonRecord] = by_type[PersonRecord]
        accounts: list[AccountRecord] = by_type[AccountRecord]
        activities: list[ActivityRecord] = by_type[ActivityRecord]
        grants: list[OAuthGrantRecord] = by_type[OAuthGrantRecord]
        seats: list[SeatRecord] = by_type[SeatRecord]
        pools: list[LicensePoolRecord] = by_type[LicensePoolRecord]
        spend: list[SpendRecord] = by_type[SpendRecord]
        billed: list[BilledItemRecord] = by_type[BilledItemRecord]
        credentials: list[CredentialRecord] = by_type[CredentialRecord]

        emails = {normalise_email(p.email) for p in people}
        emails |= {normalise_email(a.email) for a in accounts if a.email}
        emails |= {normalise_email(a.email) for a in activities}
        emails |= {normalise_email(g.email) for g in grants}
        self._people(people, emails)
        person_ids = self._person_ids(emails)
        app_ids = {a.app_id for a in accounts} | {a.app_id for a in activities}
        app_ids |= {s.app_id for s in seats} | {p.app_id for p in pools}
        app_ids |= {s.app_id for s in spend if s.app_id} | {b.app_id for b in billed}
        self._apps(app_ids)
        self._accounts(accounts, person_ids)
        self._seats(seats)
        self._activities(activities, person_ids)
        self._pools(pools)
        self._spend(spend)
        self._grants(grants, person_ids)
        self._billed(billed)
        self._credentials(credentials)
        return sum(len(v) for v in by_type.values())

    def _people(self, people: list[PersonRecord], emails: set[str]) -> None:
        person = table(Person)
        rows = [
            {
                "tenant_id": self.tenant_id,
                "email": normalise_email(p.email),
                "display_name": p.display_name,
                "status": p.status.value if p.status else None,
                "status_source": self.source if p.status else None,
                "department": p.department,
                "cost_center": p.cost_center,
                "manager_email": normalise_email(p.manager_email) if p.manager_email else None,
                "created_at": p.created_at,
                "updated_at": self.now,
            }
            for p in people
        ]
        # A source that does not know a field must not erase what another source said.
        keep = (
            "display_name",
            "status",
            "status_source",
            "department",
            "cost_center",
            "manager_email",
            "created_at",
        )
        for part in chunks(rows):
            upsert(
                self.session,
                person,
                part,
                key=("tenant_id", "email"),
                update=("updated_at",),
                merge=lambda ex: {c: case((ex[c].is_(None), person.c[c]), else_=ex[c]) for c in keep},
            )
        known = {normalise_email(p.email) for p in people}
        implied = [
            {"tenant_id": self.tenant_id, "email": e, "updated_at": self.now} for e in sorted(emails - known)
        ]
        for part in chunks(implied):
            upsert(self.session, person, part, key=("tenant_id", "email"), update=())

    def _person_ids(self, emails: set[str]) -> dict[str, int]:
        ids: dict[str, int] = {}
        ordered = sorted(emails)
        for start in range(0, len(ordered), CHUNK):
            part = ordered[start : start + CHUNK]
            stmt = select(Person.email, Person.id).where(
                Person.tenant_id == self.tenant_id, Person.email.in_(part)
            )
            ids.update({email: pid for email, pid in self.session.execute(stmt)})
        return ids

    def _apps(self, app_ids: set[str]) -> None:
        """Create the apps this page mentions that the store does not know yet, named by the catalog.

        An existing app is left alone: the tenant's config (or an earlier page) already named it.
        """
        rows = []
        for app_id in sorted(app_ids):
            entry = self.catalog.get(app_id) if self.catalog else None
            rows.append(
                {
                    "tenant_id": self.tenant_id,
                    "id": app_id,
                    "name": entry.name if entry else app_id,
                    "category": (entry.category or None) if entry else None,
                    "vendor": (entry.vendor or None) if entry else None,
                }
            )
        for part in chunks(rows):
            upsert(self.session, table(App), part, key=("tenant_id", "id"), update=())

    def _accounts(self, accounts: list[AccountRecord], person_ids: Mapping[str, int]) -> None:
        rows = [
            {
                "tenant_id": self.tenant_id,
                "source": self.source,
                "app_id": a.app_id,
                "external_id": a.external_id,
                "person_id": person_ids.get(normalise_email(a.email)) if a.email else None,
                "email": normalise_email(a.email) if a.email else None,
                "status": a.status,
                "is_admin": a.is_admin,
                "mfa_enabled": a.mfa_enabled,
                "kind": a.kind,
                "created_at": a.created_at,
                "seen_run_id": self.run_id,
            }
            for a in accounts
        ]
        for part in chunks(rows):
            upsert(self.session, table(Account), part, key=("tenant_id", "source", "app_id", "external_id"))

    def _account_ids(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        ids: dict[tuple[str, str], int] = {}
        ordered = sorted(keys)
        for start in range(0, len(ordered), CHUNK):
            part = ordered[start : start + CHUNK]
            stmt = select(Account.app_id, Account.external_id, Account.id).where(
                Account.tenant_id == self.tenant_id,
                Account.source == self.source,
                tuple_(Account.app_id, Account.external_id).in_(part),
            )
            ids.update({(app, ext): aid for app, ext, aid in self.session.execute(stmt)})
        return ids

    def _seats(self, seats: list[SeatRecord]) -> None:
        if not seats:
            return
        keys = {(s.app_id, s.account_external_id) for s in seats}
        ids = self._account_ids(keys)
        missing = [
            {
                "tenant_id": self.tenant_id,
                "source": self.source,
                "app_id": app,
                "external_id": ext,
                "status": "active",
                "seen_run_id": self.run_id,
            }
            for app, ext in sorted(keys - ids.keys())
        ]
        if missing:  # a seat names an account the source did not describe: keep the seat anyway
            for part in chunks(missing):
                upsert(
                    self.session, table(Account), part, key=("tenant_id", "source", "app_id", "external_id")
                )
            ids = self._account_ids(keys)
        rows = [
            {
                "tenant_id": self.tenant_id,
                "source": self.source,
                "app_id": s.app_id,
                "sku": s.sku,
                "account_id": ids[(s.app_id, s.account_external_id)],
                "assigned_at": s.assigned_at,
                "pending_cancellation_on": s.pending_cancellation_on,
                "seen_run_id": self.run_id,
            }
            for s in seats
        ]
        for part in chunks(rows):
            upsert(
                self.session, table(Seat), part, key=("tenant_id", "source", "app_id", "sku", "account_id")
            )

    def _activities(self, activities: list[ActivityRecord], person_ids: Mapping[str, int]) -> None:
        folded: dict[tuple[int, str, str, str], tuple[datetime | None, datetime]] = {}
        for a in activities:
            key = (person_ids[normalise_email(a.email)], a.app_id, a.source_kind.value, a.feature)
            seen, observed = folded.get(key, (None, a.observed_at or self.now))
            folded[key] = (_later(seen, a.last_seen_at), max(observed, a.observed_at or self.now))
        rows = [
            {
                "tenant_id": self.tenant_id,
                "person_id": pid,
                "app_id": app,
                "source": self.source,
                "source_kind": kind,
                "feature": feature,
                "last_seen_at": seen,
                "observed_at": observed,
                "seen_run_id": self.run_id,
            }
            for (pid, app, kind, feature), (seen, observed) in folded.items()
        ]
        activity = table(Activity)
        for part in chunks(rows):
            upsert(
                self.session,
                activity,
                part,
                key=("tenant_id", "person_id", "app_id", "source", "source_kind", "feature"),
                update=("seen_run_id",),
                merge=lambda ex: {
                    "last_seen_at": later_of(activity.c.last_seen_at, ex.last_seen_at),
                    "observed_at": later_of(activity.c.observed_at, ex.observed_at),
                },
            )
        # The per-(person, app) summary follows in the same transaction (collector.usage).
        sightings: dict[tuple[int, str], datetime | None] = {}
        for (pid, app, _kind, _feature), (seen, _observed) in folded.items():
            pair = (pid, app)
            sightings[pair] = _later(sightings[pair], seen) if pair in sightings else seen
        record_usage(self.session, self.tenant_id, self.source, sightings)

    def _pools(self, pools: list[LicensePoolRecord]) -> None:
        rows = [
            {
                "tenant_id": self.tenant_id,
                "source": self.source,
                "app_id": p.app_id,
                "sku": p.sku,
                "seats_purchased": p.seats_purchased,
                "seats_assigned": p.seats_assigned,
                "unit_price": p.unit_price,
                "currency": p.currency,
                "billing_period": p.billing_period.value if p.billing_period else None,
                "commitment": p.commitment.value if p.commitment else None,
                "term_start": p.term_start,
                "term_end": p.term_end,
                "auto_renew": p.auto_renew,
                "notice_days": p.notice_days,
                "seen_run_id": self.run_id,
            }
            for p in pools
        ]
        for part in chunks(rows):
            upsert(self.session, table(LicensePool), part, key=("tenant_id", "source", "app_id", "sku"))

    def _spend(self, spend: list[SpendRecord]) -> None:
        rows = [
            {
                "tenant_id": self.tenant_id,
                "source": self.source,
                "external_id": s.external_id,
                "spent_on": s.spent_on,
                "amount": s.amount,
                "currency": s.currency,
                "merchant": s.merchant,
                "app_id": s.app_id,
                "description": s.description,
                "kind": s.kind,
                "seen_run_id": self.run_id,
            }
            for s in spend
        ]
        for part in chunks(rows):
            upsert(self.session, table(SpendLine), part, key=("tenant_id", "source", "external_id"))

    def _grants(self, grants: list[OAuthGrantRecord], person_ids: Mapping[str, int]) -> None:
        rows = [
            {
                "tenant_id": self.tenant_id,
                "source": self.source,
                "person_id": person_ids[normalise_email(g.email)],
                "client_id": g.client_id,
                "app_name": g.app_name,
                "scopes": list(g.scopes),
                "granted_at": g.granted_at,
                "seen_run_id": self.run_id,
            }
            for g in grants
        ]
        for part in chunks(rows):
            upsert(
                self.session, table(OAuthGrant), part, key=("tenant_id", "source", "person_id", "client_id")
            )

    def _billed(self, billed: list[BilledItemRecord]) -> None:
        rows = [
            {
                "tenant_id": self.tenant_id,
                "source": self.source,
                "external_id": b.external_id,
                "app_id": b.app_id,
                "sku": b.sku,
                "quantity": b.quantity,
                "unit_price": b.unit_price,
                "currency": b.currency.upper(),
                "billing_period": b.billing_period.value if b.billing_period else None,
                "status": b.status,
                "customer_id": b.customer_id,
                "current_period_end": b.current_period_end,
                "seen_run_id": self.run_id,
            }
            for b in billed
        ]
        for part in chunks(rows):
            upsert(self.session, table(BilledItem), part, key=("tenant_id", "source", "external_id"))

    def _credentials(self, credentials: list[CredentialRecord]) -> None:
        rows = [
            {
                "tenant_id": self.tenant_id,
                "source": self.source,
                "name": c.name,
                "expires_at": c.expires_at,
                "observed_at": self.now,
                "seen_run_id": self.run_id,
            }
            for c in credentials
        ]
        if rows:
            upsert(self.session, table(Credential), rows, key=("tenant_id", "source", "name"))
