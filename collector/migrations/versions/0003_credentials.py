"""credentials: when a connector's credential expires, as its vendor reports it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import collector.timeutil

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credential",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("expires_at", collector.timeutil.UtcDateTime(timezone=True), nullable=True),
        sa.Column("observed_at", collector.timeutil.UtcDateTime(timezone=True), nullable=False),
        sa.Column("seen_run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_credential_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential")),
        sa.UniqueConstraint("tenant_id", "source", "name", name=op.f("uq_credential_tenant_id")),
    )


def downgrade() -> None:
    op.drop_table("credential")
