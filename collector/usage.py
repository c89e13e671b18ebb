"""The per-(person, app) usage summary (``app_usage``), kept in step with ``activity``.

``activity`` holds one row per (person, app, source, kind, feature): 2.5 million rows for a tenant of
two million seats. Several analyzers need per (person, app) "when was this person last seen in this
app"; aggregating the activity table for it costs each of them seconds. The summary is that
aggregate, stored, and written in the same transactions as activity: the ingest folds each page's
sightings in (``record``), the runner recomputes the pairs whose rows it retires (``retire``). So
it is the aggregate of the committed activity at every commit.

Staleness is not stored (a source turns stale with time, without any write): the summary lists the
sources behind each pair, and an analysis works out from ``activity`` only the pairs a stale source
speaks for (``analyzers.sql.fresh_last_seen``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, case, delete, func, insert, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Boolean, String

from collector.models import Activity, AppUsage, Tenant
from collector.store import later_of, upsert

SEPARATOR = ","
ROWS_PER_STATEMENT = 500  # rows (or people) per statement: far below SQLite's parameter limit

Pair = tuple[int, str]  # (person_id, app_id)


class ListsSource(FunctionElement[bool]):
    """SQL: ``sources`` (a summary's source list) names ``source``. A case-sensitive substring test
    of ",source," (``instr`` on SQLite, ``strpos`` on PostgreSQL): ``LIKE`` would need its
    wildcards escaped in source names and ignores ASCII case on SQLite."""

    inherit_cache = True
    type = Boolean()

    def __init__(self, sources: Any, source: str) -> None:
        super().__init__(sources, literal(f"{SEPARATOR}{source}{SEPARATOR}", String()))


@compiles(ListsSource)
def _lists_source(element: ListsSource, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(strpos({compiler.process(element.clauses, **kw)}) > 0)"


@compiles(ListsSource, "sqlite")
def _lists_source_sqlite(element: ListsSource, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(instr({compiler.process(element.clauses, **kw)}) > 0)"


def summary_of(*where: ColumnElement[bool]) -> Select[Any]:
    """The summary rows of the activity rows matching ``where``: per (tenant, person, app), the
    latest last seen and the sources, each between commas."""
    per_source = (
        select(
            Activity.tenant_id,
            Activity.person_id,
            Activity.app_id,
            Activity.source,
            func.max(Activity.last_seen_at).label("last_seen_at"),
        )
        .where(*where)
        .group_by(Activity.tenant_id, Activity.person_id, Activity.app_id, Activity.source)
        .subquery("per_source")
    )
    c = per_source.c
    return select(
        c.tenant_id,
        c.person_id,
        c.app_id,
        func.max(c.last_seen_at),
        literal(SEPARATOR) + func.aggregate_strings(c.source, SEPARATOR) + literal(SEPARATOR),
    ).group_by(c.tenant_id, c.person_id, c.app_id)


COLUMNS = ("tenant_id", "person_id", "app_id", "last_seen_at", "sources")


def _serialise(session: Session, tenant_id: str) -> None:
    """On PostgreSQL, one writer of a tenant's summary at a time, until its transaction ends.

    Two syncs of a tenant may run at once. Folding pages in commutes (the later time, the union of
    sources), but a recompute does not: it reads activity as committed when it starts, so a page
    of another source committed in between would be lost, or its new row would collide with the
    recomputed one. Holding this lock, a page waits for a recompute to commit (and then folds into
    it), and a recompute sees every page committed before it. SQLite has one writer anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"saaswatch.app_usage:{tenant_id}"))))


def record(session: Session, tenant_id: str, source: str, sightings: Mapping[Pair, datetime | None]) -> None:
    """Fold one page of ``source``'s sightings (the latest last seen per pair; None: "never") into
    the summary. Stored activity only moves forward and only gains sources while pages are
    written, so the summary does too: the later of the two times, and the source added to the
    list -- one upsert, no read of the activity table. (Retirement, the one way down, recomputes.)"""
    if not sightings:
        return
    _serialise(session, tenant_id)
    usage = AppUsage.__table__
    assert isinstance(usage, Table)
    listed = f"{SEPARATOR}{source}{SEPARATOR}"
    rows = [
        {"tenant_id": tenant_id, "person_id": person, "app_id": app, "last_seen_at": seen, "sources": listed}
        for (person, app), seen in sorted(sightings.items())
    ]
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        upsert(
            session,
            usage,
            rows[start : start + ROWS_PER_STATEMENT],
            key=("tenant_id", "person_id", "app_id"),
            update=(),
            merge=lambda excluded: {
                "last_seen_at": later_of(usage.c.last_seen_at, excluded.last_seen_at),
                "sources": case(
                    (ListsSource(usage.c.sources, source), usage.c.sources),
                    else_=usage.c.sources + literal(f"{source}{SEPARATOR}"),
                ),
            },
            # A re-sync mostly reports what is stored already: such a row is left alone.
            only_if=lambda excluded: or_(
                ~ListsSource(usage.c.sources, source),
                and_(
                    excluded.last_seen_at.is_not(None),
                    or_(usage.c.last_seen_at.is_(None), excluded.last_seen_at > usage.c.last_seen_at),
                ),
            ),
        )


def refresh(session: Session, tenant_id: str, pairs: Iterable[Pair]) -> None:
    """Work out the summary of ``pairs`` again from ``activity`` (dropping pairs without rows).

    App by app, a few hundred people at a time: each statement names one app and a list of
    people, which every database answers through the (tenant, person, app) keys."""
    people: dict[str, set[int]] = defaultdict(set)
    for person, app in pairs:
        people[app].add(person)
    for app, persons in sorted(people.items()):
        ordered = sorted(persons)
        for start in range(0, len(ordered), ROWS_PER_STATEMENT):
            part = ordered[start : start + ROWS_PER_STATEMENT]
            session.execute(
                delete(AppUsage).where(
                    AppUsage.tenant_id == tenant_id, AppUsage.app_id == app, AppUsage.person_id.in_(part)
                )
            )
            rows = summary_of(
                Activity.tenant_id == tenant_id, Activity.app_id == app, Activity.person_id.in_(part)
            )
            session.execute(insert(AppUsage).from_select(COLUMNS, rows))


def rebuild(session: Session, tenant_id: str | None = None) -> None:
    """Work out the whole summary (of one tenant, or of every tenant) from ``activity``: for data
    written into ``activity`` past the ingest (a bulk load, a restore)."""
    if tenant_id is None:
        for each in session.scalars(select(Tenant.id).order_by(Tenant.id)).all():
            rebuild(session, each)
        return
    _serialise(session, tenant_id)
    session.execute(delete(AppUsage).where(AppUsage.tenant_id == tenant_id))
    session.execute(insert(AppUsage).from_select(COLUMNS, summary_of(Activity.tenant_id == tenant_id)))


def retire(session: Session, stale: ColumnElement[bool], tenant_id: str) -> None:
    """Delete the activity rows matching ``stale`` (of one tenant) and refresh their pairs."""
    _serialise(session, tenant_id)
    pairs = session.execute(select(Activity.person_id, Activity.app_id).where(stale).distinct()).all()
    session.execute(delete(Activity).where(stale))
    refresh(session, tenant_id, ((person, app) for person, app in pairs))


__all__ = ["SEPARATOR", "ListsSource", "rebuild", "record", "refresh", "retire", "summary_of"]
