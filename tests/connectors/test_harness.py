"""The connector test harness itself: a fake served over real HTTP, and a sync through the daemon."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
from harness import FakeServer, sync_through_daemon, write_config

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples"


def test_fake_server_serves_the_handler_over_http() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "1"}, json={"path": request.url.path})

    with FakeServer(handler) as server:
        response = httpx.get(f"{server.url}/api/v1/users?limit=2")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"path": "/api/v1/users"}
    assert server.requests[0].url.params["limit"] == "2"


def test_sync_through_daemon_records_the_run(tmp_path: Path, store_url: str) -> None:
    shutil.copytree(SAMPLES / "northwind" / "exports", tmp_path / "exports")
    config = write_config(
        tmp_path,
        """
database_url: "{database_url}"
metrics: {listen: "{metrics_listen}"}
tenants:
  - id: acme
    name: Acme
    connectors:
      - id: csv_import
        name: exports
        settings:
          files:
            - {path: exports/license_pools.csv, format: license_pools}
""",
        store_url,
    )
    run = sync_through_daemon(config, "acme", "exports")
    assert run.status == "success"
    assert run.records > 0
