"""Benchmark: the unused-seats analysis on a large generated tenant. Prints figures; asserts nothing.

Generates a tenant straight into the store with bulk inserts (not through connectors): N people,
A apps with 1-3 SKUs each, S accounts each holding one seat (every person holds ~S/N apps, popular
apps far more often than the long tail), activity from one or two sources per app (an IdP's SSO log
and/or the vendor's own last login) with 8% of seats inactive for more than 60 days, 3% never used and
1% without any usage data; two vendor sources are stale; license pools with prices, a third of them
annual. Then it times, each in a fresh process so peak memory is the step's own:

- the floor: one bare SQL query computing the flagged set (holders whose latest fresh sighting is
  older than the app's threshold, or who were never seen), rows fetched;
- the full unused-seats analysis (``UnusedSeats.run`` + finding persistence, one transaction), on an
  empty findings table (run 1) and again with every finding already stored (run 2).

Usage:
    python bench/analysis_scale.py [--people 100000] [--apps 400] [--seats 2000000]
                                   [--database-url sqlite:///... | postgresql+psycopg://...]

Without --database-url the store is a SQLite file in a temporary directory. With a PostgreSQL URL
the benchmark creates a schema of its own and drops it afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, make_url, text  # noqa: E402

from analyzers.base import TenantView  # noqa: E402
from analyzers.unused_seats import UnusedSeats, UnusedSeatsSettings  # noqa: E402
from collector.config import Mute  # noqa: E402
from collector.store import Store  # noqa: E402

TENANT = "bench"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SKU_NAMES = ("Standard", "Pro", "Enterprise")
IDP = "idp"
CHUNK = 50_000
SEED = 11


# -- the tenant ----------------------------------------------------------------------------------


class Shape:
    """The generated tenant's facts that generation, the floor and the analysis all need."""

    def __init__(self, apps: int) -> None:
        self.apps = [f"app{i:03d}" for i in range(apps)]
        self.vendors = max(1, apps // 10)
        # Two vendors are stale (their last sync failed): the seats of their apps that only they
        # report on are UNKNOWN; where the IdP reports too, its data still decides.
        both = [v for v in range(self.vendors) if v % 10 in (3, 5)]
        self.stale = [f"vendor{v:02d}" for v in both[-2:]] or [self.vendor(0)]
        # Per-app thresholds: a few popular apps are judged after 90 days, a few tail apps after 30.
        self.overrides = {app: 90 for app in self.apps[3:6]} | {app: 30 for app in self.apps[100:110]}

    def vendor(self, app_index: int) -> str:
        return f"vendor{app_index % self.vendors:02d}"

    def skus(self, app_index: int) -> tuple[str, ...]:
        return SKU_NAMES[: 1 + app_index % 3]

    def activity_sources(self, app_index: int) -> tuple[str, ...]:
        """Which sources report usage of an app: the IdP, the vendor, or both."""
        slot = app_index % 10
        if slot < 3:
            return (IDP,)
        if slot < 6:
            return (IDP, self.vendor(app_index))
        return (self.vendor(app_index),)

    def settings(self) -> UnusedSeatsSettings:
        apps: dict[str, Any] = {app: {"inactive_days": days} for app, days in self.overrides.items()}
        apps[self.apps[-2]] = {"exclude": True}
        apps[self.apps[2]] = {"exclude_skus": ["enterprise"]}
        return UnusedSeatsSettings.model_validate(
            {"apps": apps, "exclude_people": ["ceo@bench.example", "svc-*@bench.example"]}
        )

    def view(self) -> TenantView:
        return TenantView(
            tenant_id=TENANT,
            currency="USD",
            now=NOW,
            exchange_rates={"EUR": Decimal("1.08")},
            stale_sources={source: "last sync failed" for source in self.stale},
        )


MUTES = [
    Mute(analyzer="unused_seats", app="app001", reason="being migrated off", expires=date(2099, 1, 1)),
    Mute(subject="person00001*", reason="on parental leave", expires=date(2099, 1, 1)),
]


def ts(value: datetime | None, sqlite: bool) -> Any:
    """A timestamp as the store keeps it: SQLAlchemy's naive-UTC text on SQLite, aware on PostgreSQL."""
    if value is None or not sqlite:
        return value
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def email_of(i: int) -> str:
    """Person i's address; a few match the benchmark's exclude_people patterns."""
    if i == 0:
        return "ceo@bench.example"
    return f"svc-{i}@bench.example" if i <= 20 else f"person{i:06d}@bench.example"


def days_ago(rng: random.Random, low: float, high: float) -> datetime:
    return NOW - timedelta(seconds=int(rng.uniform(low, high) * 86400))


def generate(url: str, people: int, apps: int, seats: int) -> dict[str, Any]:
    started = time.perf_counter()
    store = Store(url)
    store.migrate()
    shape = Shape(apps)
    sqlite = store.engine.dialect.name == "sqlite"
    rng = random.Random(SEED)
    weights = list(itertools.accumulate(1 / (i + 1) ** 0.9 for i in range(apps)))
    per_person = min(seats / people, apps * 0.8)
    counts: dict[str, int] = {}

    def person_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(people):
            email = email_of(i)
            status = "active" if rng.random() < 0.96 else rng.choice(("suspended", "deprovisioned"))
            created = ts(days_ago(rng, 30, 3000), sqlite)
            yield (
                i + 1,
                TENANT,
                email,
                f"Person {i}",
                status,
                IDP,
                f"dept{i % 40}",
                None,
                None,
                created,
                ts(NOW, sqlite),
            )

    holdings: list[tuple[int, int]] = []  # (person index, app index), one account + seat each
    for i in range(people):
        want = int(per_person) + (rng.random() < per_person - int(per_person))
        chosen: dict[int, None] = {}
        while len(chosen) < want:
            for pick in rng.choices(range(apps), cum_weights=weights, k=want * 2):
                chosen.setdefault(pick)
                if len(chosen) == want:
                    break
        holdings.extend((i, a) for a in chosen)
    # Rows land as connectors write them: source by source, app by app (a vendor's sync pages
    # through one app's users), so ids follow (source, app) the way a real store's do.
    holdings.sort(key=lambda h: (h[1] % shape.vendors, h[1], h[0]))

    pool_holders: dict[tuple[int, str], int] = {}
    account_rows: list[tuple[Any, ...]] = []
    seat_rows: list[tuple[Any, ...]] = []
    activity_rows: list[tuple[Any, ...]] = []
    for n, (person, app) in enumerate(holdings, start=1):
        app_id = shape.apps[app]
        source = shape.vendor(app)
        kind = "service" if person % 997 == 5 else "user"
        created = ts(days_ago(rng, 20, 2000), sqlite) if rng.random() < 0.7 else None
        account_rows.append(
            (
                n,
                TENANT,
                source,
                app_id,
                f"u{person}",
                person + 1,
                email_of(person),
                "active",
                kind,
                created,
                1,
            )
        )
        skus = shape.skus(app)
        sku = skus[0] if len(skus) == 1 or rng.random() < 0.6 else rng.choice(skus[1:])
        pool_holders[(app, sku)] = pool_holders.get((app, sku), 0) + 1
        assigned = ts(days_ago(rng, 0, 1100), sqlite) if rng.random() < 0.9 else None
        seat_rows.append((n, TENANT, source, app_id, sku, n, assigned, 1))
        activity_rows.extend(_activity(rng, shape, person + 1, app, sqlite))
    # Service accounts without a person (no e-mail): no usage data can exist for them.
    for k in range(min(500, people)):
        n = len(account_rows) + 1
        app = k % min(apps, 20)
        app_id, source, sku = shape.apps[app], shape.vendor(app), shape.skus(app)[0]
        account_rows.append(
            (n, TENANT, source, app_id, f"integration-{k}", None, None, "active", None, None, 1)
        )
        seat_rows.append((n, TENANT, source, app_id, sku, n, ts(days_ago(rng, 0, 900), sqlite), 1))
        pool_holders[(app, sku)] = pool_holders.get((app, sku), 0) + 1

    pool_rows = []
    for n, ((app, sku), held) in enumerate(sorted(pool_holders.items()), start=1):
        monthly = Decimal(rng.choice(("4", "8", "12.5", "15", "25", "40", "60")))
        annual = rng.random() < 0.33
        pool_rows.append(
            (
                n, TENANT, shape.vendor(app), shape.apps[app], sku, held + rng.randint(0, max(1, held // 10)),
                None, str(monthly * 12 if annual else monthly) if sqlite else monthly * (12 if annual else 1),
                "EUR" if app % 25 == 7 else "USD", "annual" if annual else "monthly",
                "annual" if annual else "monthly", None,
                (NOW.date() + timedelta(days=rng.randint(10, 360))) if annual else None,
                True if annual else None, 30 if annual else None, 1,
            )
        )  # fmt: skip

    tables: list[tuple[str, Sequence[str], Iterable[tuple[Any, ...]]]] = [
        ("tenant", ("id", "name", "currency"), [(TENANT, "Bench", "USD")]),
        ("app", ("tenant_id", "id", "name"), [(TENANT, a, f"App {a[3:]}") for a in shape.apps]),
        (
            "person",
            ("id", "tenant_id", "email", "display_name", "status", "status_source", "department",
             "cost_center", "manager_email", "created_at", "updated_at"),
            person_rows(),
        ),
        (
            "account",
            ("id", "tenant_id", "source", "app_id", "external_id", "person_id", "email", "status", "kind",
             "created_at", "seen_run_id"),
            account_rows,
        ),
        (
            "license_pool",
            ("id", "tenant_id", "source", "app_id", "sku", "seats_purchased", "seats_assigned",
             "unit_price", "currency", "billing_period", "commitment", "term_start", "term_end", "auto_renew",
             "notice_days", "seen_run_id"),
            pool_rows,
        ),
        (
            "seat",
            ("id", "tenant_id", "source", "app_id", "sku", "account_id", "assigned_at", "seen_run_id"),
            seat_rows,
        ),
        (
            "activity",
            ("id", "tenant_id", "person_id", "app_id", "source", "source_kind", "feature", "last_seen_at",
             "observed_at", "seen_run_id"),
            activity_rows,
        ),
    ]  # fmt: skip
    generated = time.perf_counter() - started
    for name, columns, rows in tables:
        counts[name] = _bulk_insert(store, name, columns, rows)
    store.dispose()
    return {"counts": counts, "seconds": time.perf_counter() - started, "python_seconds": generated}


def _activity(
    rng: random.Random, shape: Shape, person_id: int, app: int, sqlite: bool
) -> list[tuple[Any, ...]]:
    """One or two sources' last-seen rows for a seat, with the benchmark's spread of (in)activity."""
    roll = rng.random()
    if roll < 0.01:
        return []  # no source knows this seat's usage
    sources = shape.activity_sources(app)
    if len(sources) == 2 and rng.random() < 0.5:
        sources = (rng.choice(sources),)
    if roll < 0.04:
        latest: datetime | None = None  # every source says "never"
    elif roll < 0.12:
        latest = days_ago(rng, 61, 500)
    else:
        latest = NOW - timedelta(days=min(rng.expovariate(1 / 8), 59.5))  # most were in this week
    rows = []
    for k, source in enumerate(sources):
        seen = latest if k == 0 or latest is None else latest - timedelta(days=rng.randint(0, 30))
        kind = "idp_sso" if source == IDP else "app_login"
        observed = ts(days_ago(rng, 0, 2), sqlite)
        rows.append(
            (None, TENANT, person_id, shape.apps[app], source, kind, "", ts(seen, sqlite), observed, 1)
        )
    return rows


def _bulk_insert(store: Store, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """executemany in big chunks on SQLite, COPY on PostgreSQL; ids given (activity's assigned here)."""
    raw = store.engine.raw_connection()
    count = 0
    try:
        conn: Any = raw.driver_connection
        if store.engine.dialect.name == "sqlite":
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA cache_size=-400000")
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            iterator = iter(rows)
            while chunk := list(itertools.islice(iterator, CHUNK)):
                if table == "activity":
                    chunk = [(count + k + 1, *row[1:]) for k, row in enumerate(chunk)]
                conn.executemany(sql, chunk)
                count += len(chunk)
            conn.commit()
        else:
            with conn.cursor() as cur:
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        count += 1
                        copy.write_row((count, *row[1:]) if table == "activity" else row)
                if "id" in columns and table not in ("tenant", "app"):
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {max(count, 1)})")
                cur.execute(f"ANALYZE {table}")  # what autovacuum would do shortly after a bulk load
            conn.commit()
    finally:
        raw.close()
    return count


# -- the measured steps --------------------------------------------------------------------------


def cutoff(days: int) -> datetime:
    return datetime.combine(NOW.date() - timedelta(days=days), datetime.min.time(), UTC)


def floor_sql(shape: Shape, dialect: str) -> tuple[str, dict[str, Any]]:
    """The bare query: holders whose latest fresh sighting is older than the threshold, or never seen."""
    sqlite = dialect == "sqlite"
    stale = ", ".join(f"'{s}'" for s in shape.stale)
    params: dict[str, Any] = {"tenant": TENANT}
    thresholds = []
    for n, days in enumerate(sorted(set(shape.overrides.values()))):
        apps = ", ".join(f"'{a}'" for a, d in shape.overrides.items() if d == days)
        thresholds.append(f"WHEN s.app_id IN ({apps}) THEN :cutoff{n}")
        params[f"cutoff{n}"] = ts(cutoff(days), sqlite)
    params["cutoff"] = ts(cutoff(60), sqlite)
    sql = f"""
        SELECT s.app_id, s.sku, COALESCE(a.person_id, -a.id) AS holder, MAX(x.last_seen) AS last_seen
        FROM seat AS s
        JOIN account AS a ON a.id = s.account_id
        LEFT JOIN (
            SELECT person_id, app_id, MAX(last_seen_at) AS last_seen
            FROM activity
            WHERE tenant_id = :tenant AND source NOT IN ({stale})
            GROUP BY person_id, app_id
        ) AS x ON x.person_id = a.person_id AND x.app_id = s.app_id
        WHERE s.tenant_id = :tenant
        GROUP BY s.app_id, s.sku, COALESCE(a.person_id, -a.id)
        HAVING MAX(x.last_seen) IS NULL
            OR MAX(x.last_seen) < CASE {" ".join(thresholds)} ELSE :cutoff END
    """
    return sql, params


class Meter:
    """Wall time, this process's CPU time and, on a local PostgreSQL, the server backend's CPU time."""

    def __init__(self, conn: Any) -> None:
        self.backend: int | None = None
        if conn.dialect.name == "postgresql":
            self.backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        self.marks: list[tuple[float, float, float | None]] = []

    def mark(self) -> None:
        self.marks.append((time.perf_counter(), time.process_time(), self._backend_cpu()))

    def _backend_cpu(self) -> float | None:
        if self.backend is None:
            return None
        try:  # utime and stime of the backend process, in clock ticks (same machine only)
            fields = Path(f"/proc/{self.backend}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def span(self, start: int, end: int) -> dict[str, float | None]:
        (w0, c0, s0), (w1, c1, s1) = self.marks[start], self.marks[end]
        server = s1 - s0 if s0 is not None and s1 is not None else None
        return {"wall": w1 - w0, "cpu": c1 - c0, "server_cpu": server}


def floor(url: str, apps: int) -> dict[str, Any]:
    """The bare query, twice (the second time on a warm cache, as the analysis runs find it)."""
    store = Store(url)
    shape = Shape(apps)
    sql, params = floor_sql(shape, store.engine.dialect.name)
    base_rss = _rss_mib()
    runs = []
    with store.engine.connect() as conn:
        meter = Meter(conn)
        for _ in range(2):
            meter.mark()
            rows = conn.execute(text(sql), params).all()
            meter.mark()
            runs.append(meter.span(len(meter.marks) - 2, len(meter.marks) - 1))
    store.dispose()
    best = min(runs, key=lambda r: float(r["wall"] or 0))
    return {**best, "rows": len(rows), "rss_mib": _rss_mib(), "base_rss_mib": base_rss}


def analyze(url: str, apps: int, profile: str | None) -> dict[str, Any]:
    # What run_analyzers does for one analyzer, with the persistence step timed on its own.
    from collector.analysis import _persist, gc_paused

    store = Store(url)
    shape = Shape(apps)
    analyzer = UnusedSeats(shape.settings())
    view = shape.view()
    base_rss = _rss_mib()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with store.transaction() as session, gc_paused():
        meter = Meter(session.connection())
        meter.mark()
        drafts = analyzer.run(session, view)
        meter.mark()
        result = _persist(session, view, analyzer.id, drafts, NOW, MUTES)
        meter.mark()
    meter.mark()  # committed
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    rules: dict[str, int] = {}
    for draft in drafts:
        rules[f"{draft.rule}/{draft.verdict.value}"] = rules.get(f"{draft.rule}/{draft.verdict.value}", 0) + 1
    store.dispose()
    return {
        **meter.span(0, 3),
        "judge": meter.span(0, 1),
        "persist": meter.span(1, 3),
        "findings": len(drafts),
        "rules": rules,
        "open": result.open,
        "opened": result.opened,
        "resolved": result.resolved,
        "monthly_waste": str(result.monthly_waste),
        "rss_mib": _rss_mib(),
        "base_rss_mib": base_rss,
    }


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the driver ----------------------------------------------------------------------------------


def _step(args: argparse.Namespace, phase: str, url: str, *extra: str) -> dict[str, Any]:
    """Run one step in a fresh interpreter so its peak RSS is its own."""
    command = [
        sys.executable, __file__, "--phase", phase, "--database-url", url, "--people", str(args.people),
        "--apps", str(args.apps), "--seats", str(args.seats), *extra,
    ]  # fmt: skip
    load = os.getloadavg()[0]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load"] = (load, os.getloadavg()[0])
    return result


def _cpu(span: dict[str, Any]) -> str:
    server = span.get("server_cpu")
    return f"{span['cpu']:>7.2f}s" + (f"{server:>9.2f}s" if server is not None else f"{'-':>10}")


def run_all(args: argparse.Namespace, url: str, label: str) -> None:
    print(
        f"{label}: generating {args.people:,} people, {args.apps} apps, ~{args.seats:,} seats ...", flush=True
    )
    gen = _step(args, "generate", url)
    counts = gen["counts"]
    print(
        f"{label}: generated in {gen['seconds']:.0f}s: "
        + ", ".join(f"{counts[t]:,} {t}" for t in ("person", "account", "seat", "activity", "license_pool")),
        flush=True,
    )
    floor_result = _step(args, "floor", url)
    runs = []
    for n in (1, 2):
        extra = ("--profile", f"{args.profile}.{label}.{n}") if args.profile else ()
        runs.append(_step(args, "analyze", url, *extra))
    base = floor_result["wall"]
    print(f"\n{label}: {counts['seat']:,} seats, {counts['activity']:,} activity rows, {_machine()}")
    print(
        f"{'step':<24}{'wall':>9}{'x floor':>9}{'CPU':>9}{'DB CPU':>10}{'peak RSS':>11}"
        f"{'rows/findings':>15}{'load':>12}"
    )
    rows = [
        (
            "floor (bare SQL)",
            floor_result,
            floor_result["rows"],
            floor_result["load"],
            floor_result["rss_mib"],
        )
    ]
    for n, run in enumerate(runs, start=1):
        rows += [
            (f"analysis run {n}", run, run["findings"], run["load"], run["rss_mib"]),
            ("  judge (run)", run["judge"], None, None, None),
            ("  persist + commit", run["persist"], None, None, None),
        ]
    for name, span, count, load, rss in rows:
        print(
            f"{name:<24}{span['wall']:>8.2f}s{span['wall'] / base:>9.2f}{_cpu(span)}"
            + (f"{rss:>7.0f} MiB" if rss is not None else f"{'':>11}")
            + (f"{count:>15,}" if count is not None else f"{'':>15}")
            + (f"{load[0]:>6.1f}-{load[1]:<4.1f}" if load is not None else "")
        )
    first = runs[0]
    print(
        f"findings: {json.dumps(first['rules'], sort_keys=True)}; open {first['open']:,}, "
        f"{first['monthly_waste']} USD/month; "
        f"run 2 opened {runs[1]['opened']}, resolved {runs[1]['resolved']}"
    )
    worst = max(run["wall"] for run in runs)
    targets = f"target <= 2x floor: {'met' if worst <= 2 * base else 'missed'} ({worst / base:.2f}x)"
    if label == "sqlite":
        targets += f"; <= 15 s: {'met' if worst <= 15 else 'missed'} ({worst:.1f} s)"
    print(targets)
    print(
        f"(CPU: this process; DB CPU: the PostgreSQL backend, without parallel workers; load: 1-min load "
        f"average before-after; interpreter + engine before a step: {first['base_rss_mib']:.0f} MiB)\n"
    )


def _machine() -> str:
    """Cores, CPU model and a Python speed figure: the figures above only compare on one machine."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    started = time.process_time()
    total = 0
    for i in range(2_000_000):
        total += i
    loop_ns = (time.process_time() - started) / 2_000_000 * 1e9
    return f"{os.cpu_count()} cores {model}, Python loop {loop_ns:.0f} ns/iteration".replace("  ", " ")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--apps", type=int, default=400)
    parser.add_argument("--seats", type=int, default=2_000_000)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    parser.add_argument("--profile", default=None, help="write cProfile stats of each analysis run here")
    parser.add_argument("--phase", choices=("generate", "floor", "analyze"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        if args.phase == "generate":
            out = generate(args.database_url, args.people, args.apps, args.seats)
        elif args.phase == "floor":
            out = floor(args.database_url, args.apps)
        else:
            out = analyze(args.database_url, args.apps, args.profile)
        print(json.dumps(out, default=str))
        return 0
    if args.database_url is None:
        with tempfile.TemporaryDirectory() as tmp:
            run_all(args, f"sqlite:///{tmp}/bench.sqlite3", "sqlite")
        return 0
    url = make_url(args.database_url)
    if url.get_backend_name() != "postgresql":
        run_all(args, args.database_url, url.get_backend_name())
        return 0
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in args.database_url else "?"
        run_all(args, f"{args.database_url}{sep}options={quote(f'-csearch_path={schema}')}", "postgresql")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
