"""Charges are written before the provider is called (pending: their place under the daily
top-up cap), wait for the issuer's 3-D Secure challenge (requires_action), and record its
result (three_ds).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW = ("status IN ('pending', 'requires_action', 'succeeded', 'declined', 'failed',"
       " 'abandoned')")
OLD = "status IN ('succeeded', 'declined', 'failed')"


def upgrade() -> None:
    with op.batch_alter_table("charges") as batch_op:
        batch_op.alter_column("provider_charge_id", existing_type=sa.String(length=64),
                              nullable=True)
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("three_ds", sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_charges_idempotency_key"),
                                          ["idempotency_key"])
        batch_op.drop_constraint(op.f("ck_charges_status"), type_="check")
        batch_op.create_check_constraint("status", NEW)


def downgrade() -> None:
    with op.batch_alter_table("charges") as batch_op:
        batch_op.drop_constraint(op.f("ck_charges_status"), type_="check")
        batch_op.create_check_constraint("status", OLD)
        batch_op.drop_constraint(op.f("uq_charges_idempotency_key"), type_="unique")
        batch_op.drop_column("three_ds")
        batch_op.drop_column("idempotency_key")
        batch_op.alter_column("provider_charge_id", existing_type=sa.String(length=64),
                              nullable=False)
