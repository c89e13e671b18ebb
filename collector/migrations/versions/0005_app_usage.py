"""app usage: the per-(person, app) summary of activity that the ingest keeps (collector.usage)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from collector.timeutil import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_usage",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name="fk_app_usage_person_id_person"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name="fk_app_usage_tenant_id_tenant"),
        sa.PrimaryKeyConstraint("tenant_id", "person_id", "app_id", name="pk_app_usage"),
        sqlite_with_rowid=False,
    )
    # The summary of the activity already stored (the same statement as collector.usage.rebuild,
    # written out here so that this migration does not change when the code does).
    activity = sa.table(
        "activity",
        sa.column("tenant_id"),
        sa.column("person_id"),
        sa.column("app_id"),
        sa.column("source"),
        sa.column("last_seen_at"),
    )
    per_source = (
        sa.select(
            activity.c.tenant_id,
            activity.c.person_id,
            activity.c.app_id,
            activity.c.source,
            sa.func.max(activity.c.last_seen_at).label("last_seen_at"),
        )
        .group_by(activity.c.tenant_id, activity.c.person_id, activity.c.app_id, activity.c.source)
        .subquery("per_source")
    )
    c = per_source.c
    rows = sa.select(
        c.tenant_id,
        c.person_id,
        c.app_id,
        sa.func.max(c.last_seen_at),
        sa.literal(",") + sa.func.aggregate_strings(c.source, ",") + sa.literal(","),
    ).group_by(c.tenant_id, c.person_id, c.app_id)
    usage = sa.table(
        "app_usage",
        sa.column("tenant_id"),
        sa.column("person_id"),
        sa.column("app_id"),
        sa.column("last_seen_at"),
        sa.column("sources"),
    )
    op.execute(
        sa.insert(usage).from_select(["tenant_id", "person_id", "app_id", "last_seen_at", "sources"], rows)
    )


def downgrade() -> None:
    op.drop_table("app_usage")
