#!/usr/bin/env python3
"""Generate the Northwind Robotics sample tenant: the exports csv_import reads, and the findings
the analyzers must make from them.

Northwind Robotics (tenant ``northwind``, USD) has 150 people and 16 apps, exported on 2026-11-20.
Most people use what they hold; some seats are wasted on purpose (the ``PLANTED``, ``IDLE_M365``,
``LEAVERS`` and ``DELETED`` tables, explained in README.md), and one vendor is at risk (``ON_CALL_*``). ``expected_findings.json`` is computed here from
those planted facts and the pool prices, not by running an analyzer, so that it can check one.

Standard library only and seeded: every run writes the same bytes. ::

    python3 config/samples/generate.py            # rewrites config/samples/northwind/
    python3 config/samples/generate.py --out DIR  # writes DIR/ instead
"""

# The plan tables below are wide on purpose: one line per fact, easy to read and diff.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

SEED = 20261120
DOMAIN = "northwind.example"
EXPORTED_AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
EVALUATED_ON = EXPORTED_AT.date()
M365_REFRESHED_ON = date(2026, 11, 18)  # Microsoft's usage reports lag about two days
SPEND_FROM = date(2025, 12, 1)

# The unused_seats rules, with the 30-day Zoom override of the sample config.
INACTIVE_DAYS = 60
INACTIVE_DAYS_BY_APP = {"zoom": 30}
GRACE_DAYS = 14

CENT = Decimal("0.01")


def rows_of(table: str) -> list[list[str]]:
    """The cells of a ``|``-separated table written in this file, one list per non-empty line."""
    return [[cell.strip() for cell in line.split("|")] for line in table.strip().splitlines()]


def words(text: str) -> list[str]:
    return text.split()


def _d(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _at(text: str) -> datetime:
    """``2026-09-20`` (noon UTC: boundary cases hold whatever time of day the analyzer runs) or
    ``2026-09-20 15:30``."""
    day, _, clock = text.partition(" ")
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock or "12:00"), tzinfo=UTC)


def money(amount: Decimal) -> str:
    return str(amount.quantize(CENT, ROUND_HALF_UP))


@dataclass(frozen=True)
class Pool:
    app: str
    sku: str
    unit_price: Decimal
    billing_period: str  # the period unit_price pays for
    commitment: str
    term_start: date | None
    term_end: date | None
    auto_renew: bool
    notice_days: int | None
    invoiced: str  # monthly invoices, or one annual invoice at term_start
    unassigned: int  # seats bought beyond those assigned: planted waste

    @property
    def monthly_price(self) -> Decimal:
        return self.unit_price / (12 if self.billing_period == "annual" else 1)


# List prices in USD per seat as published in 2025-2026. Renewals cluster in Dec 2026 - Jan 2027.
# app | sku | unit price | billing period | commitment | term start | term end | auto-renew | notice days
#   | invoiced | unassigned seats
def _pool(app: str, sku: str, price: str, period: str, commitment: str, start: str, end: str, renews: str,
          notice: str, invoiced: str, unassigned: str) -> Pool:  # fmt: skip
    return Pool(app, sku, Decimal(price), period, commitment, _d(start), _d(end), renews == "yes",
                int(notice) if notice else None, invoiced, int(unassigned))  # fmt: skip


POOLS = [
    _pool(*row)
    for row in rows_of("""
google_workspace | Google Workspace Business Standard | 14.00 | monthly | annual | 2026-02-01 | 2027-01-31 | yes | 30 | monthly | 0
m365 | Microsoft 365 Apps for business | 8.25 | monthly | annual | 2026-03-01 | 2027-02-28 | yes | 30 | monthly | 5
m365 | Power BI Pro | 14.00 | monthly | monthly | | | yes | | monthly | 0
slack | Slack Business+ | 180.00 | annual | annual | 2026-01-01 | 2026-12-31 | yes | 30 | annual | 0
zoom | Zoom Workplace Business | 18.33 | monthly | annual | 2026-01-10 | 2027-01-09 | yes | 30 | annual | 4
atlassian | Jira Software Standard | 7.53 | monthly | monthly | | | yes | | monthly | 0
github | GitHub Enterprise | 21.00 | monthly | monthly | | | yes | | monthly | 0
figma | Professional Full seat | 192.00 | annual | annual | 2026-04-01 | 2027-03-31 | yes | 30 | annual | 0
salesforce | Sales Cloud Enterprise | 165.00 | monthly | annual | 2026-01-15 | 2027-01-14 | yes | 45 | annual | 3
hubspot | Marketing Hub Professional Core Seat | 50.00 | monthly | annual | 2026-06-01 | 2027-05-31 | yes | 30 | monthly | 0
notion | Notion Business | 240.00 | annual | annual | 2026-09-01 | 2027-08-31 | yes | 30 | annual | 0
miro | Miro Business | 192.00 | annual | annual | 2025-12-15 | 2026-12-14 | yes | 14 | annual | 0
docusign | Docusign Business Pro | 480.00 | annual | annual | 2026-02-20 | 2027-02-19 | yes | 30 | annual | 0
adobe_cc | Creative Cloud All Apps | 89.99 | monthly | annual | 2025-12-18 | 2026-12-17 | yes | 14 | monthly | 2
1password | 1Password Business | 95.88 | annual | annual | 2026-05-01 | 2027-04-30 | yes | 30 | annual | 0
loom | Loom Business | 180.00 | annual | annual | 2026-03-10 | 2027-03-09 | no | | annual | 0
opsgenie | Opsgenie Standard | 19.95 | monthly | monthly | | | yes | | monthly | 0
""")
]
GOOGLE_SKU, M365_APPS, POWER_BI = POOLS[0].sku, POOLS[1].sku, POOLS[2].sku
TEAMS_EXPLORATORY = "Microsoft Teams Exploratory"  # free: in license_pools.csv by name only
POOL = {p.app: p for p in POOLS if p.sku != POWER_BI}  # the pool of each app but m365's second
# These pools are entered by hand as `contracts:` in ../northwind.yaml, so they are left out of
# license_pools.csv; the config must carry the same figures as POOLS.
CONTRACT_APPS = ("slack", "salesforce")
SEAT_APPS = [app for app in POOL if app not in ("google_workspace", "m365")]  # the apps of seats.csv

ADOPTED = {
    app: date.fromisoformat(day)
    for app, day in rows_of("""
slack | 2019-03-01
zoom | 2020-03-16
atlassian | 2019-05-01
github | 2019-01-15
figma | 2021-02-01
salesforce | 2020-07-01
hubspot | 2022-04-01
notion | 2023-01-09
miro | 2024-06-03
docusign | 2021-09-01
adobe_cc | 2019-06-01
1password | 2022-10-03
loom | 2025-02-03
opsgenie | 2021-05-03
""")
}


@dataclass(frozen=True)
class Department:
    name: str
    size: int
    cost_center: str
    apps: tuple[str, ...]  # the seats.csv apps everyone in it holds
    some: dict[str, int]  # the apps only some hold: app -> how many
    titles: tuple[str, ...]


# name | size | cost center | apps everyone holds | apps some hold | job titles
def _department(name: str, size: str, cost_center: str, apps: str, some: str, titles: str) -> Department:
    counts = {app: int(n) for app, n in (part.split(":") for part in some.split())}
    return Department(name, int(size), cost_center, tuple(apps.split()), counts, tuple(titles.split(", ")))


DEPARTMENTS = [
    _department(*row)
    for row in rows_of("""
Executive | 5 | CC-100 | slack zoom notion 1password | | Chief
Engineering | 50 | CC-200 | slack github atlassian notion 1password | zoom:5 miro:6 | Software Engineer, Senior Software Engineer, Robotics Engineer, Firmware Engineer, QA Engineer
Product | 8 | CC-210 | slack zoom atlassian figma notion miro loom 1password | | Product Manager, Senior Product Manager
Design | 6 | CC-220 | slack atlassian figma adobe_cc notion miro 1password | | Product Designer, Industrial Designer
Sales | 20 | CC-300 | slack zoom salesforce 1password | docusign:2 | Account Executive, Sales Development Rep, Solutions Engineer
Marketing | 12 | CC-310 | slack zoom hubspot notion 1password | figma:2 adobe_cc:2 | Marketing Manager, Content Lead, Demand Generation Manager
Customer Success | 12 | CC-320 | slack zoom loom notion 1password | salesforce:2 | Customer Success Manager, Support Engineer
Finance | 8 | CC-400 | slack 1password | docusign:2 | Accountant, Financial Analyst, Controller
Operations | 18 | CC-500 | slack 1password | atlassian:6 | Operations Specialist, Supply Chain Planner, Manufacturing Technician
People | 5 | CC-600 | slack zoom notion 1password | docusign:1 | People Partner, Recruiter
IT | 4 | CC-700 | slack zoom atlassian notion 1password | github:2 | IT Administrator, Systems Engineer
Legal | 2 | CC-800 | slack zoom docusign 1password | | Counsel
""")
]
EXECUTIVES = (
    "Chief Executive Officer",
    "Chief Technology Officer",
    "Chief Financial Officer",
    "Chief Operating Officer",
    "VP Sales",
)
M365_DEPARTMENTS = ("Finance", "Operations", "People", "Legal")  # plus the CFO and the COO

FIRST_NAMES = words("""Ada Alma Amos Anika Arlo Astrid Beatrix Bodhi Calla Cassius Cleo Cosmo Dahlia Dante Edie Elio
Elsa Emil Esme Ezra Fern Flora Gideon Gwen Hazel Ines Iris Jasper Juno Kai Kira Lars Linus Lola Luca Mabel Milo
Mina Nell Niko Nora Odin Opal Orla Pia Quinn Remy Rhea Rosa Rufus Sage Suki Theo Tilda Uma Vera Viggo Wren Xavi
Yuki Zara Zeno""")
SURNAMES = words("""Ampwell Axleby Bearingford Bracketson Camshaftly Capacitorini Circuitt Clampwell Cogburn Crankshaw
Diodeson Encoderi Flywheeler Gasketti Gearhart Gizmondo Hingely Hydraulo Inductorov Jouleson Lidarsen Magnetta
Nutsworth Pneumatic Relayne Resistorr Rotorson Sensorio Solderberg Sprockett Stepperton Switchwood Tensorly
Transistoria Voltmeyer Washerby Widgetson Wireford""")


@dataclass(frozen=True)
class Plant:
    """A planted fact about one seat: when it was assigned and last used (``None``: never)."""

    name: str
    department: str
    app: str
    rule: str  # the unused_seats rule it must trigger, or "none" for a near miss that must not
    assigned: date
    last_seen: datetime | None
    note: str


# name | department | app | rule | seat assigned | last active (empty: never) | why
PLANTED = [
    Plant(r[0], r[1], r[2], r[3], date.fromisoformat(r[4]), _at(r[5]) if r[5] else None, r[6])
    for r in rows_of("""
Hugo Boltsby | Marketing | slack | inactive | 2023-05-02 | 2026-09-20 | 61 days without Slack: just past the 60-day line
Greta Flanges | Customer Success | slack | none | 2022-08-15 | 2026-09-22 | 59 days without Slack: just inside the 60-day line
Nadia Servantes | Sales | zoom | inactive | 2024-01-08 | 2026-10-06 15:30 | 45 days without Zoom: flagged only with the 30-day Zoom override
Oscar Pistone | Customer Success | zoom | inactive | 2023-03-13 | 2026-10-13 10:05 | 38 days without Zoom: flagged only with the 30-day Zoom override
Wendy Gimbal | Marketing | zoom | inactive | 2022-11-07 | 2026-09-29 16:45 | 52 days without Zoom: flagged only with the 30-day Zoom override
Felix Ratchet | People | zoom | inactive | 2021-06-01 | 2026-07-23 09:10 | 120 days without Zoom: flagged with or without the override
Lena Axelrod | Sales | zoom | none | 2024-09-16 | 2026-10-22 | 29 days without Zoom: inside even the 30-day override
Ivo Spindler | Product | figma | inactive | 2023-02-06 | 2026-08-22 11:20 | 90 days without Figma
Carla Dynamo | Sales | salesforce | inactive | 2022-03-14 | 2026-09-06 14:00 | 75 days without Salesforce
Ben Actuator | Customer Success | loom | inactive | 2025-02-10 | 2026-05-04 13:37 | 200 days without Loom
Rupert Sealworth | Legal | docusign | never_active | 2026-07-06 | | Docusign seat since 2026-07-06, never used
Yara Kernel | Engineering | github | never_active | 2026-09-01 | | GitHub seat since 2026-09-01, never used
Tessa Pixelle | Marketing | adobe_cc | never_active | 2026-05-12 | | Creative Cloud seat since 2026-05-12, never used
Dmitri Vaultman | Operations | 1password | never_active | 2026-10-01 | | 1Password seat since 2026-10-01, never used
Maya Framer | Product | loom | never_active | 2026-08-10 | | Loom seat since 2026-08-10, never used
Noah Newell | Engineering | notion | none | 2026-11-15 | | joined 2026-11-16; Notion seat 5 days old and unused: inside the 14-day grace
""")
]
NEWCOMER = "Noah Newell"
# Olive has opened nothing in Microsoft 365 since August: both her licenses are idle.
IDLE_M365 = ("Olive Ledgerby", "Finance", date(2026, 8, 31))
POWER_BI_USERS = ("Olive Ledgerby", "Leona Ohmsford", "Otto Ferriday")  # and the COO
TEAMS_EXPLORATORY_USER = ("Silas Pulleyman", "Operations")


@dataclass(frozen=True)
class Leaver:
    name: str
    department: str
    title: str
    status: str  # in Google
    left: date
    last_seen: datetime  # the last working day, in every app
    apps: tuple[str, ...]


# name | department | title | Google status | left | last seen everywhere | seats still held
LEAVERS = [
    Leaver(r[0], r[1], r[2], r[3], date.fromisoformat(r[4]), _at(r[5]), tuple(r[6].split()))
    for r in rows_of("""
Tobias Cogsworth | Engineering | Engineering Manager | Suspended | 2026-11-02 | 2026-10-30 17:41 | slack zoom github atlassian notion 1password
Priya Torqueman | Sales | Account Executive | Suspended | 2026-08-17 | 2026-08-14 16:02 | slack zoom salesforce 1password
Marcel Rivetti | Design | Senior Product Designer | Archived | 2026-06-30 | 2026-06-30 15:20 | slack figma adobe_cc miro 1password
""")
]

# A freelance brand designer who worked in Figma on a northwind.example address. Her Google account was
# deleted when she left (to free its license), but nobody removed her Figma seat: she is in no export
# of the identity provider any more, only in seats.csv. Her Figma seat is the one of the two Marketing
# Figma seats she took over in 2025; she last used it the day before she left, so only the offboarding
# analyzer can tell it is waste.
DELETED = Leaver(
    "Ingrid Kerfwell", "Marketing", "Freelance Brand Designer", "Deleted", date(2026, 11, 6),
    _at("2026-11-05 15:10"), ("figma",),
)  # fmt: skip
DELETED_SEAT_SINCE = date(2025, 3, 3)

# An at-risk vendor. Engineering's on-call rota has paged through Opsgenie since 2021: eight
# engineers hold a seat and acknowledge alerts every week. Atlassian stopped selling Opsgenie in 2025
# and ends it on 2027-04-05 (the built-in catalog's entry says so, and that Atlassian acquired it),
# so the vendor_risk analyzer scores it 60 (end of life) + 15 (acquired) = 75: HIGH. Its seats are
# all used, so no other analyzer has anything to say about it. Drawn from a generator of its own,
# so that the rest of the sample stays as it was.
ON_CALL_APP, ON_CALL_PEOPLE = "opsgenie", 8
ON_CALL_RISK = {
    "score": 75,
    "reasons": [
        {"points": 60, "reason": "end of life announced for 2027-04-05"},
        {"points": 15, "reason": "acquired by Atlassian: roadmap and pricing may change"},
    ],
}

# Tools nobody approved, paid on company cards (shadow IT):
# merchant | description | monthly amount | first charge | cards paying it
CARD_SUBSCRIPTIONS = [
    (r[0], r[1], Decimal(r[2]), date.fromisoformat(r[3]), int(r[4]))
    for r in rows_of("""
CALENDLY | Calendly Standard, corporate card 4417 (Sales) | 16.00 | 2026-02-01 | 2
GRAMMARLY CO INC | Grammarly Premium, corporate card 2290 (Marketing) | 30.00 | 2026-03-01 | 1
OPENAI *CHATGPT SUBSCR | ChatGPT Plus, corporate card 4417 (Sales) | 20.00 | 2026-01-01 | 1
OPENAI *CHATGPT SUBSCR | ChatGPT Plus, corporate card 8803 (Engineering) | 20.00 | 2026-04-01 | 2
""")
]


# The apps northwind.yaml declares for those card merchants (with the descriptor as an alias),
# sanctioned: false. The shadow_it analyzer reports each with its average monthly spend.
SHADOW_APPS = {
    "CALENDLY": ("calendly", "Calendly"),
    "GRAMMARLY CO INC": ("grammarly", "Grammarly"),
    "OPENAI *CHATGPT SUBSCR": ("chatgpt", "ChatGPT"),
}
SHADOW_WINDOW_DAYS = 90  # the shadow_it default: spend over the last 90 days, divided by 3 months

# The renewals policy of northwind.yaml: the deadline windows (the default), the unused-seats line
# for "needed" (with the same 30-day Zoom override) and the default 10 % buffer, at least one seat.
RENEWAL_WINDOWS = (120, 90, 60, 30)
RENEWAL_BUFFER_PERCENT = 10

# The app categories of northwind.yaml that hold more than one app, and the overlap policy:
# people active in the last 30 days; two pairs are allowed on purpose.
CATEGORIES = {
    "productivity": ("google_workspace", "m365"),
    "video": ("loom", "zoom"),
    "design": ("adobe_cc", "figma"),
    "crm": ("hubspot", "salesforce"),
}
OVERLAP_ACTIVE_DAYS = 30
ALLOWED_PAIRS = {
    ("google_workspace", "m365"): "Finance and Operations need desktop Excel; everyone else is on Google",
    ("adobe_cc", "figma"): "Figma for product design, Creative Cloud for images and print",
}


@dataclass
class Person:
    name: str
    department: str
    title: str
    started: date
    status: str = "Active"  # in Google: Active, Suspended or Archived
    left: date | None = None
    google_last_sign_in: datetime | None = None
    two_sv: bool = True
    manager: str = ""
    employee_id: str = ""
    m365: tuple[str, ...] = ()  # Microsoft license display names
    apps: list[str] = field(default_factory=list)  # seats.csv apps
    in_google: bool = True  # False: deleted from Google, in no directory export

    @property
    def offboarded(self) -> bool:
        """The identity provider (the Google export) says the person is gone."""
        return self.status in ("Suspended", "Archived")

    @property
    def first(self) -> str:
        return self.name.split(" ", 1)[0]

    @property
    def last(self) -> str:
        return self.name.split(" ", 1)[1]

    @property
    def email(self) -> str:
        return f"{_slug(self.first)}.{_slug(self.last)}@{DOMAIN}"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


class Tenant:
    """The company: people, their seats and when they last used each, built once from the seed."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.people: list[Person] = []
        self.assigned: dict[tuple[str, str], date] = {}  # (e-mail, app) -> seat assigned
        self.last_seen: dict[tuple[str, str], datetime | None] = {}  # (e-mail, app) -> last active
        self._hire()
        self._plant()
        self._assign_seats()

    def person(self, name: str) -> Person:
        return next(p for p in self.people if p.name == name)

    def _hire(self) -> None:
        cast = [(p.name, p.department) for p in PLANTED] + [IDLE_M365[:2], TEAMS_EXPLORATORY_USER]
        cast += [(name, "Finance") for name in POWER_BI_USERS[1:]] + [(x.name, x.department) for x in LEAVERS]
        taken = {name for name, _ in cast}
        for dept in DEPARTMENTS:
            planted = [name for name, d in cast if d == dept.name]
            names: list[str] = []
            while len(names) + len(planted) < dept.size:  # random people first: the first one leads
                name = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(SURNAMES)}"
                if name not in taken:
                    taken.add(name)
                    names.append(name)
            for index, name in enumerate(names + planted):
                title = EXECUTIVES[index] if dept.name == "Executive" else self.rng.choice(dept.titles)
                started = date(2019, 1, 7) + timedelta(days=self.rng.randrange(0, 2750))
                self.people.append(Person(name, dept.name, title, started))
        ceo = self.people[0]
        heads = {p.department: p for p in reversed(self.people)}
        for number, person in enumerate(self.people, start=1):
            head = heads[person.department]
            person.manager = "" if person is ceo else (ceo if person is head else head).email
            if person is head and person is not ceo:
                person.title = f"Head of {person.department}"
            person.employee_id = f"NW-{1000 + number}"
            person.two_sv = self.rng.random() > 0.07
            person.google_last_sign_in = EXPORTED_AT - timedelta(seconds=self.rng.randrange(2700, 5 * 86400))
            person.apps = list(next(d for d in DEPARTMENTS if d.name == person.department).apps)
            if person.department in M365_DEPARTMENTS or person.title in EXECUTIVES[2:4]:
                person.m365 = (M365_APPS,)
        self.people[1].apps += ["github", "atlassian"]  # the CTO still codes

    def _plant(self) -> None:
        for plant in PLANTED:
            person = self.person(plant.name)
            person.started = min(person.started, plant.assigned)
        newcomer = self.person(NEWCOMER)
        newcomer.started, newcomer.google_last_sign_in = date(2026, 11, 16), _at("2026-11-19 09:14")
        for leaver in LEAVERS:
            person = self.person(leaver.name)
            person.title, person.status, person.left = leaver.title, leaver.status, leaver.left
            person.google_last_sign_in, person.apps = leaver.last_seen, list(leaver.apps)
            person.started = min(person.started, date(2025, 6, 2))
        coo = next(p for p in self.people if p.title == EXECUTIVES[3])
        for person in [*map(self.person, POWER_BI_USERS), coo]:
            person.m365 += (POWER_BI,)
        self.person(TEAMS_EXPLORATORY_USER[0]).m365 += (TEAMS_EXPLORATORY,)

    def _assign_seats(self) -> None:
        wanted = {(p.name, p.app) for p in PLANTED}
        for dept in DEPARTMENTS:
            staff = [p for p in self.people if p.department == dept.name and not p.left]
            for app, count in dept.some.items():
                chosen = [p for p in staff if (p.name, app) in wanted]
                chosen += self.rng.sample([p for p in staff if p not in chosen], count - len(chosen))
                for person in chosen:
                    person.apps.append(app)
        for person in self.people:
            for app in person.apps:
                self._use(person, app)
        for plant in PLANTED:
            key = (self.person(plant.name).email, plant.app)
            self.assigned[key], self.last_seen[key] = plant.assigned, plant.last_seen
        self._deleted_from_google()
        self._on_call()

    def _deleted_from_google(self) -> None:
        """Add the deleted leaver last, with the Figma seat of the first Marketing Figma holder."""
        x = DELETED
        gone = Person(x.name, x.department, x.title, DELETED_SEAT_SINCE, x.status, x.left, in_google=False)
        donor = next(p for p in self.people if p.department == x.department and "figma" in p.apps)
        donor.apps.remove("figma")
        del self.assigned[(donor.email, "figma")], self.last_seen[(donor.email, "figma")]
        gone.apps = list(x.apps)
        for app in x.apps:
            self.assigned[(gone.email, app)], self.last_seen[(gone.email, app)] = (
                DELETED_SEAT_SINCE,
                x.last_seen,
            )
        self.people.append(gone)

    def _on_call(self) -> None:
        """Give the first engineers nothing else is planted on an Opsgenie seat, used this week."""
        rng = random.Random(f"{SEED}-{ON_CALL_APP}")
        planted = {p.name for p in PLANTED}
        engineers = [
            p for p in self.people if p.department == "Engineering" and not p.left and p.name not in planted
        ]
        for person in engineers[:ON_CALL_PEOPLE]:
            person.apps.append(ON_CALL_APP)
            key = (person.email, ON_CALL_APP)
            self.assigned[key] = max(person.started, ADOPTED[ON_CALL_APP]) + timedelta(
                days=rng.randrange(0, 4)
            )
            self.last_seen[key] = EXPORTED_AT - timedelta(seconds=rng.randrange(3600, 7 * 86400))

    def _use(self, person: Person, app: str) -> None:
        """Give ``person`` a seat of ``app`` and a last use of it that no rule flags."""
        key = (person.email, app)
        self.assigned[key] = max(person.started, ADOPTED[app]) + timedelta(days=self.rng.randrange(0, 4))
        if person.left:  # a leaver last used everything on the last working day
            self.last_seen[key] = next(x.last_seen for x in LEAVERS if x.name == person.name)
        elif person.name == NEWCOMER:  # set up the day before the first day, used since
            self.assigned[key] = person.started - timedelta(days=1)
            self.last_seen[key] = _at("2026-11-16 10:00") + timedelta(
                seconds=self.rng.randrange(0, 3 * 86400)
            )
        else:  # everybody else used it within the last three weeks
            self.last_seen[key] = EXPORTED_AT - timedelta(seconds=self.rng.randrange(3600, 20 * 86400))

    def holders(self, pool: Pool) -> list[Person]:
        if pool.app == "google_workspace":  # archived users hold Google's Archived User license instead
            return [p for p in self.people if p.in_google and p.status != "Archived"]
        if pool.app == "m365":
            return [p for p in self.people if pool.sku in p.m365]
        return [p for p in self.people if pool.app in p.apps]

    def purchased(self, pool: Pool) -> int:
        return len(self.holders(pool)) + pool.unassigned


def _csv(header: list[str], rows: list[dict[str, str]], bom: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# The columns of the Admin console's "Download users" CSV, in its order.
GOOGLE_HEADER = """First Name [Required]|Last Name [Required]|Email Address [Required]|Password [Required]|
Password Hash Function [UPLOAD ONLY]|Org Unit Path [Required]|New Primary Email [UPLOAD ONLY]|Status [READ ONLY]|
Last Sign In [READ ONLY]|Recovery Email|Home Secondary Email|Work Secondary Email|
Recovery Phone [MUST BE IN THE E.164 FORMAT]|Work Phone|Home Phone|Mobile Phone|Work Address|Home Address|
Employee ID|Employee Type|Employee Title|Manager Email|Department|Cost Center|2sv Enrolled [READ ONLY]|
2sv Enforced [READ ONLY]|Building ID|Floor Name|Floor Section|Email Usage [READ ONLY]|Drive Usage [READ ONLY]|
Total Storage [READ ONLY]|Change Password at Next Sign-In|New Status [UPLOAD ONLY]""".replace("\n", "").split(
    "|"
)


def google_users(tenant: Tenant) -> bytes:
    rows = []
    for p in tenant.people:
        if not p.in_google:
            continue
        used = tenant.rng.uniform(0.2, 9.0)
        seen = p.google_last_sign_in
        rows.append(
            {
                "First Name [Required]": p.first,
                "Last Name [Required]": p.last,
                "Email Address [Required]": p.email,
                "Password [Required]": "****",
                "Org Unit Path [Required]": "/Offboarding" if p.left else f"/{p.department}",
                "Status [READ ONLY]": p.status,
                "Last Sign In [READ ONLY]": seen.strftime("%Y/%m/%d %H:%M:%S") if seen else "Never logged in",
                "Employee ID": p.employee_id,
                "Employee Type": "Employee",
                "Employee Title": p.title,
                "Manager Email": p.manager,
                "Department": p.department,
                "Cost Center": next(d.cost_center for d in DEPARTMENTS if d.name == p.department),
                "2sv Enrolled [READ ONLY]": str(p.two_sv),
                "2sv Enforced [READ ONLY]": "False",
                "Email Usage [READ ONLY]": f"{used * 0.4:.2f}GB",
                "Drive Usage [READ ONLY]": f"{used * 0.6:.2f}GB",
                "Total Storage [READ ONLY]": "2048GB",
                "Change Password at Next Sign-In": "False",
            }
        )
    return _csv(GOOGLE_HEADER, rows)


# The columns of the Microsoft 365 admin center's "Export users" CSV, in its order.
M365_USERS_HEADER = """Display name|DirSyncEnabled|User principal name|Object Id|First name|Last name|When created|
Soft deletion time stamp|Title|Department|Preferred data location|City|CountryOrRegion|Office|StateOrProvince|
Usage location|Last dirsync time|Block credential|Licenses|Password never expires|Last password change time stamp|
Mobile Phone|Phone number|Postal code|Preferred language|Street address|Fax|Proxy addresses""".replace(
    "\n", ""
).split("|")


def m365_users(tenant: Tenant) -> bytes:
    rows = []
    for p in tenant.people:
        if not p.m365:
            continue
        created = datetime.combine(max(p.started, date(2024, 2, 26)), time(9, 30), tzinfo=UTC)
        created += timedelta(minutes=tenant.rng.randrange(0, 480))
        rows.append(
            {
                "Display name": p.name,
                "DirSyncEnabled": "False",
                "User principal name": p.email,
                "Object Id": str(uuid.UUID(int=tenant.rng.getrandbits(128), version=4)),
                "First name": p.first,
                "Last name": p.last,
                "When created": created.strftime("%Y-%m-%d %H:%M:%SZ"),
                "Title": p.title,
                "Department": p.department,
                "City": "Portland",
                "CountryOrRegion": "United States",
                "StateOrProvince": "OR",
                "Usage location": "US",
                "Block credential": "False",
                "Licenses": "+".join(p.m365),
                "Password never expires": "False",
                "Last password change time stamp": created.strftime("%Y-%m-%d %H:%M:%SZ"),
                "Preferred language": "en-US",
                "Proxy addresses": f"SMTP:{p.email}",
            }
        )
    return _csv(M365_USERS_HEADER, rows)


WORKLOADS = ("Exchange", "OneDrive", "SharePoint", "Skype For Business", "Yammer", "Teams")
# The columns of reports/getOffice365ActiveUserDetail, which the admin center's export also has.
M365_ACTIVITY_HEADER = [
    "Report Refresh Date",
    "User Principal Name",
    "Display Name",
    "Is Deleted",
    "Deleted Date",
    *(f"Has {w} License" for w in WORKLOADS),
    *(f"{w} Last Activity Date" for w in WORKLOADS),
    *(f"{w} License Assign Date" for w in WORKLOADS),
    "Assigned Products",
]


def m365_activity(tenant: Tenant) -> bytes:
    rows = []
    for p in tenant.people:
        if not p.m365:
            continue
        # Apps for business brings OneDrive but no Exchange, SharePoint or Teams; Teams Exploratory adds Teams.
        workloads = ("OneDrive", "Teams") if TEAMS_EXPLORATORY in p.m365 else ("OneDrive",)
        idle = p.name == IDLE_M365[0]
        last = IDLE_M365[2] if idle else M365_REFRESHED_ON - timedelta(days=tenant.rng.randrange(0, 12))
        row = {
            "Report Refresh Date": M365_REFRESHED_ON.isoformat(),
            "User Principal Name": p.email,
            "Display Name": p.name,
            "Is Deleted": "False",
            "Assigned Products": "+".join(map(str.upper, p.m365)),
        }
        for w in WORKLOADS:
            row[f"Has {w} License"] = str(w in workloads)
            if w in workloads:
                row[f"{w} Last Activity Date"] = last.isoformat()
                row[f"{w} License Assign Date"] = max(p.started, date(2024, 2, 26)).isoformat()
        rows.append(row)
    return _csv(M365_ACTIVITY_HEADER, rows, bom=True)  # Graph's report CSVs start with a byte-order mark


# Admin consoles write "never" as an empty cell or as a word; the sample has both.
NEVER_WRITTEN = {"github": "Never", "1password": "Never"}
ADMIN_APPS = ("slack", "github", "atlassian", "1password")


def seats(tenant: Tenant) -> bytes:
    rows = []
    for app in SEAT_APPS:
        for p in tenant.holders(POOL[app]):
            key = (p.email, app)
            seen = tenant.last_seen[key]
            account = {
                "slack": "U0" + "".join(tenant.rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=9)),
                "github": f"{_slug(p.first)}-{_slug(p.last)}-nw",
            }.get(app, "")  # other apps: the e-mail is the account id
            rows.append(
                {
                    "app": app,
                    "sku": POOL[app].sku,
                    "email": p.email,
                    "account_id": account,
                    "assigned_at": _iso(datetime.combine(tenant.assigned[key], time(9, 0), tzinfo=UTC)),
                    "last_active_at": _iso(seen) if seen else NEVER_WRITTEN.get(app, ""),
                    "status": "active",
                    "is_admin": "true" if p.department == "IT" and app in ADMIN_APPS else "",
                }
            )
    return _csv(
        ["app", "sku", "email", "account_id", "assigned_at", "last_active_at", "status", "is_admin"], rows
    )


POOLS_HEADER = [
    "app",
    "sku",
    "seats_purchased",
    "unit_price",
    "currency",
    "billing_period",
    "commitment",
    "term_start",
    "term_end",
    "auto_renew",
    "notice_days",
]


def license_pools(tenant: Tenant) -> bytes:
    rows = [
        {
            "app": pool.app,
            "sku": pool.sku,
            "seats_purchased": str(tenant.purchased(pool)),
            "unit_price": str(pool.unit_price),
            "currency": "USD",
            "billing_period": pool.billing_period,
            "commitment": pool.commitment,
            "term_start": str(pool.term_start or ""),
            "term_end": str(pool.term_end or ""),
            "auto_renew": str(pool.auto_renew).lower(),
            "notice_days": str(pool.notice_days or ""),
        }
        for pool in POOLS
        if pool.app not in CONTRACT_APPS
    ]
    rows.append({"app": "m365", "sku": TEAMS_EXPLORATORY, "unit_price": "0.00", "currency": "USD"})
    return _csv(POOLS_HEADER, rows)


MERCHANTS = dict(
    rows_of("""
google_workspace | Google Workspace
m365 | Microsoft Corporation
slack | Slack Technologies
zoom | Zoom Video Communications
atlassian | Atlassian Pty Ltd
github | GitHub, Inc.
figma | Figma, Inc.
salesforce | Salesforce, Inc.
hubspot | HubSpot, Inc.
notion | Notion Labs, Inc.
miro | RealtimeBoard, Inc. (Miro)
docusign | Docusign, Inc.
adobe_cc | Adobe Inc.
1password | AgileBits Inc. (1Password)
loom | Loom, Inc.
opsgenie | Atlassian Opsgenie
""")
)


def _months() -> list[date]:
    months = [SPEND_FROM]
    while (nxt := (months[-1] + timedelta(days=32)).replace(day=1)) <= EVALUATED_ON:
        months.append(nxt)
    return months


def spend(tenant: Tenant) -> bytes:
    rows = []
    for pool in POOLS:
        bought = tenant.purchased(pool)
        line = {"currency": "USD", "merchant": MERCHANTS[pool.app], "app": pool.app, "kind": "invoice"}
        if pool.invoiced == "monthly":
            for month in _months():
                rows.append(
                    line
                    | {
                        "id": f"INV-{pool.app.upper()}-{month:%Y%m}-{pool.sku[:3].upper()}",
                        "date": str(month),
                        "amount": money(pool.monthly_price * bought),
                        "description": f"{pool.sku}, {bought} seats, {month:%B %Y}",
                        "kind": "subscription" if pool.app == "github" else "invoice",
                    }
                )
        elif pool.term_start and SPEND_FROM <= pool.term_start <= EVALUATED_ON:
            rows.append(
                line
                | {
                    "id": f"INV-{pool.app.upper()}-{pool.term_start:%Y%m}",
                    "date": str(pool.term_start),
                    "amount": money(pool.monthly_price * 12 * bought),
                    "description": f"{pool.sku}, {bought} seats, {pool.term_start} to {pool.term_end}",
                }
            )
    for merchant, description, amount, first, cards in CARD_SUBSCRIPTIONS:
        for month in _months():
            for _ in range(cards if month >= first else 0):
                # Card lines have no id (csv_import names them by a hash) and show the "$" of the statement.
                day = month + timedelta(days=tenant.rng.randrange(0, 5))
                rows.append(
                    {
                        "date": str(day),
                        "amount": f"${amount}",
                        "currency": "USD",
                        "merchant": merchant,
                        "description": description,
                        "kind": "card",
                    }
                )
    rows.sort(key=lambda row: (row["date"], row["merchant"], row.get("id", "")))
    return _csv(["id", "date", "amount", "currency", "merchant", "app", "description", "kind"], rows)


def _finding(rule: str, pool: Pool, subject: str, amount: Decimal, **evidence: object) -> dict[str, object]:
    return {
        "rule": rule,
        "app": pool.app,
        "sku": pool.sku,
        "subject": subject,
        "monthly_waste": money(amount),
    } | {k: v for k, v in evidence.items() if v is not None}


def _inactive(
    pool: Pool, person: Person, last_seen: date, note: str, leaver: bool | None
) -> dict[str, object]:
    days = (EVALUATED_ON - last_seen).days
    override = days <= INACTIVE_DAYS  # only the 30-day Zoom rule catches it
    return _finding(
        "inactive",
        pool,
        person.email,
        pool.monthly_price,
        last_seen=str(last_seen),
        days_inactive=days,
        only_with_app_override=override,
        leaver=leaver,
        note=note,
    )


def _totals(findings: list[dict[str, object]], key: str) -> dict[str, str]:
    sums: dict[str, Decimal] = {}
    for f in findings:
        sums[str(f[key])] = sums.get(str(f[key]), Decimal(0)) + Decimal(str(f["monthly_waste"]))
    return {k: money(v) for k, v in sorted(sums.items())}


def last_used(tenant: Tenant, person: Person, app: str) -> date | None:
    """The day ``person`` last used ``app`` according to the exports (None: never)."""
    if app == "google_workspace":  # the Google export's Last Sign In
        return person.google_last_sign_in.date() if person.google_last_sign_in else None
    if app == "m365":  # the usage report: Olive in August, everybody else within 12 days of its refresh
        return IDLE_M365[2] if person.name == IDLE_M365[0] else M365_REFRESHED_ON - timedelta(days=11)
    seen = tenant.last_seen.get((person.email, app))
    return seen.date() if seen else None


def _used_within(tenant: Tenant, person: Person, app: str, days: int) -> bool:
    used = last_used(tenant, person, app)
    return used is not None and (EVALUATED_ON - used).days <= days


def renewals(tenant: Tenant) -> list[dict[str, object]]:
    """Pools whose notice deadline (or, without auto-renewal, term end) is 120 days away or closer.

    Needed seats: holders who are not leavers and used the app within the unused-seats line, or got
    the seat within it. The recommended quantity adds 10 % (rounded up, at least one seat) and never
    exceeds what was bought; the saving is the rest at the monthly price.
    """
    found = []
    for pool in POOLS:
        if pool.term_end is None:
            continue
        notice = pool.notice_days or 0
        deadline = pool.term_end - timedelta(days=notice) if pool.auto_renew else pool.term_end
        days_left = (deadline - EVALUATED_ON).days
        if not 0 <= days_left <= max(RENEWAL_WINDOWS):
            continue
        window = min(w for w in RENEWAL_WINDOWS if days_left <= w)
        active_days = INACTIVE_DAYS_BY_APP.get(pool.app, INACTIVE_DAYS)
        holders = tenant.holders(pool)
        needed = [
            p
            for p in holders
            if not p.offboarded
            and (
                _used_within(tenant, p, pool.app, active_days)
                or (
                    (p.email, pool.app) in tenant.assigned
                    and (EVALUATED_ON - tenant.assigned[(p.email, pool.app)]).days <= active_days
                )
            )
        ]
        bought = tenant.purchased(pool)
        buffer = max(1, -(-len(needed) * RENEWAL_BUFFER_PERCENT // 100))
        recommended = min(bought, len(needed) + buffer) if needed else 0
        saving = pool.monthly_price * (bought - recommended)
        rank = sorted(RENEWAL_WINDOWS).index(window)
        severity = (
            ("high", "medium")[rank] if saving and rank < 2 else "low" if saving or rank == 0 else "info"
        )
        found.append(
            _finding(
                "renewal",
                pool,
                f"{pool.app}/{pool.sku} term ending {pool.term_end}",
                Decimal(0),
                severity=severity,
                monthly_saving=money(saving),
                deadline=str(deadline),
                days_to_deadline=days_left,
                window_days=window,
                auto_renew=pool.auto_renew,
                seats_purchased=bought,
                seats_assigned=len(holders),
                seats_needed=len(needed),
                recommended_seats=recommended,
            )
        )
    return sorted(found, key=lambda f: (str(f["deadline"]), str(f["app"])))


def shadow_it(tenant: Tenant) -> list[dict[str, object]]:
    """The card subscriptions nobody approved: the spend of the last 90 days over 3 months."""
    since = EVALUATED_ON - timedelta(days=SHADOW_WINDOW_DAYS)
    spend: dict[str, Decimal] = {}
    for merchant, _, amount, first, cards in CARD_SUBSCRIPTIONS:
        for month in _months():
            # A charge lands on one of the month's first five days: the month must be wholly in or out.
            inside = since < month and month + timedelta(days=4) <= EVALUATED_ON
            assert inside or month + timedelta(days=4) <= since, f"{month} straddles the spend window"
            if inside and month >= first:
                spend[merchant] = spend.get(merchant, Decimal(0)) + amount * cards
    found = []
    for merchant, total in sorted(spend.items()):
        app, name = SHADOW_APPS[merchant]
        monthly = total / (Decimal(SHADOW_WINDOW_DAYS) / 30)
        found.append(
            {
                "rule": "unsanctioned_app",
                "app": app,
                "sku": None,
                "subject": app,
                "monthly_waste": money(monthly),
                "severity": "low",  # under 100 a month and no OAuth grants in the exports
                "name": name,
                "merchant": merchant,
                "spend_in_window": money(total),
            }
        )
    return found


def overlap(tenant: Tenant) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Pairs of apps of one category: people active in both (duplicate tools, money: their seats in
    the app to drop) or in neither (parallel tools, no money); the allowed pairs are not flagged."""
    found, allowed = [], []
    for category, (a, b) in sorted(CATEGORIES.items()):
        if (a, b) in ALLOWED_PAIRS:
            allowed.append({"category": category, "apps": [a, b], "why": ALLOWED_PAIRS[(a, b)]})
            continue
        active = {
            app: {
                p.email
                for pool in POOLS
                if pool.app == app
                for p in tenant.holders(pool)
                if not p.offboarded and _used_within(tenant, p, app, OVERLAP_ACTIVE_DAYS)
            }
            for app in (a, b)
        }
        both = active[a] & active[b]
        keep, drop = sorted((a, b), key=lambda app: -len(active[app]))
        assert len(active[keep]) != len(active[drop]), "a tie would be decided on price"
        saving = sum(
            (
                pool.monthly_price * len({p.email for p in tenant.holders(pool)} & both)
                for pool in POOLS
                if pool.app == drop
            ),
            Decimal(0),
        )
        found.append(
            {
                "rule": "duplicate_tools" if both else "parallel_tools",
                "app": drop,
                "sku": None,
                "subject": f"{category}: {a}+{b}",
                "monthly_waste": money(saving),
                "severity": ("low" if saving < 100 else "medium" if saving < 1000 else "high")
                if both
                else "info",
                "keep": keep,
                "drop": drop,
                "active_people": {app: len(active[app]) for app in (a, b)},
                "active_in_both": len(both),
            }
        )
    return found, allowed


def vendor_risk(tenant: Tenant) -> list[dict[str, object]]:
    """The at-risk vendor: Opsgenie, its score and reasons from the catalog's facts (ON_CALL_RISK),
    the money that depends on it (seats bought x price, no waste) and who uses it."""
    pool = POOL[ON_CALL_APP]
    holders = tenant.holders(pool)
    return [
        {
            "rule": "vendor_risk",
            "app": ON_CALL_APP,
            "sku": None,
            "subject": ON_CALL_APP,
            "monthly_waste": money(Decimal(0)),  # exposure, not waste
            "severity": "high",  # a score of 70 or more
            **ON_CALL_RISK,
            "monthly_spend_at_risk": money(pool.monthly_price * tenant.purchased(pool)),
            "people_depending": len(holders),
            "departments": {"Engineering": len(holders)},
        }
    ]


def expected_findings(tenant: Tenant) -> dict[str, object]:
    """The unused_seats findings the planted facts call for, the offboarding gaps and the
    findings of renewals, shadow_it, overlap and vendor_risk."""
    findings, near_misses = [], []
    for plant in PLANTED:
        pool, person = POOL[plant.app], tenant.person(plant.name)
        if plant.rule == "none":
            near_misses.append(
                {"app": plant.app, "sku": pool.sku, "subject": person.email, "why": plant.note}
            )
        elif plant.last_seen is None:
            findings.append(
                _finding(
                    plant.rule,
                    pool,
                    person.email,
                    pool.monthly_price,
                    assigned=str(plant.assigned),
                    note=plant.note,
                )
            )
        else:
            findings.append(_inactive(pool, person, plant.last_seen.date(), plant.note, None))
    idle = tenant.person(IDLE_M365[0])
    for sku in idle.m365:
        pool = next(p for p in POOLS if p.sku == sku)
        findings.append(_inactive(pool, idle, IDLE_M365[2], "no Microsoft 365 activity since August", None))

    offboarding = []
    for leaver in LEAVERS:
        person = tenant.person(leaver.name)
        for pool in [POOL[app] for app in ("google_workspace", *leaver.apps)]:
            if person not in tenant.holders(pool):  # archived: no Google Workspace seat
                continue
            days = (EVALUATED_ON - leaver.last_seen.date()).days
            inactive = days > INACTIVE_DAYS_BY_APP.get(pool.app, INACTIVE_DAYS)
            offboarding.append(
                _finding(
                    "offboarded",
                    pool,
                    person.email,
                    pool.monthly_price,
                    severity="high",
                    idp_status="suspended",  # csv_import reads Google's Archived as suspended too
                    google_status=leaver.status.lower(),
                    left=str(leaver.left),
                    days_inactive=days,
                    also_unused_seats=inactive,
                )
            )
            if inactive:
                note = f"left {leaver.left}, {leaver.status.lower()} in Google"
                findings.append(_inactive(pool, person, leaver.last_seen.date(), note, True))

    gone = tenant.person(DELETED.name)
    for pool in [POOL[app] for app in DELETED.apps]:
        offboarding.append(
            _finding(
                "not_in_idp",
                pool,
                gone.email,
                pool.monthly_price,
                severity="high",
                google_status="deleted",
                left=str(DELETED.left),
                days_inactive=(EVALUATED_ON - DELETED.last_seen.date()).days,
                also_unused_seats=False,
            )
        )

    for pool in POOLS:
        if pool.unassigned:
            findings.append(
                _finding(
                    "unassigned",
                    pool,
                    "unassigned",
                    pool.monthly_price * pool.unassigned,
                    seats_purchased=tenant.purchased(pool),
                    seats_assigned=len(tenant.holders(pool)),
                    unassigned=pool.unassigned,
                )
            )

    order = ("inactive", "never_active", "unassigned")
    findings.sort(
        key=lambda f: (order.index(str(f["rule"])), str(f["app"]), str(f["sku"]), str(f["subject"]))
    )
    unused_total = _sum(findings)
    renewal_findings = renewals(tenant)
    shadow_findings = shadow_it(tenant)
    overlap_findings, allowed = overlap(tenant)
    risk_findings = vendor_risk(tenant)
    by_analyzer = {
        "unused_seats": findings,
        "offboarding": offboarding,
        "renewals": renewal_findings,
        "shadow_it": shadow_findings,
        "overlap": overlap_findings,
        "vendor_risk": risk_findings,
    }
    counted_twice = _sum([f for f in offboarding if f["also_unused_seats"]])
    return {
        "tenant": "northwind",
        "currency": "USD",
        "evaluated_on": str(EVALUATED_ON),
        # The unused-seat waste -- seats nobody uses -- by app and in all. Every other analyzer's money
        # is in its own section, and "all_analyzers" has what the daemon's waste metrics add up to.
        "monthly_waste_by_app": _totals(findings, "app"),
        "total_monthly_waste": unused_total,
        "unused_seats_policy": {
            "inactive_days": INACTIVE_DAYS,
            "never_active_grace_days": GRACE_DAYS,
            "apps": {app: {"inactive_days": n} for app, n in INACTIVE_DAYS_BY_APP.items()},
        },
        "unused_seats": {
            "findings": findings,
            "not_flagged": near_misses,
            "monthly_waste_by_rule": _totals(findings, "rule"),
            "monthly_waste_total": unused_total,
        },
        "offboarding": {
            "findings": offboarding,
            "monthly_waste_total": _sum(offboarding),
            # Leavers' seats that are also inactive: unused_seats counts the same money.
            "also_in_unused_seats": counted_twice,
        },
        "renewals": {
            "findings": renewal_findings,
            # The saving is evidence, not waste: it is made of seats unused_seats already counts.
            "monthly_waste_total": _sum(renewal_findings),
            "monthly_saving_total": money(
                sum((Decimal(str(f["monthly_saving"])) for f in renewal_findings), Decimal(0))
            ),
        },
        "shadow_it": {"findings": shadow_findings, "monthly_waste_total": _sum(shadow_findings)},
        "overlap": {
            "findings": overlap_findings,
            "not_flagged": allowed,
            "monthly_waste_total": _sum(overlap_findings),
        },
        # Exposure, not waste: the spend at risk is in the evidence, monthly_waste is 0.
        "vendor_risk": {"findings": risk_findings, "monthly_waste_total": _sum(risk_findings)},
        # What the daemon's waste metrics, `saaswatch findings` and showback add up to: every open
        # finding of every analyzer, so a leaver's inactive seat counts twice (counted_twice).
        "all_analyzers": {
            "open_findings": sum(len(v) for v in by_analyzer.values()),
            "monthly_waste_by_analyzer": {k: _sum(v) for k, v in sorted(by_analyzer.items())},
            "monthly_waste_total": _sum([f for v in by_analyzer.values() for f in v]),
            "counted_twice": counted_twice,
        },
    }


def _sum(findings: list[dict[str, object]]) -> str:
    return money(sum((Decimal(str(f["monthly_waste"])) for f in findings), Decimal(0)))


def generate(out: Path) -> None:
    tenant = Tenant()
    exports = out / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    # Each writer draws from the tenant's seeded generator: keep this order.
    for name, write in (
        ("google_users.csv", google_users),
        ("m365_users.csv", m365_users),
        ("m365_activity.csv", m365_activity),
        ("seats.csv", seats),
        ("license_pools.csv", license_pools),
        ("spend.csv", spend),
    ):
        (exports / name).write_bytes(write(tenant))
    expected = json.dumps(expected_findings(tenant), indent=2) + "\n"
    (out / "expected_findings.json").write_text(expected, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate the Northwind Robotics sample tenant.")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "northwind")
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
