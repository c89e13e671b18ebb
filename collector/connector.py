"""The connector contract: what every source under ``connectors/`` declares and implements.

A connector never touches the database. ``sync(ctx)`` yields records and :class:`Checkpoint`
markers; the sync runner writes each page in one transaction together with the stream's cursor, so
a crash mid-sync leaves the store consistent and the next run resumes from the last checkpoint.
"""

from __future__ import annotations

import abc
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from collector.catalog import Catalog, builtin_catalog
from collector.records import DataKind, Record
from collector.timeutil import utcnow


class ConnectorSettings(BaseModel):
    """Base of every connector's settings model. Secrets are ``pydantic.SecretStr`` fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class SyncContext:
    """What a running connector may know about its surroundings."""

    tenant_id: str
    source: str  # the connector instance name; rows it yields are stored under it
    base_dir: Path  # relative paths in settings are resolved against the config file's folder
    cursors: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow
    stop: threading.Event = field(default_factory=threading.Event)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("saaswatch.connector"))
    # The vendor catalog with this tenant's aliases: turns SSO labels, OAuth client names and
    # merchant strings into app ids (``catalog.app_id_for(label)``).
    catalog: Catalog = field(default_factory=builtin_catalog)

    def cursor(self, stream: str) -> dict[str, Any] | None:
        """The cursor saved by the last committed checkpoint of ``stream``, if any."""
        return self.cursors.get(stream)

    def resolve_path(self, path: str | Path) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate


class Connector(abc.ABC):
    """Base class of a connector. Subclasses set the class attributes and implement :meth:`sync`."""

    id: ClassVar[str]
    title: ClassVar[str]
    settings_model: ClassVar[type[ConnectorSettings]]
    data_kinds: ClassVar[frozenset[DataKind]]
    # Read-only scopes or permissions the credentials need, in the vendor's own words.
    scopes: ClassVar[tuple[str, ...]] = ()
    # Kinds yielded in full by every successful run: rows of these kinds that a complete, clean run
    # did not yield are retired. Incremental kinds (e.g. activity folded from an event log) are not.
    snapshot_kinds: ClassVar[frozenset[DataKind]] = frozenset()

    def __init__(self, settings: ConnectorSettings) -> None:
        self.settings = settings

    @abc.abstractmethod
    def sync(self, ctx: SyncContext) -> Iterator[Record]:
        """Stream the source's records, with a :class:`Checkpoint` after each page."""
