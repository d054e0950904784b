"""X Chat: the bot's sealed key pairs, each user's DM transport, encrypted sends in flight.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "xchat_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_key_version", sa.String(length=24), nullable=False),
        sa.Column("sealed_blob", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xchat_keys")),
        sa.UniqueConstraint("public_key_version", name=op.f("uq_xchat_keys_public_key_version")),
    )
    op.create_table(
        "dm_routes",
        sa.Column("x_user_id", sa.BigInteger(), nullable=False),
        sa.Column("transport", sa.String(length=8), nullable=False),
        sa.Column("conversation_id", sa.String(length=48), nullable=True),
        sa.Column("last_inbound_at", TS, nullable=False),
        sa.CheckConstraint("transport IN ('legacy', 'xchat')", name=op.f("ck_dm_routes_transport")),
        sa.PrimaryKeyConstraint("x_user_id", name=op.f("pk_dm_routes")),
    )
    op.create_table(
        "chat_sends",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=48), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"],
                                name=op.f("fk_chat_sends_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("outbox_id", name=op.f("pk_chat_sends")),
        sa.UniqueConstraint("message_id", name=op.f("uq_chat_sends_message_id")),
    )


def downgrade() -> None:
    op.drop_table("chat_sends")
    op.drop_table("dm_routes")
    op.drop_table("xchat_keys")
