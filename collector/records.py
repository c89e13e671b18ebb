"""The records a connector yields. The sync runner, not the connector, writes them to the store.

Records are plain frozen dataclasses so connectors stay free of any database code. People and
accounts are joined across sources by normalised e-mail (see :func:`normalise_email`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


class DataKind(enum.StrEnum):
    """What kinds of data a connector can provide; declared by each connector."""

    PEOPLE = "people"
    ACCOUNTS = "accounts"
    LICENSE_POOLS = "license_pools"
    SEATS = "seats"
    ACTIVITY = "activity"
    SPEND = "spend"
    GRANTS = "grants"
    BILLING = "billing"  # what an MSP bills its client (e.g. Stripe subscriptions), for reconciliation


class IdpStatus(enum.StrEnum):
    """A person's status in the identity provider, kept for the offboarding analyzer."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    DEPROVISIONED = "deprovisioned"


class ActivitySource(enum.StrEnum):
    """Which kind of source said a person was last seen in an app; ordered roughly by trust."""

    IDP_SSO = "idp_sso"  # an IdP single-sign-on event into the app (Okta System Log, Google SAML)
    IDP_SIGNIN = "idp_signin"  # a sign-in to the IdP itself (Okta lastLogin, Entra signInActivity)
    APP_LOGIN = "app_login"  # the app's own last-login / last-activity field
    EXPORT = "export"  # a CSV export someone downloaded from an admin console
    REPORT = "report"  # a vendor usage report (e.g. M365 active-user detail): lags by days, lower trust


class BillingPeriod(enum.StrEnum):
    MONTHLY = "monthly"
    ANNUAL = "annual"


class Commitment(enum.StrEnum):
    MONTHLY = "monthly"
    ANNUAL = "annual"


def normalise_email(raw: str) -> str:
    """Lower-case and trim an e-mail address; the join key for a person across sources."""
    return raw.strip().lower()


@dataclass(frozen=True, slots=True)
class PersonRecord:
    email: str
    display_name: str | None = None
    status: IdpStatus | None = None
    department: str | None = None
    cost_center: str | None = None
    manager_email: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """A person's (or service identity's) account in one app as seen by this source."""

    app_id: str
    external_id: str
    email: str | None = None
    status: str = "active"
    is_admin: bool | None = None
    mfa_enabled: bool | None = None
    created_at: datetime | None = None
    # user | guest | bot | service (an API-only or integration identity, never an active human);
    # None when the source cannot tell.
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class LicensePoolRecord:
    """What is bought for one (app, SKU). Fields left ``None`` are unknown to this source."""

    app_id: str
    sku: str
    seats_purchased: int | None = None
    seats_assigned: int | None = None
    unit_price: Decimal | None = None
    currency: str | None = None
    billing_period: BillingPeriod | None = None
    commitment: Commitment | None = None
    term_start: date | None = None
    term_end: date | None = None
    auto_renew: bool | None = None
    notice_days: int | None = None


@dataclass(frozen=True, slots=True)
class SeatRecord:
    """A license of pool (app_id, sku) held by the account ``account_external_id`` of this source."""

    app_id: str
    sku: str
    account_external_id: str
    assigned_at: datetime | None = None
    # The vendor has the seat scheduled to go away on this date (GitHub pending_cancellation_date).
    pending_cancellation_on: date | None = None


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    """The latest time this source saw ``email`` in ``app_id``.

    ``last_seen_at=None`` is a positive statement from the source: "this person never signed in".
    A source that knows nothing about a person must yield no record at all.
    """

    email: str
    app_id: str
    last_seen_at: datetime | None
    source_kind: ActivitySource
    # When the source's data was true: an export's date, or None for "now" (a live API read).
    observed_at: datetime | None = None
    # A part of the app the activity was in, when the source breaks it down (M365 "exchange",
    # "teams"); "" for the app as a whole. Rightsizing reads it; last seen takes the latest of all.
    feature: str = ""


@dataclass(frozen=True, slots=True)
class SpendRecord:
    external_id: str
    spent_on: date
    amount: Decimal
    currency: str
    merchant: str
    app_id: str | None = None
    description: str | None = None
    kind: str = "invoice"  # invoice | card | subscription


@dataclass(frozen=True, slots=True)
class OAuthGrantRecord:
    email: str
    client_id: str
    app_name: str
    scopes: tuple[str, ...] = ()
    granted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BilledItemRecord:
    """A line an MSP bills its client for (a Stripe subscription item), mapped to an app and SKU so
    seats billed can be reconciled against seats purchased, assigned and active."""

    external_id: str  # e.g. the subscription item id
    app_id: str
    sku: str
    quantity: int
    unit_price: Decimal | None
    currency: str
    billing_period: BillingPeriod | None
    status: str  # the vendor's subscription status: active, trialing, past_due, canceled, ...
    customer_id: str | None = None
    current_period_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class CredentialRecord:
    """When the credential this connector uses expires, where the vendor says so (e.g. GitHub's
    ``GitHub-Authentication-Token-Expiration`` header). ``expires_at`` None: the vendor says it never
    expires. Exported as ``saaswatch_connector_credential_expiry_timestamp_seconds`` for alerting."""

    name: str  # which credential, in the vendor's words: "token", "client secret" ...
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Input the connector could not use. The run is marked partial; the rest is still ingested."""

    where: str  # e.g. "users.csv row 17" or "GET /api/v1/users page 3"
    reason: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """End of a page of ``stream``: everything yielded since the last checkpoint is committed in one
    transaction together with the new ``cursor`` (``None`` keeps the stream's cursor as it was)."""

    stream: str
    cursor: dict[str, object] | None = None
    complete: bool = False  # the stream has been read to its end in this run


Record = (
    PersonRecord
    | AccountRecord
    | LicensePoolRecord
    | SeatRecord
    | ActivityRecord
    | SpendRecord
    | OAuthGrantRecord
    | BilledItemRecord
    | CredentialRecord
    | RowProblem
    | Checkpoint
)
