"""A fake Okta org behind ``httpx.Request -> httpx.Response``, for the okta connector's tests and benchmark.

It behaves like the Management API where the connector depends on it:

- ``GET /api/v1/users`` leaves DEPROVISIONED users out unless ``search``/``filter`` asks for a
  status; ``GET /api/v1/apps`` and ``GET /api/v1/apps/{id}/users`` page with ``Link: rel="next"``
  while more follow.
- ``GET /api/v1/logs`` filters on ``eventType eq "..."``, honours ``since``/``until`` (since
  inclusive, until exclusive), ``after`` and ``limit`` (at most 1,000), and sends a ``next`` link on
  every page, the last, empty one included (VENDOR_APIS.md 3.3). Events later than "now" do not exist.
- ``X-Rate-Limit-Limit/Remaining/Reset`` and ``Date`` on every response, from a per-minute budget per
  endpoint family (users, apps, logs, token), fixed windows like Okta's; 429 (Okta's E0000047 body)
  past the budget. Every 429 is counted in :attr:`OktaFake.throttled`.
- ``SSWS`` API tokens, or ``POST /oauth2/v1/token`` for a service app: the client assertion must be
  an RS256 JWT with ``iss`` = ``sub`` = the client id, ``aud`` = the token URL, a fresh ``jti`` and
  at most an hour of validity, signed by the registered key. Issued tokens can be expired at will
  (:meth:`OktaFake.expire_tokens`): the next request gets 401 E0000011.
- Injectable faults (:meth:`OktaFake.fail`): a status for the next N matching requests, or for
  every one after the first N (an outage in the middle of a sync); a per-request latency.

The org is either a :class:`StaticOrg` (explicit JSON objects, e.g. ``data/okta/org.json``) or a
:class:`GeneratedOrg`, which computes users, apps, assignments and events from their index on
demand, so a 50,000-user, 2,000,000-event org costs no memory.
"""

from __future__ import annotations

import base64
import bisect
import itertools
import json
import re
import threading
import time
import uuid as uuidlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

DATA = Path(__file__).with_name("data") / "okta"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_MS = 86_400_000
SSO = "user.authentication.sso"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

FAMILY_OF_PATH = (("/api/v1/users", "users"), ("/api/v1/apps", "apps"), ("/api/v1/logs", "logs"))
SCOPE_OF_FAMILY = {"users": "okta.users.read", "apps": "okta.apps.read", "logs": "okta.logs.read"}
MAX_LIMIT = {"users": 200, "apps": 200, "app_users": 500, "logs": 1000}
DEFAULT_LIMIT = {"users": 200, "apps": 20, "app_users": 50, "logs": 100}


def iso_ms(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(ms // 1000)) + f"{ms % 1000:03d}Z"


def uuid4_like(value: int) -> str:
    """A version-4-shaped UUID string from 128 bits (cheaper than uuid.UUID for millions of them)."""
    x = f"{value & ((1 << 128) - 1):032x}"
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{'89ab'[int(x[16], 16) & 3]}{x[17:20]}-{x[20:]}"


def parse_ms(text: str) -> int:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(milliseconds=1)


def okta_error(status: int, code: str, summary: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oaeFAKE0000000000000",
        "errorCauses": [],
    }
    return httpx.Response(status, json=body, headers=headers)


# ------------------------------------------------------------------------------------------------
# Orgs


class Org(Protocol):
    """The data an org serves, by position (listing order)."""

    def user_count(self) -> int: ...
    def user_status(self, i: int) -> str: ...
    def user(self, i: int, origin: str) -> dict[str, Any]: ...
    def user_position(self, user_id: str) -> int | None: ...
    def app_count(self) -> int: ...
    def app(self, j: int, origin: str) -> dict[str, Any]: ...
    def app_position(self, app_id: str) -> int | None: ...
    def app_user_count(self, j: int) -> int: ...
    def app_user(self, j: int, k: int, origin: str) -> dict[str, Any]: ...
    def app_user_position(self, j: int, user_id: str) -> int | None: ...
    def events_from(self, event_type: str, since_ms: int) -> int: ...
    def event_time(self, event_type: str, k: int) -> int | None: ...
    def event(self, event_type: str, k: int) -> dict[str, Any]: ...


@dataclass
class StaticOrg:
    """An org given as Okta JSON objects. ``app_users`` maps an app id to its AppUser objects."""

    users: list[dict[str, Any]]
    apps: list[dict[str, Any]]
    app_users: dict[str, list[dict[str, Any]]]
    events: list[dict[str, Any]] = field(default_factory=list)
    _sorted: dict[tuple[str, int], tuple[list[int], list[dict[str, Any]]]] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def load(cls, path: Path = DATA / "org.json", shift: timedelta = timedelta(0)) -> StaticOrg:
        """The org in ``path``, every timestamp moved by ``shift`` (to keep it recent on a real clock)."""
        raw = _shifted(json.loads(path.read_text()), shift)
        return cls(raw["users"], raw["apps"], raw["app_users"], raw["events"])

    def user_count(self) -> int:
        return len(self.users)

    def user_status(self, i: int) -> str:
        return str(self.users[i].get("status"))

    def user(self, i: int, origin: str) -> dict[str, Any]:
        return self.users[i]

    def user_position(self, user_id: str) -> int | None:
        return next((i for i, u in enumerate(self.users) if u.get("id") == user_id), None)

    def app_count(self) -> int:
        return len(self.apps)

    def app(self, j: int, origin: str) -> dict[str, Any]:
        return self.apps[j]

    def app_position(self, app_id: str) -> int | None:
        return next((j for j, a in enumerate(self.apps) if a.get("id") == app_id), None)

    def _assigned(self, j: int) -> list[dict[str, Any]]:
        return self.app_users.get(str(self.apps[j].get("id")), [])

    def app_user_count(self, j: int) -> int:
        return len(self._assigned(j))

    def app_user(self, j: int, k: int, origin: str) -> dict[str, Any]:
        return self._assigned(j)[k]

    def app_user_position(self, j: int, user_id: str) -> int | None:
        return next((k for k, u in enumerate(self._assigned(j)) if u.get("id") == user_id), None)

    def _of_type(self, event_type: str) -> tuple[list[int], list[dict[str, Any]]]:
        # Tests append events between syncs: the sorted view is rebuilt when the list grew.
        key = (event_type, len(self.events))
        if key not in self._sorted:
            chosen = sorted(
                (e for e in self.events if e.get("eventType") == event_type),
                key=lambda e: parse_ms(e["published"]),
            )
            self._sorted = {key: ([parse_ms(e["published"]) for e in chosen], chosen)}
        return self._sorted[key]

    def events_from(self, event_type: str, since_ms: int) -> int:
        return bisect.bisect_left(self._of_type(event_type)[0], since_ms)

    def event_time(self, event_type: str, k: int) -> int | None:
        times = self._of_type(event_type)[0]
        return times[k] if k < len(times) else None

    def event(self, event_type: str, k: int) -> dict[str, Any]:
        return self._of_type(event_type)[1][k]


_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def _shifted(value: Any, shift: timedelta) -> Any:
    if not shift:
        return value
    if isinstance(value, dict):
        return {k: _shifted(v, shift) for k, v in value.items()}
    if isinstance(value, list):
        return [_shifted(v, shift) for v in value]
    if isinstance(value, str) and _TIMESTAMP.fullmatch(value):
        return iso_ms(parse_ms(value) + shift // timedelta(milliseconds=1))
    return value


M64 = (1 << 64) - 1


def mix(x: int) -> int:
    """splitmix64: a cheap, well-spread hash of an index, so generated data looks random but is fixed."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


LABELS = (
    "Slack",
    "Zoom",
    "GitHub",
    "Salesforce",
    "Jira",
    "Confluence",
    "Figma",
    "Notion",
    "Box",
    "Dropbox",
    "Workday",
    "Zendesk",
    "HubSpot",
    "Miro",
    "Docusign",
    "Asana",
    "Trello",
    "Loom",
    "Airtable",
    "Canva",
)
# Users of app j are every STRIDE-th user: a few apps everyone has, a long tail of small ones.
STRIDES = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
FIRST_PARTY = (
    ("saasure", "Okta Admin Console"),
    ("okta_enduser", "Okta Dashboard"),
    ("okta_browser_plugin", "Okta Browser Plugin"),
)
DEPARTMENTS = ("Engineering", "Sales", "Marketing", "Finance", "Support", "Operations", "Legal", "People")


class GeneratedOrg:
    """A large org computed on demand: nothing but a few per-app numbers is stored.

    ``events`` SSO events are spread evenly over ``days`` days ending at ``end``; the same rate goes
    on after ``end`` (up to :attr:`visible_until`, which a benchmark moves to reveal a new day).
    Each event is a sign-on of a user assigned to the app, apps weighted by how many users they have.
    """

    def __init__(
        self, *, users: int, apps: int, events: int, days: float, end: datetime, seed: int = 7
    ) -> None:
        self.users = users
        self.apps = apps
        self.seed = seed
        self.end_ms = (end - EPOCH) // timedelta(milliseconds=1)
        self.span_ms = int(days * DAY_MS)
        self.events = events
        self.start_ms = self.end_ms - self.span_ms
        self.visible_until = self.end_ms
        self.first_party = len(FIRST_PARTY)
        self.created_ms = self.start_ms - 400 * DAY_MS
        # Cumulative assignment counts of the third-party apps, to pick an event's app by weight.
        self.cumulative: list[int] = []
        total = 0
        for j in range(apps):
            total += self._assigned(j + self.first_party)
            self.cumulative.append(total)

    # users
    def user_id(self, i: int) -> str:
        return f"00ug{i:012d}h5d7"

    def user_count(self) -> int:
        return self.users

    def user_status(self, i: int) -> str:
        bucket = mix(i ^ self.seed) % 100
        if bucket < 3:
            return "DEPROVISIONED"
        if bucket < 5:
            return "SUSPENDED"
        return "STAGED" if bucket < 6 else "ACTIVE"

    def login(self, i: int) -> str:
        return f"user{i:05d}@bench.example.com"

    def user(self, i: int, origin: str) -> dict[str, Any]:
        h = mix(i + self.seed)
        status = self.user_status(i)
        created = iso_ms(self.created_ms + h % (300 * DAY_MS))
        never = status == "STAGED" or h % 50 == 0
        user_id = self.user_id(i)
        return {
            "id": user_id,
            "status": status,
            "created": created,
            "activated": None if status == "STAGED" else created,
            "statusChanged": created,
            "lastLogin": None if never else iso_ms(self.end_ms - (h >> 8) % (120 * DAY_MS)),
            "lastUpdated": created,
            "passwordChanged": created,
            "type": {"id": "oty1genericusertype"},
            "profile": {
                "firstName": f"User{i}",
                "lastName": "Bench",
                "mobilePhone": None,
                "secondEmail": None,
                "login": self.login(i),
                "email": self.login(i),
                "department": DEPARTMENTS[h % len(DEPARTMENTS)],
                "costCenter": f"CC-{100 + h % 40}",
                "managerId": self.user_id(i // 10 * 10) if i % 10 else None,
                "title": "Staff",
            },
            "credentials": {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": {"href": f"{origin}/api/v1/users/{user_id}"}},
        }

    def user_position(self, user_id: str) -> int | None:
        return int(user_id[4:16]) if re.fullmatch(r"00ug\d{12}h5d7", user_id) else None

    # apps: the first-party ones first, as in a real org
    def app_id(self, j: int) -> str:
        return f"0oag{j:012d}q0g4"

    def app_count(self) -> int:
        return self.first_party + self.apps

    def app(self, j: int, origin: str) -> dict[str, Any]:
        if j < self.first_party:
            name, label = FIRST_PARTY[j]
            mode = "OPENID_CONNECT"
        else:
            n = j - self.first_party
            label = LABELS[n] if n < len(LABELS) else f"Internal Tool {n:03d}"
            name = re.sub(r"\W", "", label.lower()) if n < len(LABELS) else f"bench_internaltool_{n}"
            mode = "SAML_2_0"
        app_id = self.app_id(j)
        return {
            "id": app_id,
            "name": name,
            "label": label,
            "status": "INACTIVE" if j >= self.first_party and j % 37 == 36 else "ACTIVE",
            "lastUpdated": iso_ms(self.created_ms),
            "created": iso_ms(self.created_ms),
            "signOnMode": mode,
            "features": [],
            "visibility": {"autoSubmitToolbar": False, "hide": {"iOS": False, "web": False}},
            "_links": {"users": {"href": f"{origin}/api/v1/apps/{app_id}/users"}},
        }

    def app_position(self, app_id: str) -> int | None:
        return int(app_id[4:16]) if re.fullmatch(r"0oag\d{12}q0g4", app_id) else None

    def _stride(self, j: int) -> tuple[int, int]:
        if j < self.first_party:
            return 1, 0
        stride = STRIDES[(j - self.first_party) % len(STRIDES)]
        return stride, j % stride

    def _assigned(self, j: int) -> int:
        stride, offset = self._stride(j)
        return max(0, -(-(self.users - offset) // stride))

    def app_user_count(self, j: int) -> int:
        return self._assigned(j)

    def app_user(self, j: int, k: int, origin: str) -> dict[str, Any]:
        stride, offset = self._stride(j)
        i = offset + k * stride
        created = iso_ms(self.created_ms + mix(i * 31 + j) % (300 * DAY_MS))
        return {
            "id": self.user_id(i),
            "externalId": None,
            "created": created,
            "lastUpdated": created,
            "scope": "GROUP" if i % 3 else "USER",
            "status": "PROVISIONED" if i % 7 == 0 else "ACTIVE",
            "statusChanged": created,
            "passwordChanged": None,
            "syncState": "DISABLED",
            "credentials": {"userName": self.login(i)},
            "profile": {"email": self.login(i)},
            "_links": {"app": {"href": f"{origin}/api/v1/apps/{self.app_id(j)}"}},
        }

    def app_user_position(self, j: int, user_id: str) -> int | None:
        i = self.user_position(user_id)
        stride, offset = self._stride(j)
        return None if i is None or (i - offset) % stride else (i - offset) // stride

    # events: event k happens at start + k * span / events
    def _time(self, k: int) -> int:
        return self.start_ms + k * self.span_ms // self.events

    def events_from(self, event_type: str, since_ms: int) -> int:
        return max(0, -(-(since_ms - self.start_ms) * self.events // self.span_ms))

    def event_time(self, event_type: str, k: int) -> int | None:
        if event_type != SSO:
            return None
        at = self._time(k)
        return at if at <= self.visible_until else None

    def _event_fields(self, k: int) -> dict[str, str]:
        """The parts of event ``k`` that vary, all plain JSON-safe strings."""
        h = mix(k ^ (self.seed << 40))
        n = bisect.bisect_right(self.cumulative, h % self.cumulative[-1])
        j = n + self.first_party
        stride, offset = self._stride(j)
        i = offset + ((h >> 20) % self._assigned(j)) * stride
        return {
            "actor_id": self.user_id(i),
            "login": self.login(i),
            "name": f"User{i} Bench",
            "ip": f"203.0.113.{h % 250 + 1}",
            "session": f"102{h % 10**12:012d}",
            "result": "FAILURE" if h % 200 == 0 else "SUCCESS",
            "published": iso_ms(self._time(k)),
            "request_id": f"Z{h:016x}",
            "app_id": self.app_id(j),
            "transaction": f"Z{h >> 4:015x}",
            "uuid": uuid4_like(mix(k) << 64 | mix(k + 1)),
            "label": LABELS[n] if n < len(LABELS) else f"Internal Tool {n:03d}",
            "app_user_id": f"0ua{i:012d}x5d7",
        }

    def event(self, event_type: str, k: int) -> dict[str, Any]:
        return sso_event_object(self._event_fields(k))

    def event_json(self, k: int) -> str:
        """Event ``k`` serialised, the same as ``json.dumps(event(k))`` but a template fill: the
        benchmark's server writes 2,000,000 of them."""
        return SSO_EVENT_TEMPLATE % self._event_fields(k)

    def sso_events_between(self, since_ms: int, until_ms: int) -> int:
        """How many events fall in ``[since, until)`` (failed sign-ons included)."""
        return self.events_from(SSO, until_ms) - self.events_from(SSO, since_ms)


def sso_event_object(f: dict[str, str]) -> dict[str, Any]:
    """A generated ``user.authentication.sso`` event, from its varying parts (see GeneratedOrg)."""
    return {
        "actor": {
            "id": f["actor_id"],
            "type": "User",
            "alternateId": f["login"],
            "displayName": f["name"],
            "detailEntry": None,
        },
        "client": {
            "userAgent": {
                "rawUserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
                "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                "os": "Mac OS X",
                "browser": "CHROME",
            },
            "zone": "null",
            "device": "Computer",
            "id": None,
            "ipAddress": f["ip"],
            "geographicalContext": {
                "city": "Springfield",
                "state": "Oregon",
                "country": "United States",
                "postalCode": "97477",
                "geolocation": {"lat": 44.0462, "lon": -123.022},
            },
        },
        "device": None,
        "authenticationContext": {
            "authenticationProvider": None,
            "credentialProvider": None,
            "credentialType": None,
            "issuer": None,
            "interface": None,
            "authenticationStep": 0,
            "externalSessionId": f["session"],
        },
        "displayMessage": "User single sign on to app",
        "eventType": SSO,
        "outcome": {"result": f["result"], "reason": None},
        "published": f["published"],
        "securityContext": {
            "asNumber": 64496,
            "asOrg": "example isp",
            "isp": "example isp",
            "domain": "example.net",
            "isProxy": False,
        },
        "severity": "INFO",
        "debugContext": {
            "debugData": {
                "requestId": f["request_id"],
                "requestUri": f"/app/{f['app_id']}/sso/saml",
                "url": f"/app/{f['app_id']}/sso/saml?",
            }
        },
        "legacyEventType": "app.auth.sso",
        "transaction": {"type": "WEB", "id": f["transaction"], "detail": {}},
        "uuid": f["uuid"],
        "version": "0",
        "request": {
            "ipChain": [{"ip": f["ip"], "geographicalContext": None, "version": "V4", "source": None}]
        },
        "target": [
            {
                "id": f["app_id"],
                "type": "AppInstance",
                "alternateId": f["label"],
                "displayName": f["label"],
                "detailEntry": {"signOnModeType": "SAML_2_0"},
            },
            {
                "id": f["app_user_id"],
                "type": "AppUser",
                "alternateId": f["login"],
                "displayName": f["name"],
                "detailEntry": None,
            },
        ],
    }


# The same as a %-template, filled in by GeneratedOrg.event_json.
SSO_EVENT_TEMPLATE = re.sub(
    r"@@(\w+)@@",
    r"%(\1)s",
    json.dumps(
        sso_event_object(
            {
                name: f"@@{name}@@"
                for name in (
                    "actor_id",
                    "login",
                    "name",
                    "ip",
                    "session",
                    "result",
                    "published",
                    "request_id",
                    "app_id",
                    "transaction",
                    "uuid",
                    "label",
                    "app_user_id",
                )
            }
        )
    ).replace("%", "%%"),
)


# ------------------------------------------------------------------------------------------------
# Faults and credentials


@dataclass
class Fault:
    """Answer ``status`` to requests whose path starts with ``path``: the next ``times`` of them
    (None: all), once ``after`` matching requests have been served normally."""

    path: str
    status: int
    times: int | None = 1
    after: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    passed: int = 0


@dataclass
class ServiceApp:
    """A service app registration: its client id, the public half of its key, its granted scopes."""

    client_id: str
    public_key_pem: bytes
    scopes: tuple[str, ...] = ("okta.users.read", "okta.apps.read", "okta.logs.read")
    require_dpop: bool = False


def new_key_pair() -> tuple[str, bytes]:
    """A throwaway RSA key: (private PEM text, public PEM bytes)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def _b64json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# ------------------------------------------------------------------------------------------------
# The fake


class OktaFake:
    """The fake org's API. Knobs are attributes; see the module docstring."""

    def __init__(
        self,
        org: Org,
        *,
        api_token: str | None = None,
        service_app: ServiceApp | None = None,
        clock: Callable[[], float] = time.time,
        budgets: dict[str, int] | None = None,
        latency: float = 0.0,
        max_page: int | None = None,
        token_lifetime: int = 3600,
    ) -> None:
        self.org = org
        self.api_token = api_token
        self.service_app = service_app
        self.clock = clock
        self.budgets = {"users": 600, "apps": 600, "logs": 600, "token": 600, **(budgets or {})}
        self.latency = latency
        self.max_page = max_page  # serve at most this many items a page, whatever the limit asked
        self.token_lifetime = token_lifetime
        self.faults: list[Fault] = []
        self.requests: list[httpx.Request] = []
        self.timeline: list[tuple[str, float, int]] = []  # (family, arrival, status) of every request
        self.served: Counter[tuple[str, int]] = Counter()  # (family, status)
        self.throttled: Counter[str] = Counter()  # 429s served per family
        self.throttled_at: list[tuple[str, float]] = []  # (family, when) of each of them
        self.tokens: dict[str, float] = {}  # access token -> expiry
        self.expire_after: int | None = None  # expire every token once this many more requests passed
        self.jtis: set[str] = set()
        self._used: Counter[tuple[str, int]] = Counter()  # (family, minute) -> requests
        self._lock = threading.Lock()
        self._token_numbers = itertools.count(1)

    # knobs
    def fail(self, path: str, status: int, *, times: int | None = 1, after: int = 0, **headers: str) -> Fault:
        fault = Fault(path, status, times, after, {k.replace("_", "-"): v for k, v in headers.items()})
        self.faults.append(fault)
        return fault

    def expire_tokens(self) -> None:
        """Every access token issued so far is refused from now on (as after its expiry)."""
        with self._lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def requests_to(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    # dispatch
    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.latency:
            time.sleep(self.latency)
        path = request.url.path
        family = (
            "token"
            if path == "/oauth2/v1/token"
            else next((f for prefix, f in FAMILY_OF_PATH if path.startswith(prefix)), "other")
        )
        with self._lock:
            self.requests.append(request)
            now = self.clock()
            minute = int(now // 60)
            budget = self.budgets.get(family, 600)
            used = self._used[(family, minute)] + 1
            limit_headers = {
                "X-Rate-Limit-Limit": str(budget),
                "X-Rate-Limit-Remaining": str(max(0, budget - used)),
                "X-Rate-Limit-Reset": str((minute + 1) * 60),
                "Date": formatdate(now, usegmt=True),
            }
            response: httpx.Response | None
            if used > budget:
                self.throttled[family] += 1
                self.throttled_at.append((family, now))
                response = okta_error(
                    429, "E0000047", "API call exceeded rate limit due to too many requests.", limit_headers
                )
            else:
                self._used[(family, minute)] = used
                response = self._fault(path, limit_headers)
        if response is None:
            response = self._serve(request, family, now)
            response.headers.update(limit_headers)
        with self._lock:
            self.served[(family, response.status_code)] += 1
            self.timeline.append((family, now, response.status_code))
        return response

    def _fault(self, path: str, headers: dict[str, str]) -> httpx.Response | None:
        for fault in self.faults:
            if not path.startswith(fault.path):
                continue
            if fault.passed < fault.after:
                fault.passed += 1
                continue
            if fault.times is not None:
                if fault.times <= 0:
                    continue
                fault.times -= 1
            body = (
                fault.body
                if fault.body is not None
                else {"errorCode": "E0000009", "errorSummary": "Internal Server Error", "errorCauses": []}
            )
            return httpx.Response(fault.status, json=body, headers={**headers, **fault.headers})
        return None

    def _serve(self, request: httpx.Request, family: str, now: float) -> httpx.Response:
        if family == "token":
            return self._token(request, now)
        denied = self._authorize(request, family, now)
        if denied is not None:
            return denied
        path = request.url.path
        origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
        if request.method != "GET":
            return okta_error(405, "E0000022", "The endpoint does not support the provided HTTP method")
        if path == "/api/v1/users":
            return self._users(request, origin)
        if path == "/api/v1/apps":
            return self._apps(request, origin)
        match = re.fullmatch(r"/api/v1/apps/([^/]+)/users", path)
        if match:
            return self._app_users(request, origin, match[1])
        if path == "/api/v1/logs":
            return self._logs(request, origin, now)
        return okta_error(404, "E0000022", f"Not found: Resource not found: {path} (URL)")

    # credentials
    def _authorize(self, request: httpx.Request, family: str, now: float) -> httpx.Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme == "SSWS" and self.api_token is not None and value == self.api_token:
            return None
        if scheme == "Bearer" and self.service_app is not None:
            with self._lock:
                if self.expire_after is not None:
                    self.expire_after -= 1
                    if self.expire_after < 0:
                        self.expire_after = None
                        self.tokens = dict.fromkeys(self.tokens, 0.0)
                expiry = self.tokens.get(value)
            if expiry is not None and expiry > now:
                if SCOPE_OF_FAMILY.get(family, "") not in self.service_app.scopes:
                    return okta_error(
                        403, "E0000006", "You do not have permission to perform the requested action"
                    )
                return None
        return okta_error(401, "E0000011", "Invalid token provided")

    def _token(self, request: httpx.Request, now: float) -> httpx.Response:
        app = self.service_app
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}

        def refuse(error: str, description: str, status: int = 400) -> httpx.Response:
            return httpx.Response(status, json={"error": error, "error_description": description})

        if app is None:
            return refuse("invalid_client", "No client credentials found.", 401)
        if app.require_dpop:
            return refuse("invalid_dpop_proof", "The DPoP proof JWT header is missing.")
        if form.get("grant_type") != "client_credentials":
            return refuse("unsupported_grant_type", "The authorization grant type is not supported.")
        if form.get("client_assertion_type") != JWT_BEARER:
            return refuse("invalid_client", "The client_assertion_type is invalid.", 401)
        problem = self._check_assertion(form.get("client_assertion", ""), request, now)
        if problem is not None:
            return refuse("invalid_client", problem, 401)
        asked = tuple(form.get("scope", "").split())
        if not asked:
            return refuse(
                "invalid_scope",
                "The authorization server resource does not have any configured default scopes, "
                "'scope' must be provided.",
            )
        denied = [s for s in asked if s not in app.scopes]
        if denied:
            return refuse("invalid_scope", f"The following scopes are not allowed: {', '.join(denied)}")
        token = f"fake-access-token-{next(self._token_numbers)}-{uuidlib.uuid4().hex}"
        with self._lock:
            self.tokens[token] = now + self.token_lifetime
        body = {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "access_token": token,
            "scope": " ".join(asked),
        }
        return httpx.Response(200, json=body)

    def _check_assertion(self, assertion: str, request: httpx.Request, now: float) -> str | None:
        """Why Okta would refuse the client assertion, or None."""
        app = self.service_app
        assert app is not None
        parts = assertion.split(".")
        if len(parts) != 3:
            return "The client_assertion is not a JWT."
        try:
            header, claims = _b64json(parts[0]), _b64json(parts[1])
            signature = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        except ValueError:
            return "The client_assertion is not a JWT."
        if header.get("alg") != "RS256":
            return "The client_assertion token has an unsupported algorithm."
        token_url = f"{request.url.scheme}://{request.url.netloc.decode()}/oauth2/v1/token"
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            return "The client_assertion token's iss and sub must both be the client_id."
        if claims.get("aud") != token_url:
            return (
                "The audience claim for client_assertion must be the endpoint invoked for the request: "
                + token_url
            )
        exp, iat = claims.get("exp"), claims.get("iat", now)
        if not isinstance(exp, int | float) or exp <= now:
            return "The client_assertion token is expired."
        if exp - min(iat, now) > 3600:
            return "The client_assertion token has an expiration too far into the future."
        jti = claims.get("jti")
        with self._lock:
            if not jti or jti in self.jtis:
                return "The client_assertion token has already been used (jti)."
            self.jtis.add(jti)
        public = serialization.load_pem_public_key(app.public_key_pem)
        assert isinstance(public, rsa.RSAPublicKey)
        try:
            public.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return "The client_assertion signature is invalid."
        return None

    # listings
    def _limit(self, request: httpx.Request, kind: str) -> int:
        try:
            asked = int(request.url.params.get("limit", DEFAULT_LIMIT[kind]))
        except ValueError:
            asked = DEFAULT_LIMIT[kind]
        limit = max(1, min(asked, MAX_LIMIT[kind]))
        return min(limit, self.max_page) if self.max_page else limit

    def _page(
        self, request: httpx.Request, items: list[dict[str, Any]] | bytes, next_after: str | None
    ) -> httpx.Response:
        links = [f'<{request.url}>; rel="self"']
        if next_after is not None:
            links.append(f'<{request.url.copy_set_param("after", next_after)}>; rel="next"')
        headers = {"Link": ", ".join(links), "Content-Type": "application/json"}
        if isinstance(items, bytes):
            return httpx.Response(200, content=items, headers=headers)
        return httpx.Response(200, json=items, headers=headers)

    def _users(self, request: httpx.Request, origin: str) -> httpx.Response:
        query = request.url.params.get("search") or request.url.params.get("filter")
        statuses: set[str] | None = None
        if query:
            clauses = re.findall(r'status eq "([A-Z_]+)"', query)
            if not clauses or re.sub(r'status eq "[A-Z_]+"|\s+or\s+|[()\s]', "", query):
                return okta_error(400, "E0000031", f"Invalid search criteria: {query}")
            statuses = set(clauses)
        org, limit = self.org, self._limit(request, "users")
        after = request.url.params.get("after")
        start = 0
        if after:
            position = org.user_position(after)
            if position is None:
                return okta_error(400, "E0000001", "Api validation failed: after")
            start = position + 1
        chosen: list[int] = []
        i = start
        while i < org.user_count() and len(chosen) < limit:
            status = org.user_status(i)
            if (status in statuses) if statuses is not None else status != "DEPROVISIONED":
                chosen.append(i)
            i += 1
        items = [org.user(i, origin) for i in chosen]
        more = len(chosen) == limit and i < org.user_count()
        return self._page(request, items, items[-1]["id"] if more else None)

    def _apps(self, request: httpx.Request, origin: str) -> httpx.Response:
        org, limit = self.org, self._limit(request, "apps")
        after = request.url.params.get("after")
        start = 0 if not after else (org.app_position(after) or 0) + 1
        end = min(start + limit, org.app_count())
        items = [org.app(j, origin) for j in range(start, end)]
        return self._page(request, items, items[-1]["id"] if end < org.app_count() else None)

    def _app_users(self, request: httpx.Request, origin: str, app_id: str) -> httpx.Response:
        org = self.org
        j = org.app_position(app_id)
        if j is None:
            return okta_error(404, "E0000007", f"Not found: Resource not found: {app_id} (AppInstance)")
        limit, after = self._limit(request, "app_users"), request.url.params.get("after")
        start = 0
        if after:
            position = org.app_user_position(j, after)
            if position is None:
                return okta_error(400, "E0000001", "Api validation failed: after")
            start = position + 1
        end = min(start + limit, org.app_user_count(j))
        items = [org.app_user(j, k, origin) for k in range(start, end)]
        return self._page(request, items, items[-1]["id"] if end < org.app_user_count(j) else None)

    def _logs(self, request: httpx.Request, origin: str, now: float) -> httpx.Response:
        params = request.url.params
        now_ms = int(now * 1000)
        try:
            until_ms = min(parse_ms(params["until"]), now_ms + 1) if "until" in params else now_ms + 1
            since_ms = parse_ms(params["since"]) if "since" in params else until_ms - 7 * DAY_MS
        except ValueError:
            return okta_error(400, "E0000001", "Api validation failed: since/until")
        event_type = None
        if "filter" in params:
            match = re.fullmatch(r'\s*eventType eq "([\w.]+)"\s*', params["filter"])
            if match is None:
                return okta_error(400, "E0000031", f"Invalid filter: {params['filter']}")
            event_type = match[1]
        if params.get("sortOrder", "ASCENDING") != "ASCENDING":
            return okta_error(
                400, "E0000001", "Api validation failed: sortOrder (the fake reads ASCENDING only)"
            )
        kind = event_type or SSO
        org, limit = self.org, self._limit(request, "logs")
        after = params.get("after")
        k = int(after.rpartition("_")[2]) if after else org.events_from(kind, since_ms)
        first, last_ms = k, since_ms
        while k - first < limit:
            at = org.event_time(kind, k)
            if at is None or at >= until_ms:
                break
            last_ms, k = at, k + 1
        # Polling or not, the System Log always says there may be more.
        if isinstance(org, GeneratedOrg):  # millions of events: filled in templates, not json.dumps
            body = "[" + ",".join(org.event_json(n) for n in range(first, k)) + "]"
            return self._page(request, body.encode(), f"{last_ms}_{k}")
        return self._page(request, [org.event(kind, n) for n in range(first, k)], f"{last_ms}_{k}")


# ------------------------------------------------------------------------------------------------
# Helpers for tests


def user_json(user_id: str, email: str, status: str = "ACTIVE", **profile: Any) -> dict[str, Any]:
    """A minimal Okta user object, for tests that add one to an org."""
    return {
        "id": user_id,
        "status": status,
        "created": "2024-01-10T09:00:00.000Z",
        "lastLogin": None,
        "profile": {"login": email, "email": email, **profile},
    }


def sso_event(
    uuid: str, published: str, user: dict[str, Any], app: dict[str, Any], result: str = "SUCCESS"
) -> dict[str, Any]:
    """A ``user.authentication.sso`` event of ``user`` into ``app`` (Okta user and app objects)."""
    login = user["profile"]["login"]
    return {
        "uuid": uuid,
        "published": published,
        "eventType": SSO,
        "legacyEventType": "app.auth.sso",
        "version": "0",
        "severity": "INFO",
        "displayMessage": "User single sign on to app",
        "actor": {
            "id": user["id"],
            "type": "User",
            "alternateId": login,
            "displayName": login,
            "detailEntry": None,
        },
        "outcome": {"result": result, "reason": None},
        "client": {
            "ipAddress": "203.0.113.7",
            "userAgent": {"rawUserAgent": "Mozilla/5.0", "os": "Mac OS X", "browser": "CHROME"},
        },
        "transaction": {"type": "WEB", "id": f"T{uuid[:8]}", "detail": {}},
        "target": [
            {
                "id": app["id"],
                "type": "AppInstance",
                "alternateId": app["label"],
                "displayName": app["label"],
                "detailEntry": {"signOnModeType": app.get("signOnMode", "SAML_2_0")},
            },
            {
                "id": f"0ua{user['id'][3:]}",
                "type": "AppUser",
                "alternateId": login,
                "displayName": login,
                "detailEntry": None,
            },
        ],
    }
