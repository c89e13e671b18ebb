"""A tenant's ``digest:`` block: when its weekly summary goes out, what it holds and where it goes.

Validated with the rest of the config, so every problem is reported with its key path and line.
Webhook URLs are credentials (anyone holding a Slack or Teams webhook URL can post to the channel):
they are ``SecretStr``, given as ``${ENV_VAR}`` or through ``webhook_url_file``, and no error message
repeats them. This module imports nothing of ``collector.config``, which imports it.
"""

from __future__ import annotations

import zoneinfo
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

DEFAULT_CRON = "0 8 * * 1"  # Mondays at 08:00
NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# Plain http is accepted only where nothing crosses a network: tests and local relays.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _error_at(field: str, kind: str, message: str, context: dict[str, Any] | None = None) -> ValidationError:
    """A validation error located at ``field`` of the model being validated, so it names its line."""
    error = PydanticCustomError(kind, message, context)
    return ValidationError.from_exception_data(kind, [{"type": error, "loc": (field,), "input": None}])


def _config_path(value: object, info: ValidationInfo) -> Path:
    """``value`` as a path; relative ones start at the config file's folder (``base_dir`` context)."""
    path = Path(str(value)).expanduser()
    base = (info.context or {}).get("base_dir")
    return path if path.is_absolute() or base is None else Path(base) / path


def read_secret_file(value: object, info: ValidationInfo) -> object:
    """``webhook_url_file: /run/secrets/x``: the secret is the file's content, stripped."""
    if value is None:
        return None
    try:
        content = _config_path(value, info).read_text(encoding="utf-8").strip()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise PydanticCustomError(
            "secret_file", "cannot read {path}: {reason}", {"path": str(value), "reason": reason}
        ) from None
    if not content:
        raise PydanticCustomError("secret_file", "{path} is empty", {"path": str(value)})
    return content


def existing_file(value: object, info: ValidationInfo) -> object:
    if value is None:
        return None
    path = _config_path(value, info)
    if not path.is_file():
        raise PydanticCustomError("file", "no such file: {path}", {"path": str(value)})
    return path


SecretFile = Annotated[SecretStr | None, BeforeValidator(read_secret_file)]
ChannelName = Annotated[str, Field(pattern=NAME)]


def check_webhook_url(url: SecretStr) -> SecretStr:
    """An https URL with a host (http only on the loopback); the message never shows the value."""
    parts = urlsplit(url.get_secret_value().strip())
    if parts.scheme == "http" and parts.hostname and parts.hostname not in LOOPBACK:
        raise PydanticCustomError(
            "webhook_url", "plain http would send the webhook's secret address unencrypted: use https://"
        )
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PydanticCustomError(
            "webhook_url",
            "expected the webhook's whole https:// URL (the value is not shown: it is a secret)",
        )
    return SecretStr(url.get_secret_value().strip())


def email_address(value: str) -> str:
    _name, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain:
        raise PydanticCustomError(
            "email", "expected an e-mail address such as it@example.com, got '{value}'", {"value": value}
        )
    return value


EmailAddress = Annotated[str, BeforeValidator(lambda v: email_address(str(v)))]


class WebhookChannel(_Strict):
    """A channel posting JSON to an incoming-webhook URL."""

    name: ChannelName | None = None  # defaults to the type; two channels of one type need names
    webhook_url: SecretStr | None = None
    webhook_url_file: SecretFile = None

    @field_validator("webhook_url", "webhook_url_file")
    @classmethod
    def _https(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None else check_webhook_url(value)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookChannel:
        if self.webhook_url is None and self.webhook_url_file is None:
            raise _error_at(
                "webhook_url",
                "missing_webhook",
                "required key is missing: give webhook_url (e.g. ${SLACK_WEBHOOK_URL}) or webhook_url_file",
            )
        if self.webhook_url is not None and self.webhook_url_file is not None:
            raise _error_at(
                "webhook_url_file", "two_webhooks", "give webhook_url or webhook_url_file, not both"
            )
        return self

    @property
    def url(self) -> SecretStr:
        url = self.webhook_url or self.webhook_url_file
        assert url is not None  # the validator requires one
        return url


class SlackChannel(WebhookChannel):
    """A Slack incoming webhook (an app's "Incoming Webhooks" feature): Block Kit message."""

    type: Literal["slack"]


class TeamsChannel(WebhookChannel):
    """A Microsoft Teams webhook.

    ``adaptive_card``: a Teams Workflows (Power Automate) "post to a channel when a webhook request is
    received" flow, which takes an Adaptive Card in a message ``attachments`` envelope.
    ``message_card``: the legacy Office 365 connector "Incoming Webhook" (MessageCard JSON), which
    Microsoft is retiring; kept for tenants that still have one.
    """

    type: Literal["teams"]
    format: Literal["adaptive_card", "message_card"] = "adaptive_card"


class SmtpChannel(_Strict):
    """E-mail through an SMTP relay: a text part and a simple HTML part."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["smtp"]
    name: ChannelName | None = None
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    # STARTTLS after connecting (port 587); default on unless ``tls`` is set. A relay that does not
    # offer it is an error, never a silent fall-back to plain text.
    starttls: bool | None = None
    tls: bool = False  # TLS from the first byte (SMTPS, port 465)
    ca_file: Annotated[Path | None, BeforeValidator(existing_file)] = None  # a private CA's certificate
    username: str | None = None
    password: SecretStr | None = None
    password_file: SecretFile = None
    sender: EmailAddress = Field(alias="from")
    to: list[EmailAddress] = Field(min_length=1)
    timeout: float = Field(default=30.0, gt=0, le=600)  # seconds, per connection and command

    @model_validator(mode="after")
    def _consistent(self) -> SmtpChannel:
        if self.tls and self.starttls:
            raise _error_at(
                "starttls", "tls_twice", "tls: true already encrypts the connection; drop starttls"
            )
        if self.password is not None and self.password_file is not None:
            raise _error_at("password_file", "two_passwords", "give password or password_file, not both")
        if self.username and self.secret is None:
            raise _error_at("password", "missing_password", "username is set: give password or password_file")
        if self.secret is not None and not self.username:
            raise _error_at("username", "missing_username", "a password needs a username")
        return self

    @property
    def use_starttls(self) -> bool:
        return not self.tls if self.starttls is None else self.starttls

    @property
    def secret(self) -> SecretStr | None:
        return self.password or self.password_file


CHANNEL_TYPES: dict[str, type[BaseModel]] = {
    "slack": SlackChannel,
    "teams": TeamsChannel,
    "smtp": SmtpChannel,
}


def _channel(value: Any, info: ValidationInfo) -> Any:
    """Pick the channel model by ``type``: errors then name the channel's own keys (a pydantic
    tagged union would put the tag in every error's key path)."""
    if isinstance(value, BaseModel) or not isinstance(value, dict):
        return value  # a model already, or not a mapping: the union reports it
    model = CHANNEL_TYPES.get(str(value.get("type")))
    if model is None:
        kind = "missing" if "type" not in value else "channel_type"
        message = "required key is missing" if kind == "missing" else "unknown channel type '{type}'"
        raise _error_at(
            "type", kind, message + "; use one of: slack, teams, smtp", {"type": value.get("type")}
        )
    return model.model_validate(value, context=info.context)


Channel = Annotated[SlackChannel | TeamsChannel | SmtpChannel, BeforeValidator(_channel)]


def channel_name(channel: SlackChannel | TeamsChannel | SmtpChannel) -> str:
    return channel.name or channel.type


class DigestSchedule(_Strict):
    """When the digest goes out: a 5-field cron expression in a time zone (default Mondays 08:00 UTC).

    A cron, not an interval: an interval restarts with the daemon, so a daemon restarted more often
    than weekly would never send. Nothing is sent when the daemon starts (the first syncs may not
    have finished) and a digest due while the daemon was down is not sent late.
    """

    cron: str = DEFAULT_CRON
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError(
                "timezone",
                "unknown time zone '{value}'; use an IANA name such as Europe/Berlin",
                {"value": value},
            ) from None
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        # Imported here: the scheduling module imports collector.config, which imports this module.
        from collector.digest.schedule import cron_trigger

        if len(value.split()) != 5:
            raise PydanticCustomError(
                "cron",
                "cron must have 5 fields (minute hour day month weekday), got '{value}'",
                {"value": value},
            )
        try:
            cron_trigger(value, "UTC")
        except ValueError as exc:
            raise PydanticCustomError(
                "cron", "invalid cron '{value}': {reason}", {"value": value, "reason": str(exc)}
            ) from None
        return value


class DigestConfig(_Strict):
    """The tenant's weekly digest."""

    enabled: bool = True  # false: kept in the file, not scheduled (``saaswatch digest`` still sends)
    schedule: DigestSchedule = DigestSchedule()
    top: int = Field(default=10, ge=1, le=25)  # findings listed by money (chat messages stay short)
    deadline_days: int = Field(default=30, ge=1, le=365)  # cancellation deadlines this close are listed
    channels: list[Channel] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> DigestConfig:
        names = [channel_name(c) for c in self.channels]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"channel names must be unique; give each channel a distinct name: {duplicates}")
        return self

    def channel(self, name: str) -> SlackChannel | TeamsChannel | SmtpChannel:
        for channel in self.channels:
            if channel_name(channel) == name:
                return channel
        raise KeyError(f"no digest channel {name!r}; known: {[channel_name(c) for c in self.channels]}")
