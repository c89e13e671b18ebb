"""connector details: account kind, seat pending cancellation, activity feature, billed items

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import collector.timeutil

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=True))
    with op.batch_alter_table("seat") as batch:
        batch.add_column(sa.Column("pending_cancellation_on", sa.Date(), nullable=True))
    with op.batch_alter_table("activity") as batch:
        batch.add_column(sa.Column("feature", sa.String(length=64), server_default="", nullable=False))
        batch.drop_constraint("uq_activity_tenant_id", type_="unique")
        batch.create_unique_constraint(
            "uq_activity_tenant_id", ["tenant_id", "person_id", "app_id", "source", "source_kind", "feature"]
        )
    op.create_table(
        "billed_item",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=16, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billing_period", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=True),
        sa.Column("current_period_end", collector.timeutil.UtcDateTime(timezone=True), nullable=True),
        sa.Column("seen_run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_billed_item_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billed_item")),
        sa.UniqueConstraint("tenant_id", "source", "external_id", name=op.f("uq_billed_item_tenant_id")),
    )


def downgrade() -> None:
    op.drop_table("billed_item")
    with op.batch_alter_table("activity") as batch:
        batch.drop_constraint("uq_activity_tenant_id", type_="unique")
        batch.create_unique_constraint(
            "uq_activity_tenant_id", ["tenant_id", "person_id", "app_id", "source", "source_kind"]
        )
        batch.drop_column("feature")
    with op.batch_alter_table("seat") as batch:
        batch.drop_column("pending_cancellation_on")
    with op.batch_alter_table("account") as batch:
        batch.drop_column("kind")
