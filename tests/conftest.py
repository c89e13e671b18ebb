"""Shared fixtures. Store tests run on SQLite and, when reachable, PostgreSQL.

PostgreSQL comes from ``SAASWATCH_TEST_PG_URL`` (default: the local server, database ``test``). Each
test gets a schema of its own, dropped afterwards. With ``SAASWATCH_REQUIRE_PG=1`` (set by CI) an
unreachable server fails the run instead of skipping, so CI cannot pass without PostgreSQL tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from collector.store import Store

PG_URL = os.environ.get("SAASWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("SAASWATCH_REQUIRE_PG") == "1"

_pg_reachable: bool | None = None


def pg_reachable() -> bool:
    global _pg_reachable
    if _pg_reachable is None:
        try:
            engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            _pg_reachable = True
        except OperationalError:
            _pg_reachable = False
    return _pg_reachable


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A database URL with an empty schema, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/saaswatch.sqlite3"
        return
    if not pg_reachable():
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (SAASWATCH_REQUIRE_PG=1) but {PG_URL} is not reachable")
        pytest.skip("PostgreSQL not reachable")
    schema = f"sw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store(store_url)
    store.migrate()
    yield store
    store.dispose()


@pytest.fixture
def scripted_connector(monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    """Registers the scripted test connector (tests/fakes.py) under the id ``scripted``."""
    from fakes import ScriptedConnector

    from collector import registry

    monkeypatch.setitem(registry.BUILTIN, "scripted", "fakes:ScriptedConnector")
    ScriptedConnector.scripts.clear()
    yield ScriptedConnector
    ScriptedConnector.scripts.clear()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """CLI tests call configure_logging, which sets levels and a root handler; undo it for the next test."""
    import logging

    loggers = [logging.getLogger(name) for name in ("saaswatch", "httpx")]
    levels = [logger.level for logger in loggers]
    root_handlers = list(logging.getLogger().handlers)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)
    logging.getLogger().handlers[:] = root_handlers
