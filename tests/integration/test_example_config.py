"""config/examples/all-connectors.yaml: every connector's credentials, documented and valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from collector.cli import main
from collector.config import load_config
from collector.registry import BUILTIN

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "examples" / "all-connectors.yaml"


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "connectors"))
    from google_workspace_fake import key_file, private_key_pem

    (tmp_path / "okta.pem").write_text(private_key_pem())
    (tmp_path / "google.json").write_text(key_file())
    names = set(re.findall(r"\$\{([A-Z0-9_]+)", EXAMPLE.read_text()))
    env = {name: "example-value" for name in names}
    env |= {name: f"https://hooks.example/{name.lower()}" for name in names if name.endswith("_WEBHOOK_URL")}
    env |= {
        "OKTA_PRIVATE_KEY_FILE": str(tmp_path / "okta.pem"),
        "GOOGLE_KEY_FILE": str(tmp_path / "google.json"),
        "STRIPE_RESTRICTED_KEY": "rk_test_example",
        "SAASWATCH_DATABASE_URL": f"sqlite:///{tmp_path}/example.sqlite3",
    }
    return env


def test_the_example_names_every_connector_and_validates(environ: dict[str, str]) -> None:
    config = load_config(EXAMPLE, environ=environ)
    ids = {c.id for c in config.tenants[0].connectors}
    assert ids == set(BUILTIN)
    # Every secret field of every connector is given through ${ENV}, never written in the file.
    raw = yaml.safe_load(EXAMPLE.read_text())["tenants"][0]["connectors"]
    checked = 0
    for connector, written in zip(config.tenants[0].connectors, raw, strict=True):
        fields = type(connector.settings).model_fields
        for key, value in written["settings"].items():
            info = fields.get(key.removesuffix("_file"))
            if info is not None and "SecretStr" in str(info.annotation):
                assert "${" in str(value), f"{connector.source}.{key} is written in the file"
                checked += 1
    assert checked >= len(BUILTIN) - 1  # every connector but csv_import has at least one secret
    result = CliRunner().invoke(main, ["--config", str(EXAMPLE), "check-config"], env=environ)
    assert result.exit_code == 0, result.output
