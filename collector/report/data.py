"""The figures of a client report: what :mod:`collector.report.gather` reads from the store and the
page renders, money in the tenant's currency per month unless a name says otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from collector.waste import Tally


@dataclass(frozen=True)
class Period:
    """The period realised savings are counted over: findings resolved from ``start`` to ``end``."""

    start: datetime
    end: datetime
    basis: str  # why it starts there, in words: "the time since the previous report", ...


@dataclass(frozen=True)
class AppSpend:
    app_id: str
    name: str
    category: str
    monthly: Decimal
    basis: str  # where the figure comes from: license pools, card and invoice spend, ...


@dataclass(frozen=True)
class CategorySpend:
    category: str
    monthly: Decimal
    apps: tuple[str, ...]  # app names, biggest spender first


@dataclass(frozen=True)
class AppUsage:
    """Seats of one app (its paid pools added up): bought, assigned to someone, used recently."""

    app_id: str
    name: str
    purchased: int
    assigned: int
    active: int
    active_days: int  # "used recently": within this many days (the unused-seats line of the tenant)

    @property
    def unassigned(self) -> int:
        return max(self.purchased - self.assigned, 0)

    @property
    def idle(self) -> int:
        """Assigned seats nobody used within ``active_days``."""
        return max(min(self.assigned, self.purchased) - self.active, 0)


@dataclass(frozen=True)
class ReasonWaste:
    """Savings of one reason; a seat two analyzers flag is counted under the reason of its larger
    finding (on a tie, the earlier reason of :data:`collector.report.evidence.REASONS`)."""

    analyzer: str
    rule: str
    label: str
    count: int  # seats (or apps, or pairs of apps)
    monthly: Decimal


@dataclass(frozen=True)
class RenewalTerm:
    app_id: str
    app: str
    sku: str
    term_end: date
    deadline: date  # last day to give notice (auto-renewing) or the term end (not renewing)
    days_left: int  # to the deadline from the evaluation date; negative once it has passed
    auto_renew: bool
    projected: bool  # the contract's term ended and was rolled forward
    seats: int | None
    unused_seats: int  # unassigned, unused and leavers' seats of the pool (open findings)
    monthly_cost: Decimal | None
    recommended_seats: int | None  # the renewals analyzer's advice, when it has judged this term
    monthly_saving: Decimal | None
    action: str | None


@dataclass(frozen=True)
class OverlapPair:
    category: str
    keep: str  # app names
    drop: str
    only_keep: int  # people active only in the app to keep
    only_drop: int
    both: int
    monthly: Decimal
    judged: bool  # False: an activity source is stale, the counts are the last known
    title: str
    action: str | None


@dataclass(frozen=True)
class Detail:
    label: str
    text: str


@dataclass(frozen=True)
class FindingView:
    """One seat (or app, or pair) with money: the largest of its open findings, with the others."""

    app: str
    sku: str | None
    reason: str
    severity: str
    title: str
    monthly: Decimal
    who: str | None  # name and e-mail, or the subject in words
    person: tuple[str | None, str] | None  # (name, e-mail) of the person it names
    details: tuple[Detail, ...]
    action: str | None
    also: tuple[str, ...]  # titles of the seat's other open findings


@dataclass(frozen=True)
class VendorRiskView:
    app: str
    score: int
    severity: str
    reasons: tuple[tuple[int, str], ...]  # (points, reason)
    monthly_at_risk: Decimal
    people: int
    action: str | None


@dataclass(frozen=True)
class UnknownView:
    app: str
    subject: str
    title: str
    reason: str


@dataclass(frozen=True)
class DepartmentRow:
    department: str
    seats: int
    monthly_spend: Decimal
    monthly_waste: Decimal  # each seat counted once, as in the headline
    unpriced_seats: int


@dataclass(frozen=True)
class SourceView:
    source: str
    last_success_at: datetime | None
    stale: bool
    reason: str | None


@dataclass(frozen=True)
class ReportData:
    tenant_id: str
    tenant_name: str
    currency: str
    generated_at: datetime  # wall clock
    evaluated_on: date  # the day findings are judged as of (the tenant's as_of, else today)
    period: Period
    has_data: bool  # a source has synced, or the config holds contracts
    savings: Tally  # open waste now: the headline, as saaswatch findings and the metrics total it
    realised_in_period: Tally
    realised_total: Tally
    unknown_count: int
    app_spend: tuple[AppSpend, ...]
    categories: tuple[CategorySpend, ...]
    usage: tuple[AppUsage, ...]
    reasons: tuple[ReasonWaste, ...]
    renewals: tuple[RenewalTerm, ...]
    renewal_horizon: date
    overlaps: tuple[OverlapPair, ...]
    top: tuple[FindingView, ...]
    others: tuple[FindingView, ...]  # the rest of the seats with money, biggest first
    others_left_off: int  # seats with money not listed (the list is capped)
    vendor_risks: tuple[VendorRiskView, ...]
    unknown: tuple[UnknownView, ...]
    departments: tuple[DepartmentRow, ...]
    sources: tuple[SourceView, ...]

    @property
    def monthly_spend(self) -> Decimal:
        return sum((a.monthly for a in self.app_spend), Decimal(0))
