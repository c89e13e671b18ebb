"""Settings of the github connector: a token, the organization and how logins map to e-mail."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from collector.connector import ConnectorSettings
from collector.records import normalise_email
from connectors.github.values import EMAIL

CopilotMode = Literal["auto", "on", "off"]


class GitHubSettings(ConnectorSettings):
    """A read-only token of an organization owner (fine-grained PAT or GitHub App installation token)."""

    token: SecretStr
    # The organization's login, as in https://github.com/<org>.
    org: str = Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
    # GitHub Enterprise Server: https://<host>/api/v3
    base_url: str = "https://api.github.com"
    # GitHub keeps members' e-mail addresses private: login -> e-mail joins accounts to people.
    # Logins are case-insensitive. Without an entry an account lands without e-mail.
    emails: dict[str, str] = {}
    # The SKU of the plan's seats, instead of the one named after plan.name ("GitHub Team"); make it
    # equal to a contract's sku to price them. Also used when GitHub does not show the plan.
    plan_sku: str | None = Field(default=None, min_length=1)
    # Outside collaborators with access to private repositories take paid seats of the plan.
    outside_collaborators: bool = True
    # Copilot Business / Enterprise seats. auto: read them where the org has Copilot, note once and go
    # on where it does not; on: their absence makes the run partial; off: never ask.
    copilot: CopilotMode = "auto"
    per_page: int = Field(default=100, ge=1, le=100)  # GitHub's maximum
    # Steady pace; the primary limit is 5,000 requests an hour per token (15,000 for Enterprise Cloud
    # apps), and the client also pauses when x-ratelimit-remaining runs low.
    requests_per_second: float = Field(default=5.0, gt=0)

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: dict[str, str]) -> dict[str, str]:
        mapped: dict[str, str] = {}
        for login, email in value.items():
            if not EMAIL.fullmatch(email.strip()):
                raise ValueError(f"emails.{login}: not an e-mail address: {email!r}")
            mapped[login.strip().lower()] = normalise_email(email)
        return mapped

    def email_of(self, login: str) -> str | None:
        return self.emails.get(login.lower())
