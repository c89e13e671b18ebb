"""A fake of the Salesforce REST API (SOQL queries) and its OAuth 2.0 token endpoint.

It serves ``POST /services/oauth2/token`` (client credentials) and, under ``/services/data/vNN.0``,
``GET /query?q=SELECT ... FROM UserLicense|User`` with Salesforce's paging (``totalSize``, ``done``,
a relative ``nextRecordsUrl`` to ``/query/<locator>-<offset>``). Records come from
``data/salesforce/*.json`` (scrubbed, example.com). Every API response carries
``Sforce-Limit-Info: api-usage=<used>/<limit>``; errors are Salesforce's JSON list
``[{"message", "errorCode"}]``. Knobs: the API allocation (403 ``REQUEST_LIMIT_EXCEEDED`` once it is
spent), a session revoked mid-sync (401 ``INVALID_SESSION_ID``), a query locator that expires
(400 ``INVALID_QUERY_LOCATOR``), and injected responses (503 ``SERVER_UNAVAILABLE``, ...).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

DATA = Path(__file__).with_name("data") / "salesforce"

CLIENT_ID = "3MVG9fakeConsumerKey0000000000000000000000000000000000000000000000000"
CLIENT_SECRET = "FAKE0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCD"
ORG_ID = "00Dxx0000001gGGEAY"
VERSION = "62.0"
_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)
_LOCATOR = "01gxx0000002HU6KIAW"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def sf_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=[{"message": message, "errorCode": code}], headers=headers)


def unavailable() -> httpx.Response:
    return sf_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, please try again later.")


def insufficient_access() -> httpx.Response:
    return sf_error(
        403,
        "INSUFFICIENT_ACCESS",
        "sObject type 'UserLicense' is not supported. If you are attempting to use a custom object, "
        "be sure to append the '__c' after the entity name.",
    )


class SalesforceFake:
    """``__call__(request) -> response``; mount with httpx.MockTransport or FakeServer."""

    def __init__(
        self,
        users: list[Any] | None = None,
        licenses: list[Any] | None = None,
        *,
        batch_size: int = 2000,
        api_used: int = 1200,
        api_limit: int = 15000,
    ) -> None:
        self.objects: dict[str, list[Any]] = {
            "User": load("users.json") if users is None else users,
            "UserLicense": load("user_licenses.json") if licenses is None else licenses,
        }
        self.batch_size = batch_size  # rows per page; Salesforce's default is 2000
        self.api_used = api_used
        self.api_limit = api_limit
        self.requests: list[httpx.Request] = []
        self.tokens_issued: list[str] = []
        self._valid_tokens: set[str] = set()
        self.injected: list[tuple[str, httpx.Response]] = []
        self.revoke_sessions_after: int | None = None  # API calls, then every session is invalid
        self.expire_locator_at_offset: int | None = None  # that next page's locator has expired
        self.static_tokens: set[str] = set()  # tokens issued elsewhere, accepted until revoked
        self.api_calls = 0

    def inject(self, sobject: str, *responses: httpx.Response) -> None:
        """Serve ``responses`` to the next API calls that query (or page through) ``sobject``."""
        self.injected.extend((sobject, r) for r in responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/services/oauth2/token":
            return self._token(request)
        self.api_calls += 1
        for index, (sobject, response) in enumerate(self.injected):
            if self._sobject_of(request) == sobject:
                del self.injected[index]
                return response
        if self.revoke_sessions_after is not None and self.api_calls > self.revoke_sessions_after:
            self._valid_tokens.clear()
            self.static_tokens.clear()
            self.revoke_sessions_after = None
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self._valid_tokens | self.static_tokens:
            return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if self.api_used >= self.api_limit:
            return sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", self._usage())
        self.api_used += 1
        prefix = f"/services/data/v{VERSION}/query"
        if not path.startswith(prefix):
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist", self._usage())
        sobject = self._sobject_of(request)
        if path == prefix:
            if sobject not in self.objects:
                return sf_error(
                    400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.", self._usage()
                )
            return self._page(sobject, 0)
        offset = path.rpartition("-")[2]
        expired = offset.isdigit() and int(offset) == self.expire_locator_at_offset
        if sobject not in self.objects or not offset.isdigit() or expired:
            return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator", self._usage())
        return self._page(sobject, int(offset))

    @staticmethod
    def _sobject_of(request: httpx.Request) -> str:
        """The object a query names (``FROM User``), or whose query locator a next page follows."""
        prefix = f"/services/data/v{VERSION}/query"
        path = request.url.path
        if path == prefix:
            match = _FROM.search(request.url.params.get("q", ""))
            return match.group(1) if match else ""
        return path.removeprefix(prefix + "/").rpartition("-")[0].removeprefix(_LOCATOR + "_")

    def _usage(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.api_limit}"}

    def _page(self, sobject: str, offset: int) -> httpx.Response:
        rows = self.objects[sobject]
        end = offset + self.batch_size
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows), "records": rows[offset:end]}
        if end < len(rows):
            body["nextRecordsUrl"] = f"/services/data/v{VERSION}/query/{_LOCATOR}_{sobject}-{end}"
        return httpx.Response(200, json=body, headers=self._usage())

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if request.method != "POST" or form.get("grant_type") != "client_credentials":
            return httpx.Response(
                400, json={"error": "unsupported_grant_type", "error_description": "grant type not supported"}
            )
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return httpx.Response(
                400, json={"error": "invalid_client", "error_description": "invalid client credentials"}
            )
        token = f"{ORG_ID}!AQ4AQFakeSessionToken{len(self.tokens_issued) + 1:04d}.abcdefghijklmnop"
        self.tokens_issued.append(token)
        self._valid_tokens.add(token)
        host = f"{request.url.scheme}://{request.url.netloc.decode()}"
        return httpx.Response(
            200,
            json={
                "access_token": token,
                "signature": "c2lnbmF0dXJlLW9mLWEtZmFrZS10b2tlbg==",
                "scope": "api",
                "instance_url": host,
                "id": f"{host}/id/{ORG_ID}/005xx0000012099AAA",
                "token_type": "Bearer",
                "issued_at": "1763640000000",
            },
        )
