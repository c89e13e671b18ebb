"""The CLI as a user drives it: sync the sample, list findings in each format, and the two bad-input
paths the foundation promises (a config typo, a CSV with broken rows)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select

from collector.cli import main
from collector.models import Activity, AppUsage, Seat, SyncRun
from collector.store import Store

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "config" / "samples"
EXPECTED = json.loads((SAMPLES / "northwind" / "expected_findings.json").read_text())


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(SAMPLES, tmp_path / "samples")
    monkeypatch.setenv("SAASWATCH_DATABASE_URL", f"sqlite:///{tmp_path}/cli.sqlite3")
    return tmp_path / "samples" / "northwind.yaml"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_sync_then_findings_list_exactly_the_planted_waste(sample: Path) -> None:
    code, out, _ = invoke("--config", str(sample), "sync", "--once")
    assert code == 0
    assert "northwind/exports: success" in out
    assert f"{EXPECTED['total_monthly_waste']} USD/month" in out
    code, out, _ = invoke("--config", str(sample), "findings", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    found = sorted(
        (
            f["analyzer"],
            f["rule"],
            f["sku"],
            "unassigned" if f["rule"] == "unassigned" else f["subject"],
            str(f["monthly_waste"]),
        )
        for f in rows
        if f["verdict"] == "fail"
    )
    planted = sorted(
        (analyzer, f["rule"], f["sku"], f["subject"], f["monthly_waste"])
        for analyzer in EXPECTED["all_analyzers"]["monthly_waste_by_analyzer"]
        for f in EXPECTED[analyzer]["findings"]
    )
    assert found == planted
    assert not [f for f in rows if f["verdict"] != "fail"]  # every source is fresh: no UNKNOWN
    by_key = {(f["analyzer"], f["subject"]): f for f in rows}
    for analyzer in ("offboarding", "renewals", "shadow_it", "overlap", "vendor_risk"):
        for planted_finding in EXPECTED[analyzer]["findings"]:
            finding = by_key[(analyzer, planted_finding["subject"])]
            if analyzer == "offboarding":
                finding = next(
                    f for f in rows if f["analyzer"] == analyzer and (f["subject"], f["sku"]) == (
                        planted_finding["subject"], planted_finding["sku"])
                )  # fmt: skip
            assert finding["severity"] == planted_finding["severity"], finding["title"]
            for key in (
                "monthly_saving", "recommended_seats", "seats_needed", "deadline", "keep", "drop",
                "score", "reasons", "monthly_spend_at_risk", "people_depending", "departments",
            ):  # fmt: skip
                if key in planted_finding:
                    assert finding["evidence"][key] == planted_finding[key], (key, finding["title"])


def test_findings_csv_and_table(sample: Path) -> None:
    invoke("--config", str(sample), "sync", "--once")
    code, out, _ = invoke("--config", str(sample), "findings", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == EXPECTED["all_analyzers"]["open_findings"]
    assert {"tenant", "rule", "app", "subject", "monthly_waste", "title"} <= set(rows[0])
    code, out, _ = invoke("--config", str(sample), "findings")
    assert code == 0
    everything = EXPECTED["all_analyzers"]
    # A leaver's idle seat is an offboarding and an unused-seat finding: the total counts it once.
    once = Decimal(everything["monthly_waste_total"]) - Decimal(everything["counted_twice"])
    assert out.strip().endswith(
        f"northwind: {once} USD/month of waste in {everything['open_findings']} open finding(s), "
        "each seat counted once"
    )


def test_config_typo_gives_key_path_and_line(sample: Path) -> None:
    text = sample.read_text().replace("        notice_days: 45", "        notice_dayz: 45")
    sample.write_text(text)
    line = text.splitlines().index("        notice_dayz: 45") + 1
    code, _, err = invoke("--config", str(sample), "check-config")
    assert code == 2
    assert f"line {line}: tenants[0].contracts[1].notice_dayz: unknown key (check the spelling)" in err


def test_broken_csv_rows_are_named_and_nothing_else_is_lost(sample: Path, tmp_path: Path) -> None:
    invoke("--config", str(sample), "sync", "--once")
    seats_csv = sample.parent / "northwind" / "exports" / "seats.csv"
    lines = seats_csv.read_text().splitlines(keepends=True)
    broken_row = lines[4].split(",")
    broken_row[4] = "2026-31-01"  # assigned_at: no such date
    lines[4] = ",".join(broken_row)
    seats_csv.write_text("".join(lines))
    store = Store(f"sqlite:///{tmp_path}/cli.sqlite3")
    with store.sessions() as session:
        seats_before = session.scalar(select(func.count()).select_from(Seat))

    code, out, err = invoke("--config", str(sample), "sync", "--once")
    assert code == 0
    assert "northwind/exports: partial" in out and "1 bad row(s)" in out
    assert "seats.csv row 5: assigned_at: " in err and "2026-31-01" in err
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Seat)) == seats_before  # nothing retired
        run = session.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()
    assert run is not None and run.status == "partial"
    assert run.problems[0]["where"] == "seats.csv row 5"
    # The findings are untouched: the row's seat is kept from the last good run.
    assert f"{EXPECTED['total_monthly_waste']} USD/month" in out


def test_connectors_lists_kinds_and_scopes() -> None:
    code, out, _ = invoke("connectors")
    assert code == 0
    assert "csv_import:" in out and "data: accounts, activity, license_pools, people, seats, spend" in out
    from collector.registry import BUILTIN

    listed = dict(re.findall(r"^([a-z_0-9]+): .+\n  data: .+\n  scopes: (.+)$", out, flags=re.M))
    assert set(listed) == set(BUILTIN)
    assert "okta.logs.read" in listed["okta"]
    assert "AuditLog.Read.All" in listed["microsoft365"]
    assert "admin.reports.audit.readonly" in listed["google_workspace"]


@pytest.mark.parametrize(
    "command",
    [
        ["sync", "--once"],
        ["findings"],
        ["showback"],
        ["report", "--out", "report.html"],
        ["digest", "--dry-run"],
    ],
)
def test_an_unknown_tenant_is_named_with_the_known_ones(sample: Path, command: list[str]) -> None:
    code, out, err = invoke("--config", str(sample), *command, "--tenant", "northwnd")
    assert code == 2
    assert "no tenant 'northwnd' in the config; known: ['northwind']" in err
    assert "Traceback" not in out + err


def test_migrate_rebuilds_the_usage_summary_from_activity(sample: Path) -> None:
    assert invoke("--config", str(sample), "sync", "--once")[0] == 0
    store = Store(os.environ["SAASWATCH_DATABASE_URL"])
    with store.transaction() as session:
        pairs = session.scalar(select(func.count()).select_from(AppUsage))
        # As after a bulk load past the ingest: activity without its summary.
        session.execute(delete(AppUsage))
        assert session.scalar(select(func.count()).select_from(Activity))
    code, out, _ = invoke("--config", str(sample), "migrate", "--rebuild-usage")
    assert code == 0
    assert f"usage summary rebuilt: {pairs:,} (person, app) pairs" in out
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AppUsage)) == pairs
    store.dispose()
