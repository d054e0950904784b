"""Initial schema: every table of storage/models.py, append-only ledger, system accounts.

Written out explicitly (a migration is frozen history: it never imports the models). Beyond
the tables it installs triggers that refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on
``transfers`` and ``postings`` -- a mistake is corrected by a reversing transfer, never by
editing history -- and seeds the two system accounts the ledger needs.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
APPEND_ONLY_TABLES = ("transfers", "postings")
SYSTEM_ACCOUNTS = (("system:card_funding", "card_funding"), ("system:escrow", "escrow"))


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("x_user_id", sa.BigInteger(), nullable=False),
        sa.Column("handle", sa.String(length=32), nullable=False),
        sa.Column("dm_opt_in", sa.Boolean(), nullable=False),
        sa.Column("stopped", sa.Boolean(), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("x_user_id", name=op.f("pk_contacts")),
    )
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cursors")),
    )
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("author_x_user_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("processed_at", TS, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'done', 'failed')", name=op.f("ck_inbox_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("source", "event_id", name="uq_inbox_source_event_id"),
    )
    op.create_index(op.f("ix_inbox_status_id"), "inbox", ["status", "id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("x_user_id", sa.BigInteger(), nullable=False),
        sa.Column("handle", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("pin_hash", sa.String(length=255), nullable=True),
        sa.Column("failed_pin_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("terms_accepted_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("kind IN ('personal', 'pro')", name=op.f("ck_users_kind")),
        sa.CheckConstraint(
            "status IN ('active', 'locked', 'unlinked')", name=op.f("ck_users_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("x_user_id", name=op.f("uq_users_x_user_id")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.Column("allow_negative", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "NOT allow_negative OR kind IN ('card_funding', 'escrow')",
            name=op.f("ck_accounts_negative_only_system"),
        ),
        sa.CheckConstraint(
            "kind IN ('user', 'pro', 'card_funding', 'escrow')", name=op.f("ck_accounts_kind")
        ),
        sa.CheckConstraint(
            "allow_negative OR balance_cents >= 0", name=op.f("ck_accounts_no_overdraft")
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_accounts_owner_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_accounts_code")),
    )
    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("debit_account_id", sa.Integer(), nullable=False),
        sa.Column("credit_account_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.String(length=280), nullable=False),
        sa.Column("reverses_transfer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_transfers_positive")),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name=op.f("ck_transfers_distinct_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["accounts.id"],
            name=op.f("fk_transfers_credit_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["accounts.id"],
            name=op.f("fk_transfers_debit_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_transfer_id"],
            ["transfers.id"],
            name=op.f("fk_transfers_reverses_transfer_id_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_transfers_idempotency_key")),
        sa.UniqueConstraint("reverses_transfer_id", name=op.f("uq_transfers_reverses_transfer_id")),
    )
    op.create_table(
        "payment_intents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("source_event_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("initiator_x_user_id", sa.BigInteger(), nullable=False),
        sa.Column("payer_x_user_id", sa.BigInteger(), nullable=False),
        sa.Column("payee_x_user_id", sa.BigInteger(), nullable=False),
        sa.Column("payee_handle", sa.String(length=32), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.String(length=280), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("failure_reason", sa.String(length=64), nullable=True),
        sa.Column("wrong_pin_attempts", sa.Integer(), nullable=False),
        sa.Column("tweet_id", sa.String(length=32), nullable=True),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.CheckConstraint(
            "channel IN ('tweet', 'dm', 'web')", name=op.f("ck_payment_intents_channel")
        ),
        sa.CheckConstraint(
            "kind IN ('send', 'donate', 'request')", name=op.f("ck_payment_intents_kind")
        ),
        sa.CheckConstraint(
            "status IN ('awaiting_confirmation', 'confirmed', 'expired', 'cancelled', 'failed')",
            name=op.f("ck_payment_intents_status"),
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_payment_intents_positive")),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_payment_intents_transfer_id_transfers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_intents")),
        sa.UniqueConstraint("reference", name=op.f("uq_payment_intents_reference")),
        sa.UniqueConstraint("source_event_id", name=op.f("uq_payment_intents_source_event_id")),
    )
    op.create_index(
        op.f("ix_payment_intents_initiator_x_user_id"),
        "payment_intents",
        ["initiator_x_user_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_payment_intents_status_expires_at"),
        "payment_intents",
        ["status", "expires_at"],
        unique=False,
    )

    op.create_table(
        "postings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_postings_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_postings_transfer_id_transfers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postings")),
    )
    op.create_index(
        op.f("ix_postings_account_id_id"), "postings", ["account_id", "id"], unique=False
    )
    op.create_index(op.f("ix_postings_transfer_id"), "postings", ["transfer_id"], unique=False)

    op.create_table(
        "confirmation_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("x_user_id", sa.BigInteger(), nullable=False),
        sa.Column("intent_id", sa.Integer(), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("payee_x_user_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.CheckConstraint(
            "purpose IN ('confirm', 'signup', 'login')", name=op.f("ck_confirmation_tokens_purpose")
        ),
        sa.ForeignKeyConstraint(
            ["intent_id"],
            ["payment_intents.id"],
            name=op.f("fk_confirmation_tokens_intent_id_payment_intents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confirmation_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_confirmation_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_confirmation_tokens_intent_id"), "confirmation_tokens", ["intent_id"], unique=False
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("recipient_x_user_id", sa.BigInteger(), nullable=True),
        sa.Column("in_reply_to_tweet_id", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sealed_link", sa.Text(), nullable=True),
        sa.Column("intent_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.CheckConstraint("kind IN ('reply', 'dm')", name=op.f("ck_outbox_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')",
            name=op.f("ck_outbox_status"),
        ),
        sa.ForeignKeyConstraint(
            ["intent_id"], ["payment_intents.id"], name=op.f("fk_outbox_intent_id_payment_intents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    op.create_index(
        op.f("ix_outbox_status_priority_next"),
        "outbox",
        ["status", "priority", "next_attempt_at"],
        unique=False,
    )
    _create_append_only_triggers()
    _seed_system_accounts()


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_index(op.f("ix_outbox_status_priority_next"), table_name="outbox")

    op.drop_table("outbox")
    op.drop_index(op.f("ix_confirmation_tokens_intent_id"), table_name="confirmation_tokens")

    op.drop_table("confirmation_tokens")
    op.drop_index(op.f("ix_postings_transfer_id"), table_name="postings")
    op.drop_index(op.f("ix_postings_account_id_id"), table_name="postings")

    op.drop_table("postings")
    op.drop_index(op.f("ix_payment_intents_status_expires_at"), table_name="payment_intents")
    op.drop_index(op.f("ix_payment_intents_initiator_x_user_id"), table_name="payment_intents")

    op.drop_table("payment_intents")
    op.drop_table("transfers")
    op.drop_table("accounts")
    op.drop_table("users")
    op.drop_index(op.f("ix_inbox_status_id"), table_name="inbox")

    op.drop_table("inbox")
    op.drop_table("cursors")
    op.drop_table("contacts")


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION tweetpay_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation';
            END
            $$
            """
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION tweetpay_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION tweetpay_refuse_change()"
            )
        return
    for table in APPEND_ONLY_TABLES:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
            )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS tweetpay_refuse_change()")
        return
    for table in APPEND_ONLY_TABLES:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def _seed_system_accounts() -> None:
    accounts = sa.table(
        "accounts",
        sa.column("code", sa.String),
        sa.column("kind", sa.String),
        sa.column("balance_cents", sa.BigInteger),
        sa.column("allow_negative", sa.Boolean),
        sa.column("created_at", TS),
    )
    now = dt.datetime.now(dt.UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored naive UTC, as storage.models.UTCDateTime does
    op.bulk_insert(
        accounts,
        [
            {
                "code": code,
                "kind": kind,
                "balance_cents": 0,
                "allow_negative": True,
                "created_at": now,
            }
            for code, kind in SYSTEM_ACCOUNTS
        ],
    )
