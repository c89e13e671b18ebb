"""A fake Microsoft Graph and Entra ID token endpoint, behaving the way VENDOR_APIS.md section 2 says.

- ``POST /{tenant}/oauth2/v2.0/token`` (client credentials) issues tokens that expire on the fake's
  clock; an expired, revoked or unknown token gets 401 ``InvalidAuthenticationToken``.
- ``GET /v1.0/subscribedSkus``, ``/v1.0/users`` (``$select`` honoured; pages of at most ``$top``,
  500 with signInActivity and 999 without, smaller with ``page_size``; the next page is an absolute
  ``@odata.nextLink`` with an opaque ``$skiptoken`` that only the fake can resolve, so a rebuilt URL
  fails the way Graph fails it), ``/v1.0/oauth2PermissionGrants`` (paged alike) and
  ``/v1.0/servicePrincipals/{id}`` (404 for a deleted one), ``/v1.0/applications(appId='...')``
  (the connector's own app registration with its secrets and certificate, ``$select`` honoured; 404
  for another appId, 403 ``Authorization_RequestDenied`` with ``applications_allowed=False``).
- A tenant without Entra ID P1 (``premium=False``) answers 403
  ``Authentication_RequestFromNonPremiumTenantOrB2CTenant`` when signInActivity is selected (a
  licensed one from page ``non_premium_from_page`` on, as seen intermittently); without
  AuditLog.Read.All (``audit_log_allowed=False``) it answers 403 ``Authorization_RequestDenied``.
- ``GET /v1.0/reports/getOffice365ActiveUserDetail(period='D30')`` answers 302 to a download URL
  serving the CSV with a byte-order mark and Microsoft's column names; user names are 32-digit
  hashes with ``concealed=True``. The beta endpoint with ``$format=application/json`` pages JSON.
- Faults: :meth:`GraphFake.fault` queues replies (429 with or without ``Retry-After``, 503/504 ...)
  for a path; ``fail_users_from_page`` breaks the user listing from that page on (a failure mid-sync);
  ``revoke_tokens_on`` revokes every token when a path is first requested (401, then renewal).

Every listing is finite and every queue is consumed, so no loop in the fake can run away. Data are
invented: example.com / example.net domains and made-up ids.
"""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import io
import itertools
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx

TENANT_ID = "8f1c2a4e-7d3b-4c9a-9e21-5b6f0a1d2c3e"
CLIENT_ID = "5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
CLIENT_SECRET = "Qx8~fake.client.secret-Zz91kLmN0pQrStUv"
GRAPH = "https://graph.test"
LOGIN = "https://login.test"
DOWNLOAD = "https://reports.test"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)

REPORT_COLUMNS = (
    "Report Refresh Date",
    "User Principal Name",
    "Display Name",
    "Is Deleted",
    "Deleted Date",
    "Has Exchange License",
    "Has OneDrive License",
    "Has SharePoint License",
    "Has Skype For Business License",
    "Has Yammer License",
    "Has Teams License",
    "Exchange Last Activity Date",
    "OneDrive Last Activity Date",
    "SharePoint Last Activity Date",
    "Skype For Business Last Activity Date",
    "Yammer Last Activity Date",
    "Teams Last Activity Date",
    "Exchange License Assign Date",
    "OneDrive License Assign Date",
    "SharePoint License Assign Date",
    "Skype For Business License Assign Date",
    "Yammer License Assign Date",
    "Teams License Assign Date",
    "Assigned Products",
)
APPLICATION_BY_APP_ID = re.compile(r"^/v1\.0/applications\(appId='([^']*)'\)$")
REPORT_FUNCTION = re.compile(r"/reports/getOffice365ActiveUserDetail\(period='D(7|30|90|180)'\)$")
WORKLOAD_LABELS = {
    "exchange": "Exchange",
    "onedrive": "OneDrive",
    "sharepoint": "SharePoint",
    "skype_for_business": "Skype For Business",
    "yammer": "Yammer",
    "teams": "Teams",
}


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def response(self) -> httpx.Response:
        headers = {"request-id": "0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", **self.headers}
        if self.body is None:
            return httpx.Response(self.status, headers=headers)
        if isinstance(self.body, str):  # not JSON: an HTML error page from a proxy, say
            return httpx.Response(self.status, headers=headers, content=self.body.encode())
        return httpx.Response(
            self.status,
            headers={"Content-Type": JSON_TYPE, **headers},
            content=json.dumps(self.body).encode(),
        )


def graph_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Reply:
    """A Graph error reply: ``{"error": {"code", "message", "innerError"}}``."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": "2026-11-20T08:00:00",
                "request-id": "0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3",
                "client-request-id": "0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3",
            },
        }
    }
    return Reply(status, dict(headers or {}), body)


def throttled(retry_after: str | None = None) -> Reply:
    """429 as Graph's directory throttling sends it; some resources leave Retry-After out."""
    headers = {
        "x-ms-throttle-scope": "Tenant_Application/ReadWrite/8f1c2a4e/5d6e7f80",
        "x-ms-throttle-information": "ResourceUnitLimitExceeded",
    }
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return graph_error(429, "TooManyRequests", "Too many requests.", headers)


def unavailable(status: int = 503, retry_after: str | None = "2") -> Reply:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    code = "serviceNotAvailable" if status == 503 else "gatewayTimeout"
    return graph_error(status, code, "The service is temporarily unavailable.", headers)


NON_PREMIUM = graph_error(
    403,
    "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
    "Neither tenant is B2C or tenant doesn't have premium license",
)
EXPIRED_PAGE_TOKEN = graph_error(
    400,
    "Directory_ExpiredPageToken",
    "The specified page token value has expired and can no longer be included in your request.",
)
FORBIDDEN = graph_error(
    403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
)


def sku(
    sku_id: str, part: str, enabled: int, consumed: int, *, applies_to: str = "User", **held: int
) -> dict[str, Any]:
    """A subscribedSku object shaped like microsoft-graph-docs' example."""
    prepaid = {"enabled": enabled, "lockedOut": 0, "suspended": 0, "warning": 0, **held}
    return {
        "accountName": "Contoso",
        "accountId": TENANT_ID,
        "appliesTo": applies_to,
        "capabilityStatus": "Warning" if prepaid["warning"] else "Enabled",
        "consumedUnits": consumed,
        "id": f"{TENANT_ID}_{sku_id}",
        "prepaidUnits": prepaid,
        "servicePlans": [
            {
                "servicePlanId": "57ff2da0-773e-42df-b2af-ffb7a2317929",
                "servicePlanName": "TEAMS1",
                "provisioningStatus": "Success",
                "appliesTo": applies_to,
            }
        ],
        "skuId": sku_id,
        "skuPartNumber": part,
        "subscriptionIds": ["43d26afe-cb98-48b9-acc4-ae3ef2ac6c51"],
    }


def sign_in(
    successful: str | None = None,
    interactive: str | None = "0001-01-01T00:00:00Z",
    non_interactive: str | None = "0001-01-01T00:00:00Z",
) -> dict[str, Any]:
    """A signInActivity object; Graph fills never-happened times with the .NET minimum date or ""."""
    return {
        "lastSignInDateTime": interactive,
        "lastSignInRequestId": "d4d31c40-4c36-4775-ad59-7d1e6a171f00" if interactive else "",
        "lastNonInteractiveSignInDateTime": non_interactive,
        "lastNonInteractiveSignInRequestId": "",
        "lastSuccessfulSignInDateTime": successful if successful is not None else "",
        "lastSuccessfulSignInRequestId": "",
    }


def user(
    user_id: str,
    upn: str,
    name: str,
    *skus: str,
    mail: str | None = "",
    enabled: bool = True,
    user_type: str = "Member",
    department: str | None = None,
    created: str = "2024-02-26T11:14:00Z",
    **extra: Any,
) -> dict[str, Any]:
    """A Graph user; ``mail=""`` means "same as the UPN", None a user without a mailbox."""
    return {
        "id": user_id,
        "userPrincipalName": upn,
        "mail": upn if mail == "" else mail,
        "displayName": name,
        "accountEnabled": enabled,
        "department": department,
        "assignedLicenses": [{"disabledPlans": [], "skuId": s} for s in skus],
        "createdDateTime": created,
        "userType": user_type,
        **extra,
    }


def report_row(
    upn: str,
    name: str,
    refreshed: str = "2026-11-19",
    *,
    licensed: Sequence[str] = (),
    deleted: bool = False,
    products: str = "",
    **last_activity: str,
) -> dict[str, str]:
    """An active user detail row; ``last_activity`` maps workloads (exchange, teams ...) to dates."""
    row = dict.fromkeys(REPORT_COLUMNS, "")
    row.update({"Report Refresh Date": refreshed, "User Principal Name": upn, "Display Name": name})
    row["Is Deleted"] = "True" if deleted else "False"
    for workload, label in WORKLOAD_LABELS.items():
        row[f"Has {label} License"] = "True" if workload in licensed else "False"
        row[f"{label} Last Activity Date"] = last_activity.get(workload, "")
        row[f"{label} License Assign Date"] = "2024-02-26" if workload in licensed else ""
    row["Assigned Products"] = products
    return row


# ------------------------------------------------------------------------------------------------
# A small tenant with every case the connector must handle.

E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"
BUSINESS_STANDARD = "f245ecc8-75af-4f8e-b61f-27d8114de5f3"
POWER_BI_PRO = "f8a1db68-be16-40ed-86d5-cb42ce701560"
FLOW_FREE = "f30db892-07e9-47e9-837c-80727f46fd3d"
EXTRA_STORAGE = "99049c9c-6011-4908-bf17-15f496e6519d"
ROOMS_PRO = "4cde982a-ede4-4409-9ae6-b003453c8ea6"

ADELE = "1aecaf40-dc3a-461f-88a8-d06994e12898"
ALEX = "f0662ee5-84b1-43d6-8338-769cce1bc141"
MEGAN = "48d31887-5fad-4d73-a9f5-3c356e68a038"
LEE = "2a5b7c9d-1e3f-4a6b-8c0d-2e4f6a8b0c1d"
DIEGO = "5c7e9a1b-3d5f-4b7c-9e1a-3c5e7a9b1d3f"
NESTOR = "7e9a1c3d-5f7b-4d9e-8a2c-4e6a8c0e2f4a"

ACME_NOTES_SP = "a1b2c3d4-0001-4000-8000-000000000001"
ACME_NOTES_APP = "b2c3d4e5-0001-4000-8000-000000000001"
HR_PORTAL_SP = "a1b2c3d4-0002-4000-8000-000000000002"
DELETED_SP = "a1b2c3d4-0003-4000-8000-000000000003"
GRAPH_SP = "c0ffee00-0000-4000-8000-000000000000"
SHAREPOINT_SP = "c0ffee00-0001-4000-8000-000000000001"


def default_skus() -> list[dict[str, Any]]:
    return [
        sku(E5, "SPE_E5", 5, 3),
        sku(BUSINESS_STANDARD, "O365_BUSINESS_PREMIUM", 10, 2, warning=2),
        sku(POWER_BI_PRO, "POWER_BI_PRO", 2, 1),
        sku(FLOW_FREE, "FLOW_FREE", 10000, 1),
        sku(EXTRA_STORAGE, "SHAREPOINTSTORAGE", 10, 0, applies_to="Company"),
        sku(ROOMS_PRO, "Microsoft_Teams_Rooms_Pro", 1, 0),
    ]


def default_users() -> list[dict[str, Any]]:
    return [
        user(ADELE, "Adele.Vance@example.com", "Adele Vance", E5, POWER_BI_PRO, department="Retail",
             signInActivity=sign_in("2026-11-18T08:15:00Z", "2026-11-19T07:00:00Z", "2026-11-19T09:30:00Z")),
        # Disabled; last success predates lastSuccessfulSignInDateTime (not backfilled): "" there.
        user(ALEX, "alex.wilber@example.com", "Alex Wilber", E5, enabled=False,
             signInActivity=sign_in(None, "2023-06-17T16:41:33Z")),
        user(MEGAN, "megan.bowen@example.com", "Megan Bowen", E5, signInActivity=None),
        user(LEE, "lee.gu_partner.example#EXT#@contoso.onmicrosoft.com", "Lee Gu",
             mail="Lee.Gu@partner.example", user_type="Guest",
             signInActivity=sign_in(None, "0001-01-01T00:00:00Z", "")),
        user(DIEGO, "diego.siciliani@example.com", "Diego Siciliani", BUSINESS_STANDARD, FLOW_FREE),
        user(NESTOR, "nestor.wilke@example.com", "Nestor Wilke", BUSINESS_STANDARD, mail=None,
             signInActivity=sign_in("2026-10-02T11:00:00Z")),
    ]  # fmt: skip


def default_report() -> list[dict[str, str]]:
    every = ("exchange", "onedrive", "sharepoint", "skype_for_business", "yammer", "teams")
    return [
        report_row("Adele.Vance@example.com", "Adele Vance", licensed=every, exchange="2026-11-18",
                   teams="2026-11-17", sharepoint="2026-09-30", products="MICROSOFT 365 E5+POWER BI PRO"),
        report_row("alex.wilber@example.com", "Alex Wilber", licensed=every, exchange="2023-06-16",
                   products="MICROSOFT 365 E5"),
        report_row("megan.bowen@example.com", "Megan Bowen", licensed=("exchange", "teams"),
                   products="MICROSOFT 365 E5"),
        report_row("diego.siciliani@example.com", "Diego Siciliani", licensed=("exchange",),
                   exchange="2026-11-10", products="MICROSOFT 365 BUSINESS STANDARD"),
        report_row("gone.user@example.com", "Gone User", licensed=("exchange",), deleted=True,
                   exchange="2026-10-01"),
        report_row("not.listed@example.com", "Not Listed", licensed=("exchange",), exchange="2026-11-01"),
    ]  # fmt: skip


def grant(client: str, resource: str, scope: str, principal: str | None = None) -> dict[str, Any]:
    return {
        "clientId": client,
        "consentType": "Principal" if principal else "AllPrincipals",
        "id": base64.urlsafe_b64encode(f"{client}{resource}{principal}".encode()).decode()[:43],
        "principalId": principal,
        "resourceId": resource,
        "scope": scope,
    }


def default_grants() -> list[dict[str, Any]]:
    return [
        grant(ACME_NOTES_SP, GRAPH_SP, " User.Read Mail.Read offline_access ", ADELE),
        grant(ACME_NOTES_SP, SHAREPOINT_SP, "AllSites.Read", ADELE),
        grant(HR_PORTAL_SP, GRAPH_SP, "User.Read", None),  # admin consent for everyone
        grant(DELETED_SP, GRAPH_SP, "Files.Read", MEGAN),
        grant(ACME_NOTES_SP, GRAPH_SP, "User.Read", "0d0e0f10-9999-4000-8000-00000000dead"),  # deleted user
        grant(ACME_NOTES_SP, GRAPH_SP, "", DIEGO),  # a grant of nothing
    ]


def default_service_principals() -> dict[str, dict[str, Any]]:
    return {
        ACME_NOTES_SP: {"id": ACME_NOTES_SP, "appId": ACME_NOTES_APP, "displayName": "Acme Notes"},
        HR_PORTAL_SP: {"id": HR_PORTAL_SP, "appId": "b2c3d4e5-0002-4000-8000-000000000002",
                       "displayName": "Contoso HR Portal"},
        GRAPH_SP: {"id": GRAPH_SP, "appId": GRAPH_APP_ID, "displayName": "Microsoft Graph"},
        SHAREPOINT_SP: {"id": SHAREPOINT_SP, "appId": "00000003-0000-0ff1-ce00-000000000000",
                        "displayName": "Office 365 SharePoint Online"},
    }  # fmt: skip


def graph_stamp(moment: datetime) -> str:
    """A DateTimeOffset as Graph writes credential dates: UTC, Z, seven fractional digits (the
    seventh, finer than Python keeps, is always 7)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "7Z"


def password_credential(
    name: str | None, hint: str | None, start: datetime, end: datetime, key_id: str
) -> dict[str, Any]:
    """A passwordCredential as GET /applications returns it: never the secret, only its hint."""
    return {
        "customKeyIdentifier": None,
        "displayName": name,
        "endDateTime": graph_stamp(end),
        "hint": hint,
        "keyId": key_id,
        "secretText": None,
        "startDateTime": graph_stamp(start),
    }


# The certificate ends before either secret: a connector that counted it would report its end.
SECRET_VALID_DAYS = 200
CERTIFICATE_VALID_DAYS = 10
SUB_SECOND = timedelta(microseconds=123456)  # written .1234567: Graph counts in 100 ns ticks


def default_application(now: datetime) -> dict[str, Any]:
    """The connector's app registration, dated around ``now``: the secret it signs in with (hint =
    the first three characters of CLIENT_SECRET), an expired one before it, and a certificate."""
    day = timedelta(days=1)
    ends = now + SECRET_VALID_DAYS * day + SUB_SECOND
    return {
        "id": "e1f2a3b4-0000-4000-8000-00000000a990",
        "appId": CLIENT_ID,
        "displayName": "saaswatch (read-only)",
        "passwordCredentials": [
            password_credential("saaswatch 2025", "Old", now - 400 * day, now - 35 * day,
                                "0a1b2c3d-0001-4000-8000-00000000a991"),
            password_credential("saaswatch 2026", CLIENT_SECRET[:3], now - 36 * day,
                                ends, "0a1b2c3d-0002-4000-8000-00000000a992"),
        ],
        "keyCredentials": [
            {
                "customKeyIdentifier": "52D5B8A5C4E1A1F0B3C2D1E0F9A8B7C6D5E4F3A2",
                "displayName": "CN=saaswatch-legacy",
                "endDateTime": graph_stamp(now + CERTIFICATE_VALID_DAYS * day),
                "key": None,
                "keyId": "0a1b2c3d-0003-4000-8000-00000000a993",
                "startDateTime": graph_stamp(now - 355 * day),
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
            }
        ],
    }  # fmt: skip


# ------------------------------------------------------------------------------------------------


class GraphFake:
    """``__call__(request) -> httpx.Response``; mount with httpx.MockTransport or FakeServer."""

    def __init__(
        self,
        *,
        users: list[dict[str, Any]] | None = None,
        skus: list[dict[str, Any]] | None = None,
        report: list[dict[str, str]] | None = None,
        grants: list[dict[str, Any]] | None = None,
        service_principals: dict[str, dict[str, Any]] | None = None,
        application: dict[str, Any] | None = None,
        premium: bool = True,
        concealed: bool = False,
        reports_allowed: bool = True,
        audit_log_allowed: bool = True,
        applications_allowed: bool = True,
        page_size: int | None = None,
        token_lifetime: int = 3599,
        clock: Callable[[], float] = time.time,
        download_base: str | None = DOWNLOAD,
    ) -> None:
        self.users = default_users() if users is None else users
        self.skus = default_skus() if skus is None else skus
        self.report = default_report() if report is None else report
        self.grants = default_grants() if grants is None else grants
        self.service_principals = (
            default_service_principals() if service_principals is None else service_principals
        )
        # Dated by the fake's clock when it is made, so its secrets are valid and expired whenever
        # the tests run.
        self.application = (
            default_application(datetime.fromtimestamp(clock(), UTC)) if application is None else application
        )
        self.premium = premium
        self.concealed = concealed
        self.reports_allowed = reports_allowed
        self.audit_log_allowed = audit_log_allowed  # AuditLog.Read.All granted: signInActivity readable
        self.applications_allowed = applications_allowed  # Application.Read.All granted
        self.page_size = page_size
        self.token_lifetime = token_lifetime
        self.clock = clock
        # Where report downloads are served; None: the origin the request came to (FakeServer).
        self.download_base = download_base
        # The user listing breaks from this page on (a failure mid-sync), answering users_failure:
        # by default the 400 Graph gives a $skiptoken it no longer honours, which is not retried.
        self.fail_users_from_page: int | None = None
        self.users_failure = EXPIRED_PAGE_TOKEN
        # A licensed tenant that still refuses signInActivity from this page of users on, as Graph
        # has been seen to do intermittently (microsoft-graph-docs#14120).
        self.non_premium_from_page: int | None = None
        # The first request to a path starting with this finds every token revoked.
        self.revoke_tokens_on: str | None = None
        self.requests: list[httpx.Request] = []
        self.statuses: list[int] = []  # the status of each answer, in the order of requests
        self.token_requests = 0
        self.tokens: dict[str, float] = {}  # token -> expiry on the fake's clock
        self._faults: dict[str, list[Reply]] = {}
        self.next_links: dict[str, list[str]] = {}  # every @odata.nextLink handed out, per listing
        self._skiptokens: dict[str, tuple[str, int]] = {}  # opaque token -> (listing, offset)
        self._downloads: dict[str, bytes] = {}
        self._counter = itertools.count(1)

    # -- knobs ------------------------------------------------------------------------------------

    def fault(self, path: str, *replies: Reply) -> None:
        """Answer the next requests whose path starts with ``path`` with ``replies``, in order."""
        self._faults.setdefault(path, []).extend(replies)

    def revoke_tokens(self) -> None:
        """Every issued token stops working (rotated secret, revoked session): the next call gets 401."""
        self.tokens.clear()

    def graph_requests(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.startswith(path)]

    # -- dispatch ---------------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self._dispatch(request)
        self.statuses.append(response.status_code)
        return response

    def _dispatch(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        for prefix, queue in self._faults.items():
            if path.startswith(prefix) and queue:
                return queue.pop(0).response()
        if path == f"/{TENANT_ID}/oauth2/v2.0/token" and request.method == "POST":
            return self._token(request)
        if path.startswith("/data/download/"):
            return self._download(path)
        if self.revoke_tokens_on is not None and path.startswith(self.revoke_tokens_on):
            self.revoke_tokens_on = None
            self.revoke_tokens()
        if not self._authorized(request):
            return graph_error(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.",
                {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'},
            ).response()  # fmt: skip
        return self._route(request, path).response()

    def _route(self, request: httpx.Request, path: str) -> Reply:
        if path == "/v1.0/subscribedSkus":
            return self._page(request, "subscribedSkus", self.skus, 999)
        if path == "/v1.0/users":
            return self._users(request)
        if path == "/v1.0/oauth2PermissionGrants":
            return self._page(request, "oauth2PermissionGrants", self.grants, 100)
        if path.startswith("/v1.0/servicePrincipals/"):
            return self._service_principal(request, path.rsplit("/", 1)[1])
        if found := APPLICATION_BY_APP_ID.match(path):
            return self._application(request, found.group(1))
        if path.startswith(("/v1.0/reports/", "/beta/reports/")):
            return self._report(request, path)
        return graph_error(
            400, "BadRequest", f"Resource not found for the segment '{path.rsplit('/', 1)[-1]}'."
        )

    # -- token ------------------------------------------------------------------------------------

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.token_requests += 1
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("scope") != "https://graph.microsoft.com/.default"
        ):
            return Reply(
                400, {}, {"error": "invalid_request", "error_description": "AADSTS90014: bad request."}
            ).response()
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Reply(401, {}, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being "
                "sent in the request is the client secret value, not the client secret ID.",
                "error_codes": [7000215],
            }).response()  # fmt: skip
        number = next(self._counter)
        payload = base64.urlsafe_b64encode(
            json.dumps({"aud": "https://graph.microsoft.com", "n": number}).encode()
        )
        token = (
            f"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{payload.decode().rstrip('=')}.c2lnbmF0dXJlLXtoken{number}"
        )
        self.tokens[token] = self.clock() + self.token_lifetime
        lifetime = self.token_lifetime
        body = {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }
        return Reply(200, {}, body).response()

    def _authorized(self, request: httpx.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expires = self.tokens.get(token)
        return scheme == "Bearer" and expires is not None and self.clock() < expires

    # -- listings ---------------------------------------------------------------------------------

    def _page(
        self, request: httpx.Request, listing: str, items: list[dict[str, Any]], top: int, cap: int = 999
    ) -> Reply:
        params = request.url.params
        offset = 0
        if "$skiptoken" in params:
            known = self._skiptokens.get(params["$skiptoken"])
            if known is None or known[0] != listing:
                return EXPIRED_PAGE_TOKEN
            offset = known[1]
        size = min(int(params.get("$top", top)), cap, self.page_size or cap)
        page = items[offset : offset + size]
        body: dict[str, Any] = {
            "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{listing}",
            "value": page,
        }
        if offset + size < len(items):
            token = self._skiptoken(listing, offset + size)
            query = "&".join(f"{k}={v}" for k, v in params.multi_items() if k != "$skiptoken")
            origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
            link = f"{origin}{request.url.path}?{query}&$skiptoken={token}".replace("?&", "?")
            body["@odata.nextLink"] = link
            self.next_links.setdefault(listing, []).append(link)
        return Reply(200, {"x-ms-resource-unit": "1"}, body)

    def _skiptoken(self, listing: str, offset: int) -> str:
        raw = hashlib.sha256(f"{listing}:{offset}:{next(self._counter)}".encode()).digest()
        token = "RFNwdAIAAQAAAD8" + base64.urlsafe_b64encode(raw).decode().rstrip("=")
        self._skiptokens[token] = (listing, offset)
        return token

    def _users(self, request: httpx.Request) -> Reply:
        select = [s for s in request.url.params.get("$select", "").split(",") if s]
        with_sign_in = "signInActivity" in select
        if with_sign_in and not self.premium:
            return NON_PREMIUM
        if with_sign_in and not self.audit_log_allowed:
            return FORBIDDEN
        page = self._page_number(request)
        if with_sign_in and self.non_premium_from_page is not None and page >= self.non_premium_from_page:
            return NON_PREMIUM
        if self.fail_users_from_page is not None and page >= self.fail_users_from_page:
            return self.users_failure
        shown = [
            {k: v for k, v in u.items() if not select or k in select or k == "id"}
            if isinstance(u, dict)
            else u
            for u in self.users
        ]
        return self._page(request, "users", copy.deepcopy(shown), 100, cap=500 if with_sign_in else 999)

    def _page_number(self, request: httpx.Request) -> int:
        """Which page of its listing ``request`` asks for (1 without a $skiptoken)."""
        token = request.url.params.get("$skiptoken")
        if token is None:
            return 1
        size = min(int(request.url.params.get("$top", 100)), self.page_size or 999)
        return self._skiptokens.get(token, ("", 0))[1] // size + 1

    def _service_principal(self, request: httpx.Request, object_id: str) -> Reply:
        found = self.service_principals.get(object_id)
        if found is None:
            return graph_error(
                404,
                "Request_ResourceNotFound",
                f"Resource '{object_id}' does not exist or one of its queried reference-property objects "
                "are not present.",
            )
        select = [s for s in request.url.params.get("$select", "").split(",") if s]
        body = {k: v for k, v in found.items() if not select or k in select}
        return Reply(
            200,
            {},
            {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity",
                **body,
            },
        )

    def _application(self, request: httpx.Request, app_id: str) -> Reply:
        if not self.applications_allowed:
            return FORBIDDEN
        if app_id != self.application.get("appId"):
            # Also what a multi-tenant app gets in a customer's tenant: it is registered elsewhere.
            return graph_error(
                404,
                "Request_ResourceNotFound",
                f"Resource 'appId={app_id}' does not exist or one of its queried reference-property "
                "objects are not present.",
            )
        select = [s for s in request.url.params.get("$select", "").split(",") if s]
        body = {k: v for k, v in self.application.items() if not select or k in select or k == "id"}
        context = "https://graph.microsoft.com/v1.0/$metadata#applications/$entity"
        return Reply(200, {}, {"@odata.context": context, **copy.deepcopy(body)})

    # -- usage report -----------------------------------------------------------------------------

    def _report_rows(self) -> list[dict[str, str]]:
        if not self.concealed:
            return self.report
        hidden = []
        for row in self.report:
            row = dict(row)
            for column in ("User Principal Name", "Display Name"):
                row[column] = hashlib.md5(row[column].encode()).hexdigest().upper()
            hidden.append(row)
        return hidden

    def _report(self, request: httpx.Request, path: str) -> Reply:
        if not self.reports_allowed:
            return FORBIDDEN
        if not REPORT_FUNCTION.search(path):
            return graph_error(400, "BadRequest", "Invalid period: use D7, D30, D90 or D180.")
        if request.url.params.get("$format") == "application/json":
            if not path.startswith("/beta/"):
                return graph_error(400, "BadRequest", "$format is not supported on v1.0 for this report.")
            rows = [_camel(row) for row in self._report_rows()]
            return self._page(request, "office365ActiveUserDetail", rows, 200)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(self._report_rows())
        name = base64.urlsafe_b64encode(hashlib.sha256(str(next(self._counter)).encode()).digest()).decode()[
            :28
        ]
        self._downloads[name] = "\ufeff".encode() + out.getvalue().encode()
        origin = self.download_base or f"{request.url.scheme}://{request.url.netloc.decode()}"
        return Reply(302, {"Location": f"{origin}/data/download/{name}", "Content-Type": "text/plain"})

    def _download(self, path: str) -> httpx.Response:
        content = self._downloads.get(path.rsplit("/", 1)[1])
        if content is None:
            return httpx.Response(404, content=b"The download link has expired.")
        return httpx.Response(200, headers={"Content-Type": "application/octet-stream"}, content=content)


def _camel(row: Mapping[str, str]) -> dict[str, Any]:
    """A CSV row as the beta JSON report spells it: camelCase names, booleans, null for no date."""
    out: dict[str, Any] = {}
    for column, value in row.items():
        words = column.replace("Skype For Business", "SkypeForBusiness").split()
        key = words[0][0].lower() + words[0][1:] + "".join(words[1:])
        if column.startswith(("Has ", "Is ")):
            out[key] = value == "True"
        elif column == "Assigned Products":
            out[key] = [p for p in value.split("+") if p]
        else:
            out[key] = value or None
    return out
