"""What the CLI's commands share: the context object they get, and the choice of tenants."""

from __future__ import annotations

import sys
from typing import Protocol

import click

from collector.config import Config, TenantConfig


class ConfigSource(Protocol):
    """The CLI's context object (``collector.cli.Context``): loads the config or exits with its errors."""

    def config(self) -> Config: ...


def chosen_tenants(config: Config, tenant_id: str | None) -> list[TenantConfig]:
    """The tenant ``--tenant`` names (every tenant without it); an unknown one ends the command with
    the message and the known tenants, exit status 2, as a config error does."""
    if tenant_id is None:
        return list(config.tenants)
    try:
        return [config.tenant(tenant_id)]
    except KeyError as exc:
        click.echo(exc.args[0], err=True)
        sys.exit(2)
