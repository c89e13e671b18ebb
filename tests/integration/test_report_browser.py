"""`saaswatch report` on the bundled sample, opened in headless Chromium: the rendered headline is the
store's deduplicated waste (worked out here from `saaswatch findings --format json`), every chart is
drawn with a size, the page loads nothing from outside, logs no console error, fits the window
without scrolling sideways and prints.

Needs Chromium, chromedriver (Debian packages ``chromium``, ``chromium-driver``) and selenium (the
dev extra). Skipped without them, except with ``SAASWATCH_REQUIRE_CHROMIUM=1`` (set by CI), which
fails instead.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from collector.cli import main
from collector.report.fmt import money

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples"
REQUIRE = os.environ.get("SAASWATCH_REQUIRE_CHROMIUM") == "1"
CHARTS = ("chart-reasons", "chart-spend", "chart-usage", "chart-renewals", "chart-overlap")
A4_WIDTH_PX = 794  # 210 mm at 96 dpi


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample config, synced and analysed into a fresh SQLite database."""
    shutil.copytree(SAMPLES, tmp_path / "samples")
    monkeypatch.setenv("SAASWATCH_DATABASE_URL", f"sqlite:///{tmp_path}/report.sqlite3")
    config = tmp_path / "samples" / "northwind.yaml"
    code, _, err = invoke("--config", str(config), "sync", "--once")
    assert code == 0, err
    return config


def expected_savings(config: Path) -> tuple[Decimal, str]:
    """The open waste with each (app, SKU, subject) counted once, from the findings as the CLI lists them."""
    code, out, _ = invoke("--config", str(config), "findings", "--tenant", "northwind", "--format", "json")
    assert code == 0
    per_seat: dict[tuple[str, str, str], Decimal] = {}
    currencies = set()
    for row in json.loads(out):
        if row["verdict"] == "fail" and row["state"] == "open":
            key = (row["app"] or "", row["sku"] or "", row["subject"])
            per_seat[key] = max(per_seat.get(key, Decimal(0)), Decimal(row["monthly_waste"]))
            currencies.add(row["currency"])
    (currency,) = currencies
    return sum(per_seat.values(), Decimal(0)), currency


def browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [name for name, path in (("chromium", chromium), ("chromedriver", driver)) if path is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[dev]')")
    if missing:
        message = f"not installed: {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if REQUIRE:
            pytest.fail(f"Chromium is required (SAASWATCH_REQUIRE_CHROMIUM=1); {message}")
        pytest.skip(message)
    assert chromium is not None and driver is not None
    return chromium, driver


@pytest.fixture
def browser() -> Iterator[Any]:
    chromium, driver_path = browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def test_the_rendered_report_shows_the_store_figures_and_every_chart(
    sample: Path, tmp_path: Path, browser: Any
) -> None:
    total, currency = expected_savings(sample)
    assert total > 0
    out = tmp_path / "out" / "northwind.html"
    code, stdout, err = invoke("--config", str(sample), "report", "--tenant", "northwind", "--out", str(out))
    assert code == 0, err
    assert money(total, currency) in stdout

    browser.get(out.as_uri())
    read = "return document.getElementById(arguments[0]).innerText.trim()"
    assert browser.execute_script(read, "monthly-savings") == money(total, currency)
    assert browser.execute_script(read, "annual-savings") == money(total * 12, currency)
    assert browser.execute_script(read, "realised-period") == money(Decimal(0), currency)

    for chart in CHARTS:
        svg = browser.find_element("id", chart)
        assert svg.tag_name == "svg"
        assert svg.size["width"] > 300 and svg.size["height"] > 50, (chart, svg.size)
        drawn = browser.execute_script("const b = arguments[0].getBBox(); return [b.width, b.height]", svg)
        assert drawn[0] > 100 and drawn[1] > 30, (chart, drawn)
        title = browser.execute_script("return arguments[0].querySelector('title').textContent", svg)
        desc = browser.execute_script("return arguments[0].querySelector('desc').textContent", svg)
        assert title and len(desc) > 20, chart
        # Data marks carry a tooltip (<title>); axes, grid and legend do not. An empty chart has none.
        marks = browser.execute_script(
            "return [...arguments[0].querySelectorAll(':scope > :is(rect, path, circle, line) > title')]"
            ".filter(t => t.parentElement.getBoundingClientRect().width > 0).length",
            svg,
        )
        assert marks > 0, chart
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0

    for width in (1280, A4_WIDTH_PX):
        browser.set_window_size(width, 1000)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways at {width} px"
    pdf = base64.b64decode(browser.print_page())
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") > 3


def test_the_command_records_the_report_unless_asked_not_to(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    args = ("--config", str(sample), "report", "--tenant", "northwind", "--out", str(out))
    code, _, _ = invoke(*args, "--no-record")
    assert code == 0
    assert "the last 90 days (no earlier report)" in out.read_text()
    assert invoke(*args)[0] == 0
    assert invoke(*args)[0] == 0
    assert "the time since the previous report" in out.read_text()
    code, _, err = invoke(*args, "--since", "2026-13-01")
    assert code == 2 and "not a date" in err
    code, _, err = invoke("--config", str(sample), "report", "--tenant", "nope", "--out", str(out))
    assert code == 2
