"""The tweetpay app: device sessions (label, last use), Web Push subscriptions, push rows in
the outbox, and when the payer saw a payment in the app (the DM fallback waits for it).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", sa.String(length=100), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("last_used_at", TS, nullable=True))
    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seen_in_app_at", TS, nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_kind"),
                                         "kind IN ('reply', 'dm', 'push')")
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("x_user_id", sa.BigInteger(), nullable=False),
        sa.Column("endpoint_hash", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["web_sessions.id"],
                                name=op.f("fk_push_subscriptions_session_id_web_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint_hash", name=op.f("uq_push_subscriptions_endpoint_hash")),
    )
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_subscriptions_x_user_id"), ["x_user_id"],
                              unique=False)
    op.create_table(
        "push_deliveries",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("delivered_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"],
                                name=op.f("fk_push_deliveries_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("outbox_id", "subscription_id", name=op.f("pk_push_deliveries")),
    )


def downgrade() -> None:
    op.drop_table("push_deliveries")
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscriptions_x_user_id"))
    op.drop_table("push_subscriptions")
    op.execute("DELETE FROM outbox WHERE kind = 'push'")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_kind"), "kind IN ('reply', 'dm')")
    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.drop_column("seen_in_app_at")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("label")
