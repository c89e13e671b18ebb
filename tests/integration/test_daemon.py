"""The daemon as a user runs it: `saaswatch run` on the bundled sample tenant, scraped by promtool and by
a real Prometheus, then stopped with SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from live import prometheus, sample_daemon
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "config" / "samples"
EXPECTED = json.loads((SAMPLES / "northwind" / "expected_findings.json").read_text())
# Every analyzer's open waste: what the waste metrics and the showback add up to.
TOTAL_WASTE = Decimal(EXPECTED["all_analyzers"]["monthly_waste_total"])


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def total_waste(text: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "saaswatch_app_monthly_waste"
    )


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    with sample_daemon(tmp_path) as (proc, port, log):
        yield proc, f"http://127.0.0.1:{port}/metrics", log


def wait_for_waste(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"daemon exited early:\n{log.read_text()}"
        try:
            text = fetch(url)
            if total_waste(text) > 0:
                return text
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"no waste on {url} within {timeout}s:\n{log.read_text()}")


def test_daemon_serves_sample_waste_then_stops_on_sigterm(
    daemon: tuple[subprocess.Popen[bytes], str, Path], promtool: str
) -> None:
    proc, url, log = daemon
    text = wait_for_waste(url, proc, log)
    assert Decimal(str(round(total_waste(text), 2))) == Decimal(
        EXPECTED["all_analyzers"]["monthly_waste_total"]
    )
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0 and not (checked.stdout + checked.stderr).strip(), (
        checked.stdout + checked.stderr
    )
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, log.read_text()
    assert "stopped" in log.read_text()


def test_real_prometheus_scrapes_the_daemon(
    daemon: tuple[subprocess.Popen[bytes], str, Path], prometheus_bin: str, tmp_path: Path
) -> None:
    proc, url, log = daemon
    wait_for_waste(url, proc, log)
    target_port = int(urllib.parse.urlsplit(url).port or 0)
    with prometheus(prometheus_bin, tmp_path, target_port) as (_, prom_port):
        query = urllib.parse.quote("sum by (tenant) (saaswatch_app_monthly_waste)")
        api = f"http://127.0.0.1:{prom_port}/api/v1/query?query={query}"
        deadline = time.monotonic() + 60
        result: list[dict[str, object]] = []
        while time.monotonic() < deadline and not result:
            time.sleep(1)
            try:
                result = json.loads(fetch(api))["data"]["result"]
            except OSError:
                continue
        assert result, "Prometheus never scraped saaswatch"
        (series,) = result
        assert series["metric"] == {"tenant": "northwind"}
        value = series["value"]
        assert isinstance(value, list)
        assert Decimal(str(round(float(value[1]), 2))) == Decimal(
            EXPECTED["all_analyzers"]["monthly_waste_total"]
        )
        up = json.loads(fetch(f"http://127.0.0.1:{prom_port}/api/v1/query?query=up"))["data"]["result"]
        assert up[0]["value"][1] == "1"
