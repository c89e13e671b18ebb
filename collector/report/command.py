"""``saaswatch report``: write a tenant's client report as one self-contained HTML file."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

import click

from collector.cli_context import ConfigSource, chosen_tenants
from collector.report.fmt import money
from collector.report.gather import build_report, since_date
from collector.report.page import render_report
from collector.report.state import record_report
from collector.store import Store
from collector.tenants import apply_tenant_config
from collector.timeutil import utcnow


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return since_date(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.command("report")
@click.option("--tenant", "tenant_id", required=True, help="The tenant to report on.")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False, writable=True),
    required=True,
    help="The HTML file to write.",
)
@click.option(
    "--since",
    callback=_since,
    metavar="YYYY-MM-DD",
    help="Count realised savings from this day (default: the previous report, else 90 days back).",
)
@click.option(
    "--no-record",
    is_flag=True,
    help="A preview: the next report still counts realised savings from the previous one.",
)
@click.pass_obj
def report_command(
    obj: ConfigSource, tenant_id: str, out: Path, since: datetime | None, no_record: bool
) -> None:
    """Write the tenant's client report: savings, charts, findings with evidence, renewals, showback."""
    config = obj.config()
    (tenant,) = chosen_tenants(config, tenant_id)
    store = Store(config.database_url)
    store.migrate()
    apply_tenant_config(store, tenant, config.catalog_for(tenant))  # the tenant row the record refers to
    now = utcnow()
    with store.sessions() as session:
        report = build_report(session, tenant, now, since=since)
    _write_atomically(out, render_report(report))
    if not no_record:
        with store.transaction() as session:
            record_report(session, tenant.id, now, report.savings.monthly, tenant.currency)
    click.echo(
        f"{out}: {money(report.savings.monthly, tenant.currency)}/month of savings available, "
        f"{money(report.realised_in_period.monthly, tenant.currency)}/month realised since "
        f"{report.period.start.date().isoformat()}"
    )


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _write_atomically(path: Path, text: str) -> None:
    """A reader (or a mail job picking the file up) never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it 0600; a report is an ordinary file
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
