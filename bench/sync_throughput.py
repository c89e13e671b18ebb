"""Benchmark: how fast the core writes, analyzes and exports a large tenant. Prints figures; asserts nothing.

A synthetic connector yields N people, each with an account, a seat and an activity row in one of
15 apps, in pages of 1,000 records. Measured on SQLite (a file) and, when reachable, PostgreSQL:
- full sync: records stored per second, and the same again (a re-run is all updates);
- the analysis (every analyzer) over the whole tenant;
- one /metrics scrape.

Usage: python bench/sync_throughput.py [--people 50000] [--pg-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import create_engine, text

from collector import registry
from collector.analysis import run_analyzers
from collector.config import Config, ConnectorConfig, Contract, TenantConfig
from collector.connector import Connector, ConnectorSettings, SyncContext
from collector.exporter import StoreCollector
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    DataKind,
    PersonRecord,
    Record,
    SeatRecord,
)
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config

APPS = [f"app{i:02d}" for i in range(15)]
NOW = datetime(2026, 11, 20, tzinfo=UTC)
PAGE = 1000


class SyntheticSettings(ConnectorSettings):
    people: int = 50_000


class SyntheticConnector(Connector):
    id = "synthetic"
    title = "Synthetic benchmark source"
    settings_model = SyntheticSettings
    data_kinds = frozenset({DataKind.PEOPLE, DataKind.ACCOUNTS, DataKind.SEATS, DataKind.ACTIVITY})
    snapshot_kinds = frozenset({DataKind.ACCOUNTS, DataKind.SEATS})

    def sync(self, ctx: SyncContext) -> Iterator[Record]:
        assert isinstance(self.settings, SyntheticSettings)
        rng = random.Random(7)
        page: list[Record] = []
        for i in range(self.settings.people):
            email = f"person{i}@bench.example"
            app = APPS[i % len(APPS)]
            seen = NOW - timedelta(days=rng.randint(0, 200)) if rng.random() > 0.05 else None
            page += [
                PersonRecord(email=email, department=f"dept{i % 20}"),
                AccountRecord(app_id=app, external_id=email, email=email),
                SeatRecord(app_id=app, sku="Standard", account_external_id=email),
                ActivityRecord(email=email, app_id=app, last_seen_at=seen, source_kind=ActivitySource.EXPORT),
            ]
            if len(page) >= PAGE:
                yield from page
                yield Checkpoint("people", cursor={"after": i})
                page = []
        yield from page
        yield Checkpoint("people", cursor={"after": self.settings.people}, complete=True)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(url: str, label: str, people: int) -> None:
    store = Store(url)
    store.migrate()
    tenant = TenantConfig(
        id="bench",
        name="Bench",
        as_of=NOW.date(),
        connectors=[ConnectorConfig(id="synthetic", settings=SyntheticSettings(people=people))],
        contracts=[
            Contract(app=a, sku="Standard", seats=people // 15 + 50, unit_price=Decimal(10)) for a in APPS
        ],
    )
    config = Config(tenants=[tenant], base_dir=Path("."))
    apply_tenant_config(store, tenant)
    runner = SyncRunner(store, config)
    for attempt in ("first sync", "re-sync"):
        started = time.perf_counter()
        result = runner.run(tenant, tenant.connectors[0])
        elapsed = time.perf_counter() - started
        print(
            f"{label:10} {attempt:11} {result.records:>9,} records in {elapsed:6.2f}s"
            f" = {result.records / elapsed:>9,.0f} records/s ({result.status})"
        )
    started = time.perf_counter()
    results = run_analyzers(store, tenant, now=NOW)
    (analysis,) = [r for r in results if r.analyzer == "unused_seats"]
    print(
        f"{label:10} analysis    {sum(r.open for r in results):>9,} findings in"
        f" {time.perf_counter() - started:6.2f}s (every analyzer; unused seats {analysis.open:,},"
        f" {analysis.monthly_waste:,.0f} USD/month)"
    )
    reg = CollectorRegistry()
    reg.register(StoreCollector(store, config))
    started = time.perf_counter()
    size = len(generate_latest(reg))
    print(f"{label:10} scrape      {size:>9,} bytes   in {time.perf_counter() - started:6.2f}s")
    store.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    registry.BUILTIN["synthetic"] = f"{__name__}:SyntheticConnector"
    sys.modules.setdefault(__name__, sys.modules["__main__"])
    print(f"saaswatch core benchmark: {args.people:,} people x (person, account, seat, activity)")
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{tmp}/bench.sqlite3", "sqlite", args.people)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(args.pg_url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        print(f"postgresql skipped: {type(exc).__name__}")
    else:
        try:
            sep = "&" if "?" in args.pg_url else "?"
            bench(f"{args.pg_url}{sep}options=-csearch_path%3D{schema}", "postgresql", args.people)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    print(f"peak RSS {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
