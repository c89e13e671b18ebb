"""Benchmark: the okta connector against a large Okta-like org over HTTP. Prints figures; asserts nothing.

The org (tests/connectors/okta_fake.py, generated on demand, nothing stored): 50,000 users, 300 apps
(plus Okta's own three) with ~283,000 assignments, and 2,000,000 SSO events over 90 days. The fake
answers after 100 ms, over real HTTP (a threaded server in this process), with Okta's per-minute
buckets: 600 requests/min on the System Log, and on users and on apps alike unless told otherwise.
Each sync runs in a subprocess (the daemon's SyncRunner and store) so its peak RSS is its own.

Runs, in order (each in a new store):
1. full sync of an org with 200,000 events (peak RSS at 200k);
2. full sync with 2,000,000 events: wall time against the bound the System Log budget sets
   (requests made / allowed rate), 429s served (and after the first minute), peak RSS at 2M;
3. incremental sync of the same store after one more day of events;
4. full sync of 2,000,000 events with every rate limit off: events read and stored per second.
Each run prints its CPU time, its requests per bucket and its RSS every few seconds.

Usage: python bench/okta_sync.py [--events 2000000] [--small-events 200000] [--latency 0.1]
       [--logs-rpm 600] [--users-rpm 600] [--apps-rpm 600] [--database-url URL] [--skip RUN]
       [--timeline FILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "connectors"))

from harness import FakeServer  # noqa: E402
from okta_fake import GeneratedOrg, OktaFake  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from collector import registry  # noqa: E402
from collector.config import Config, ConnectorConfig, TenantConfig  # noqa: E402
from collector.connector import ConnectorSettings  # noqa: E402
from collector.models import Account, Activity, Person  # noqa: E402
from collector.runner import SyncRunner  # noqa: E402
from collector.store import Store  # noqa: E402
from collector.tenants import apply_tenant_config  # noqa: E402
from connectors.okta import OktaConnector  # noqa: E402
from connectors.okta.api import Plumbing  # noqa: E402
from connectors.okta.settings import OktaSettings  # noqa: E402

TOKEN = "00BenchOktaApiToken0123456789abcdefghijk"
UNLIMITED = 10**9


class BenchOkta(OktaConnector):
    """The connector, keeping a hand on its last instance to report its counts."""

    last: ClassVar[BenchOkta | None] = None

    def __init__(self, settings: ConnectorSettings, *, plumbing: Plumbing | None = None) -> None:
        super().__init__(settings, plumbing=plumbing)
        BenchOkta.last = self


# ------------------------------------------------------------------------------------------------
# The child: one sync, measured


def child(spec: dict[str, Any]) -> None:
    registry.BUILTIN["okta"] = f"{__name__}:BenchOkta"
    sys.modules.setdefault(__name__, sys.modules["__main__"])
    store = Store(spec["database_url"])
    tuning = {"log_workers": spec["log_workers"]} if spec.get("log_workers") else {}
    settings = OktaSettings(
        base_url=spec["base_url"],
        api_token=SecretStr(TOKEN),
        log_lookback_days=spec["lookback_days"],
        **tuning,
    )
    tenant = TenantConfig(
        id="bench", name="Bench", connectors=[ConnectorConfig(id="okta", settings=settings)]
    )
    config = Config(tenants=[tenant], base_dir=Path("."))
    apply_tenant_config(store, tenant)
    runner = SyncRunner(store, config)
    started = time.perf_counter()
    rss_samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample_rss() -> None:  # resident set size every 5 s, to see whether memory grows with events
        page = resource.getpagesize()
        while not done.wait(5):
            with open("/proc/self/statm") as statm:
                resident = int(statm.read().split()[1]) * page / 2**20
            rss_samples.append((round(time.perf_counter() - started), round(resident)))

    threading.Thread(target=sample_rss, daemon=True).start()
    result = runner.run(tenant, tenant.connectors[0])
    wall = time.perf_counter() - started
    done.set()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024
    with store.sessions() as session:
        counts = {
            name: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (("people", Person), ("accounts", Account), ("activity", Activity))
        }
    store.dispose()
    connector = BenchOkta.last
    assert connector is not None
    stats, log = connector.stats, connector.stats.log
    print(
        json.dumps(
            {
                "status": result.status,
                "error": result.error,
                "records": result.records,
                "wall": wall,
                "peak_rss_mib": peak,
                "cpu": usage.ru_utime + usage.ru_stime,
                "rss_samples": rss_samples,
                "events": log.events,
                "failed": log.failed,
                "duplicates": log.duplicates,
                "sso_records": log.written,
                "superseded": log.superseded,
                "log_requests": log.requests,
                "since": log.since.isoformat() if log.since else None,
                "users": stats.users,
                "assignments": stats.assignments,
                **counts,
            }
        )
    )


# ------------------------------------------------------------------------------------------------
# The parent: fakes, databases, subprocesses, figures


@dataclass
class Run:
    label: str
    result: dict[str, Any]
    fake: OktaFake
    started: float


@contextmanager
def database(url: str | None, tmp: Path, name: str) -> Iterator[str]:
    """An empty, migrated database: a SQLite file in ``tmp``, or a fresh schema of ``url``."""
    if url is None:
        path = f"sqlite:///{tmp}/{name}.sqlite3"
        Store(path).migrate()
        yield path
        return
    schema = f"bench_okta_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    scoped = f"{url}{sep}options=-csearch_path%3D{schema}"
    try:
        store = Store(scoped)
        store.migrate()
        store.dispose()
        yield scoped
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def sync_in_subprocess(
    label: str,
    fake: OktaFake,
    server: FakeServer,
    database_url: str,
    lookback_days: int,
    log_workers: int | None = None,
) -> Run:
    spec = {
        "base_url": server.url,
        "database_url": database_url,
        "lookback_days": lookback_days,
        "log_workers": log_workers,
    }
    started = time.time()
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{label}: the sync subprocess failed:\n{done.stderr[-3000:]}")
    return Run(label, json.loads(lines[-1]), fake, started)


def make_fake(args: argparse.Namespace, events: int, end: datetime, *, limited: bool) -> OktaFake:
    org = GeneratedOrg(users=args.users, apps=args.apps, events=events, days=args.days, end=end)
    budgets = (
        {"logs": args.logs_rpm, "users": args.users_rpm, "apps": args.apps_rpm}
        if limited
        else dict.fromkeys(("logs", "users", "apps", "token"), UNLIMITED)
    )
    return OktaFake(org, api_token=TOKEN, budgets=budgets, latency=args.latency)


def report(run: Run, rpm: dict[str, int] | None, timeline: Path | None = None) -> None:
    r, fake = run.result, run.fake
    if timeline is not None:
        with timeline.open("a") as out:
            out.write(
                json.dumps({"label": run.label, "started": run.started, "requests": fake.timeline}) + "\n"
            )
    requests = {
        f: sum(n for (family, status), n in fake.served.items() if family == f and status != 429)
        for f in ("users", "apps", "logs")
    }
    late_429 = sum(1 for _, when in fake.throttled_at if when >= run.started + 60)
    print(
        f"{run.label}: {r['status']} in {r['wall']:.1f}s; {r['events']:,} SSO events counted "
        f"({r['failed']:,} failed sign-ons), {r['activity']:,} activity rows, {r['people']:,} people, "
        f"{r['accounts']:,} accounts; peak RSS {r['peak_rss_mib']:.0f} MiB, CPU {r['cpu']:.0f}s; "
        f"{r['sso_records']:,} SSO activity records written, {r['superseded']:,} outdated sign-ons skipped"
    )
    print(
        f"    requests: users {requests['users']}, apps {requests['apps']}, logs {requests['logs']}; "
        f"429s served: {sum(fake.throttled.values())} {dict(fake.throttled) or ''}, "
        f"after the first minute: {late_429}"
    )
    if rpm is not None:
        bounds = {f: requests[f] / (rpm[f] / 60) for f in requests}
        shown = ", ".join(f"{f} {requests[f]}/{rpm[f]} a min = {b:.1f}s" for f, b in bounds.items())
        print(f"    rate-limit bounds: {shown}; wall / System Log bound = {r['wall'] / bounds['logs']:.2f}")
    if r.get("rss_samples"):
        shown = " ".join(f"{t}s:{mib}" for t, mib in r["rss_samples"][:: max(1, len(r["rss_samples"]) // 12)])
        print(f"    RSS MiB over time: {shown}")
    if r["status"] != "success":
        print(f"    error: {r['error']}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--apps", type=int, default=300)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--small-events", type=int, default=200_000)
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    parser.add_argument("--logs-rpm", type=int, default=600)
    parser.add_argument("--users-rpm", type=int, default=600)
    parser.add_argument("--apps-rpm", type=int, default=600)
    parser.add_argument(
        "--database-url", help="PostgreSQL URL (a schema per run); default SQLite in a temp dir"
    )
    parser.add_argument(
        "--unlimited-log-workers",
        type=int,
        help="System Log readers of the rate-limit-off run (default: the setting's)",
    )
    parser.add_argument("--skip", action="append", default=[], choices=["small", "full", "unlimited"])
    parser.add_argument("--timeline", type=Path, help="write each run's (family, time, status) requests here")
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return 0

    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"okta sync benchmark: {args.users:,} users, {args.apps} apps, {args.events:,} SSO events over "
        f"{args.days:g} days, {args.latency * 1000:.0f} ms a request, System Log {args.logs_rpm}/min, "
        f"users {args.users_rpm}/min, apps {args.apps_rpm}/min; {backend}"
    )
    # The events end a day ago: the incremental run reveals one more day. The first syncs look back
    # a little further than the events go, so that all of them are read.
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    lookback = int(args.days) + 2
    rpm = {"logs": args.logs_rpm, "users": args.users_rpm, "apps": args.apps_rpm}
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        if "small" not in args.skip:
            fake = make_fake(args, args.small_events, end, limited=True)
            with FakeServer(fake) as server, database(args.database_url, Path(tmp), "small") as url:
                runs.append(
                    sync_in_subprocess(
                        f"full sync, {args.small_events:,} events", fake, server, url, lookback
                    )
                )
            report(runs[-1], rpm, args.timeline)
        if "full" not in args.skip:
            fake = make_fake(args, args.events, end, limited=True)
            org = fake.org
            assert isinstance(org, GeneratedOrg)
            with FakeServer(fake) as server, database(args.database_url, Path(tmp), "full") as url:
                runs.append(
                    sync_in_subprocess(f"full sync, {args.events:,} events", fake, server, url, lookback)
                )
                report(runs[-1], rpm, args.timeline)
                new_day_start = org.visible_until
                org.visible_until = int(datetime.now(UTC).timestamp() * 1000)
                day = org.sso_events_between(new_day_start + 1, org.visible_until + 1)
                fake.served.clear()
                fake.throttled.clear()
                fake.throttled_at.clear()
                label = f"incremental, one new day ({day:,} events)"
                runs.append(sync_in_subprocess(label, fake, server, url, lookback))
            report(runs[-1], rpm, args.timeline)
            r = runs[-1].result
            print(f"    read from {r['since']}; {r['duplicates']} events of the overlap already counted")
        if "unlimited" not in args.skip:
            fake = make_fake(args, args.events, end, limited=False)
            with FakeServer(fake) as server, database(args.database_url, Path(tmp), "unlimited") as url:
                label = f"rate limit off, {args.events:,} events"
                if args.unlimited_log_workers:
                    label += f", {args.unlimited_log_workers} System Log readers"
                runs.append(
                    sync_in_subprocess(label, fake, server, url, lookback, args.unlimited_log_workers)
                )
            report(runs[-1], None)
            r = runs[-1].result
            events_per_s, records_per_s = r["events"] / r["wall"], r["records"] / r["wall"]
            print(f"    {events_per_s:,.0f} SSO events/s read and stored ({records_per_s:,.0f} records/s)")
    rss = {run.label: run.result["peak_rss_mib"] for run in runs if run.label.startswith("full sync")}
    if len(rss) == 2:
        small, large = rss.values()
        print(f"peak RSS {small:.0f} MiB -> {large:.0f} MiB: x{large / small:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
