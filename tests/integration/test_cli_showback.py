"""`saaswatch showback` on the bundled sample: departments add up to the tenant's totals."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from collector.cli import main

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples"
EXPECTED = json.loads((SAMPLES / "northwind" / "expected_findings.json").read_text())
# Every analyzer's open waste with each seat counted once: what saaswatch_tenant_monthly_waste, the
# findings total and the departments of the showback all add up to.
EVERYTHING = EXPECTED["all_analyzers"]
TOTAL_WASTE = Decimal(EVERYTHING["monthly_waste_total"]) - Decimal(EVERYTHING["counted_twice"])


def test_showback_departments_add_up_to_the_total_waste(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(SAMPLES, tmp_path / "samples")
    monkeypatch.setenv("SAASWATCH_DATABASE_URL", f"sqlite:///{tmp_path}/cli.sqlite3")
    config = str(tmp_path / "samples" / "northwind.yaml")
    runner = CliRunner()
    assert runner.invoke(main, ["--config", config, "sync", "--once"]).exit_code == 0
    result = runner.invoke(main, ["--config", config, "showback", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert sum(Decimal(r["monthly_waste"]) for r in rows) == TOTAL_WASTE
    departments = {r["department"] for r in rows}
    assert {"Sales", "Engineering", "(unassigned)"} <= departments
    table = runner.invoke(main, ["--config", config, "showback"]).stdout
    assert table.splitlines()[0].split() == ["TENANT", "DEPARTMENT", "SEATS", "SPEND/MONTH", "WASTE/MONTH"]
