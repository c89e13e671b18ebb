"""The ``saaswatch`` command line."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select

from collector.analysis import run_analyzers
from collector.cli_context import chosen_tenants
from collector.config import Config, load_config
from collector.digest.command import digest_command
from collector.logs import configure_logging
from collector.models import App, AppUsage, Finding
from collector.registry import connector_ids, get_connector
from collector.report.command import report_command
from collector.runner import SyncRunner
from collector.store import Store
from collector.tenants import apply_tenant_config
from collector.usage import rebuild
from collector.yamlsource import ConfigError

DEFAULT_CONFIG = "saaswatch.yaml"


class Context:
    def __init__(self, config_path: Path, log_level: str | None) -> None:
        self.config_path = config_path
        self.log_level = log_level

    def config(self) -> Config:
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
        configure_logging(self.log_level or config.log_level)
        return config


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_CONFIG,
    envvar="SAASWATCH_CONFIG",
    show_default=True,
    help="The YAML config file (or set SAASWATCH_CONFIG).",
)
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), default=None)
@click.version_option(package_name="saaswatch")
@click.pass_context
def main(ctx: click.Context, config_path: Path, log_level: str | None) -> None:
    """saaswatch: find the SaaS money nobody uses."""
    ctx.obj = Context(config_path, log_level)


@main.command("check-config")
@click.pass_obj
def check_config(obj: Context) -> None:
    """Validate the config file; list every problem with its key path and line."""
    try:
        config = load_config(obj.config_path)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    connectors = sum(len(t.connectors) for t in config.tenants)
    contracts = sum(len(t.contracts) for t in config.tenants)
    click.echo(
        f"{obj.config_path}: OK ({len(config.tenants)} tenant(s), {connectors} connector(s), "
        f"{contracts} contract(s))"
    )


@main.command("connectors")
def connectors() -> None:
    """List the available connectors with their data kinds and required read-only scopes."""
    broken = 0
    for connector_id in connector_ids():
        try:
            cls = get_connector(connector_id)
        except Exception as exc:  # a broken plugin must not hide the others
            broken += 1
            click.echo(f"{connector_id}: cannot be loaded: {type(exc).__name__}: {exc}")
            continue
        click.echo(f"{connector_id}: {cls.title}")
        click.echo(f"  data: {', '.join(sorted(k.value for k in cls.data_kinds))}")
        click.echo(f"  scopes: {', '.join(cls.scopes) if cls.scopes else '(none: reads local files)'}")
    if broken:
        raise SystemExit(1)


@main.command("run")
@click.pass_obj
def run(obj: Context) -> None:
    """Run the daemon: scheduled syncs, analyzers and the /metrics endpoint."""
    from collector.daemon import Daemon

    config = obj.config()
    Daemon(config, Store(config.database_url)).run_forever()


@main.command("migrate")
@click.option(
    "--rebuild-usage",
    is_flag=True,
    help="Also work out the usage summary again from the activity table (after activity rows were "
    "written past saaswatch, e.g. a bulk load).",
)
@click.pass_obj
def migrate(obj: Context, rebuild_usage: bool) -> None:
    """Bring the database schema up to date (the daemon also does this at start)."""
    config = obj.config()
    store = Store(config.database_url)
    store.migrate()
    click.echo("schema is up to date")
    if rebuild_usage:
        with store.transaction() as session:
            rebuild(session)
            pairs = session.scalar(select(func.count()).select_from(AppUsage))
        click.echo(f"usage summary rebuilt: {pairs:,} (person, app) pairs")


@main.command("sync")
@click.option(
    "--once", is_flag=True, default=True, help="Sync once and exit (the daemon is `saaswatch run`)."
)
@click.option("--tenant", "tenant_id", default=None, help="Only this tenant.")
@click.option("--connector", "source", default=None, help="Only this connector (its name or id).")
@click.option("--no-analyze", is_flag=True, help="Skip the analyzers after syncing.")
@click.pass_obj
def sync(obj: Context, once: bool, tenant_id: str | None, source: str | None, no_analyze: bool) -> None:
    """Sync the configured connectors now, then run the analyzers."""
    config = obj.config()
    store = Store(config.database_url)
    store.migrate()
    runner = SyncRunner(store, config)
    tenants = chosen_tenants(config, tenant_id)
    failed = False
    ran = 0
    for tenant in tenants:
        apply_tenant_config(store, tenant, config.catalog_for(tenant))
        chosen = [c for c in tenant.connectors if c.enabled and source in (None, c.source, c.id)]
        for connector in chosen:
            ran += 1
            with Progress(f"{tenant.id}/{connector.source}") as progress:
                result = runner.run(tenant, connector, progress=progress.update)
                progress.done(result.status, result.records, len(result.problems))
            for problem in result.problems[:20]:
                click.echo(f"    {problem.where}: {problem.reason}", err=True)
            if len(result.problems) > 20:
                click.echo(f"    ... and {len(result.problems) - 20} more (see the log)", err=True)
            if result.error:
                click.echo(f"    error: {result.error}", err=True)
            failed |= result.status in ("failed", "aborted")
        if not no_analyze:
            for analysis in run_analyzers(store, tenant, catalog=config.catalog_for(tenant)):
                click.echo(
                    f"{tenant.id}: {analysis.analyzer}: {analysis.open} open finding(s), "
                    f"{analysis.monthly_waste:.2f} {tenant.currency}/month"
                )
    if ran == 0:
        click.echo("no connector matched", err=True)
        sys.exit(2)
    sys.exit(1 if failed else 0)


class Progress:
    """A one-line progress counter on a terminal; a plain final line elsewhere."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()

    def __enter__(self) -> Progress:
        if self.tty:
            click.echo(f"{self.label}: starting", err=True, nl=False)
        return self

    def update(self, records: int) -> None:
        if self.tty:
            click.echo(f"\r\033[K{self.label}: {records} records", err=True, nl=False)

    def done(self, status: str, records: int, problems: int) -> None:
        if self.tty:
            click.echo("\r\033[K", err=True, nl=False)
        extra = f", {problems} bad row(s)" if problems else ""
        click.echo(f"{self.label}: {status}, {records} records{extra}")

    def __exit__(self, *exc: object) -> None:
        return None


FINDING_COLUMNS = ["tenant", "analyzer", "rule", "app", "sku", "subject", "verdict", "severity",
                   "monthly_waste", "currency", "state", "first_seen", "title"]  # fmt: skip


def finding_rows(store: Store, tenant_ids: list[str], states: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    with store.sessions() as session:
        names = {(t, a): n for t, a, n in session.execute(select(App.tenant_id, App.id, App.name))}
        stmt = (
            select(Finding)
            .where(Finding.tenant_id.in_(tenant_ids), Finding.state.in_(states))
            .order_by(Finding.tenant_id, Finding.monthly_waste.desc(), Finding.app_id, Finding.subject)
        )
        for f in session.scalars(stmt):
            yield {
                "tenant": f.tenant_id,
                "analyzer": f.analyzer,
                "rule": f.rule,
                "app": names.get((f.tenant_id, f.app_id or ""), f.app_id),
                "sku": f.sku,
                "subject": f.subject,
                "verdict": f.verdict,
                "severity": f.severity,
                "monthly_waste": f.monthly_waste.quantize(Decimal("0.01")),
                "currency": f.currency,
                "state": f.state,
                "first_seen": f.first_seen_at.isoformat(timespec="seconds"),
                "title": f.title,
                "evidence": f.evidence,
            }


@main.command("findings")
@click.option("--tenant", "tenant_id", default=None)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(["open", "resolved", "suppressed"]),
    default=("open",),
    show_default=True,
)
@click.pass_obj
def findings(obj: Context, tenant_id: str | None, fmt: str, states: tuple[str, ...]) -> None:
    """List findings with their monthly money and evidence."""
    config = obj.config()
    store = Store(config.database_url)
    store.migrate()
    tenant_ids = [t.id for t in chosen_tenants(config, tenant_id)]
    rows = list(finding_rows(store, tenant_ids, states))
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FINDING_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(out.getvalue(), nl=False)
    else:
        click.echo(render_table(rows))


main.add_command(digest_command)
main.add_command(report_command)


@main.command("showback")
@click.option("--tenant", "tenant_id", default=None)
@click.option(
    "--by", type=click.Choice(["department", "cost_center"]), default="department", show_default=True
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def showback_command(obj: Context, tenant_id: str | None, by: str, fmt: str) -> None:
    """Seats, monthly spend and monthly waste per department (or cost centre)."""
    from collector.showback import showback

    config = obj.config()
    store = Store(config.database_url)
    store.migrate()
    tenants = chosen_tenants(config, tenant_id)
    rows: list[dict[str, Any]] = []
    with store.sessions() as session:
        for tenant in tenants:
            for entry in showback(session, tenant, by=by):
                rows.append(
                    {
                        "tenant": tenant.id,
                        by: entry.department,
                        "seats": entry.seats,
                        "monthly_spend": entry.monthly_spend,
                        "monthly_waste": entry.monthly_waste,
                        "currency": tenant.currency,
                        "unpriced_seats": entry.unpriced_seats,
                        "seats_by_app": entry.apps,
                    }
                )
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    header = f"{'TENANT':<12}{by.upper():<28}{'SEATS':>7}{'SPEND/MONTH':>14}{'WASTE/MONTH':>14}"
    click.echo(header)
    for row in rows:
        click.echo(
            f"{row['tenant']:<12}{str(row[by])[:27]:<28}{row['seats']:>7}"
            f"{row['monthly_spend']:>14.2f}{row['monthly_waste']:>14.2f} {row['currency']}"
        )


def render_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no findings"
    columns = ["app", "rule", "subject", "verdict", "monthly_waste", "currency", "title"]
    widths = {c: min(max(len(c), *(len(str(r[c] or "")) for r in rows)), 60) for c in columns[:-1]}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns[:-1]) + "  DETAIL"]
    for row in rows:
        cells = []
        for c in columns[:-1]:
            text = str(row[c] or "")[: widths[c]]
            cells.append(text.rjust(widths[c]) if c == "monthly_waste" else text.ljust(widths[c]))
        lines.append("  ".join(cells) + "  " + row["title"])
    # A seat two analyzers flag (a leaver's idle seat) is one saving: count each subject once.
    money: dict[tuple[str, str], dict[tuple[str, str, str], Decimal]] = {}
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        if row["verdict"] == "fail" and row["state"] == "open":
            key = (row["tenant"], row["currency"])
            subject = (row["app"] or "", row["sku"] or "", row["subject"])
            per_subject = money.setdefault(key, {})
            per_subject[subject] = max(per_subject.get(subject, Decimal(0)), row["monthly_waste"])
            counts[key] = counts.get(key, 0) + 1
    for (tenant, currency), per_subject in sorted(money.items()):
        total = sum(per_subject.values(), Decimal(0))
        lines.append(
            f"{tenant}: {total:.2f} {currency}/month of waste in {counts[(tenant, currency)]} open "
            "finding(s), each seat counted once"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
