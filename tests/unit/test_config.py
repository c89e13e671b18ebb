"""Config loading: every problem reported with key path and line; secrets from env or files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from collector.config import load_config
from collector.yamlsource import ConfigError

GOOD = """\
database_url: sqlite:///var/test.sqlite3
metrics:
  listen: 127.0.0.1:9200
tenants:
  - id: acme
    name: Acme Ltd
    currency: EUR
    exchange_rates: {USD: 0.92}
    connectors:
      - id: csv_import
        schedule: {interval: 6h, jitter: 5m}
        settings:
          files:
            - {path: exports/users.csv, format: google_admin_users}
    contracts:
      - app: slack
        sku: Business+
        seats: 50
        unit_price: 12.50
        currency: USD
        commitment: annual
        term_start: 2026-01-01
        term_end: 2026-12-31
        auto_renew: true
        notice_days: 30
    policy:
      unused_seats:
        inactive_days: 45
        apps: {zoom: {inactive_days: 30}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "saaswatch.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def issues(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), environ=env or {})
    return [str(issue) for issue in caught.value.issues]


def test_good_config_loads_with_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), environ={})
    tenant = config.tenant("acme")
    assert config.metrics.port == 9200
    assert tenant.connectors[0].source == "csv_import"
    assert tenant.connectors[0].schedule.interval is not None
    assert tenant.contracts[0].currency == "USD"
    assert tenant.policy["unused_seats"].model_dump()["inactive_days"] == 45
    assert config.base_dir == tmp_path.resolve()


def test_defaults_for_database_and_listen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "tenants: [{id: a, name: A}]\n"), environ={})
    assert config.database_url == "sqlite:///saaswatch.sqlite3"
    assert config.metrics.listen == "127.0.0.1:9108"


def test_typo_names_key_path_and_line(tmp_path: Path) -> None:
    text = GOOD.replace("        auto_renew: true", "        auto_renwe: true")
    assert issues(tmp_path, text) == [
        "line 24: tenants[0].contracts[0].auto_renwe: unknown key (check the spelling)"
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        GOOD.replace("seats: 50", "seats: -3")
        .replace("format: google_admin_users", "format: google_users_typo")
        .replace("inactive_days: 45", "inactive_days: soon")
        .replace("listen: 127.0.0.1:9200", "listen: localhost")
    )
    found = issues(tmp_path, text)
    assert len(found) == 4, found
    assert found[0].startswith("line 3: metrics.listen: ")
    assert found[1].startswith("line 14: tenants[0].connectors[0].settings.files[0].format: ")
    assert found[2].startswith("line 18: tenants[0].contracts[0].seats: ")
    assert found[3].startswith("line 28: tenants[0].policy.unused_seats.inactive_days: ")


def test_missing_required_key_points_at_its_parent(tmp_path: Path) -> None:
    found = issues(tmp_path, "tenants:\n  - id: acme\n    currency: USD\n")
    assert found == ["line 2: tenants[0].name: required key is missing"]


def test_unknown_connector_and_analyzer(tmp_path: Path) -> None:
    text = "tenants:\n  - id: a\n    name: A\n    connectors: [{id: oktaa}]\n    policy: {unused: {}}\n"
    found = issues(tmp_path, text)
    assert found[0].startswith("line 4: tenants[0].connectors[0].id: unknown connector 'oktaa'")
    assert found[1].startswith("line 5: tenants[0].policy.unused: unknown analyzer 'unused'")


def test_env_var_interpolation_and_missing_variable(tmp_path: Path) -> None:
    text = "database_url: ${DB_URL}\ntenants: [{id: a, name: '${NAME:-Default Co}'}]\n"
    config = load_config(write(tmp_path, text), environ={"DB_URL": "sqlite:///x.db"})
    assert (config.database_url, config.tenants[0].name) == ("sqlite:///x.db", "Default Co")
    assert issues(tmp_path, text) == ["line 1: database_url: environment variable DB_URL is not set"]


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    found = issues(tmp_path, "tenants:\n  - id: a\n    name: [unclosed\n")
    assert len(found) == 1 and found[0].startswith("line ") and "YAML syntax" in found[0]


def test_contract_in_foreign_currency_needs_a_rate(tmp_path: Path) -> None:
    text = GOOD.replace("exchange_rates: {USD: 0.92}", "exchange_rates: {}")
    found = issues(tmp_path, text)
    assert (
        len(found) == 1 and "add exchange_rates.USD" in found[0] and found[0].startswith("line 5: tenants[0]")
    )


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    found = issues(tmp_path, "tenants: [{id: a, name: A}]\ntenants: []\n")
    assert found[0] == "line 2: tenants: duplicate key"


def test_saaswatch_database_url_env_overrides_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), environ={"SAASWATCH_DATABASE_URL": "sqlite:///other.db"})
    assert config.database_url == "sqlite:///other.db"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
