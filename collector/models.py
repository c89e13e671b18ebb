"""SQLAlchemy 2.0 models of the normalised, tenant-scoped data model (see docs/architecture.md).

Every table carries ``tenant_id``; every query filters on it. Rows written by a connector carry the
``source`` (the connector instance name) and the id of the sync run that last saw them, which lets the
runner retire rows a complete snapshot no longer contains, and only then.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from collector.timeutil import UtcDateTime

# Constraint names are fixed so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MONEY = Numeric(16, 4)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Tenant(Base):
    __tablename__ = "tenant"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))


class App(Base):
    __tablename__ = "app"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(64))
    vendor: Mapped[str | None] = mapped_column(String(200))
    sanctioned: Mapped[bool | None] = mapped_column(Boolean)
    owner: Mapped[str | None] = mapped_column(String(320))


class Person(Base):
    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    email: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str | None] = mapped_column(String(32))
    status_source: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(200))
    cost_center: Mapped[str | None] = mapped_column(String(200))
    manager_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class Account(Base):
    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source", "app_id", "external_id"),
        # A person's accounts (offboarding), and the foreign key's check when a person goes.
        Index("ix_account_person_id", "person_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    source: Mapped[str] = mapped_column(String(64))
    app_id: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(320))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(32))
    is_admin: Mapped[bool | None] = mapped_column(Boolean)
    mfa_enabled: Mapped[bool | None] = mapped_column(Boolean)
    kind: Mapped[str | None] = mapped_column(String(16))  # user | guest | bot | service | None
    created_at: Mapped[datetime | None]
    seen_run_id: Mapped[int] = mapped_column(Integer)


class LicensePool(Base):
    __tablename__ = "license_pool"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "app_id", "sku"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    source: Mapped[str] = mapped_column(String(64))  # connector name, or "contract" for config
    app_id: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(200))
    seats_purchased: Mapped[int | None] = mapped_column(Integer)
    seats_assigned: Mapped[int | None] = mapped_column(Integer)
    unit_price: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str | None] = mapped_column(String(3))
    billing_period: Mapped[str | None] = mapped_column(String(16))
    commitment: Mapped[str | None] = mapped_column(String(16))
    term_start: Mapped[date | None] = mapped_column(Date)
    term_end: Mapped[date | None] = mapped_column(Date)
    auto_renew: Mapped[bool | None] = mapped_column(Boolean)
    notice_days: Mapped[int | None] = mapped_column(Integer)
    seen_run_id: Mapped[int] = mapped_column(Integer)


class Seat(Base):
    __tablename__ = "seat"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source", "app_id", "sku", "account_id"),
        # An account's seats: offboarding's lookups, and the cascade when a sync retires accounts
        # (without it PostgreSQL scans every seat once per account deleted).
        Index("ix_seat_account_id", "account_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    source: Mapped[str] = mapped_column(String(64))
    app_id: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    assigned_at: Mapped[datetime | None]
    pending_cancellation_on: Mapped[date | None] = mapped_column(Date)
    seen_run_id: Mapped[int] = mapped_column(Integer)


class Activity(Base):
    """The fused last seen: one row per (person, app, source); events are folded in, never stored."""

    __tablename__ = "activity"
    __table_args__ = (
        UniqueConstraint("tenant_id", "person_id", "app_id", "source", "source_kind", "feature"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    app_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    source_kind: Mapped[str] = mapped_column(String(32))
    # A part of the app ("exchange", "teams"); "" for the app as a whole. Not NULL, so it can be
    # part of the unique key on every database.
    feature: Mapped[str] = mapped_column(String(64), default="", server_default="")
    last_seen_at: Mapped[datetime | None]  # None: the source says "never"
    observed_at: Mapped[datetime]  # when this source last reported on this person
    seen_run_id: Mapped[int] = mapped_column(Integer)


class AppUsage(Base):
    """Per (person, app): the activity rows folded across sources, kept by the ingest.

    ``last_seen_at`` is the latest last seen any source reports (NULL: every source says "never");
    ``sources`` lists the sources with a row, each between commas (",okta,slack,"), so an analysis
    can tell the pairs a stale source speaks for and work those out from ``activity``. The analyzers
    read this instead of aggregating the whole activity table (see ``collector.usage``).
    """

    __tablename__ = "app_usage"
    # Read by its key only: on SQLite the row lives in the key's b-tree (one search per lookup).
    __table_args__ = {"sqlite_with_rowid": False}
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seen_at: Mapped[datetime | None]
    sources: Mapped[str] = mapped_column(Text)


class SpendLine(Base):
    __tablename__ = "spend_line"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    spent_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    merchant: Mapped[str] = mapped_column(String(200))
    app_id: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    seen_run_id: Mapped[int] = mapped_column(Integer)


class BilledItem(Base):
    """What an MSP bills its client per app/SKU (e.g. a Stripe subscription item)."""

    __tablename__ = "billed_item"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    app_id: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    billing_period: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(200))
    current_period_end: Mapped[datetime | None]
    seen_run_id: Mapped[int] = mapped_column(Integer)


class OAuthGrant(Base):
    __tablename__ = "oauth_grant"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "person_id", "client_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    source: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    client_id: Mapped[str] = mapped_column(String(200))
    app_name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[Any]]
    granted_at: Mapped[datetime | None]
    seen_run_id: Mapped[int] = mapped_column(Integer)


class Credential(Base):
    """A connector's credential and when it expires, as the vendor reported it on the last sync."""

    __tablename__ = "credential"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    source: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime | None]
    observed_at: Mapped[datetime]
    seen_run_id: Mapped[int] = mapped_column(Integer)


class Finding(Base):
    """Analyzer output, kept across runs so resolved findings show realised savings."""

    __tablename__ = "finding"
    __table_args__ = (
        UniqueConstraint("tenant_id", "analyzer", "fingerprint"),
        Index("ix_finding_tenant_state", "tenant_id", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    analyzer: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(400))
    app_id: Mapped[str | None] = mapped_column(String(64))
    sku: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(320))
    verdict: Mapped[str] = mapped_column(String(16))  # fail | unknown
    severity: Mapped[str] = mapped_column(String(16))  # info | low | medium | high
    title: Mapped[str] = mapped_column(Text)
    monthly_waste: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    evidence: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))  # open | resolved | suppressed
    first_seen_at: Mapped[datetime]
    # When a run last wrote the row: first produced, changed, reopened, or (resolved) the last run
    # that produced it. An unchanged finding is not rewritten: an open one is current as of its
    # analyzer's last run (``collector.analysis.analysis_time``).
    last_seen_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    # A hash of what a run wrote (wording, money, evidence, state): a run that produces the same
    # finding again leaves its row alone. None on rows written before it existed.
    digest: Mapped[str | None] = mapped_column(String(32))


class SyncRun(Base):
    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_tenant_connector", "tenant_id", "connector", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    connector: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))  # running | success | partial | failed | aborted
    records: Mapped[int] = mapped_column(Integer, default=0)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[Any]]  # the first problems, each {"where", "reason"}
    error: Mapped[str | None] = mapped_column(Text)


class SyncState(Base):
    __tablename__ = "sync_state"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"), primary_key=True)
    connector: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(128), primary_key=True)
    cursor: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


__all__ = [
    "Account",
    "Activity",
    "App",
    "AppUsage",
    "Base",
    "Credential",
    "Finding",
    "LicensePool",
    "OAuthGrant",
    "Person",
    "Seat",
    "SpendLine",
    "SyncRun",
    "SyncState",
    "Tenant",
]
