"""What hangs off an account holder: saved cards and their charges, device sessions, push
subscriptions and deliveries, passkeys and their one-time challenges.

Part of ``storage.models`` (imported at its end, same ``Base``), so that ``Base.metadata``
always holds the whole schema; import the classes from ``storage.models``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UTCDateTime


class Card(Base):
    """A saved card: never its number. The provider's token, the last four digits and the
    expiry travel together, Fernet-sealed (``storage.sealing``), in ``sealed``."""

    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


CHARGE_STATES = ("pending", "requires_action", "succeeded", "declined", "failed", "abandoned")


class Charge(Base):
    """A card top-up attempt; a succeeded charge posts card funding → wallet once, keyed by
    the provider's charge id. The row is written ``pending`` before the provider is called
    (it holds its place under the daily cap), ``requires_action`` while the issuer's 3-D
    Secure challenge waits, then final; ``three_ds`` records that challenge's result."""

    __tablename__ = "charges"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'requires_action', 'succeeded', 'declined', 'failed',"
            " 'abandoned')",
            name="status",
        ),
        CheckConstraint("amount_cents > 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL while pending: the provider has not answered yet.
    provider_charge_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    # 'authenticated', 'failed', 'timed_out' (the issuer's challenge); NULL: not asked.
    three_ds: Mapped[str | None] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    decline_code: Mapped[str | None] = mapped_column(String(64))
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A device session (the app, the account page); only the SHA-256 of the cookie value is
    stored. Listed on the account page by ``label`` and ``last_used_at``, revocable."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    label: Mapped[str] = mapped_column(String(100), default="", server_default="")
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PushSubscription(Base):
    """A Web Push subscription of one device session. The endpoint and its keys are sealed
    (they let anyone push to the device); the endpoint's SHA-256 makes it unique."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("web_sessions.id"))
    x_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PushDelivery(Base):
    """A push outbox row delivered to one subscription: a retry after an outage sends only
    to the subscriptions still missing it (nothing lost, nothing doubled)."""

    __tablename__ = "push_deliveries"

    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), primary_key=True)
    subscription_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class EscrowHold(Base):
    """Money confirmed for someone without an account, held in escrow for their numeric X
    user id until they sign up (claimed), the sender cancels, or the claim period ends."""

    __tablename__ = "escrow_holds"
    __table_args__ = (
        CheckConstraint(
            "status IN ('held', 'claimed', 'refunded', 'cancelled')", name="status"
        ),
        Index("ix_escrow_holds_status_deadline", "status", "claim_deadline"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    intent_id: Mapped[int] = mapped_column(ForeignKey("payment_intents.id"), unique=True)
    sender_x_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    recipient_x_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    recipient_handle: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="held")
    hold_transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"))
    release_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claim_deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Passkey(Base):
    """A WebAuthn credential of an account holder: its id and public key only (the private
    key never leaves the authenticator). ``sign_count`` must grow with each use."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url
    public_key: Mapped[str] = mapped_column(Text)  # COSE key, base64url
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    user_handle: Mapped[str] = mapped_column(String(128))  # the WebAuthn user.id, base64url
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WebAuthnChallenge(Base):
    """A one-time WebAuthn challenge for a registration or a step-up (an intent's challenge is
    derived from the intent instead: ``handlers.binding``). Spent by one guarded UPDATE."""

    __tablename__ = "webauthn_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))  # 'register' or 'step_up:<action>'
    challenge: Mapped[str] = mapped_column(String(64), unique=True)  # base64url
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
