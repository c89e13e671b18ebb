"""SQL helpers the analyzers share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeEngine


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
