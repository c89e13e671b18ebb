"""finding digest: a hash of what the last run wrote, so that an unchanged finding is not rewritten

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("finding", sa.Column("digest", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("finding") as batch:
        batch.drop_column("digest")
