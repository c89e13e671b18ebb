"""SQL helpers the analyzers share."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, func, literal, null, or_, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeEngine

from collector.models import Account, Activity, AppUsage
from collector.timeutil import UtcDateTime
from collector.usage import ListsSource

# Inside SQL, a fresh source's "never signed in" (a NULL last seen) counts as this instant, so that
# one value tells "no fresh sighting" (NULL), "only nevers" (NEVER) and "last seen at" apart.
NEVER = datetime(1, 1, 1, tzinfo=UTC)


def usage_key(tenant_id: str, person_id: Any, app_id: Any) -> ColumnElement[bool]:
    """The join condition of ``AppUsage`` to a holder (``person_id``) of a seat in ``app_id``: the
    summary's whole key, so that every database finds the row by it."""
    return and_(AppUsage.tenant_id == tenant_id, AppUsage.person_id == person_id, AppUsage.app_id == app_id)


def fresh_last_seen(
    usage: Any, stale_sources: Collection[str]
) -> tuple[ColumnElement[Any], ColumnElement[int]]:
    """For a row of ``usage`` (``AppUsage`` or an alias of it, maybe outer-joined): the latest fresh
    sighting -- the latest last seen of the sources not in ``stale_sources``, NEVER when each of
    them says "never", NULL without a fresh row -- and 1 when a stale source has a row, else 0.

    The stored summary answers for the pairs no stale source speaks for (all of them while every
    source is healthy); the few pairs a stale source has a row for are worked out from
    ``activity`` (a lookup by the summary's key, evaluated for those rows only).
    """
    never = literal(NEVER, UtcDateTime())
    stored = func.coalesce(usage.last_seen_at, never)
    if not stale_sources:
        latest = case((usage.sources.is_(None), null()), else_=stored)
        return type_coerce(latest, UtcDateTime()), literal(0)
    stale = sorted(stale_sources)
    touched = or_(*(ListsSource(usage.sources, source) for source in stale))
    exact = (
        select(func.max(case((Activity.source.not_in(stale), func.coalesce(Activity.last_seen_at, never)))))
        .where(
            and_(
                Activity.tenant_id == usage.tenant_id,
                Activity.person_id == usage.person_id,
                Activity.app_id == usage.app_id,
            )
        )
        .scalar_subquery()
    )
    latest = case((usage.sources.is_(None), null()), (touched, exact), else_=stored)
    return type_coerce(latest, UtcDateTime()), case((touched, 1), else_=0)


class Unindexed(ColumnElement[Any]):
    """A column the database must not look up through an index (SQLite), itself elsewhere.

    SQLite plans without statistics and takes an equality on an index's first column to match
    about ten rows. Every table's unique index starts with ``tenant_id``, so a statement over a
    whole tenant's activity or seats looks tiny to it: a common table expression built from it gets
    joined by scanning it once per row of the other side, never through an automatic index, and a
    large tenant takes minutes. Written ``+tenant_id`` (SQLite's documented way to keep a term off
    an index), the table is scanned in storage order -- four times faster than walking the index
    when the tenant is most of the table -- and sized as the large table it is.
    """

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnClause[Any]) -> None:
        self.column = column
        self.type: TypeEngine[Any] = column.type


def unindexed(column: Any) -> ColumnElement[Any]:
    """``column`` in a comparison that SQLite must not answer with an index."""
    return Unindexed(column)


@compiles(Unindexed)
def _default(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(Unindexed, "sqlite")
def _sqlite(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)


class JsonRows(ColumnElement[str]):
    """An aggregate: the group's rows of ``columns`` as JSON text, one array per row, times as the
    database writes them -- ``[["okta", "2026-11-17 23:35:14.522146", ...], ...]``.

    Many rows of a few columns each come back as one text value instead: a row costs Python far
    more to take apart than a string costs to carry along, and the string itself can be hashed
    without being parsed. The rows are in no promised order on SQLite; empty groups give ``[]`` on
    SQLite and NULL on PostgreSQL.
    """

    inherit_cache = True
    _traverse_internals = [("columns", InternalTraversal.dp_clauseelement_tuple)]

    def __init__(self, *columns: ColumnElement[Any]) -> None:
        self.columns = columns
        self.type: TypeEngine[Any] = String()


def json_rows(*columns: Any) -> ColumnElement[str]:
    """The group's rows of ``columns`` as JSON text (see :class:`JsonRows`)."""
    return JsonRows(*columns)


@compiles(JsonRows)
def _json_rows_default(element: JsonRows, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL: ordered, so that equal groups give equal text.
    columns = ", ".join(compiler.process(column, **kw) for column in element.columns)
    return f"CAST(json_agg(json_build_array({columns}) ORDER BY {columns}) AS TEXT)"


@compiles(JsonRows, "sqlite")
def _json_rows_sqlite(element: JsonRows, compiler: SQLCompiler, **kw: Any) -> str:
    columns = ", ".join(compiler.process(column, **kw) for column in element.columns)
    return f"json_group_array(json_array({columns}))"


def account_sources(session: Session, tenant_id: str) -> list[str]:
    """The sources the tenant's accounts come from, each once, in the database's order.

    Walked through the accounts' unique index (tenant, source, ...), one seek per source: a large
    tenant has millions of accounts from a few dozen sources, and a plain DISTINCT reads every
    account (a sixth of a second each time).
    """
    first = select(func.min(Account.source)).where(Account.tenant_id == tenant_id).scalar_subquery()
    walk = select(first.label("source")).cte("walk", recursive=True)
    after = (
        select(func.min(Account.source))
        .where(Account.tenant_id == tenant_id, Account.source > walk.c.source)
        .scalar_subquery()
    )
    walk = walk.union_all(select(after).where(walk.c.source.is_not(None)))
    return list(session.scalars(select(walk.c.source).where(walk.c.source.is_not(None))))


class DistinctLists(ColumnElement[str]):
    """An aggregate: the group's distinct values of ``column`` -- comma-separated lists, as the
    usage summary's ``sources`` -- joined by commas, in no promised order; NULL for no values."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type: TypeEngine[Any] = String()


def distinct_lists(column: Any) -> ColumnElement[str]:
    """The group's distinct comma-separated lists in ``column``, joined (see :class:`DistinctLists`)."""
    return DistinctLists(column)


@compiles(DistinctLists)
def _distinct_lists_default(element: DistinctLists, compiler: SQLCompiler, **kw: Any) -> str:
    return f"string_agg(DISTINCT {compiler.process(element.column, **kw)}, ',')"


@compiles(DistinctLists, "sqlite")
def _distinct_lists_sqlite(element: DistinctLists, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's group_concat takes DISTINCT only without a separator of its own; its default is ",".
    return f"group_concat(DISTINCT {compiler.process(element.column, **kw)})"
