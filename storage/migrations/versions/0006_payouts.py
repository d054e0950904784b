"""Money out: bank accounts, withdrawals, payout notifications, service flags (wind-down);
two more ledger account kinds (payouts in flight, provider settlement).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

SQLite cannot alter a CHECK constraint, and rebuilding ``accounts`` (referenced by every
transfer and posting, with foreign keys on) would be risky; widening a CHECK is one of the
changes SQLite documents as safe to make by editing the stored schema text
(https://www.sqlite.org/lang_altertable.html, "making other kinds of table schema changes").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "kind IN ('user', 'pro', 'card_funding', 'escrow')"
NEW_KINDS = "kind IN ('user', 'pro', 'card_funding', 'escrow', 'in_flight', 'settlement')"
WITHDRAWAL_STATES = (
    "'awaiting_confirmation', 'cancelled', 'expired', 'confirmed', 'submitting', 'submitted',"
    " 'settled', 'returned', 'failed'"
)


def _account_kinds(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_accounts_kind"), "accounts", type_="check")
        op.create_check_constraint(op.f("ck_accounts_kind"), "accounts", new)
        return
    conn = bind.connection.driver_connection
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'accounts'"
                       ).fetchone()[0]
    if new in sql:
        return
    if old not in sql:
        raise RuntimeError("accounts: the kind CHECK is not the expected one")
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'accounts'",
                 (sql.replace(old, new),))
    conn.execute(f"PRAGMA schema_version = {int(version) + 1}")
    conn.execute("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    _account_kinds(OLD_KINDS, NEW_KINDS)
    op.create_table(
        "bank_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("payee_check", sa.String(length=16), nullable=False),
        sa.Column("payee_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("usable_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("payee_check IN ('match', 'close_match', 'no_match')",
                           name=op.f("ck_bank_accounts_payee_check")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_bank_accounts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_accounts")),
    )
    op.create_index(op.f("ix_bank_accounts_user_id"), "bank_accounts", ["user_id"])
    op.create_table(
        "withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("x_user_id", sa.BigInteger(), nullable=False),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("source_event_id", sa.String(length=64), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_payout_id", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.Column("return_code", sa.String(length=8), nullable=True),
        sa.Column("hold_transfer_id", sa.Integer(), nullable=True),
        sa.Column("settle_transfer_id", sa.Integer(), nullable=True),
        sa.Column("return_transfer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"status IN ({WITHDRAWAL_STATES})", name=op.f("ck_withdrawals_status")),
        sa.CheckConstraint("scheme IN ('instant', 'standard')", name=op.f("ck_withdrawals_scheme")),
        sa.CheckConstraint("channel IN ('web', 'dm')", name=op.f("ck_withdrawals_channel")),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_withdrawals_positive")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_withdrawals_user_id_users")),
        sa.ForeignKeyConstraint(["bank_account_id"], ["bank_accounts.id"],
                                name=op.f("fk_withdrawals_bank_account_id_bank_accounts")),
        sa.ForeignKeyConstraint(["hold_transfer_id"], ["transfers.id"],
                                name=op.f("fk_withdrawals_hold_transfer_id_transfers")),
        sa.ForeignKeyConstraint(["settle_transfer_id"], ["transfers.id"],
                                name=op.f("fk_withdrawals_settle_transfer_id_transfers")),
        sa.ForeignKeyConstraint(["return_transfer_id"], ["transfers.id"],
                                name=op.f("fk_withdrawals_return_transfer_id_transfers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawals")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_withdrawals_token_hash")),
        sa.UniqueConstraint("source_event_id", name=op.f("uq_withdrawals_source_event_id")),
    )
    op.create_index(op.f("ix_withdrawals_user_id"), "withdrawals", ["user_id"])
    op.create_index("ix_withdrawals_status_not_before", "withdrawals", ["status", "not_before"])
    op.create_table(
        "payout_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("payout_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_notifications")),
        sa.UniqueConstraint("event_id", name=op.f("uq_payout_notifications_event_id")),
    )
    op.create_table(
        "service_flags",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_service_flags")),
    )


def downgrade() -> None:
    op.drop_table("service_flags")
    op.drop_table("payout_notifications")
    op.drop_index("ix_withdrawals_status_not_before", table_name="withdrawals")
    op.drop_index(op.f("ix_withdrawals_user_id"), table_name="withdrawals")
    op.drop_table("withdrawals")
    op.drop_index(op.f("ix_bank_accounts_user_id"), table_name="bank_accounts")
    op.drop_table("bank_accounts")
    _account_kinds(NEW_KINDS, OLD_KINDS)
