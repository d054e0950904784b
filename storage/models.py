"""The schema: SQLAlchemy 2.x typed ORM models. Alembic migrations create it (never create_all
in production code paths). Amounts are BIGINT cents; identities are numeric X user ids; times
are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every engine (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """A person or Pro account, bound to one numeric X user id."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("kind IN ('personal', 'pro')", name="kind"),
        CheckConstraint("status IN ('active', 'locked', 'unlinked')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    x_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    handle: Mapped[str] = mapped_column(String(32))  # last seen; never used as identity
    display_name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(16), default="personal")
    status: Mapped[str] = mapped_column(String(16), default="active")
    lang: Mapped[str] = mapped_column(String(2), default="fr")
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    failed_pin_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    terms_accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Contact(Base):
    """What the bot may do towards an X user id (docs/design.md X platform rules): DM only users
    who opted in (account holders, people who DMed the bot); honour #stop."""

    __tablename__ = "contacts"

    x_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    handle: Mapped[str] = mapped_column(String(32), default="")
    dm_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    lang: Mapped[str] = mapped_column(String(2), default="fr")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Account(Base):
    """A ledger account. User and Pro wallets never go below zero (the CHECK enforces it in
    the database too); system accounts (card funding, escrow) may where the design needs."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('user', 'pro', 'card_funding', 'escrow', 'in_flight', 'settlement')",
            name="kind",
        ),
        CheckConstraint("allow_negative OR balance_cents >= 0", name="no_overdraft"),
        CheckConstraint(
            "NOT allow_negative OR kind IN ('card_funding', 'escrow')", name="negative_only_system"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Transfer(Base):
    """One balanced movement of money; its postings sum to zero. Never updated or deleted."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(String(280), default="")
    # Unique: a transfer is reversed at most once (NULLs do not collide).
    reverses_transfer_id: Mapped[int | None] = mapped_column(
        ForeignKey("transfers.id"), unique=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Posting(Base):
    """One leg of a transfer: a signed amount on one account. Append-only."""

    __tablename__ = "postings"
    __table_args__ = (
        Index("ix_postings_account_id_id", "account_id", "id"),
        # Rolling limits read one account's postings of the last 30 days.
        Index("ix_postings_account_id_created_at", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


INTENT_STATES = ("awaiting_confirmation", "confirmed", "expired", "cancelled", "failed")
TERMINAL_STATES = frozenset(INTENT_STATES) - {"awaiting_confirmation"}


class PaymentIntent(Base):
    """What a user asked for, frozen at creation: amount, payee and memo never change."""

    __tablename__ = "payment_intents"
    __table_args__ = (
        CheckConstraint(
            "status IN ('awaiting_confirmation', 'confirmed', 'expired', 'cancelled', 'failed')",
            name="status",
        ),
        CheckConstraint("kind IN ('send', 'donate', 'request')", name="kind"),
        CheckConstraint("channel IN ('tweet', 'dm', 'web')", name="channel"),
        CheckConstraint("amount_cents > 0", name="positive"),
        Index("ix_payment_intents_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)  # what users type to cancel
    source_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8))
    lang: Mapped[str] = mapped_column(String(2), default="fr")
    initiator_x_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    payer_x_user_id: Mapped[int] = mapped_column(BigInteger)  # confirms with their PIN
    payee_x_user_id: Mapped[int] = mapped_column(BigInteger)
    payee_handle: Mapped[str] = mapped_column(String(32))  # as resolved at creation, for display
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(String(280), default="")
    status: Mapped[str] = mapped_column(String(24), default="awaiting_confirmation")
    failure_reason: Mapped[str | None] = mapped_column(String(64))
    wrong_pin_attempts: Mapped[int] = mapped_column(Integer, default=0)
    tweet_id: Mapped[str | None] = mapped_column(String(32))  # thread to answer in, if public
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # HMAC (server key) over id, kind, payer, payee, amount, memo, expiry (handlers.binding):
    # checked by every confirmation; NULL or stale: refused.
    binding_mac: Mapped[str | None] = mapped_column(String(64))
    # The payer's app showed it: the link DM that follows an unseen push is not needed.
    seen_in_app_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ConfirmationToken(Base):
    """A one-time link. Only the SHA-256 of the token is stored; it is bound to one intent,
    one user, the amount and the payee (dynamic linking)."""

    __tablename__ = "confirmation_tokens"
    __table_args__ = (
        CheckConstraint("purpose IN ('confirm', 'signup', 'login')", name="purpose"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16), default="confirm")
    x_user_id: Mapped[int] = mapped_column(BigInteger)
    intent_id: Mapped[int | None] = mapped_column(ForeignKey("payment_intents.id"), index=True)
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    payee_x_user_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class InboxEvent(Base):
    """An inbound event (mention, DM), stored once: (source, event_id) is unique."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("source", "event_id", name="uq_inbox_source_event_id"),
        CheckConstraint("status IN ('pending', 'done', 'failed')", name="status"),
        Index("ix_inbox_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # 'mention' | 'dm'
    event_id: Mapped[str] = mapped_column(String(64))
    author_x_user_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)  # the event as X sent it (JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    # Transient database errors (a lost race) met so far; the row waits until
    # next_attempt_at, then is handled again (bounded: storage.inbox.MAX_ATTEMPTS).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A message to send on X, written in the same transaction as the decision behind it."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("kind IN ('reply', 'dm', 'push')", name="kind"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')", name="status"
        ),
        Index("ix_outbox_status_priority_next", "status", "priority", "next_attempt_at"),
        Index("ix_outbox_recipient_created", "recipient_x_user_id", "created_at"),
        CheckConstraint(
            "delivery_state IN ('unsent', 'in_doubt', 'delivered')", name="delivery_state"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    priority: Mapped[int] = mapped_column(Integer, default=50)  # lower is more urgent
    recipient_x_user_id: Mapped[int | None] = mapped_column(BigInteger)
    in_reply_to_tweet_id: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)  # may hold a {link} placeholder, never a link
    # The one-time link, Fernet-encrypted with the data key, filled into {link} at send time
    # and erased once sent: the database never holds a usable link in clear.
    sealed_link: Mapped[str | None] = mapped_column(Text)
    intent_id: Mapped[int | None] = mapped_column(ForeignKey("payment_intents.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    remote_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Whether X may hold this message: "in_doubt" from the moment a call may reach X until
    # X answers (a crash or a timeout leaves it so; the next attempt looks on X first).
    # Server default only: the outbox's bulk INSERT (storage.outbox) names its columns.
    delivery_state: Mapped[str] = mapped_column(String(16), server_default="unsent")
    attempted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Cursor(Base):
    """Where ingest stopped, per stream (mentions since_id, newest DM event id seen)."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


# Cards, charges, device sessions, push subscriptions and passkeys: their own module (same Base).
from storage.account_models import (  # noqa: E402, F401
    Card,
    Charge,
    EscrowHold,
    Passkey,
    PushDelivery,
    PushSubscription,
    WebAuthnChallenge,
    WebSession,
)

# Money out and the service flags live in their own module (same Base): imported here so that
# ``Base.metadata`` always holds the whole schema.
from storage.payout_models import (  # noqa: E402, F401
    BankAccount,
    PayoutNotification,
    ServiceFlag,
    Withdrawal,
)

# X Chat's rows: their own module (same Base).
from storage.xchat_models import (  # noqa: E402, F401
    ChatSend,
    DmRoute,
    XChatKey,
)


class WorkerHeartbeat(Base):
    """One row per worker process (``host:pid``), rewritten by its heartbeat job: when it was
    last alive and how each of its scheduler jobs last went (JSON), for /healthz and status."""

    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    jobs: Mapped[str] = mapped_column(Text, default="{}")


class OpsAudit(Base):
    """Every operator action on /ops, written in the transaction that carries it out."""

    __tablename__ = "ops_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))  # the operator credential's user, and IP
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(64))  # e.g. "outbox:12", "user:1234"
    outcome: Mapped[str] = mapped_column(String(16))  # done | refused
    detail: Mapped[str] = mapped_column(Text, default="")


class XUsage(Base):
    """What the bot's X usage costs, per UTC day and operation (``bot.x_meter``)."""

    __tablename__ = "x_usage"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    operation: Mapped[str] = mapped_column(String(48), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    resources: Mapped[int] = mapped_column(BigInteger, default=0)
    billed: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_micro_usd: Mapped[int] = mapped_column(BigInteger, default=0)
