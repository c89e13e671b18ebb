"""foreign key indexes: an account's seats and a person's accounts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:00:00

Offboarding looks up the accounts of a few thousand people and their seats; without these indexes
it read every account and built a temporary index over every seat on each run. PostgreSQL also
needs ``seat.account_id`` indexed for the cascade when a sync retires accounts: it deletes an
account's seats by that column, once per account.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_account_person_id", "account", ["person_id"])
    op.create_index("ix_seat_account_id", "seat", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_seat_account_id", table_name="seat")
    op.drop_index("ix_account_person_id", table_name="account")
