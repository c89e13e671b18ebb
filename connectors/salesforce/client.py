"""HTTP for Salesforce: client-credentials tokens, and the org's daily API allocation.

Salesforce counts every REST call against a rolling 24-hour allocation shared by all of the org's
integrations, and reports it on each response as ``Sforce-Limit-Info: api-usage=25/15000``
(developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm). Running it
dry breaks the org's other integrations until requests age out of the window, so the connector stops
while ``api_reserve_percent`` of it is left (:class:`ApiBudget`), and turns Salesforce's own refusal
(403 ``REQUEST_LIMIT_EXCEEDED``) into a clear error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from collector.http import AccessToken, HTTPClientError, VendorClient

VENDOR = "salesforce"
_API_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class SalesforceError(HTTPClientError):
    """Salesforce answered something the connector cannot use."""


class SalesforceLimitError(SalesforceError):
    """The org's daily API allocation is (nearly) used up."""


class ApiBudget:
    """The org's API allocation as the last response reported it, and the share to leave unused."""

    def __init__(self, reserve_percent: float) -> None:
        self.reserve_percent = reserve_percent
        self.used: int | None = None
        self.limit: int | None = None

    def observe(self, response: httpx.Response) -> None:
        match = _API_USAGE.search(response.headers.get("sforce-limit-info", ""))
        if match:
            self.used, self.limit = int(match.group(1)), int(match.group(2))

    @property
    def remaining(self) -> int | None:
        return None if self.used is None or self.limit is None else max(0, self.limit - self.used)

    @property
    def reserve(self) -> int:
        return math.ceil((self.limit or 0) * self.reserve_percent / 100)

    def check(self, before: str) -> None:
        """Raise :class:`SalesforceLimitError` when only the reserve is left; ``before`` names the
        request that would come next."""
        remaining = self.remaining
        if remaining is None or remaining > self.reserve:
            return
        raise SalesforceLimitError(
            f"{VENDOR}: the org's daily API allocation is nearly used up: {self.used} of {self.limit} "
            f"requests in the last 24 hours, {remaining} left, which is within the reserve of "
            f"{self.reserve} ({self.reserve_percent:g}% kept for the org's other integrations); "
            f"stopping before {before}. The allocation frees up as requests age out of the 24-hour "
            "window; lower api_reserve_percent only if nothing else needs it."
        )

    def describe(self) -> str:
        if self.remaining is None:
            return "not reported"
        return f"{self.used} of {self.limit} used in the last 24 hours, {self.remaining} left"


class SalesforceClient(VendorClient):
    """A :class:`VendorClient` that records the API usage every response reports."""

    def __init__(self, base_url: str, *, budget: ApiBudget, **kwargs: Any) -> None:
        super().__init__(base_url, vendor=VENDOR, **kwargs)
        self.budget = budget

    def observe_response(self, response: httpx.Response) -> None:
        # Called by the base client for every response, refused ones included.
        self.budget.observe(response)
        super().observe_response(response)


def token_fetcher(
    client: VendorClient, token_url: str, client_id: SecretStr, client_secret: SecretStr
) -> Callable[[], AccessToken]:
    """Fetches tokens with the OAuth 2.0 client credentials flow of a connected app.

    ``POST {my_domain}/services/oauth2/token`` with ``grant_type=client_credentials`` answers
    ``{"access_token", "instance_url", "id", "token_type": "Bearer", "issued_at", "signature"}``,
    without an expiry: the session lasts as the org's session timeout says, and a 401
    ``INVALID_SESSION_ID`` asks for a new one.
    """

    def fetch() -> AccessToken:
        response = client.post(
            token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id.get_secret_value(),
                "client_secret": client_secret.get_secret_value(),
            },
        )
        body: Any = response.json() if response.content else None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SalesforceError(f"{VENDOR}: the token response of {token_url} has no access_token")
        client.redactor.add(token)
        return AccessToken(SecretStr(token))

    return fetch
