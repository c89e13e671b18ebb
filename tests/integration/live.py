"""Real processes for the integration tests: ``saaswatch run`` on a copy of the bundled sample tenant,
and a real Prometheus scraping it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "config" / "samples"

Json = dict[str, Any]


def get_json(url: str) -> Json:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: Json = json.loads(response.read().decode())
    return body


def wait_until(what: str, check: Callable[[], bool], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout}s; daemon log:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait(30)


@contextmanager
def sample_daemon(tmp: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """``saaswatch run`` on a copy of the sample tenant with SQLite in ``tmp``: the process, the port
    its metrics are served on and its log file."""
    shutil.copytree(SAMPLES, tmp / "samples")
    port = free_port()
    log = tmp / "daemon.log"
    env = {
        **os.environ,
        "SAASWATCH_DATABASE_URL": f"sqlite:///{tmp}/daemon.sqlite3",
        "SAASWATCH_METRICS_LISTEN": f"127.0.0.1:{port}",
    }
    command = [
        sys.executable,
        "-m",
        "collector.cli",
        "--config",
        str(tmp / "samples" / "northwind.yaml"),
        "run",
    ]
    with log.open("w") as out:
        daemon = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        yield daemon, port, log
    finally:
        stop(daemon)


@contextmanager
def prometheus(
    binary: str, tmp: Path, target_port: int, rules: Path | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A real Prometheus scraping (and evaluating ``rules``) every second: the process and its port."""
    port = free_port()
    (tmp / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        + (f"rule_files: [{rules}]\n" if rules else "")
        + "scrape_configs:\n"
        f"  - job_name: saaswatch\n    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n"
    )
    server = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield server, port
    finally:
        stop(server)
