"""Settings of the okta connector: the org, one of two credentials, and how the System Log is read."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from collector.connector import ConnectorSettings

# The read-only OAuth scopes of the three APIs the connector calls (Okta Management API scopes).
DEFAULT_SCOPES = ("okta.users.read", "okta.apps.read", "okta.logs.read")


class OktaSettings(ConnectorSettings):
    """An Okta org and either an API token or an OAuth 2.0 service app (private_key_jwt).

    ``api_token`` uses the ``SSWS`` scheme with the privileges of the admin who created it (make that
    a Read-only Administrator). The service app needs ``client_id`` and ``private_key`` (PEM, RSA;
    give ``private_key_file`` in the config to read it from a file) and is granted ``scopes``.
    """

    # The org URL, e.g. https://acme.okta.com (no /admin suffix); also where the fakes listen in tests.
    base_url: str = Field(pattern=r"^https?://[^/\s]+/?$")
    api_token: SecretStr | None = None
    client_id: str | None = Field(default=None, min_length=1)
    private_key: SecretStr | None = None
    # The key id (kid) Okta shows next to the public key; sent in the assertion header when set.
    key_id: str | None = Field(default=None, min_length=1)
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    # First sync: how far back the System Log is read (Okta keeps 90 days).
    log_lookback_days: int = Field(default=90, ge=1, le=180)
    # Later syncs re-read this much before the last event seen, for events Okta persisted late;
    # events already counted are recognised by uuid.
    log_overlap_minutes: float = Field(default=5.0, ge=0, le=24 * 60)
    # Parallel System Log readers: the time window is cut into slices read side by side, which the
    # per-minute rate limit, not the round trip, then bounds.
    log_workers: int = Field(default=3, ge=1, le=16)
    # Parallel app-assignment listings (one app each), all in the apps rate-limit bucket.
    assignment_workers: int = Field(default=4, ge=1, le=16)
    # Read assignments of INACTIVE apps too (their users cannot sign in to them through Okta).
    include_inactive_apps: bool = False

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("private_key")
    @classmethod
    def _pem(cls, value: SecretStr | None) -> SecretStr | None:
        # Only the shape is checked here (the message must not quote the key); parsing is at sync.
        if value is not None and "-----BEGIN" not in value.get_secret_value():
            raise ValueError("must be a PEM private key (-----BEGIN PRIVATE KEY----- ...), not a JWK")
        return value

    @model_validator(mode="after")
    def _one_credential(self) -> OktaSettings:
        oauth = self.client_id is not None or self.private_key is not None
        if self.api_token is not None and oauth:
            raise ValueError("give either api_token or client_id + private_key, not both")
        if self.api_token is None and not oauth:
            raise ValueError("give api_token, or client_id + private_key for an OAuth service app")
        if oauth and (self.client_id is None or self.private_key is None):
            raise ValueError("an OAuth service app needs both client_id and private_key")
        if not self.scopes:
            raise ValueError("scopes: list at least one scope")
        return self

    @property
    def auth_mode(self) -> Literal["api_token", "oauth"]:
        return "api_token" if self.api_token is not None else "oauth"

    @property
    def token_url(self) -> str:
        """The org authorization server's token endpoint; also the assertion's audience."""
        return f"{self.base_url}/oauth2/v1/token"
