"""Auth hooks: how a client puts credentials on a request, and renews them after a 401."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx
from pydantic import SecretStr


class Auth(Protocol):
    """Adds credentials to requests. Every header it sets is treated as a secret by the client."""

    def apply(self, request: httpx.Request) -> None:
        """Set the credential headers on ``request``."""

    def refresh(self) -> bool:
        """Renew the credentials after a 401; True when a retry may now succeed."""


class HeaderAuth:
    """A fixed credential in one header: Okta ``SSWS``, GitHub and Atlassian ``Bearer`` keys.

    There is nothing to renew, so a 401 is final.
    """

    def __init__(self, value: SecretStr, *, header: str = "Authorization", scheme: str | None = None) -> None:
        self._header = header
        self._scheme = scheme
        self._value = value

    def apply(self, request: httpx.Request) -> None:
        """Set the header, as ``"<scheme> <value>"`` when a scheme was given."""
        secret = self._value.get_secret_value()
        request.headers[self._header] = f"{self._scheme} {secret}" if self._scheme else secret

    def refresh(self) -> bool:
        """A static credential cannot be renewed."""
        return False


@dataclass(frozen=True)
class AccessToken:
    """A short-lived token; ``expires_at`` is epoch seconds on the client clock (None: unknown)."""

    value: SecretStr
    expires_at: float | None = None


class TokenAuth:
    """An access token from ``fetch`` (an OAuth client-credentials call, say), renewed when needed.

    The token is fetched on first use, again ``leeway`` seconds before it expires, and again after a
    401 (revoked or rotated early). Safe to share between threads: one fetch at a time.
    """

    def __init__(
        self,
        fetch: Callable[[], AccessToken],
        *,
        header: str = "Authorization",
        scheme: str = "Bearer",
        leeway: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self._header = header
        self._scheme = scheme
        self._leeway = leeway
        self._clock = clock
        self._lock = threading.Lock()
        self._token: AccessToken | None = None

    def apply(self, request: httpx.Request) -> None:
        """Set ``"<scheme> <token>"``, fetching a token first when there is none or it is about to expire."""
        with self._lock:
            token = self._token
            if token is None or (
                token.expires_at is not None and token.expires_at - self._leeway <= self._clock()
            ):
                token = self._token = self._fetch()
        request.headers[self._header] = f"{self._scheme} {token.value.get_secret_value()}"

    def refresh(self) -> bool:
        """Fetch a new token now."""
        with self._lock:
            self._token = self._fetch()
        return True
