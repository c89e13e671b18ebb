"""The digest as a user drives it on the bundled sample: `saaswatch digest --dry-run` prints the same
total as `saaswatch findings`, `saaswatch digest` sends to a local fake webhook, and the daemon
schedules one digest job per tenant that has one."""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner

from collector.cli import main
from collector.config import load_config
from collector.daemon import Daemon
from collector.store import Store
from collector.tenants import apply_tenant_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from harness import FakeServer

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "config" / "samples"
SECRET = "T0SAMPLE/B0SAMPLE/sampleSecret42"


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(SAMPLES, tmp_path / "samples")
    monkeypatch.setenv("SAASWATCH_DATABASE_URL", f"sqlite:///{tmp_path}/digest.sqlite3")
    return tmp_path / "samples" / "northwind.yaml"


@pytest.fixture
def webhook() -> Iterator[FakeServer]:
    with FakeServer(lambda request: httpx.Response(200, text="ok")) as server:
        yield server


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)
    return result.exit_code, result.stdout, result.stderr


def with_digest(config: Path, digest: dict[str, Any]) -> Path:
    data = yaml.safe_load(config.read_text())
    data["tenants"][0]["digest"] = digest
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return config


def money(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def test_dry_run_prints_the_same_total_as_findings(sample: Path) -> None:
    assert invoke("--config", str(sample), "sync", "--once")[0] == 0
    code, out, _ = invoke("--config", str(sample), "findings")
    assert code == 0
    findings_total = re.search(r"^northwind: ([\d.]+) USD/month of waste in (\d+) open", out, re.M)
    assert findings_total is not None

    code, out, _ = invoke("--config", str(sample), "digest", "--tenant", "northwind", "--dry-run")
    assert code == 0
    assert out.startswith("SaaS waste digest for Northwind Robotics\n")
    headline = re.search(
        r"^Waste: ([\d,.]+) USD a month, ([\d,.]+) USD a year, in (\d+) open findings", out, re.M
    )
    assert headline is not None
    assert money(headline[1]) == Decimal(findings_total[1])
    assert money(headline[2]) == Decimal(findings_total[1]) * 12
    assert headline[3] == findings_total[2]
    assert "(findings judged as of 20 Nov 2026)" in out
    assert "Top 10 findings by money" in out and " 10. " in out
    assert "Cancellation deadlines in the next 30 days" in out
    # A dry run records nothing: the next one is still the first digest.
    code, again, _ = invoke("--config", str(sample), "digest", "--tenant", "northwind", "--dry-run")
    assert "This is the first digest" in again


def test_digest_sends_now_and_reports_each_channel(sample: Path, webhook: FakeServer) -> None:
    invoke("--config", str(sample), "sync", "--once")
    env = {"NORTHWIND_SLACK_WEBHOOK": f"{webhook.url}/services/{SECRET}"}
    with FakeServer(lambda request: httpx.Response(404, text="no_service")) as gone:
        channels = [
            {"type": "slack", "webhook_url": "${NORTHWIND_SLACK_WEBHOOK}"},
            {"type": "slack", "name": "gone", "webhook_url": f"{gone.url}/services/T0/B0/retiredHook99"},
        ]
        with_digest(sample, {"channels": channels})
        code, out, err = invoke("--config", str(sample), "digest", "--tenant", "northwind", env=env)
        assert code == 1
        assert out == "northwind/slack: sent\n"
        assert "northwind/gone: not sent: Slack webhook at 127.0.0.1:" in err and "HTTP 404 no_service" in err
        assert SECRET not in out + err and "retiredHook99" not in err

        args = ("--config", str(sample), "digest", "--tenant", "northwind", "--channel", "slack")
        code, out, _ = invoke(*args, env=env)
        assert (code, out) == (0, "northwind/slack: sent\n")
        assert len(gone.requests) == 1  # --channel slack left the other alone
    first, second = (json.loads(r.content) for r in webhook.requests)
    assert "first digest" in json.dumps(first["blocks"][2]) and "+0.00 USD" not in json.dumps(first)
    assert "No change since the last digest" in second["blocks"][3]["text"]["text"]
    code, out, _ = invoke("--config", str(sample), "digest", "--tenant", "northwind", "--dry-run", env=env)
    assert "No change since the last digest" in out


def test_sending_needs_a_digest_block_and_known_channels(sample: Path) -> None:
    code, _, err = invoke("--config", str(sample), "digest", "--tenant", "northwind")
    assert code == 2 and "tenant northwind has no digest: block" in err
    code, _, err = invoke("--config", str(sample), "digest", "--tenant", "nowhere", "--dry-run")
    assert code == 2 and "no tenant 'nowhere'" in err
    with_digest(
        sample, {"channels": [{"type": "slack", "webhook_url": "https://hooks.slack.com/services/x/y/z"}]}
    )
    code, _, err = invoke("--config", str(sample), "digest", "--tenant", "northwind", "--channel", "teams")
    assert code == 2 and "no digest channel teams for tenant northwind; known: slack" in err


def test_the_daemon_schedules_one_digest_job_per_tenant_with_a_digest(
    sample: Path, webhook: FakeServer
) -> None:
    with_digest(
        sample,
        {
            "schedule": {"cron": "0 8 * * 1", "timezone": "Europe/Berlin"},
            "channels": [{"type": "slack", "webhook_url": f"{webhook.url}/services/{SECRET}"}],
        },
    )
    config = load_config(sample)
    store = Store(config.database_url)
    store.migrate()
    daemon = Daemon(config, store, max_workers=1)
    tuesday = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    daemon.schedule_jobs(tuesday)
    jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
    assert set(jobs) == {"sync:northwind:exports", "analyze:northwind", "digest:northwind"}
    digest_job = jobs["digest:northwind"]
    assert digest_job.func == daemon.digest_job and digest_job.args == ("northwind",)
    fire = digest_job.trigger.get_next_fire_time(None, tuesday)
    assert fire.astimezone(UTC) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 08:00 in Berlin (CET)

    # The job sends (the daemon's tenant row is written at start; here by hand).
    apply_tenant_config(store, config.tenants[0])
    daemon.digest_job("northwind")
    assert len(webhook.requests) == 1 and webhook.requests[0].url.path == f"/services/{SECRET}"
    store.dispose()


def test_no_digest_job_without_a_block_or_when_disabled(sample: Path) -> None:
    for digest in (
        None,
        {"enabled": False, "channels": [{"type": "slack", "webhook_url": "https://h.example/x/y"}]},
    ):
        if digest is not None:
            with_digest(sample, digest)
        config = load_config(sample)
        daemon = Daemon(config, Store(config.database_url), max_workers=1)
        daemon.schedule_jobs(datetime(2026, 11, 24, tzinfo=UTC))
        assert not [job for job in daemon.scheduler.get_jobs() if job.id.startswith("digest:")]


def test_the_example_config_shows_every_channel_type(tmp_path: Path) -> None:
    example = yaml.safe_load((ROOT / "config" / "examples" / "all-connectors.yaml").read_text())
    alone = tmp_path / "digest.yaml"  # the example's digest block without the connectors' key files
    tenant = {"id": "acme", "name": "Acme Ltd", "digest": example["tenants"][0]["digest"]}
    alone.write_text(yaml.safe_dump({"tenants": [tenant]}))
    env = {
        "ACME_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/example",
        "ACME_TEAMS_WEBHOOK_URL": "https://prod-00.westeurope.logic.azure.com/workflows/example",
        "SMTP_PASSWORD": "example-password",
    }
    digest = load_config(alone, environ=env).tenants[0].digest
    assert digest is not None and not digest.enabled and digest.schedule.timezone == "Europe/London"
    assert [c.type for c in digest.channels] == ["slack", "teams", "smtp"]
