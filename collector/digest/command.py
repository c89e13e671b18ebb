"""``saaswatch digest``: print a tenant's digest, or send it to its channels now."""

from __future__ import annotations

import sys

import click

from collector.cli_context import ConfigSource, chosen_tenants
from collector.digest.config import channel_name
from collector.digest.render import render_text
from collector.digest.send import preview, send_digest
from collector.store import Store
from collector.tenants import apply_tenant_config


@click.command("digest")
@click.option("--tenant", "tenant_id", required=True, help="The tenant whose digest to print or send.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the digest as plain text instead of sending it; nothing is recorded.",
)
@click.option(
    "--channel",
    "channel_names",
    multiple=True,
    help="Send only to this channel (its name, by default its type); repeat for more.",
)
@click.pass_obj
def digest_command(obj: ConfigSource, tenant_id: str, dry_run: bool, channel_names: tuple[str, ...]) -> None:
    """Print the tenant's weekly digest, or send it now to the channels of its `digest:` block."""
    config = obj.config()
    (tenant,) = chosen_tenants(config, tenant_id)
    store = Store(config.database_url)
    store.migrate()
    if dry_run:
        click.echo(render_text(preview(store, tenant)), nl=False)
        return
    if tenant.digest is None:
        click.echo(f"tenant {tenant.id} has no digest: block in the config (see docs/digest.md)", err=True)
        sys.exit(2)
    known = [channel_name(c) for c in tenant.digest.channels]
    unknown = sorted(set(channel_names) - set(known))
    if unknown:
        click.echo(
            f"no digest channel {', '.join(unknown)} for tenant {tenant.id}; known: {', '.join(known)}",
            err=True,
        )
        sys.exit(2)
    apply_tenant_config(store, tenant, config.catalog_for(tenant))  # the tenant row the record refers to
    results = send_digest(store, tenant, channels=channel_names or None)
    for result in results:
        if result.sent:
            click.echo(f"{tenant.id}/{result.channel}: sent")
        else:
            click.echo(f"{tenant.id}/{result.channel}: not sent: {result.error}", err=True)
    sys.exit(0 if all(r.sent for r in results) else 1)
