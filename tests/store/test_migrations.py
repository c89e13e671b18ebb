"""Migrations: the newest migration produces exactly the models' schema, and upgrading a store that
already holds data keeps that data."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from collector.models import Base
from collector.store import Store, alembic_config, current_revision


def test_migrations_match_the_models(store_url: str) -> None:
    store = Store(store_url)
    try:
        store.migrate()
        with store.engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
        assert diff == []
        assert current_revision(store.engine) == "0006"
    finally:
        store.dispose()


def test_upgrade_from_0001_keeps_activity_and_adds_the_feature_key(store_url: str) -> None:
    store = Store(store_url)
    try:
        command.upgrade(alembic_config(store.engine), "0001")
        now = datetime(2026, 11, 1, tzinfo=UTC)
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO tenant (id, name, currency) VALUES ('t', 'T', 'USD')"))
            conn.execute(
                text("INSERT INTO person (tenant_id, email, updated_at) VALUES ('t', 'a@x.example', :now)"),
                {"now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO activity (tenant_id, person_id, app_id, source, source_kind, last_seen_at,"
                    " observed_at, seen_run_id) SELECT 't', id, 'm365', 'graph', 'report', :now, :now, 1"
                    " FROM person"
                ),
                {"now": now},
            )
        store.migrate()
        with store.engine.begin() as conn:
            rows = conn.execute(text("SELECT app_id, feature FROM activity")).all()
            assert [tuple(r) for r in rows] == [("m365", "")]
            # The same (person, app, source, kind) may now hold one row per feature.
            conn.execute(
                text(
                    "INSERT INTO activity (tenant_id, person_id, app_id, source, source_kind, feature,"
                    " last_seen_at, observed_at, seen_run_id) SELECT 't', id, 'm365', 'graph', 'report',"
                    " 'teams', :now, :now, 2 FROM person"
                ),
                {"now": now},
            )
            assert conn.execute(text("SELECT count(*) FROM activity")).scalar() == 2
    finally:
        store.dispose()
