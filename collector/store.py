"""The store: engine set-up, Alembic migrations and idempotent upserts on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, Table, case, create_engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from collector.models import Base

MIGRATIONS = Path(__file__).with_name("migrations")
# Connections per engine: the daemon's job threads (four) each run a sync or an analysis, and an
# analysis reads on up to four threads of its own (``collector.analysis.default_workers``), so
# four analyses at once hold sixteen; SQLAlchemy's default (5 + 10 overflow) would make the last
# ones wait.
POOL = {"pool_size": 8, "max_overflow": 24}


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys on, WAL and a busy timeout for the daemon."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        in_memory = _in_memory_sqlite(parsed)
        if not in_memory and parsed.database:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # An in-memory database lives in one connection (SQLAlchemy's SingletonThreadPool).
        engine = create_engine(url, connect_args={"timeout": 30}, **({} if in_memory else POOL))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver we ship
    return create_engine(parsed, pool_pre_ping=True, **POOL)


def _in_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it already is)."""
    command.upgrade(alembic_config(engine), "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        return None if row is None else str(row[0])


class Store:
    """An engine plus a session factory; the one object the daemon passes around for the database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        migrate(self.engine)

    @property
    def concurrent_reads(self) -> bool:
        """Whether sessions on several threads read the same data: not for an in-memory SQLite
        database, which is one per thread."""
        return not _in_memory_sqlite(self.engine.url)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any exception."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def later_of(column: Any, excluded: Any) -> Any:
    """SQL for "the later of the stored and the new timestamp", treating NULL as unknown."""
    return case(
        (excluded.is_(None), column),
        (column.is_(None), excluded),
        (excluded > column, excluded),
        else_=column,
    )


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
    update: Sequence[str] | None = None,
    merge: Callable[[Any], Mapping[str, Any]] | None = None,
    only_if: Callable[[Any], Any] | None = None,
) -> None:
    """Insert ``rows`` or update the row with the same ``key``: re-running never duplicates.

    ``update`` lists the columns overwritten on conflict (default: every non-key column given);
    ``merge`` receives the statement's ``excluded`` row and returns SQL expressions for columns that
    need more than overwriting (e.g. "keep the later timestamp"); ``only_if`` receives it too and
    returns the condition under which a conflicting row is updated at all (else it is left alone:
    on PostgreSQL an update writes a new row version even when nothing changes). Rows repeating a
    key within one call are collapsed, last one winning, because PostgreSQL refuses to update one
    row twice in a statement.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:
        raise NotImplementedError(f"upsert is not implemented for {dialect}")
    unique = list({tuple(row[k] for k in key): row for row in rows}.values())
    # executemany form: compiled once and cached, sent in batches (SQLAlchemy "insertmanyvalues");
    # a multi-row VALUES clause would be compiled anew for every page.
    stmt: Any = insert(table)  # the dialect's Insert, with ON CONFLICT support
    columns = update if update is not None else [c for c in unique[0] if c not in key]
    set_: dict[str, Any] = {c: stmt.excluded[c] for c in columns}
    if merge is not None:
        set_.update(merge(stmt.excluded))
    if set_:
        where = only_if(stmt.excluded) if only_if is not None else None
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=set_, where=where)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    session.execute(stmt, unique)


class BulkUpsert:
    """An upsert compiled once, whose rows go to the database driver with little per-row work.

    ``upsert`` has SQLAlchemy process every parameter of every row, which is right for the rows of a
    sync page but is most of the cost of writing a quarter of a million findings. Here each column's
    bind processor (the store's UTC timestamps, JSON, money) is looked up once, applied once to the
    ``constants`` (the same tenant, time and currency on every row), and per row only to the
    varying columns that have one. Rows are sequences in the order of ``columns``; the caller sends
    each key once (no collapsing of repeated keys, unlike ``upsert``).
    """

    def __init__(
        self,
        session: Session,
        table: Table,
        columns: Sequence[str],
        key: Sequence[str],
        update: Sequence[str],
        constants: Mapping[str, Any],
        encoded: Sequence[str] = (),
    ) -> None:
        dialect = session.get_bind().dialect
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect.name)
        if insert is None:
            raise NotImplementedError(f"bulk upsert is not implemented for {dialect.name}")
        names = [*columns, *constants]
        stmt: Any = insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in update}
        )
        compiled = stmt.compile(dialect=dialect, column_keys=names)
        self.sql = str(compiled)
        processors = {name: _bind_processor(table, name, dialect) for name in names}
        self.processors = processors
        constant_values = [(processors[name] or _same)(value) for name, value in constants.items()]
        # ``encoded`` columns arrive already through their processor (see ``column_encoder``).
        self.varying = [
            (i, process)
            for i, name in enumerate(columns)
            if (process := processors[name]) is not None and name not in encoded
        ]
        # A row is sent as its processed values followed by the constants' (one list): positional
        # drivers (sqlite3) get it picked into the statement's parameter order, named ones (psycopg)
        # a dict of it.
        self.tail = constant_values
        self.copy: _CopyUpsert | None = None
        if dialect.name == "postgresql":
            self.copy = _CopyUpsert(table, names, key, update)
        if compiled.positional:
            where = {name: i for i, name in enumerate(names)}
            order = [where[name] for name in compiled.positiontup or ()]
            self.pick: Callable[[list[Any]], Any] = itemgetter(*order)
        else:
            self.pick = lambda values: dict(zip(names, values, strict=True))
        self.connection = session.connection()

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        processed: list[list[Any]] = []
        for row in rows:
            values = [*row, *self.tail]
            for i, process in self.varying:
                values[i] = process(values[i])
            processed.append(values)
        if self.copy is not None:
            self.copy.write(self.connection, processed)
            return
        self.connection.exec_driver_sql(self.sql, [self.pick(values) for values in processed])


class _CopyUpsert:
    """PostgreSQL: rows go in with ``COPY`` into a temporary table, then one ``INSERT ... SELECT ...
    ON CONFLICT DO UPDATE`` moves them. An ``executemany`` of the upsert runs the statement once per
    row: 284k findings took 15.7 s, of which the server 14.7 s."""

    def __init__(self, table: Table, names: Sequence[str], key: Sequence[str], update: Sequence[str]) -> None:
        columns = ", ".join(f'"{name}"' for name in names)
        self.staging = f'"_staged_{table.name}"'
        target = f'"{table.name}"' if table.schema is None else f'"{table.schema}"."{table.name}"'
        # Column types without constraints or defaults; dropped with the transaction.
        self.create = (
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.staging} ON COMMIT DROP AS "
            f"SELECT {columns} FROM {target} WITH NO DATA"
        )
        self.created = False
        self.copy = f"COPY {self.staging} ({columns}) FROM STDIN"
        updates = ", ".join(f'"{name}" = EXCLUDED."{name}"' for name in update)
        conflict = ", ".join(f'"{name}"' for name in key)
        self.move = (
            f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {self.staging} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
        )

    def write(self, connection: Any, rows: list[list[Any]]) -> None:
        if not self.created:  # once per writer: it lives in one transaction
            connection.exec_driver_sql(self.create)
            self.created = True
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(self.copy) as copy:
                for values in rows:
                    copy.write_row(values)
            cursor.execute(self.move)
            cursor.execute(f"TRUNCATE {self.staging}")


def _same(value: Any) -> Any:
    return value


def column_encoder(session: Session, table: Table, name: str) -> Callable[[Any], Any]:
    """What turns a value of column ``name`` into the form the driver gets (e.g. JSON text), as
    ``BulkUpsert`` does: for a caller that needs the stored form before writing it."""
    dialect = session.get_bind().dialect
    return _bind_processor(table, name, dialect) or _same


def _bind_processor(table: Table, name: str, dialect: Any) -> Callable[[Any], Any] | None:
    column_type = table.c[name].type
    processor: Callable[[Any], Any] | None = column_type.dialect_impl(dialect).bind_processor(dialect)
    return processor


__all__ = [
    "Base",
    "BulkUpsert",
    "Store",
    "column_encoder",
    "current_revision",
    "later_of",
    "make_engine",
    "migrate",
    "upsert",
]
