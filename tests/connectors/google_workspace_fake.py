"""A fake Google Workspace: Google's OAuth token endpoint, the Admin SDK Directory and Reports APIs and
the Enterprise License Manager, behaving the way VENDOR_APIS.md section 1 says.

It is served over real HTTP by ``harness.FakeServer``: google-api-python-client talks httplib2, and the
connector points it here with ``api_endpoint`` and ``token_uri``.

- ``POST /token`` takes the JWT bearer grant a service account with domain-wide delegation sends:
  the assertion's RS256 signature is checked against the test key, and its claims: ``iss`` (the
  service account), ``sub`` (an admin of the domain, else 400 ``invalid_grant``), ``aud`` (Google's
  token URL, whatever the token_uri) and ``scope`` (every scope must be delegated, else 401
  ``unauthorized_client``). It issues ``ya29.``-style tokens, each good for the scopes it was asked for.
- ``GET /admin/directory/v1/users`` (``customer=my_customer``), ``/admin/reports/v1/activity/users/all/
  applications/{login|saml|token}`` (``startTime``/``endTime`` inclusive, ``eventName``, newest first),
  ``/admin/reports/v1/usage/dates/{date}`` and ``/apps/licensing/v1/product/{productId}/users``
  (``customerId`` required). Listings page with an opaque ``nextPageToken`` bound to the query it came
  from (a token used with another query is a 400, as Google's are); pages hold at most ``maxResults``
  items, fewer with ``page_size``. A call with a token lacking the API's scope gets 403
  ``insufficientPermissions``.
- The usage report of a day after ``latest_report`` is a 400 "Data for dates later than ... is not
  yet available"; a day in ``partial_dates`` answers 200 with a ``PARTIAL_DATA_AVAILABLE`` warning
  for accounts and no report.
- Faults: :meth:`GoogleFake.fault` queues replies for a path (403 ``rateLimitExceeded`` /
  ``userRateLimitExceeded`` / ``quotaExceeded``, 429, 503 ...); :meth:`GoogleFake.break_from_page`
  makes a listing fail from one page on (a failure in the middle of a sync); ``revoke_tokens_on``
  revokes every token when a path is first requested (401 ``authError``, then a renewal works);
  ``reject_tokens_on`` answers every request to a path with that 401.

Every listing is finite and every queue is consumed, so nothing in the fake can loop. Data are
invented: example.com addresses, made-up ids, and an RSA key generated when the tests run.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CUSTOMER_ID = "C03az79cb"
ADMIN = "it-admin@example.com"
SERVICE_ACCOUNT = "saaswatch-reader@acme-it-tools.iam.gserviceaccount.com"
CLIENT_ID = "104937526108840162931"  # the service account's OAuth client id (domain-wide delegation)
KEY_ID = "3f1a0d9c8b7e6f5a4d3c2b1a0f9e8d7c6b5a4f3e"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
AUDIT_SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
USAGE_SCOPE = "https://www.googleapis.com/auth/admin.reports.usage.readonly"
LICENSING_SCOPE = "https://www.googleapis.com/auth/apps.licensing"
ALL_SCOPES = frozenset({DIRECTORY_SCOPE, AUDIT_SCOPE, USAGE_SCOPE, LICENSING_SCOPE})

USERS_PATH = "/admin/directory/v1/users"
ACTIVITY_PATH = "/admin/reports/v1/activity/users/all/applications/"
USAGE_PATH = "/admin/reports/v1/usage/dates/"
LICENSING_PATH = "/apps/licensing/v1/product/"

BUSINESS_STANDARD = "1010020028"
VAULT_FORMER_EMPLOYEE = "Google-Vault-Former-Employee"
PRODUCTS = {"Google-Apps": "Google Workspace", "Google-Vault": "Google Vault", "101047": "Gemini"}
SKU_NAMES = {
    BUSINESS_STANDARD: "Google Workspace Business Standard",
    "1010020027": "Google Workspace Business Starter",
    VAULT_FORMER_EMPLOYEE: "Google Vault - Former Employee",
}

JSON_TYPE = "application/json; charset=UTF-8"
NEVER = "1970-01-01T00:00:00.000Z"


@functools.cache
def private_key() -> rsa.RSAPrivateKey:
    """A throwaway RSA key made when the tests run: nothing that looks like a real key is committed."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key_pem() -> str:
    return (
        private_key()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )


def key_file(token_uri: str = GOOGLE_TOKEN_URL) -> str:
    """A service account JSON key file, shaped as the Cloud console downloads it."""
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "acme-it-tools",
            "private_key_id": KEY_ID,
            "private_key": private_key_pem(),
            "client_email": SERVICE_ACCOUNT,
            "client_id": CLIENT_ID,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": (
                "https://www.googleapis.com/robot/v1/metadata/x509/"
                "saaswatch-reader%40acme-it-tools.iam.gserviceaccount.com"
            ),
            "universe_domain": "googleapis.com",
        },
        indent=2,
    )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> httpx.Response:
        headers = {"Vary": "Origin, X-Origin, Referer", "Server": "ESF", **self.headers}
        if self.body is None:
            return httpx.Response(self.status, headers=headers)
        if isinstance(self.body, str):  # not JSON: an HTML error page from a proxy, say
            return httpx.Response(
                self.status, headers={"Content-Type": "text/html", **headers}, content=self.body
            )
        return httpx.Response(
            self.status,
            headers={"Content-Type": JSON_TYPE, **headers},
            content=json.dumps(self.body).encode(),
        )


STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def google_error(
    status: int, reason: str, message: str, *, domain: str = "global", status_name: str | None = None
) -> Reply:
    """An error as Google's APIs send it: ``{"error": {"code", "message", "errors": [...], "status"}}``."""
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": status_name or STATUS_NAMES.get(status, "UNKNOWN"),
        }
    }
    return Reply(status, body)


def rate_limited(reason: str = "rateLimitExceeded") -> Reply:
    """403 with a rate-limit reason (rateLimitExceeded, userRateLimitExceeded, quotaExceeded)."""
    return google_error(403, reason, "Rate Limit Exceeded", domain="usageLimits")


def too_many_requests(retry_after: str | None = None) -> Reply:
    reply = google_error(
        429,
        "rateLimitExceeded",
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service "
        "'admin.googleapis.com' for consumer 'project_number:318472650031'.",
    )
    if retry_after is not None:
        reply.headers["Retry-After"] = retry_after
    return reply


def unavailable() -> Reply:
    return google_error(503, "backendError", "The service is currently unavailable.")


def auth_error() -> Reply:
    reply = google_error(
        401,
        "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
        "other valid authentication credential.",
    )
    reply.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
    return reply


def forbidden() -> Reply:
    return google_error(403, "forbidden", "Not Authorized to access this resource/api")


# --- sample data --------------------------------------------------------------------------------------


def user(
    number: int,
    email: str,
    full_name: str,
    *,
    last_login: str,
    created: str = "2023-02-06T09:15:00.000Z",
    suspended: bool = False,
    archived: bool = False,
    mfa: bool = True,
    admin: bool = False,
    delegated_admin: bool = False,
    org_unit: str = "/",
    organizations: list[dict[str, Any]] | None = None,
    manager: str | None = None,
) -> dict[str, Any]:
    """A Directory user (projection=full), with the fields Google sends."""
    given, _, family = full_name.partition(" ")
    found: dict[str, Any] = {
        "kind": "admin#directory#user",
        "id": f"1145111473123456789{number:02d}",
        "etag": f'"etag-user-{number}"',
        "primaryEmail": email,
        "name": {"givenName": given, "familyName": family, "fullName": full_name},
        "isAdmin": admin,
        "isDelegatedAdmin": delegated_admin,
        "lastLoginTime": last_login,
        "creationTime": created,
        "agreedToTerms": True,
        "suspended": suspended,
        "archived": archived,
        "changePasswordAtNextLogin": False,
        "ipWhitelisted": False,
        "emails": [{"address": email, "primary": True}],
        "customerId": CUSTOMER_ID,
        "orgUnitPath": org_unit,
        "isMailboxSetup": True,
        "isEnrolledIn2Sv": mfa,
        "isEnforcedIn2Sv": False,
        "includeInGlobalAddressList": True,
    }
    if suspended:
        found["suspensionReason"] = "ADMIN"
    if organizations is not None:
        found["organizations"] = organizations
    if manager is not None:
        found["relations"] = [{"value": manager, "type": "manager"}]
    return found


_qualifiers = itertools.count(-4002873813067783265, 7919)


def activity(
    application: str,
    at: datetime,
    email: str | None,
    event: str,
    parameters: Iterable[tuple[str, Any]] = (),
    *,
    qualifier: str | None = None,
    event_type: str | None = None,
) -> dict[str, Any]:
    """One Reports API activity with one event; a list value becomes ``multiValue``."""
    params = [
        {"name": name, "multiValue": value} if isinstance(value, list) else {"name": name, "value": value}
        for name, value in parameters
    ]
    actor: dict[str, Any] = {"callerType": "USER", "profileId": "114511147312345678901"}
    if email is not None:
        actor["email"] = email
    else:
        actor = {"callerType": "KEY", "key": "SYSTEM"}
    types = {"login": "login", "saml": "login", "token": "auth"}
    return {
        "kind": "admin#reports#activity",
        "id": {
            "time": iso(at),
            "uniqueQualifier": qualifier or str(next(_qualifiers)),
            "applicationName": application,
            "customerId": CUSTOMER_ID,
        },
        "etag": '"activity-etag"',
        "actor": actor,
        "ipAddress": "203.0.113.7",
        "events": [{"type": event_type or types[application], "name": event, "parameters": params}],
    }


def login(at: datetime, email: str, *, qualifier: str | None = None) -> dict[str, Any]:
    return activity(
        "login",
        at,
        email,
        "login_success",
        [
            ("login_type", "google_password"),
            ("login_challenge_method", ["password"]),
            ("is_suspicious", False),
        ],
        qualifier=qualifier,
    )


def saml(at: datetime, email: str, app: str | None, *, qualifier: str | None = None) -> dict[str, Any]:
    params: list[tuple[str, Any]] = [("initiated_by", "sp"), ("orgunit_path", "/")]
    if app is not None:
        params.insert(0, ("application_name", app))
    return activity("saml", at, email, "login_success", params, qualifier=qualifier)


def token(
    at: datetime, email: str, event: str, app: str, client_id: str, scopes: list[str] | None = None
) -> dict[str, Any]:
    params: list[tuple[str, Any]] = [("client_id", client_id), ("app_name", app), ("client_type", "WEB")]
    if scopes is not None:
        params.append(("scope", scopes))
    return activity("token", at, email, event, params)


def assignment(email: str, sku_id: str, product: str = "Google-Apps") -> dict[str, Any]:
    return {
        "kind": "licensing#licenseAssignment",
        "etags": '"assignment-etag"',
        "selfLink": f"https://licensing.googleapis.com/apps/licensing/v1/product/{product}/sku/{sku_id}/user/{email}",
        "userId": email,
        "productId": product,
        "productName": PRODUCTS[product],
        "skuId": sku_id,
        "skuName": SKU_NAMES[sku_id],
    }


ALICE, BOB, CAROL, DAN, ERIN = (
    "alice@example.com",
    "bob@example.com",
    "carol@example.com",
    "dan@example.com",
    "erin@example.com",
)
ZOE = "zoe@example.com"  # deleted: no longer listed, her events remain
CALENDLY = "1043217856901-calendly0ab12cd34ef56gh78ij90kl.apps.googleusercontent.com"
ZAPIER = "620189344512-zapier9q8w7e6r5t4y3u2i1o0p.apps.googleusercontent.com"
NOTION = "775103226419-notion1a2s3d4f5g6h7j8k9l0.apps.googleusercontent.com"


def directory_users(now: datetime) -> list[dict[str, Any]]:
    return [
        user(
            1,
            ALICE,
            "Alice Ng",
            last_login=iso(now - timedelta(days=2, hours=3)),
            admin=True,
            org_unit="/Engineering",
            organizations=[
                {
                    "name": "Acme",
                    "title": "Staff Engineer",
                    "primary": True,
                    "customType": "",
                    "department": "Engineering",
                    "costCenter": "CC-100",
                    "description": "Full time",
                },
            ],
        ),
        user(2, BOB, "Bob Li", last_login=NEVER, suspended=True, mfa=False),
        user(
            3,
            CAROL,
            "Carol Diaz",
            last_login=iso(now - timedelta(days=90)),
            archived=True,
            org_unit="/Sales/EMEA",
        ),
        user(
            4,
            DAN,
            "Dan Okafor",
            last_login=NEVER,
            delegated_admin=True,
            org_unit="/Sales",
            organizations=[
                {"department": "Sales", "costCenter": "CC-200", "primary": False},
                {"department": "Field Sales", "costCenter": "CC-210", "primary": True},
            ],
            manager=ALICE,
        ),
        user(5, ERIN, "Erin Walsh", last_login=iso(now - timedelta(hours=1)), mfa=False, org_unit="/Support"),
    ]


def audit_logs(now: datetime) -> dict[str, list[dict[str, Any]]]:
    day = timedelta(days=1)
    return {
        "login": [
            login(now - 2 * day - timedelta(hours=3), ALICE),
            login(now - 6 * day, ALICE),
            login(now - timedelta(hours=1), ERIN),
            login(now - 10 * day, ZOE),
            login(now - 40 * day, ERIN),  # before the first sync's 30 days
            activity("login", now - 5 * day, ERIN, "login_failure", [("login_type", "google_password")]),
        ],
        "saml": [
            saml(now - 3 * day, ALICE, "Salesforce"),
            saml(now - 1 * day, ALICE, "Salesforce"),
            saml(now - 5 * day, DAN, "Acme Wiki"),
            saml(now - 4 * day, ERIN, None),  # no application_name
        ],
        "token": [
            token(now - 4 * day, ALICE, "authorize", "Calendly", CALENDLY,
                  ["https://www.googleapis.com/auth/calendar", "openid", "email"]),
            token(now - 2 * day - timedelta(hours=6), ALICE, "authorize", "Calendly", CALENDLY,
                  ["https://www.googleapis.com/auth/calendar.events"]),
            token(now - 6 * day, DAN, "authorize", "Zapier", ZAPIER,
                  ["https://www.googleapis.com/auth/drive", "https://mail.google.com/"]),
            token(now - 6 * day + timedelta(hours=2), DAN, "revoke", "Zapier", ZAPIER),
            token(now - timedelta(hours=12), ERIN, "authorize", "Notion", NOTION,
                  ["https://www.googleapis.com/auth/drive.readonly"]),
            activity("token", now - timedelta(hours=11), ERIN, "activity",
                     [("client_id", NOTION), ("app_name", "Notion"), ("api_name", "drive")]),
        ],
    }  # fmt: skip


def license_assignments() -> list[dict[str, Any]]:
    return [
        assignment(ALICE, BUSINESS_STANDARD),
        assignment(BOB, BUSINESS_STANDARD),
        assignment(DAN, BUSINESS_STANDARD),
        assignment(ERIN, BUSINESS_STANDARD),
        assignment(CAROL, VAULT_FORMER_EMPLOYEE, product="Google-Vault"),
    ]


def usage_counters() -> dict[str, int]:
    """One day's accounts counters: Business Standard shows up under the legacy G Suite Business name."""
    return {
        "accounts:gsuite_unlimited_total_licenses": 6,
        "accounts:gsuite_unlimited_used_licenses": 4,
        "accounts:gsuite_basic_total_licenses": 0,
        "accounts:gsuite_basic_used_licenses": 0,
        "accounts:gsuite_enterprise_total_licenses": 0,
        "accounts:gsuite_enterprise_used_licenses": 0,
        "accounts:apps_total_licenses": 0,
        "accounts:apps_used_licenses": 0,
        "accounts:num_users": 5,
    }


# --- the fake -----------------------------------------------------------------------------------------


@dataclass
class TokenGrant:
    token: str
    scopes: frozenset[str]


@dataclass
class GoogleFake:
    """Google's token endpoint and the three APIs, over one customer's data."""

    now: datetime
    users: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=usage_counters)
    latest_report: date | None = None  # the last day with a usage report: two days ago by default
    partial_dates: set[date] = field(default_factory=set)
    page_size: int | None = None
    delegated_scopes: frozenset[str] = ALL_SCOPES
    admins: frozenset[str] = frozenset({ADMIN})
    revoke_tokens_on: set[str] = field(default_factory=set)
    reject_tokens_on: set[str] = field(default_factory=set)
    token_lifetime: int = 3599
    # Recorded for assertions.
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.latest_report is None:
            self.latest_report = self.now.date() - timedelta(days=2)
        self._faults: dict[str, deque[Reply]] = {}
        self._breaks: dict[str, tuple[int, Reply]] = {}
        self._tokens: dict[str, TokenGrant] = {}
        self._serial = itertools.count(1)
        self._public_key = private_key().public_key()

    @classmethod
    def sample(cls, now: datetime, **knobs: Any) -> GoogleFake:
        """The Acme tenant: five users (one suspended, one archived), seats, audit logs."""
        return cls(
            now=now,
            users=directory_users(now),
            logs=audit_logs(now),
            assignments=license_assignments(),
            **knobs,
        )

    # --- knobs --------------------------------------------------------------------------------------

    def fault(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``path`` (a prefix) with ``replies``, in order."""
        self._faults.setdefault(path, deque()).extend(replies)

    def break_from_page(self, path: str, page: int, reply: Reply | None = None) -> None:
        """Every request to ``path`` for page ``page`` or later fails with ``reply`` (a 400 by default)."""
        self._breaks[path] = (page, reply or google_error(400, "invalid", "Invalid Input: pageToken"))

    def requests_to(self, prefix: str) -> list[dict[str, str]]:
        return [params for path, params in self.calls if path.startswith(prefix)]

    # --- dispatch -----------------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)
        if request.method == "POST" and path == "/token":
            return self._token(request).response()
        params = {k: v[-1] for k, v in parse_qs(request.url.query.decode(), keep_blank_values=True).items()}
        self.calls.append((path, params))
        grant = self._authenticate(request, path)
        if isinstance(grant, Reply):
            return grant.response()
        for prefix, queue in self._faults.items():
            if path.startswith(prefix) and queue:
                return queue.popleft().response()
        return self._route(path, params, grant).response()

    def _authenticate(self, request: httpx.Request, path: str) -> TokenGrant | Reply:
        for prefix in list(self.revoke_tokens_on):
            if path.startswith(prefix):
                self.revoke_tokens_on.discard(prefix)
                self._tokens.clear()
        if any(path.startswith(prefix) for prefix in self.reject_tokens_on):
            return auth_error()
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        grant = self._tokens.get(value) if scheme == "Bearer" else None
        return grant if grant is not None else auth_error()

    def _route(self, path: str, params: Mapping[str, str], grant: TokenGrant) -> Reply:
        if path == USERS_PATH:
            return self._scoped(grant, DIRECTORY_SCOPE) or self._users(params)
        if path.startswith(ACTIVITY_PATH):
            return self._scoped(grant, AUDIT_SCOPE) or self._activities(
                path.removeprefix(ACTIVITY_PATH), params
            )
        if path.startswith(USAGE_PATH):
            return self._scoped(grant, USAGE_SCOPE) or self._usage(path.removeprefix(USAGE_PATH), params)
        if path.startswith(LICENSING_PATH) and path.endswith("/users"):
            product = path.removeprefix(LICENSING_PATH).removesuffix("/users")
            return self._scoped(grant, LICENSING_SCOPE) or self._licenses(path, product, params)
        return google_error(404, "notFound", f"Method not found: {path}")

    @staticmethod
    def _scoped(grant: TokenGrant, scope: str) -> Reply | None:
        if scope in grant.scopes:
            return None
        return google_error(403, "insufficientPermissions", "Request had insufficient authentication scopes.")

    # --- token endpoint -----------------------------------------------------------------------------

    def _token(self, request: httpx.Request) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("grant_type") != JWT_BEARER:
            return Reply(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
        claims = self._claims(form.get("assertion", ""))
        if claims is None:
            return Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        self.token_requests.append(claims)
        issued_at, expires = claims.get("iat"), claims.get("exp")
        if claims.get("iss") != SERVICE_ACCOUNT or claims.get("aud") != GOOGLE_TOKEN_URL:
            return Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT: iss or aud"})
        if (
            not isinstance(issued_at, int)
            or not isinstance(expires, int)
            or not 0 < expires - issued_at <= 3600
        ):
            message = "Invalid JWT: Token must be a short-lived token (60 minutes)"
            return Reply(400, {"error": "invalid_grant", "error_description": message})
        if claims.get("sub") not in self.admins:
            return Reply(400, {"error": "invalid_grant", "error_description": "Invalid email or User ID"})
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes or not scopes <= self.delegated_scopes:
            return Reply(
                401,
                {
                    "error": "unauthorized_client",
                    "error_description": (
                        "Client is unauthorized to retrieve access tokens using this method, or client "
                        "not authorized for any of the scopes requested."
                    ),
                },
            )
        digest = hashlib.sha256(repr(sorted(scopes)).encode()).hexdigest()[:24]
        value = f"ya29.c.fake{next(self._serial):04d}-{digest}"
        self._tokens[value] = TokenGrant(value, scopes)
        self.issued.append(value)
        return Reply(200, {"access_token": value, "expires_in": self.token_lifetime, "token_type": "Bearer"})

    def _claims(self, assertion: str) -> dict[str, Any] | None:
        """The JWT's claims when its RS256 signature is the test key's, else None."""
        try:
            header, payload, signature = assertion.split(".")
            self._public_key.verify(
                _unb64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            if json.loads(_unb64(header)).get("alg") != "RS256":
                return None
            claims = json.loads(_unb64(payload))
        except (ValueError, InvalidSignature):
            return None
        return claims if isinstance(claims, dict) else None

    # --- listings -----------------------------------------------------------------------------------

    def _page(
        self, path: str, params: Mapping[str, str], items: list[dict[str, Any]], default: int, maximum: int
    ) -> tuple[list[dict[str, Any]], str | None] | Reply:
        """The page ``pageToken`` asks for, and the token of the next one."""
        try:
            size = min(int(params.get("maxResults", default)), maximum)
        except ValueError:
            return google_error(400, "invalid", "Invalid value for maxResults")
        if self.page_size is not None:
            size = min(size, self.page_size)
        query = _query_key(path, params)
        offset = 0
        if params.get("pageToken"):
            decoded = _decode_token(params["pageToken"])
            if decoded is None or decoded[0] != query:
                return google_error(400, "invalid", "Invalid Input: pageToken")
            offset = decoded[1]
        number = offset // max(size, 1) + 1
        broken = next((b for p, b in self._breaks.items() if path.startswith(p)), None)
        if broken is not None and number >= broken[0]:
            return broken[1]
        chunk = items[offset : offset + size]
        following = _encode_token(query, offset + size) if offset + size < len(items) else None
        return chunk, following

    def _users(self, params: Mapping[str, str]) -> Reply:
        if params.get("customer") != "my_customer" and params.get("customer") != CUSTOMER_ID:
            return google_error(400, "badRequest", "Bad Request")
        page = self._page(USERS_PATH, params, self.users, 100, 500)
        if isinstance(page, Reply):
            return page
        chunk, following = page
        body: dict[str, Any] = {"kind": "admin#directory#users", "etag": '"users-etag"'}
        if chunk:
            body["users"] = chunk
        if following:
            body["nextPageToken"] = following
        return Reply(200, body)

    def _activities(self, application: str, params: Mapping[str, str]) -> Reply:
        if application not in ("login", "saml", "token", "admin", "drive"):
            return google_error(400, "invalid", f"Invalid value '{application}'.")
        try:
            start = _time(params["startTime"]) if "startTime" in params else self.now - timedelta(days=180)
            end = _time(params["endTime"]) if "endTime" in params else self.now
        except ValueError:
            return google_error(400, "invalid", "Invalid value for: startTime or endTime")
        if start < self.now - timedelta(days=180):
            return google_error(400, "invalid", "Start time can not be more than 180 days in the past")
        name = params.get("eventName")
        selected = [
            a
            for a in self.logs.get(application, [])
            if _within(a, start, end) and (name is None or any(e["name"] == name for e in a["events"]))
        ]
        selected.sort(
            key=lambda a: (a["id"]["time"], str(a["id"].get("uniqueQualifier"))), reverse=True
        )  # newest first
        page = self._page(ACTIVITY_PATH + application, params, selected, 1000, 1000)
        if isinstance(page, Reply):
            return page
        chunk, following = page
        body: dict[str, Any] = {"kind": "admin#reports#activities", "etag": '"activities-etag"'}
        if chunk:
            body["items"] = chunk
        if following:
            body["nextPageToken"] = following
        return Reply(200, body)

    def _usage(self, day: str, params: Mapping[str, str]) -> Reply:
        try:
            asked = date.fromisoformat(day)
        except ValueError:
            return google_error(
                400, "invalid", f"Invalid value '{day}'. Values must match the format yyyy-mm-dd"
            )
        assert self.latest_report is not None
        if asked > self.latest_report:
            message = (
                f"Data for dates later than {self.latest_report.isoformat()} is not yet available. "
                "Please check back later"
            )
            return google_error(400, "invalid", message)
        body: dict[str, Any] = {"kind": "admin#reports#usageReports", "etag": '"usage-etag"'}
        if asked in self.partial_dates:
            body["warnings"] = [
                {
                    "code": "PARTIAL_DATA_AVAILABLE",
                    "message": (
                        f'Data for date {asked.isoformat()} for application "accounts" is not available.'
                    ),
                    "data": [
                        {"key": "application", "value": "accounts"},
                        {"key": "date", "value": asked.isoformat()},
                    ],
                }
            ]
            body["usageReports"] = []
            return Reply(200, body)
        wanted = [p for p in params.get("parameters", "").split(",") if p]
        values = [
            {"name": name, "intValue": str(self.counters[name])}
            for name in wanted or self.counters
            if name in self.counters
        ]
        body["usageReports"] = [
            {
                "kind": "admin#reports#usageReport",
                "date": asked.isoformat(),
                "etag": '"usage-report-etag"',
                "entity": {"customerId": CUSTOMER_ID, "type": "CUSTOMER"},
                "parameters": values,
            }
        ]
        return Reply(200, body)

    def _licenses(self, path: str, product: str, params: Mapping[str, str]) -> Reply:
        if params.get("customerId") != CUSTOMER_ID:
            return google_error(400, "invalid", "Invalid customerId")
        if product not in PRODUCTS:
            return google_error(400, "invalid", f"Invalid productId: {product}")
        items = [a for a in self.assignments if a["productId"] == product]
        page = self._page(path, params, items, 100, 1000)
        if isinstance(page, Reply):
            return page
        chunk, following = page
        body: dict[str, Any] = {
            "kind": "licensing#licenseAssignmentList",
            "etag": '"licenses-etag"',
            "items": chunk,
        }
        if following:
            body["nextPageToken"] = following
        return Reply(200, body)


def _within(item: dict[str, Any], start: datetime, end: datetime) -> bool:
    """Whether an activity falls in [start, end]; one with a broken time (planted by a test) always does."""
    try:
        return start <= _time(item["id"]["time"]) <= end
    except ValueError:
        return True


def _time(raw: str) -> datetime:
    return datetime.fromisoformat(raw).astimezone(UTC)


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _query_key(path: str, params: Mapping[str, str]) -> str:
    """What a page token is bound to: the path and every parameter but the token itself."""
    kept = sorted((k, v) for k, v in params.items() if k not in ("pageToken", "alt"))
    return hashlib.sha256(repr((path, kept)).encode()).hexdigest()[:16]


def _encode_token(query: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{query}:{offset}".encode()).decode().rstrip("=")


def _decode_token(raw: str) -> tuple[str, int] | None:
    try:
        query, _, offset = _unb64(raw).decode().partition(":")
        return query, int(offset)
    except ValueError:
        return None
