"""The daemon as a user runs it: `saaswatch run` on the bundled sample tenant, scraped by promtool and by
a real Prometheus, then stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "config" / "samples"
EXPECTED = json.loads((SAMPLES / "northwind" / "expected_findings.json").read_text())
# Every analyzer's open waste: what the waste metrics and the showback add up to.
TOTAL_WASTE = Decimal(EXPECTED["all_analyzers"]["monthly_waste_total"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
def daemon(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    shutil.copytree(SAMPLES, tmp_path / "samples")
    port = free_port()
    log = tmp_path / "daemon.log"
    env = {
        **os.environ,
        "SAASWATCH_DATABASE_URL": f"sqlite:///{tmp_path}/daemon.sqlite3",
        "SAASWATCH_METRICS_LISTEN": f"127.0.0.1:{port}",
    }
    cmd = [
        sys.executable,
        "-m",
        "collector.cli",
        "--config",
        str(tmp_path / "samples" / "northwind.yaml"),
        "run",
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        yield proc, f"http://127.0.0.1:{port}/metrics", log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def wait_for_waste(url: str, proc: subprocess.Popen[str], log: Path, timeout: float = 60) -> str:
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
    daemon: tuple[subprocess.Popen[str], str, Path], promtool: str
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
    daemon: tuple[subprocess.Popen[str], str, Path], prometheus_bin: str, tmp_path: Path
) -> None:
    proc, url, log = daemon
    wait_for_waste(url, proc, log)
    target = urllib.parse.urlsplit(url).netloc
    prom_port = free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs:\n  - job_name: saaswatch\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    prom = subprocess.Popen(
        [
            prometheus_bin,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
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
    finally:
        prom.terminate()
        prom.wait(30)
