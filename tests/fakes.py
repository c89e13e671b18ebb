"""A scripted connector for runner and analyzer tests: it yields whatever the test put in its script."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import ClassVar

from pydantic import SecretStr

from collector.connector import Connector, ConnectorSettings, SyncContext
from collector.records import DataKind, Record

Script = Callable[[SyncContext], Iterator[Record]]


class ScriptedSettings(ConnectorSettings):
    script: str = "default"
    token: SecretStr | None = None


class ScriptedConnector(Connector):
    id = "scripted"
    title = "Scripted test connector"
    settings_model = ScriptedSettings
    data_kinds = frozenset(DataKind)
    snapshot_kinds = frozenset({DataKind.ACCOUNTS, DataKind.SEATS, DataKind.LICENSE_POOLS})
    scripts: ClassVar[dict[str, Script]] = {}

    def sync(self, ctx: SyncContext) -> Iterator[Record]:
        assert isinstance(self.settings, ScriptedSettings)
        yield from self.scripts[self.settings.script](ctx)
