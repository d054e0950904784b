"""Postings by account and date, for the rolling 24-hour and 30-day limits.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_postings_account_id_created_at", "postings", ["account_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_postings_account_id_created_at", table_name="postings")
