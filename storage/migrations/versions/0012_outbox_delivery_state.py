"""The outbox's delivery state in a column of its own (not in ``last_error``, which the next
retry overwrites), and when the attempt now in doubt began (the window X is searched in); an
index by recipient and time for the per-person fair share of DMs.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("delivery_state", sa.String(length=16), nullable=False,
                                      server_default="unsent"))
        batch_op.add_column(sa.Column("attempted_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_check_constraint(
            "delivery_state", "delivery_state IN ('unsent', 'in_doubt', 'delivered')"
        )
    op.create_index("ix_outbox_recipient_created", "outbox",
                    ["recipient_x_user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_recipient_created", table_name="outbox")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_constraint("ck_outbox_delivery_state", type_="check")
        batch_op.drop_column("attempted_at")
        batch_op.drop_column("delivery_state")
