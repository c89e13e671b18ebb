"""Benchmark: the analysis of a large generated tenant. Prints figures; asserts nothing.

Generates a tenant straight into the store with bulk inserts (not through connectors), with work for
every analyzer:

- N people in 40 departments. 3% have left (half suspended, half deprovisioned in the IdP) and still
  hold the 40% of their seats nobody reclaimed; 0.3% of the others have no IdP account. Everyone has
  an Okta account and an Okta sign-in (leavers' before they left, 5% of them within the offboarding
  grace period).
- A apps: Okta (the IdP), Microsoft 365 (E3 or E5 seats for 60% of the people, with per-workload
  activity; 15% of the active holders use only mail and chat) and A-2 others with 1-3 SKUs each,
  three quarters of which share a category with two others.
- S seats in all, each on an account of its own: every person holds ~S/N apps, popular apps far more
  often than the long tail; activity from one or two sources per app (an IdP's SSO log and/or the
  vendor's own last login) with 8% of seats inactive for more than 60 days, 3% never used and 1%
  without any usage data; two vendor sources are stale.
- License pools with prices, a third of them annual, with term ends over the next year and notice
  periods of 30 to 90 days (a tenth not renewing by themselves); 12 months of invoices, the price of a
  few apps rising; personal-card expenses for some apps; card spend on 15 unsanctioned apps and on
  merchants no connector mapped (software and lunches); OAuth grants by 8% of the people, a fifth of
  them with mail, drive or calendar scopes; an MSP's billed items for a tenth of the pools; vendor
  catalog facts (young company without SSO, acquired, end of life) for some apps.

Then it times, each in a fresh process so peak memory is the step's own:

- the floor: a bare SQL query computing the unused-seat set (holders whose latest fresh sighting is
  older than the app's threshold, or who were never seen), rows fetched; once over the usage summary
  the ingest keeps (the strict floor, the reference for the ratios) and once aggregating the activity
  table (what it costs without the summary);
- the unused-seats analysis alone (``UnusedSeats.run_since`` + finding persistence, one transaction,
  as the runner does it), on an empty findings table (run 1) and again with every finding already
  stored (run 2: stand-ins, worded only if their inputs changed);
- the full analysis as ``collector.analysis.run_analyzers`` does it: every registered analyzer run
  and its changes prepared on ``--workers`` threads (``produce_all``), then written in one
  transaction (``write_all``), the halves timed apart, twice; per analyzer its time on its thread.

Usage:
    python bench/analysis_scale.py [--people 100000] [--apps 400] [--seats 2000000]
                                   [--database-url sqlite:///... | postgresql+psycopg://...]
                                   [--steps generate,floor,unused,full] [--schema NAME]
                                   [--workers N]

Without --database-url the store is a SQLite file in a temporary directory. With a PostgreSQL URL
the benchmark creates a schema of its own and drops it afterwards; with --schema it uses (and keeps)
that one, so that a tenant generated once can be analysed again with --steps floor,unused,full.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, make_url, text  # noqa: E402

from analyzers.base import Analyzer, AnalyzerSettings, SharedPools, TenantView  # noqa: E402
from analyzers.offboarding import OffboardingSettings  # noqa: E402
from analyzers.overlap import OverlapSettings  # noqa: E402
from analyzers.registry import analyzer_ids, get_analyzer  # noqa: E402
from analyzers.shadow_it import ShadowItSettings  # noqa: E402
from analyzers.unused_seats import UnusedSeats, UnusedSeatsSettings  # noqa: E402
from collector.catalog import Catalog, CatalogEntry, builtin_catalog  # noqa: E402
from collector.config import Mute  # noqa: E402
from collector.store import Store  # noqa: E402
from collector.usage import rebuild as rebuild_usage  # noqa: E402

TENANT = "bench"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SKU_NAMES = ("Standard", "Pro", "Enterprise")
IDP = "idp"  # the IdP's source: its accounts, its own sign-ins and its SSO log of the other apps
IDP_APP = "okta"
M365 = "m365"
M365_SKUS = (("Microsoft 365 E3", Decimal("36.00")), ("Microsoft 365 E5", Decimal("57.00")))
M365_SHARE = 0.6  # of the people hold a Microsoft 365 seat
M365_LIGHT = 0.15  # of its active holders use only mail and chat (rightsizing)
LEAVERS = 0.03  # of the people: half suspended, half deprovisioned
LEAVER_KEEPS = 0.4  # of a leaver's seats nobody reclaimed
NOT_IN_IDP = 0.003  # of the people who have not left
GRANTING = 0.08  # of the people granted an app access to their Google account
SHADOW_APPS = 15
CHUNK = 50_000
SEED = 11

# Card merchants no connector maps to an app: (merchant, monthly amount per card, cards paying it).
# Known products (the built-in catalog names them), unknown software, and expenses that are not
# software at all, which the shadow-IT policy ignores.
CARD_MERCHANTS = (
    ("CALENDLY", "16.00", 6),
    ("GRAMMARLY CO INC", "30.00", 4),
    ("OPENAI *CHATGPT SUBSCR", "20.00", 25),
    ("CANVA* I04123", "15.00", 10),
    ("OTTER.AI", "16.99", 5),
    ("MIDJOURNEY INC.", "30.00", 3),
    ("LINKEDIN PREMIUM", "39.99", 8),
    ("ROBOTRACK SUBSCRIPTION", "12.00", 2),
    ("ACME LABELS CLOUD", "25.00", 1),
)
NOT_SOFTWARE = ("BLUE BOTTLE COFFEE", "DELTA AIR 0062345", "UBER *TRIP", "HILTON HOTELS")
# OAuth clients people granted access to: known products and home-grown helpers.
OAUTH_CLIENTS = (
    "Calendly", "Grammarly", "Zoom for Google Workspace", "Otter.ai", "Loom", "Miro", "Canva",
    "Dropbox", "Trello", "Asana", "Zapier", "Lucidchart", "Smartsheet", "ChatGPT", "Fireflies.ai",
    "Mailchimp", "Typeform", *(f"Hackweek helper {n}" for n in range(40)),
)  # fmt: skip
SCOPES = ("openid", "email", "profile")
RISKY_SCOPES = (
    "https://mail.google.com/",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/calendar",
)


# -- the tenant ----------------------------------------------------------------------------------


class Shape:
    """The generated tenant's facts that generation, the floor and the analysis all need."""

    def __init__(self, apps: int) -> None:
        # Okta and Microsoft 365 are two of the apps; the others are generic.
        self.apps = [f"app{i:03d}" for i in range(max(apps - 2, 1))]
        self.vendors = max(1, apps // 10)
        # Categories of three apps each (a popular app, one of the middle and one of the tail) for
        # three quarters of the apps; the rest are uncategorised.
        self.groups = max(1, len(self.apps) // 4)
        # Two vendors are stale (their last sync failed): the seats of their apps that only they
        # report on are UNKNOWN; where the IdP reports too, its data still decides.
        both = [v for v in range(self.vendors) if v % 10 in (3, 5)]
        self.stale = [f"vendor{v:02d}" for v in both[-2:]] or [self.vendor(0)]
        # Per-app thresholds: a few popular apps are judged after 90 days, a few tail apps after 30.
        self.overrides = {app: 90 for app in self.apps[3:6]} | {app: 30 for app in self.apps[100:110]}

    def vendor(self, app_index: int) -> str:
        return f"vendor{app_index % self.vendors:02d}"

    def skus(self, app_index: int) -> tuple[str, ...]:
        return SKU_NAMES[: 1 + app_index % 3]

    def category(self, app_index: int) -> str | None:
        return f"cat{app_index % self.groups:03d}" if app_index < 3 * self.groups else None

    def activity_sources(self, app_index: int) -> tuple[str, ...]:
        """Which sources report usage of an app: the IdP, the vendor, or both."""
        slot = app_index % 10
        if slot < 3:
            return (IDP,)
        if slot < 6:
            return (IDP, self.vendor(app_index))
        return (self.vendor(app_index),)

    def settings(self) -> UnusedSeatsSettings:
        apps: dict[str, Any] = {app: {"inactive_days": days} for app, days in self.overrides.items()}
        apps[self.apps[-2]] = {"exclude": True}
        apps[self.apps[2]] = {"exclude_skus": ["enterprise"]}
        return UnusedSeatsSettings.model_validate(
            {"apps": apps, "exclude_people": ["ceo@bench.example", "svc-*@bench.example"]}
        )

    def policies(self) -> dict[str, AnalyzerSettings]:
        """The tenant's policy: the unused-seats one above; the IdP; an allowed pair, an excluded
        category; card merchants that are not software."""
        return {
            "unused_seats": self.settings(),
            "offboarding": OffboardingSettings(idp_apps=[IDP_APP]),
            "overlap": OverlapSettings.model_validate(
                {
                    "allowed_pairs": [[self.apps[0], self.apps[min(self.groups, len(self.apps) - 1)]]],
                    "exclude_categories": [f"cat{self.groups - 1:03d}"],
                }
            ),
            "shadow_it": ShadowItSettings(ignore=["blue bottle*", "delta air*", "uber*", "hilton*"]),
        }

    def analyzers(self) -> list[Analyzer]:
        """Every registered analyzer with the tenant's policy, in the order run_analyzers runs them."""
        policies = self.policies()
        result = []
        for analyzer_id in analyzer_ids():
            cls = get_analyzer(analyzer_id)
            result.append(cls(policies.get(analyzer_id) or cls.settings_model()))
        return result

    def catalog(self) -> Catalog:
        """The built-in catalog plus facts about some generic apps' vendors (for vendor_risk)."""
        entries = []
        for i, app in enumerate(self.apps):
            facts: dict[str, Any] = {}
            if i % 37 == 11:
                facts |= {"founded": NOW.year - 1, "sso": "none"}
            if i % 53 == 20:
                facts |= {"ownership": "acquired", "acquired_by": "Bigger Software"}
            if i % 97 == 42:
                facts["end_of_life"] = NOW.date() + timedelta(days=200)
            if facts:
                category = self.category(i) or "other"
                entries.append(CatalogEntry(app, f"App {i:03d}", f"Vendor {i}", category, **facts))
        return builtin_catalog().with_entries(entries)

    def view(self, catalog: Catalog | None = None) -> TenantView:
        return TenantView(
            tenant_id=TENANT,
            currency="USD",
            now=NOW,
            exchange_rates={"EUR": Decimal("1.08")},
            stale_sources={source: "last sync failed" for source in self.stale},
            catalog=catalog or builtin_catalog(),
        )


MUTES = [
    Mute(analyzer="unused_seats", app="app001", reason="being migrated off", expires=date(2099, 1, 1)),
    Mute(subject="person00001*", reason="on parental leave", expires=date(2099, 1, 1)),
]


def ts(value: datetime | None, sqlite: bool) -> Any:
    """A timestamp as the store keeps it: SQLAlchemy's naive-UTC text on SQLite, aware on PostgreSQL."""
    if value is None or not sqlite:
        return value
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def email_of(i: int) -> str:
    """Person i's address; a few match the benchmark's exclude_people patterns."""
    if i == 0:
        return "ceo@bench.example"
    return f"svc-{i}@bench.example" if i <= 20 else f"person{i:06d}@bench.example"


def days_ago(rng: random.Random, low: float, high: float) -> datetime:
    return NOW - timedelta(seconds=int(rng.uniform(low, high) * 86400))


def months_back(count: int) -> list[date]:
    """The first days of the last ``count`` months, oldest first, the current one included."""
    first = NOW.date().replace(day=1)
    result = [first]
    while len(result) < count:
        result.append((result[-1] - timedelta(days=1)).replace(day=1))
    return result[::-1]


class Person:
    __slots__ = ("in_idp", "index", "left", "status")

    def __init__(self, index: int, status: str, left: datetime | None, in_idp: bool) -> None:
        self.index, self.status, self.left, self.in_idp = index, status, left, in_idp

    @property
    def id(self) -> int:
        return self.index + 1


class Generator:
    """Builds the rows of every table, in the order connectors would write them."""

    def __init__(self, shape: Shape, people: int, seats: int, sqlite: bool) -> None:
        self.shape, self.sqlite = shape, sqlite
        self.rng = random.Random(SEED)
        self.people = [self._person(i) for i in range(people)]
        self.seat_target = seats
        self.accounts: list[tuple[Any, ...]] = []
        self.seats: list[tuple[Any, ...]] = []
        self.activity: list[tuple[Any, ...]] = []
        # Seats held per pool, keyed (app id, SKU); and each pool's row once priced.
        self.held: dict[tuple[str, str], int] = {}
        self.pools: list[tuple[Any, ...]] = []

    def ts(self, value: datetime | None) -> Any:
        return ts(value, self.sqlite)

    def _person(self, i: int) -> Person:
        rng = self.rng
        roll = rng.random()
        if roll < LEAVERS:
            status = "suspended" if roll < LEAVERS / 2 else "deprovisioned"
            # Left within the last five months; 5% within the offboarding grace period (3 days).
            left = days_ago(rng, 0.2, 2.5) if rng.random() < 0.05 else days_ago(rng, 4, 150)
            return Person(i, status, left, True)
        return Person(i, "active", None, rng.random() >= NOT_IN_IDP)

    # -- people and the IdP ----------------------------------------------------------------------

    def person_rows(self) -> list[tuple[Any, ...]]:
        rng, rows = self.rng, []
        for p in self.people:
            created = self.ts(days_ago(rng, 30, 3000))
            # Someone missing from the IdP has no IdP status: a vendor's account made them a person.
            status, source = (p.status, IDP) if p.in_idp else (None, None)
            rows.append(
                (p.id, TENANT, email_of(p.index), f"Person {p.index}", status, source,
                 f"dept{p.index % 40:02d}", None, None, created, self.ts(NOW))
            )  # fmt: skip
        return rows

    def _account(self, source: str, app_id: str, external_id: str, p: Person | None, **extra: Any) -> int:
        n = len(self.accounts) + 1
        self.accounts.append(
            (n, TENANT, source, app_id, external_id, p.id if p else None, email_of(p.index) if p else None,
             extra.get("status", "active"), extra.get("kind"), self.ts(extra.get("created")), 1)
        )  # fmt: skip
        return n

    def _seat(self, source: str, app_id: str, sku: str, account: int, assigned: datetime | None) -> None:
        self.seats.append((len(self.seats) + 1, TENANT, source, app_id, sku, account, self.ts(assigned), 1))
        self.held[(app_id, sku)] = self.held.get((app_id, sku), 0) + 1

    def _sighting(self, p: Person, app_id: str, source: str, kind: str, seen: datetime | None,
                  feature: str = "") -> None:  # fmt: skip
        observed = self.ts(days_ago(self.rng, 0, 2))
        self.activity.append((None, TENANT, p.id, app_id, source, kind, feature, self.ts(seen), observed, 1))

    def idp(self) -> None:
        """Okta: an account for everyone in the IdP (leavers' closed), and their last sign-in."""
        rng = self.rng
        for p in self.people:
            if not p.in_idp:
                continue
            self._account(IDP, IDP_APP, f"00u{p.index:07d}", p, status=p.status)
            seen = p.left or NOW - timedelta(days=min(rng.expovariate(1 / 1.5), 30))
            self._sighting(p, IDP_APP, IDP, "idp_signin", seen)

    # -- generic apps ----------------------------------------------------------------------------

    def generic_seats(self) -> None:
        shape, rng = self.shape, self.rng
        apps = len(shape.apps)
        weights = list(itertools.accumulate(1 / (i + 1) ** 0.9 for i in range(apps)))
        staying = len(self.people) * (1 - LEAVERS + LEAVERS * LEAVER_KEEPS)
        service = min(500, len(self.people))
        per_person = (self.seat_target - M365_SHARE * len(self.people) - service) / max(staying, 1)
        per_person = max(min(per_person, apps * 0.8), 0)
        holdings: list[tuple[int, int]] = []  # (person index, app index), one account + seat each
        for p in self.people:
            share = per_person * (LEAVER_KEEPS if p.left else 1)
            want = int(share) + (rng.random() < share - int(share))
            chosen: dict[int, None] = {}
            while len(chosen) < want:
                for pick in rng.choices(range(apps), cum_weights=weights, k=want * 2):
                    chosen.setdefault(pick)
                    if len(chosen) == want:
                        break
            holdings.extend((p.index, a) for a in chosen)
        # Rows land as connectors write them: source by source, app by app (a vendor's sync pages
        # through one app's users), so ids follow (source, app) the way a real store's do.
        holdings.sort(key=lambda h: (h[1] % shape.vendors, h[1], h[0]))
        for person_index, app in holdings:
            p = self.people[person_index]
            app_id, source = shape.apps[app], shape.vendor(app)
            kind = "service" if p.index % 997 == 5 else "user"
            created = days_ago(rng, 20, 2000) if rng.random() < 0.7 else None
            account = self._account(source, app_id, f"u{p.index}", p, kind=kind, created=created)
            skus = shape.skus(app)
            sku = skus[0] if len(skus) == 1 or rng.random() < 0.6 else rng.choice(skus[1:])
            assigned = days_ago(rng, 0, 1100) if rng.random() < 0.9 else None
            self._seat(source, app_id, sku, account, assigned)
            self._generic_activity(p, app)
        # Service accounts without a person (no e-mail): no usage data can exist for them.
        for k in range(service):
            app = k % min(apps, 20)
            app_id, source, sku = shape.apps[app], shape.vendor(app), shape.skus(app)[0]
            account = self._account(source, app_id, f"integration-{k}", None)
            self._seat(source, app_id, sku, account, days_ago(rng, 0, 900))

    def _latest(self, p: Person, roll: float) -> datetime | None:
        """A seat's last use: 3% never, 8% more than 60 days ago, the rest recent (most this week);
        a leaver's no later than the day they left."""
        rng = self.rng
        if roll < 0.04:
            return None
        if roll < 0.12:
            latest = days_ago(rng, 61, 500)
        else:
            latest = NOW - timedelta(days=min(rng.expovariate(1 / 8), 59.5))
        if p.left is not None and latest > p.left:
            latest = p.left - timedelta(seconds=rng.randrange(0, 4 * 86400))
        return latest

    def _generic_activity(self, p: Person, app: int) -> None:
        """One or two sources' last-seen rows for a seat, 1% of seats with none."""
        rng, shape = self.rng, self.shape
        roll = rng.random()
        if roll < 0.01:
            return  # no source knows this seat's usage
        sources = shape.activity_sources(app)
        if len(sources) == 2 and rng.random() < 0.5:
            sources = (rng.choice(sources),)
        latest = self._latest(p, roll)
        for k, source in enumerate(sources):
            seen = latest if k == 0 or latest is None else latest - timedelta(days=rng.randint(0, 30))
            self._sighting(p, shape.apps[app], source, "idp_sso" if source == IDP else "app_login", seen)

    # -- Microsoft 365 ---------------------------------------------------------------------------

    def m365(self) -> None:
        """E3 or E5 seats with the usage report's per-workload activity."""
        rng = self.rng
        for p in self.people:
            if rng.random() >= M365_SHARE:
                continue
            sku = M365_SKUS[1][0] if rng.random() < 0.2 else M365_SKUS[0][0]
            account = self._account(M365, M365, email_of(p.index), p, created=days_ago(rng, 30, 1500))
            self._seat(M365, M365, sku, account, days_ago(rng, 20, 1200))
            roll = rng.random()
            if roll < 0.01:
                continue
            latest = self._latest(p, roll)
            workloads = ["exchange", "teams"]
            if latest is None or rng.random() >= M365_LIGHT:
                workloads += ["onedrive", "sharepoint"]
            for workload in workloads:
                seen = latest and latest - timedelta(days=rng.uniform(0, 5))
                self._sighting(p, M365, M365, "report", seen, workload)

    # -- license pools, spend, grants, billing ---------------------------------------------------

    def pool_rows(self) -> list[tuple[Any, ...]]:
        rng, shape, sqlite = self.rng, self.shape, self.sqlite
        index = {app: i for i, app in enumerate(shape.apps)}
        m365_prices = dict(M365_SKUS)
        for n, ((app_id, sku), held) in enumerate(sorted(self.held.items()), start=1):
            if app_id == M365:
                monthly, currency, source, annual = m365_prices[sku], "USD", M365, True
                term_end: date | None = NOW.date() + timedelta(days=75)
            else:
                monthly = Decimal(rng.choice(("4", "8", "12.5", "15", "25", "40", "60")))
                currency = "EUR" if index[app_id] % 25 == 7 else "USD"
                source, annual = shape.vendor(index[app_id]), rng.random() < 0.33
                term_end = NOW.date() + timedelta(days=rng.randint(10, 360)) if annual else None
                if annual and rng.random() < 0.03:  # the contract still names last year's term
                    term_end = NOW.date() - timedelta(days=rng.randint(5, 60))
            price = monthly * (12 if annual else 1)
            self.pools.append(
                (n, TENANT, source, app_id, sku, held + rng.randint(0, max(1, held // 10)), None,
                 str(price) if sqlite else price, currency, "annual" if annual else "monthly",
                 "annual" if annual else "monthly", None,
                 str(term_end) if sqlite and term_end else term_end,
                 (rng.random() >= 0.1) if annual else None,
                 rng.choice((30, 30, 30, 60, 90)) if annual else None, 1)
            )  # fmt: skip
        return self.pools

    def spend_rows(self) -> list[tuple[Any, ...]]:
        """12 months of invoices per pool (a few apps' price rising lately), personal-card
        expenses, card spend on unsanctioned apps and on merchants no connector mapped."""
        rng, shape = self.rng, self.shape
        index = {app: i for i, app in enumerate(shape.apps)}
        months = months_back(12)
        rows: list[tuple[Any, ...]] = []

        def line(source: str, ref: str, day: date, amount: Decimal, currency: str, merchant: str,
                 app_id: str | None, description: str, kind: str) -> None:  # fmt: skip
            value = amount.quantize(Decimal("0.01"))
            spent_on, money = (str(day), str(value)) if self.sqlite else (day, value)
            rows.append(
                (None, TENANT, source, ref, spent_on, money, currency, merchant, app_id, description, kind, 1)
            )

        for pool in self.pools:
            n, app_id, sku, bought, price, currency, period = (
                pool[0], pool[3], pool[4], pool[5], Decimal(pool[7]), pool[8], pool[9],
            )  # fmt: skip
            monthly = price / (12 if period == "annual" else 1) * bought
            rising = app_id != M365 and index[app_id] % 17 == 3
            vendor = "Microsoft Corporation" if app_id == M365 else f"Vendor {index[app_id]} Inc"
            for k, month in enumerate(months):
                amount = monthly * (Decimal("1.3") if rising and k >= len(months) - 3 else 1)
                line("erp", f"inv-{n}-{month:%Y%m}", month, amount, currency, vendor, app_id,
                     f"{sku}, {bought} seats, {month:%B %Y}", "invoice")  # fmt: skip
        for i, app_id in enumerate(shape.apps):
            if i % 41 != 7:
                continue
            for month in months:
                for _ in range(rng.randint(1, 3)):
                    day = month + timedelta(days=rng.randrange(0, 27))
                    line("expenses", f"exp-{len(rows)}", day, Decimal(rng.randint(20, 80)), "USD",
                         f"Vendor {i} Inc", app_id, "expensed on a personal card", "expense")  # fmt: skip
        for k in range(SHADOW_APPS):
            cards, amount = 1 + k % 8, Decimal(rng.choice(("8", "12", "15", "20", "30", "49")))
            for month in months[k % 4 :]:
                for card in range(cards):
                    day = month + timedelta(days=rng.randrange(0, 5))
                    line("cards", f"card-{len(rows)}", day, amount, "USD", f"SHADOW{k:02d} SOFTWARE",
                         f"shadow{k:02d}", f"corporate card {1000 + card}", "card")  # fmt: skip
        for merchant, amount, cards in CARD_MERCHANTS:
            for month in months:
                for card in range(cards):
                    day = month + timedelta(days=rng.randrange(0, 5))
                    line("cards", f"card-{len(rows)}", day, Decimal(amount), "USD", merchant, None,
                         f"corporate card {2000 + card}", "card")  # fmt: skip
        for _ in range(400):
            day = NOW.date() - timedelta(days=rng.randrange(0, 365))
            line("cards", f"card-{len(rows)}", day, Decimal(rng.randint(4, 900)), "USD",
                 rng.choice(NOT_SOFTWARE), None, "corporate card", "card")  # fmt: skip
        return rows

    def grant_rows(self) -> list[tuple[Any, ...]]:
        rng, rows = self.rng, []
        for p in self.people:
            if p.left or rng.random() >= GRANTING:
                continue
            for client in rng.sample(OAUTH_CLIENTS, rng.randint(1, 3)):
                scopes = list(SCOPES)
                if rng.random() < 0.2:
                    scopes.append(rng.choice(RISKY_SCOPES))
                client_id = f"{OAUTH_CLIENTS.index(client)}.apps.googleusercontent.com"
                rows.append(
                    (None, TENANT, "google_workspace", p.id, client_id, client, json.dumps(scopes),
                     self.ts(days_ago(rng, 1, 700)), 1)
                )  # fmt: skip
        return rows

    def billed_rows(self) -> list[tuple[Any, ...]]:
        """An MSP's Stripe subscription items for every tenth pool, most quantities right."""
        rng, rows = self.rng, []
        for pool in self.pools[::10]:
            n, app_id, sku, bought, price, currency, period = (
                pool[0], pool[3], pool[4], pool[5], Decimal(pool[7]), pool[8], pool[9],
            )  # fmt: skip
            quantity = max(bought + rng.choice((-3, -1, 0, 0, 0, 0, 2, 5)), 1)
            unit = (price * Decimal("1.15")).quantize(Decimal("0.01"))
            rows.append(
                (None, TENANT, "stripe", f"si_{n}", app_id, sku, quantity, str(unit) if self.sqlite else unit,
                 currency, period, "active", "cus_bench", self.ts(NOW + timedelta(days=20)), 1)
            )  # fmt: skip
        return rows

    def app_rows(self) -> list[tuple[Any, ...]]:
        shape = self.shape
        rows: list[tuple[Any, ...]] = [
            (TENANT, IDP_APP, "Okta", "identity", "Okta", True, None),
            (TENANT, M365, "Microsoft 365", "office-suite", "Microsoft", True, None),
        ]
        rows += [
            (TENANT, app, f"App {app[3:]}", shape.category(i), f"Vendor {i}", None, None)
            for i, app in enumerate(shape.apps)
        ]
        rows += [
            (
                TENANT,
                f"shadow{k:02d}",
                f"Shadow {k:02d}",
                shape.category(k),
                f"Shadow {k:02d} Inc",
                False,
                None,
            )
            for k in range(SHADOW_APPS)
        ]
        return rows


def generate(url: str, people: int, apps: int, seats: int) -> dict[str, Any]:
    started = time.perf_counter()
    store = Store(url)
    store.migrate()
    shape = Shape(apps)
    gen = Generator(shape, people, seats, store.engine.dialect.name == "sqlite")
    gen.idp()
    gen.generic_seats()
    gen.m365()
    pools = gen.pool_rows()
    tables: list[tuple[str, Sequence[str], Iterable[tuple[Any, ...]]]] = [
        ("tenant", ("id", "name", "currency"), [(TENANT, "Bench", "USD")]),
        ("app", ("tenant_id", "id", "name", "category", "vendor", "sanctioned", "owner"), gen.app_rows()),
        (
            "person",
            ("id", "tenant_id", "email", "display_name", "status", "status_source", "department",
             "cost_center", "manager_email", "created_at", "updated_at"),
            gen.person_rows(),
        ),
        (
            "account",
            ("id", "tenant_id", "source", "app_id", "external_id", "person_id", "email", "status", "kind",
             "created_at", "seen_run_id"),
            gen.accounts,
        ),
        (
            "license_pool",
            ("id", "tenant_id", "source", "app_id", "sku", "seats_purchased", "seats_assigned",
             "unit_price", "currency", "billing_period", "commitment", "term_start", "term_end", "auto_renew",
             "notice_days", "seen_run_id"),
            pools,
        ),
        (
            "seat",
            ("id", "tenant_id", "source", "app_id", "sku", "account_id", "assigned_at", "seen_run_id"),
            gen.seats,
        ),
        (
            "activity",
            ("id", "tenant_id", "person_id", "app_id", "source", "source_kind", "feature", "last_seen_at",
             "observed_at", "seen_run_id"),
            gen.activity,
        ),
        (
            "spend_line",
            ("id", "tenant_id", "source", "external_id", "spent_on", "amount", "currency", "merchant",
             "app_id", "description", "kind", "seen_run_id"),
            gen.spend_rows(),
        ),
        (
            "oauth_grant",
            ("id", "tenant_id", "source", "person_id", "client_id", "app_name", "scopes", "granted_at",
             "seen_run_id"),
            gen.grant_rows(),
        ),
        (
            "billed_item",
            ("id", "tenant_id", "source", "external_id", "app_id", "sku", "quantity", "unit_price",
             "currency", "billing_period", "status", "customer_id", "current_period_end", "seen_run_id"),
            gen.billed_rows(),
        ),
    ]  # fmt: skip
    generated = time.perf_counter() - started
    counts: dict[str, int] = {}
    for name, columns, rows in tables:
        counts[name] = _bulk_insert(store, name, columns, rows)
    # What the ingest keeps as it writes activity, worked out once for the bulk-loaded rows.
    with store.transaction() as session:
        rebuild_usage(session, TENANT)
        if store.engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE app_usage"))
    counts["app_usage"] = _count(store, "app_usage")
    store.dispose()
    return {"counts": counts, "seconds": time.perf_counter() - started, "python_seconds": generated}


def _count(store: Store, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)


def _bulk_insert(store: Store, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """executemany in big chunks on SQLite, COPY on PostgreSQL; a row whose id is None gets the next."""
    raw = store.engine.raw_connection()
    count = 0
    try:
        conn: Any = raw.driver_connection
        if store.engine.dialect.name == "sqlite":
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA cache_size=-400000")
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            iterator = iter(rows)
            while chunk := list(itertools.islice(iterator, CHUNK)):
                chunk = [(count + k + 1, *row[1:]) if row[0] is None else row for k, row in enumerate(chunk)]
                conn.executemany(sql, chunk)
                count += len(chunk)
            conn.commit()
        else:
            with conn.cursor() as cur:
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        count += 1
                        copy.write_row((count, *row[1:]) if row[0] is None else row)
                if "id" in columns and table not in ("tenant", "app"):
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {max(count, 1)})")
                cur.execute(f"ANALYZE {table}")  # what autovacuum would do shortly after a bulk load
            conn.commit()
    finally:
        raw.close()
    return count


# -- the measured steps --------------------------------------------------------------------------


def cutoff(days: int) -> datetime:
    return datetime.combine(NOW.date() - timedelta(days=days), datetime.min.time(), UTC)


def floor_sql(shape: Shape, dialect: str, over: str = "summary") -> tuple[str, dict[str, Any]]:
    """The bare query: holders whose latest fresh sighting is older than the threshold, or never seen.

    ``over="activity"`` aggregates the activity table per (person, app), as a store without the
    usage summary must; ``over="summary"`` reads the summary the ingest keeps (``app_usage``) by
    its key and aggregates from activity only the pairs a stale source has a row for -- the best
    bare SQL on the store as it is, so the strict floor. Both return the same rows."""
    sqlite = dialect == "sqlite"
    stale_list = ", ".join(f"'{s}'" for s in shape.stale)
    params: dict[str, Any] = {"tenant": TENANT}
    thresholds = []
    for n, days in enumerate(sorted(set(shape.overrides.values()))):
        apps = ", ".join(f"'{a}'" for a, d in shape.overrides.items() if d == days)
        thresholds.append(f"WHEN s.app_id IN ({apps}) THEN :cutoff{n}")
        params[f"cutoff{n}"] = ts(cutoff(days), sqlite)
    params["cutoff"] = ts(cutoff(60), sqlite)
    if over == "activity":
        usage = f"""LEFT JOIN (
            SELECT person_id, app_id, MAX(last_seen_at) AS last_seen
            FROM activity
            WHERE tenant_id = :tenant AND source NOT IN ({stale_list})
            GROUP BY person_id, app_id
        ) AS x ON x.person_id = a.person_id AND x.app_id = s.app_id"""
        last_seen = "x.last_seen"
    else:
        touched = " OR ".join(f"u.sources LIKE '%,{s},%'" for s in shape.stale)
        usage = """LEFT JOIN app_usage AS u
            ON u.tenant_id = :tenant AND u.person_id = a.person_id AND u.app_id = s.app_id"""
        last_seen = f"""CASE WHEN {touched} THEN (
                SELECT MAX(y.last_seen_at) FROM activity AS y
                WHERE y.tenant_id = :tenant AND y.person_id = u.person_id AND y.app_id = u.app_id
                    AND y.source NOT IN ({stale_list})
            ) ELSE u.last_seen_at END"""
    # Each seat is judged before grouping: a holder's usage is per (person, app), the same on all
    # their seats of a pool, so filtering seats first gives the same set as a HAVING after grouping
    # every seat, and groups only the flagged ones (a third less time).
    params["never"] = ts(datetime(1, 1, 1, tzinfo=UTC), sqlite)
    sql = f"""
        SELECT s.app_id, s.sku, COALESCE(a.person_id, -a.id) AS holder, MAX({last_seen}) AS last_seen
        FROM seat AS s
        JOIN account AS a ON a.id = s.account_id
        {usage}
        WHERE s.tenant_id = :tenant
            AND COALESCE({last_seen}, :never) < CASE {" ".join(thresholds)} ELSE :cutoff END
        GROUP BY s.app_id, s.sku, COALESCE(a.person_id, -a.id)
    """
    return sql, params


class Meter:
    """Wall time, this process's CPU time and, on a local PostgreSQL, the server backend's CPU time."""

    def __init__(self, conn: Any) -> None:
        self.backend: int | None = None
        if conn.dialect.name == "postgresql":
            self.backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        self.marks: list[tuple[float, float, float | None]] = []

    def mark(self) -> None:
        self.marks.append((time.perf_counter(), time.process_time(), self._backend_cpu()))

    def _backend_cpu(self) -> float | None:
        if self.backend is None:
            return None
        try:
            return _process_cpu(Path(f"/proc/{self.backend}/stat").read_text())[1]
        except OSError:
            return None

    def span(self, start: int, end: int) -> dict[str, float | None]:
        (w0, c0, s0), (w1, c1, s1) = self.marks[start], self.marks[end]
        server = s1 - s0 if s0 is not None and s1 is not None else None
        return {"wall": w1 - w0, "cpu": c1 - c0, "server_cpu": server}


def floor(url: str, apps: int) -> dict[str, Any]:
    """Both bare queries, twice each (the second time on a warm cache, as the analysis runs find
    it); the faster run of each."""
    store = Store(url)
    shape = Shape(apps)
    base_rss = _rss_mib()
    result: dict[str, Any] = {}
    with store.engine.connect() as conn:
        meter = Meter(conn)
        for over in ("activity", "summary"):
            sql, params = floor_sql(shape, store.engine.dialect.name, over)
            runs = []
            for _ in range(2):
                meter.mark()
                rows = conn.execute(text(sql), params).all()
                meter.mark()
                runs.append(meter.span(len(meter.marks) - 2, len(meter.marks) - 1))
            best = min(runs, key=lambda r: float(r["wall"] or 0))
            result[over] = {**best, "rows": len(rows)}
    store.dispose()
    return {**result, "rss_mib": _rss_mib(), "base_rss_mib": base_rss}


def analyze(url: str, apps: int, profile: str | None, clock_hours: int = 0) -> dict[str, Any]:
    # What run_analyzers does for one analyzer, with the persistence step timed on its own.
    from collector.analysis import gc_paused, prepare, stored_findings, write

    store = Store(url)
    shape = Shape(apps)
    analyzer = UnusedSeats(shape.settings())
    view = shape.view()
    base_rss = _rss_mib()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with store.transaction() as session, gc_paused():
        meter = Meter(session.connection())
        meter.mark()
        # As the runner: what is stored comes back as stand-ins, worded only if their inputs changed.
        existing = stored_findings(session, TENANT, analyzer.id)
        drafts = analyzer.run_since(session, view, existing)
        meter.mark()
        now = NOW + timedelta(hours=clock_hours)
        prepared = prepare(session, view, analyzer.id, drafts, now, MUTES, existing)
        # Recorded as the runner records it (run and preparation), for the full step's order: a
        # zero would make unused_seats look the shortest analyzer and start it last.
        prepared.result.seconds = time.perf_counter() - meter.marks[0][0]
        result = write(session, TENANT, prepared, now)
        meter.mark()
    meter.mark()  # committed
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    rules: dict[str, int] = {}
    for draft in drafts:
        rules[f"{draft.rule}/{draft.verdict.value}"] = rules.get(f"{draft.rule}/{draft.verdict.value}", 0) + 1
    store.dispose()
    return {
        **meter.span(0, 3),
        "judge": meter.span(0, 1),
        "persist": meter.span(1, 3),
        "findings": len(drafts),
        "rules": rules,
        "open": result.open,
        "opened": result.opened,
        "resolved": result.resolved,
        "monthly_waste": str(result.monthly_waste),
        "rss_mib": _rss_mib(),
        "base_rss_mib": base_rss,
    }


def full(url: str, apps: int, profile: str | None, clock_hours: int = 0, workers: int = 0) -> dict[str, Any]:
    """The full analysis as ``run_analyzers`` does it, through ``collector.analysis.analyse``'s two
    halves, timed apart: every registered analyzer run and its findings prepared (on ``workers``
    threads), then every change written in one transaction. (The view is the benchmark's own:
    ``run_analyzers`` would build it from the sync history, which a generated tenant does not have.)"""
    from collector.analysis import default_workers, produce_all, write_all

    store = Store(url)
    shape = Shape(apps)
    view = shape.view(shape.catalog())
    analyzers = shape.analyzers()
    workers = workers or default_workers()
    base_rss = _rss_mib()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    now = NOW + timedelta(hours=clock_hours)
    postgres = store.engine.dialect.name == "postgresql"
    # As ``tenant_view`` does: the effective pools read once for the whole run, by the first analyzer
    # that needs them.
    view = replace(view, pools=SharedPools())
    marks = [(time.perf_counter(), time.process_time(), _postgres_cpu() if postgres else None)]
    prepared = produce_all(store, view, analyzers, now, MUTES, workers)
    marks.append((time.perf_counter(), time.process_time(), _postgres_cpu() if postgres else None))
    results = write_all(store, view, prepared, now)
    marks.append((time.perf_counter(), time.process_time(), _postgres_cpu() if postgres else None))
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    store.dispose()

    def span(start: int, end: int) -> dict[str, float | None]:
        (w0, c0, s0), (w1, c1, s1) = marks[start], marks[end]
        return {
            "wall": w1 - w0,
            "cpu": c1 - c0,
            "server_cpu": s1 - s0 if s0 is not None and s1 is not None else None,
        }

    return {
        **span(0, 2),
        "workers": workers,
        "produce": span(0, 1),
        "write": span(1, 2),
        "analyzers": [
            {
                "analyzer": r.analyzer,
                "seconds": r.seconds,
                "findings": r.findings,
                "open": r.open,
                "opened": r.opened,
                "resolved": r.resolved,
                "monthly_waste": str(r.monthly_waste),
            }
            for r in results
        ],
        "findings": sum(r.findings for r in results),
        "rss_mib": _rss_mib(),
        "base_rss_mib": base_rss,
    }


def _postgres_cpu() -> float | None:
    """CPU time of every PostgreSQL process on this machine (the benchmark's backends among them),
    in seconds: analyzers on several threads use several backends at once."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, seconds = _process_cpu(stat.read_text())
        except OSError:
            continue
        if name.startswith("postgres"):
            total += seconds
    return total


def _process_cpu(stat: str) -> tuple[str, float]:
    """A process's name and CPU time (user + system, seconds) from its ``/proc/<pid>/stat``."""
    name, rest = stat.split(" (", 1)[1].rsplit(")", 1)
    fields = rest.split()
    return name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the driver ----------------------------------------------------------------------------------

STEPS = ("generate", "floor", "unused", "full")


def _step(args: argparse.Namespace, phase: str, url: str, *extra: str) -> dict[str, Any]:
    """Run one step in a fresh interpreter so its peak RSS is its own."""
    command = [
        sys.executable, __file__, "--phase", phase, "--database-url", url, "--people", str(args.people),
        "--apps", str(args.apps), "--seats", str(args.seats), *extra,
    ]  # fmt: skip
    load = os.getloadavg()[0]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load"] = (load, os.getloadavg()[0])
    return result


def _cpu(span: dict[str, Any]) -> str:
    server = span.get("server_cpu")
    return f"{span['cpu']:>7.2f}s" + (f"{server:>9.2f}s" if server is not None else f"{'-':>10}")


def _profile(args: argparse.Namespace, label: str, name: str) -> tuple[str, ...]:
    return ("--profile", f"{args.profile}.{label}.{name}") if args.profile else ()


def run_all(args: argparse.Namespace, url: str, label: str) -> None:
    steps = set(args.steps.split(","))
    if "generate" in steps:
        print(
            f"{label}: generating {args.people:,} people, {args.apps} apps, ~{args.seats:,} seats ...",
            flush=True,
        )
        gen = _step(args, "generate", url)
        counts = gen["counts"]
        print(
            f"{label}: generated in {gen['seconds']:.0f}s: "
            + ", ".join(f"{n:,} {t}" for t, n in counts.items() if t not in ("tenant",)),
            flush=True,
        )
    print(f"\n{label}: {_machine()}; load average before the steps {os.getloadavg()[0]:.1f}", flush=True)
    floor_result = _step(args, "floor", url) if "floor" in steps else None
    # The reference is the strict floor: the bare query over the store as it is (with the summary).
    base = floor_result["summary"]["wall"] if floor_result else None
    if floor_result is not None and "unused" not in steps:
        for over in ("summary", "activity"):
            found = floor_result[over]
            print(f"floor over {over} (bare SQL): {found['wall']:.2f}s, {found['rows']:,} rows")
    if "unused" in steps:
        # Each run at a later wall clock (an hour apart, the same day): what the daemon does when it
        # analyses after every sync. The evaluation time stays the same, so the findings do too.
        runs = [
            _step(args, "analyze", url, "--clock-hours", str(n - 1), *_profile(args, label, f"unused{n}"))
            for n in (1, 2)
        ]
        _unused_table(label, floor_result, runs, base)
    if "full" in steps:
        fulls = [
            _step(
                args,
                "full",
                url,
                "--clock-hours",
                str(n + 1),
                "--workers",
                str(args.workers),
                *_profile(args, label, f"full{n}"),
            )
            for n in (1, 2)
        ]
        _full_table(label, fulls, base)


def _unused_table(
    label: str, floor_result: dict[str, Any] | None, runs: list[dict[str, Any]], base: float | None
) -> None:
    if not runs:
        return
    print(
        f"\n{label}, unused_seats alone\n{'step':<24}{'wall':>9}{'x floor':>9}{'CPU':>9}{'DB CPU':>10}"
        f"{'peak RSS':>11}{'rows/findings':>15}{'load':>12}"
    )
    rows: list[tuple[str, dict[str, Any], int | None, Any, float | None]] = []
    if floor_result is not None:
        for over in ("summary", "activity"):
            floor_run = floor_result[over]
            rows.append(
                (
                    f"floor over {over}",
                    floor_run,
                    floor_run["rows"],
                    floor_result["load"],
                    floor_result["rss_mib"],
                )
            )
    for n, run in enumerate(runs, start=1):
        rows += [
            (f"unused_seats run {n}", run, run["findings"], run["load"], run["rss_mib"]),
            ("  judge (run)", run["judge"], None, None, None),
            ("  persist + commit", run["persist"], None, None, None),
        ]
    for name, span, count, load, rss in rows:
        ratio = f"{span['wall'] / base:>9.2f}" if base else f"{'-':>9}"
        print(
            f"{name:<24}{span['wall']:>8.2f}s{ratio}{_cpu(span)}"
            + (f"{rss:>7.0f} MiB" if rss is not None else f"{'':>11}")
            + (f"{count:>15,}" if count is not None else f"{'':>15}")
            + (f"{load[0]:>6.1f}-{load[1]:<4.1f}" if load is not None else "")
        )
    first = runs[0]
    print(
        f"findings: {json.dumps(first['rules'], sort_keys=True)}; open {first['open']:,}, "
        f"{first['monthly_waste']} USD/month; "
        f"run 2 opened {runs[-1]['opened']}, resolved {runs[-1]['resolved']}"
    )
    if base and floor_result is not None:
        worst = max(run["wall"] for run in runs)
        loose = floor_result["activity"]["wall"]
        print(
            f"target <= 2x floor: {'met' if worst <= 2 * base else 'missed'} ({worst / base:.2f}x the floor "
            f"over the summary; {worst / loose:.2f}x the floor over activity)"
        )
    print(
        f"(CPU: this process; DB CPU: the PostgreSQL backend, without parallel workers; load: 1-min load "
        f"average before-after; interpreter + engine before a step: {first['base_rss_mib']:.0f} MiB)"
    )


def _full_table(label: str, fulls: list[dict[str, Any]], base: float | None) -> None:
    print(f"\n{label}, full analysis (every analyzer, {fulls[0]['workers']} threads)")
    for n, run in enumerate(fulls, start=1):
        ratio = f", {run['wall'] / base:.2f}x the floor" if base else ""
        server = f", DB CPU {run['server_cpu']:.2f}s" if run["server_cpu"] is not None else ""
        print(
            f"run {n}: {run['wall']:.2f}s{ratio} (CPU {run['cpu']:.2f}s{server}), {run['findings']:,} "
            f"findings, peak RSS {run['rss_mib']:.0f} MiB (interpreter + engine {run['base_rss_mib']:.0f}), "
            f"load {run['load'][0]:.1f}-{run['load'][1]:.1f}"
        )
    header = "".join(f"{'run ' + str(n):>9}{'CPU':>9}{'DB CPU':>9}" for n in range(1, len(fulls) + 1))
    print(f"{'step':<34}{header}")
    for name, key in (
        ("analyzers, on their threads", "produce"),
        ("write + commit (one transaction)", "write"),
    ):
        cells = "".join(
            f"{run[key]['wall']:>8.2f}s{run[key]['cpu']:>8.2f}s"
            + (f"{run[key]['server_cpu']:>8.2f}s" if run[key]["server_cpu"] is not None else f"{'-':>9}")
            for run in fulls
        )
        print(f"{name:<34}{cells}")
    print(
        f"{'analyzer (run + prepare)':<34}"
        + "".join(f"{'run ' + str(n):>9}" for n in range(1, len(fulls) + 1))
        + f"{'findings':>10}{'open':>9}{'written':>9}{'USD/month':>13}"
    )
    for k, step in enumerate(fulls[0]["analyzers"]):
        cells = "".join(f"{run['analyzers'][k]['seconds']:>8.2f}s" for run in fulls)
        first, last = fulls[0]["analyzers"][k], fulls[-1]["analyzers"][k]
        print(
            f"{step['analyzer']:<34}{cells}{last['findings']:>10,}{last['open']:>9,}"
            f"{last['opened'] + last['resolved']:>9,}{last['monthly_waste']:>13}"
        )
        assert first["findings"] == last["findings"], "the runs disagree"
    if label == "sqlite":
        worst = max(run["wall"] for run in fulls)
        print(f"target <= 15 s: {'met' if worst <= 15 else 'missed'} ({worst:.1f} s)")
    if base:
        worst = max(run["wall"] for run in fulls)
        print(f"target <= 2x floor: {'met' if worst <= 2 * base else 'missed'} ({worst / base:.2f}x)")
    print(
        "(analyzers overlap on their threads: their times add up to more than the step's wall; "
        "CPU: this process, all threads; DB CPU: every PostgreSQL process; written: opened + resolved)\n"
    )


def _machine() -> str:
    """Cores, CPU model and a Python speed figure: the figures above only compare on one machine."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    started = time.process_time()
    total = 0
    for i in range(2_000_000):
        total += i
    loop_ns = (time.process_time() - started) / 2_000_000 * 1e9
    return f"{os.cpu_count()} cores {model}, Python loop {loop_ns:.0f} ns/iteration".replace("  ", " ")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--apps", type=int, default=400)
    parser.add_argument("--seats", type=int, default=2_000_000)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    parser.add_argument("--schema", default=None, help="PostgreSQL: use and keep this schema")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated, of {', '.join(STEPS)}")
    parser.add_argument("--workers", type=int, default=0, help="analysis threads (default: as the daemon)")
    parser.add_argument("--profile", default=None, help="write cProfile stats of each analysis run here")
    parser.add_argument("--phase", choices=("generate", "floor", "analyze", "full"), help=argparse.SUPPRESS)
    parser.add_argument("--clock-hours", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if unknown := set(args.steps.split(",")) - set(STEPS):
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    if args.phase:
        if args.phase == "generate":
            out = generate(args.database_url, args.people, args.apps, args.seats)
        elif args.phase == "floor":
            out = floor(args.database_url, args.apps)
        elif args.phase == "analyze":
            out = analyze(args.database_url, args.apps, args.profile, args.clock_hours)
        else:
            out = full(args.database_url, args.apps, args.profile, args.clock_hours, args.workers)
        print(json.dumps(out, default=str))
        return 0
    if args.database_url is None:
        with tempfile.TemporaryDirectory() as tmp:
            run_all(args, f"sqlite:///{tmp}/bench.sqlite3", "sqlite")
        return 0
    url = make_url(args.database_url)
    if url.get_backend_name() != "postgresql":
        run_all(args, args.database_url, url.get_backend_name())
        return 0
    schema = args.schema or f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    try:
        sep = "&" if "?" in args.database_url else "?"
        run_all(args, f"{args.database_url}{sep}options={quote(f'-csearch_path={schema}')}", "postgresql")
    finally:
        if args.schema is None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
