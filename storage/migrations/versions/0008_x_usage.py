"""X usage per UTC day and operation (the bot's cost meter).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "x_usage",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("operation", sa.String(length=48), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("resources", sa.BigInteger(), nullable=False),
        sa.Column("billed", sa.BigInteger(), nullable=False),
        sa.Column("cost_micro_usd", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "operation", name=op.f("pk_x_usage")),
    )


def downgrade() -> None:
    op.drop_table("x_usage")
