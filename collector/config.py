"""The configuration file: one YAML document validated by pydantic.

Errors are collected, not raised one at a time: :func:`load_config` reports every problem with its
key path and line number. Connector settings and analyzer policies are validated against the models
their plugins declare. Secrets come from ``${ENV_VAR}`` or from a ``<field>_file`` key naming a file.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from analyzers.base import AnalyzerSettings
from analyzers.registry import analyzer_ids, get_analyzer
from collector.catalog import Catalog, CatalogError, builtin_catalog, load_catalog
from collector.connector import ConnectorSettings
from collector.digest.config import DigestConfig
from collector.records import BillingPeriod, Commitment
from collector.registry import UnknownConnector, get_connector
from collector.yamlsource import ConfigError, ConfigIssue, LoadedYaml, Loc, format_loc, load_yaml

DEFAULT_DATABASE_URL = "sqlite:///saaswatch.sqlite3"
DEFAULT_LISTEN = "127.0.0.1:9108"
SLUG = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Slug = Annotated[str, Field(pattern=SLUG)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def parse_duration(value: object) -> object:
    """Accept ``90s``, ``5m``, ``6h``, ``2d``, ``1h30m`` (and anything pydantic takes: seconds, ISO 8601)."""
    if isinstance(value, str):
        match = DURATION.match(value.strip())
        if match and any(match.groupdict().values()):
            parts = {k: int(v or 0) for k, v in match.groupdict().items()}
            return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
        if not value.strip().upper().startswith("P"):
            raise ValueError(f"expected a duration such as 90s, 5m, 6h or 2d, got {value!r}")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(Strict):
    """When a connector runs: a fixed ``interval`` or a ``cron`` expression, plus random ``jitter``."""

    interval: Duration | None = None
    cron: str | None = None
    jitter: Duration = timedelta(seconds=60)
    run_at_start: bool = True

    @model_validator(mode="after")
    def _one_trigger(self) -> Schedule:
        if self.interval is not None and self.cron is not None:
            raise ValueError("set either interval or cron, not both")
        if self.interval is not None and self.interval < timedelta(minutes=1):
            raise ValueError("interval must be at least 1 minute")
        if self.cron is not None and len(self.cron.split()) != 5:
            raise ValueError(f"cron must have 5 fields (minute hour day month weekday), got {self.cron!r}")
        return self

    @property
    def effective_interval(self) -> timedelta:
        return self.interval or timedelta(hours=1)


class ConnectorConfig(Strict):
    id: str
    name: Slug | None = None  # instance name; defaults to the id (two instances need distinct names)
    enabled: bool = True
    schedule: Schedule = Schedule()
    # A source whose last success is older than this is stale: analyzers say UNKNOWN for what needs it.
    stale_after: Duration | None = None
    # When the credential you gave this connector expires, for vendors that do not report it (an
    # Entra ID client secret's end date, a Zoom app's secret): drives the credential-expiry alert.
    credential_expires: date | None = None
    settings: ConnectorSettings = ConnectorSettings()

    @property
    def source(self) -> str:
        return self.name or self.id

    @property
    def stale_threshold(self) -> timedelta:
        return self.stale_after or max(self.schedule.effective_interval * 3, timedelta(days=1))


class Contract(Strict):
    """A license bought by hand, as written in the contract or order form."""

    app: Slug
    sku: str
    seats: int = Field(ge=0)
    unit_price: Decimal = Field(ge=0)
    currency: Currency | None = None  # defaults to the tenant's reporting currency
    billing_period: BillingPeriod = BillingPeriod.MONTHLY  # the period unit_price pays for
    commitment: Commitment = Commitment.MONTHLY
    term_start: date | None = None
    term_end: date | None = None
    auto_renew: bool = False
    notice_days: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _term_order(self) -> Contract:
        if self.term_start and self.term_end and self.term_end < self.term_start:
            raise ValueError("term_end is before term_start")
        return self


class Mute(Strict):
    """An accepted finding: matching findings are kept but ``suppressed`` until ``expires``.

    Every given field must match; ``subject`` may be a shell-style pattern (``svc-*@example.com``).
    """

    analyzer: str | None = None
    rule: str | None = None
    app: str | None = None
    sku: str | None = None
    subject: str | None = None
    reason: str = Field(min_length=3)
    expires: date  # a mute is a decision to revisit, never forever

    @model_validator(mode="after")
    def _narrow(self) -> Mute:
        if not any((self.analyzer, self.rule, self.app, self.sku, self.subject)):
            raise ValueError("a mute must name at least one of analyzer, rule, app, sku, subject")
        if self.analyzer is not None and self.analyzer not in analyzer_ids():
            raise ValueError(f"unknown analyzer {self.analyzer!r}; known: {', '.join(analyzer_ids())}")
        return self

    def matches(self, analyzer: str, rule: str, app: str | None, sku: str | None, subject: str) -> bool:
        return self.matches_kind(analyzer, rule, app, sku) and self.matches_subject(subject)

    def matches_kind(self, analyzer: str, rule: str, app: str | None, sku: str | None) -> bool:
        """Every field but ``subject`` matches: the same for every finding of a rule and pool."""
        return (
            (self.analyzer is None or self.analyzer == analyzer)
            and (self.rule is None or self.rule == rule)
            and (self.app is None or self.app == app)
            and (self.sku is None or (sku is not None and self.sku.casefold() == sku.casefold()))
        )

    def matches_subject(self, subject: str) -> bool:
        return self.subject is None or _subject_pattern(self.subject)(subject.lower()) is not None


@functools.lru_cache(maxsize=1024)
def _subject_pattern(pattern: str) -> Callable[[str], re.Match[str] | None]:
    """A mute's subject pattern compiled once: a large tenant's analyzer checks a quarter of a
    million findings against it (``fnmatch`` per finding cost about a second)."""
    return re.compile(fnmatch.translate(pattern.lower())).match


class Alerting(Strict):
    """Thresholds the alert rules compare against, exported as metrics so one rule serves every tenant."""

    # Monthly waste (each seat counted once) above which the tenant's waste alert fires, in the
    # tenant's reporting currency.
    monthly_waste_threshold: Decimal = Field(default=Decimal(500), ge=0)


class AppMeta(Strict):
    name: str | None = None
    category: str | None = None
    vendor: str | None = None
    owner: str | None = None
    sanctioned: bool | None = None
    # Other names this app shows up under in this tenant (an SSO label, an invoice line).
    aliases: list[str] = []


class TenantConfig(Strict):
    id: Slug
    name: str
    currency: Currency = "USD"
    # Evaluate this tenant as if today were this date: for replaying old exports and the bundled demo.
    as_of: date | None = None
    # Units of the reporting currency per unit of another currency, e.g. {EUR: 1.08} for USD tenants.
    exchange_rates: dict[Currency, Decimal] = {}
    apps: dict[Slug, AppMeta] = {}
    connectors: list[ConnectorConfig] = []
    contracts: list[Contract] = []
    policy: dict[str, AnalyzerSettings] = {}
    # Accepted findings, each with a reason and an expiry date.
    mute: list[Mute] = []
    # Overrides the top-level ``alerting`` thresholds for this tenant.
    alerting: Alerting | None = None
    # A weekly summary sent to Slack, Teams or e-mail (docs/digest.md).
    digest: DigestConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TenantConfig:
        names = [c.source for c in self.connectors]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"connector names must be unique; give each a distinct name: {duplicates}")
        for contract in self.contracts:
            currency = contract.currency or self.currency
            if currency != self.currency and currency not in self.exchange_rates:
                raise ValueError(
                    f"contract {contract.app}/{contract.sku} is in {currency}: add exchange_rates.{currency}"
                )
        return self


class MetricsConfig(Strict):
    listen: str = DEFAULT_LISTEN

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"expected host:port, got {value!r}")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class Config(Strict):
    database_url: str = DEFAULT_DATABASE_URL
    metrics: MetricsConfig = MetricsConfig()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Your own vendor-catalog files: new entries, or overrides of built-in ones by id.
    catalog_files: list[Path] = []
    # Alert thresholds for every tenant that has no ``alerting`` block of its own.
    alerting: Alerting = Alerting()
    tenants: list[TenantConfig] = Field(min_length=1)
    base_dir: Path = Path(".")  # the config file's folder; set by load_config, not by the file

    @model_validator(mode="after")
    def _unique_tenants(self) -> Config:
        ids = [t.id for t in self.tenants]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"tenant ids must be unique: {duplicates}")
        return self

    def catalog(self) -> Catalog:
        """The built-in vendor catalog with the user's ``catalog_files`` applied."""
        files = tuple(p if p.is_absolute() else self.base_dir / p for p in self.catalog_files)
        return _catalog(files)

    def catalog_for(self, tenant: TenantConfig) -> Catalog:
        """The catalog as ``tenant`` sees it: its own app aliases win over built-in ones."""
        aliases = {app_id: meta.aliases for app_id, meta in tenant.apps.items() if meta.aliases}
        return self.catalog().with_aliases(aliases) if aliases else self.catalog()

    def alerting_for(self, tenant: TenantConfig) -> Alerting:
        return tenant.alerting or self.alerting

    def tenant(self, tenant_id: str) -> TenantConfig:
        for tenant in self.tenants:
            if tenant.id == tenant_id:
                return tenant
        raise KeyError(f"no tenant {tenant_id!r} in the config; known: {[t.id for t in self.tenants]}")


@functools.cache
def _catalog(files: tuple[Path, ...]) -> Catalog:
    return load_catalog(files) if files else builtin_catalog()


def load_config(path: str | Path, environ: dict[str, str] | None = None) -> Config:
    """Load and validate ``path``; raise :class:`ConfigError` listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), [ConfigIssue("", None, "config file not found")])
    env = dict(os.environ) if environ is None else environ
    loaded = load_yaml(path, env)
    issues: list[ConfigIssue] = []
    data = loaded.data
    if not isinstance(data, dict):
        raise ConfigError(str(path), [ConfigIssue("", 1, "the config must be a mapping with a tenants list")])
    data = dict(data)
    # Deployment-specific settings may come from the environment (containers, CI, tests).
    if env.get("SAASWATCH_DATABASE_URL"):
        data["database_url"] = env["SAASWATCH_DATABASE_URL"]
    if env.get("SAASWATCH_METRICS_LISTEN"):
        metrics = data.get("metrics")
        data["metrics"] = {
            **(metrics if isinstance(metrics, dict) else {}),
            "listen": env["SAASWATCH_METRICS_LISTEN"],
        }
    for t_index, tenant in enumerate(_as_list(data.get("tenants"))):
        if isinstance(tenant, dict):
            _validate_plugins(tenant, ("tenants", t_index), loaded, path.parent, issues)
    data["base_dir"] = path.parent.resolve()
    try:
        # base_dir: relative secret-file paths in nested models start at the config's folder.
        config = Config.model_validate(data, context={"base_dir": path.parent.resolve()})
    except ValidationError as exc:
        issues.extend(_issues_from(exc, (), loaded))
        config = None
    if config is not None:
        try:
            config.catalog()
        except CatalogError as exc:
            issues.append(ConfigIssue("catalog_files", loaded.line_of(("catalog_files",)), str(exc)))
    if issues or config is None:
        issues.sort(key=lambda issue: (issue.line or 0, issue.path))
        raise ConfigError(str(path), issues)
    return config


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _validate_plugins(
    tenant: dict[str, Any], loc: Loc, loaded: LoadedYaml, base_dir: Path, issues: list[ConfigIssue]
) -> None:
    """Replace each connector's ``settings`` and each ``policy`` entry by its validated model."""
    for c_index, connector in enumerate(_as_list(tenant.get("connectors"))):
        if not isinstance(connector, dict) or "id" not in connector:
            continue  # the Config model reports the missing id
        c_loc: Loc = (*loc, "connectors", c_index)
        try:
            model = get_connector(str(connector["id"])).settings_model
        except UnknownConnector as exc:
            issues.append(ConfigIssue(format_loc((*c_loc, "id")), loaded.line_of((*c_loc, "id")), str(exc)))
            continue
        raw = connector.get("settings") or {}
        s_loc: Loc = (*c_loc, "settings")
        if not isinstance(raw, dict):
            issues.append(ConfigIssue(format_loc(s_loc), loaded.line_of(s_loc), "settings must be a mapping"))
            continue
        raw = _read_secret_files(raw, model, s_loc, loaded, base_dir, issues)
        try:
            connector["settings"] = model.model_validate(raw)
        except ValidationError as exc:
            issues.extend(_issues_from(exc, s_loc, loaded))
            connector["settings"] = model.model_construct()
    policy = tenant.get("policy") or {}
    if not isinstance(policy, dict):
        return
    for analyzer_id, raw_settings in list(policy.items()):
        p_loc: Loc = (*loc, "policy", analyzer_id)
        try:
            settings_model = get_analyzer(analyzer_id).settings_model
        except KeyError:
            message = f"unknown analyzer {analyzer_id!r}; known: {', '.join(analyzer_ids())}"
            issues.append(ConfigIssue(format_loc(p_loc), loaded.line_of(p_loc), message))
            continue
        try:
            policy[analyzer_id] = settings_model.model_validate(raw_settings or {})
        except ValidationError as exc:
            issues.extend(_issues_from(exc, p_loc, loaded))
            policy[analyzer_id] = settings_model.model_construct()


SECRET_FILE_KEY = re.compile(r"^(?P<field>.+)_file$")


def _read_secret_files(
    raw: dict[str, Any],
    model: type[ConnectorSettings],
    loc: Loc,
    loaded: LoadedYaml,
    base_dir: Path,
    issues: list[ConfigIssue],
) -> dict[str, Any]:
    """Turn ``api_token_file: /run/secrets/x`` into ``api_token: <file content>`` for secret fields."""
    out = dict(raw)
    for key, value in raw.items():
        match = SECRET_FILE_KEY.match(key)
        if not match or match["field"] not in model.model_fields or key in model.model_fields:
            continue
        if model.model_fields[match["field"]].annotation not in (SecretStr, SecretStr | None):
            continue
        key_loc: Loc = (*loc, key)
        secret_path = Path(str(value)).expanduser()
        secret_path = secret_path if secret_path.is_absolute() else base_dir / secret_path
        try:
            out[match["field"]] = secret_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            issues.append(
                ConfigIssue(format_loc(key_loc), loaded.line_of(key_loc), f"cannot read {value}: {reason}")
            )
        del out[key]
    return out


def _issues_from(exc: ValidationError, prefix: Loc, loaded: LoadedYaml) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors(include_url=False, include_input=False):
        loc: Loc = (*prefix, *(part for part in error["loc"] if not _is_union_tag(part)))
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        elif error["type"] == "missing":
            message = "required key is missing"
        issues.append(ConfigIssue(format_loc(loc), loaded.line_of(loc), message))
    return issues


def _is_union_tag(part: str | int) -> bool:
    # pydantic adds the chosen union member (e.g. "function-after[...]") to locations; users never wrote it.
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool", "date"})
