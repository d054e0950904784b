"""The schema of money out (bank accounts, withdrawals, provider notifications) and of the
service flags (wind-down). Part of ``storage.models`` (imported at its end, same ``Base``);
a module of its own so that neither file grows past a few hundred lines.
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

WITHDRAWAL_STATES = (
    "awaiting_confirmation", "cancelled", "expired", "confirmed", "submitting", "submitted",
    "settled", "returned", "failed",
)
PAYEE_CHECKS = ("match", "close_match", "no_match")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class BankAccount(Base):
    """A holder's IBAN: the IBAN, the holder name, the BIC and the name the bank holds (for a
    close match) travel together, Fernet-sealed (``storage.sealing``), in ``sealed``. The
    provider's name check is kept in clear; the holder confirms it before the first payout.
    A new account may be paid only from ``usable_from`` (cooling-off)."""

    __tablename__ = "bank_accounts"
    __table_args__ = (CheckConstraint(_in("payee_check", PAYEE_CHECKS), name="payee_check"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    sealed: Mapped[str] = mapped_column(Text)
    payee_check: Mapped[str] = mapped_column(String(16))
    payee_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    usable_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Withdrawal(Base):
    """Money out to a bank account. Amount, bank account and scheme are frozen at creation:
    the PIN authorises exactly those. The provider's idempotency key is ``withdrawal:<id>``.

    awaiting_confirmation → confirmed (wallet → in flight) | cancelled | expired;
    confirmed → cancelled (by the holder during the cooling-off: in flight → wallet);
    confirmed → submitting (attempt recorded) → submitted | settled | returned | failed;
    submitted → settled (in flight → settlement) | returned (back to the wallet);
    settled → returned (settlement → wallet)."""

    __tablename__ = "withdrawals"
    __table_args__ = (
        CheckConstraint(_in("status", WITHDRAWAL_STATES), name="status"),
        CheckConstraint("scheme IN ('instant', 'standard')", name="scheme"),
        CheckConstraint("channel IN ('web', 'dm')", name="channel"),
        CheckConstraint("amount_cents > 0", name="positive"),
        Index("ix_withdrawals_status_not_before", "status", "not_before"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    x_user_id: Mapped[int] = mapped_column(BigInteger)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_accounts.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    scheme: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8))
    lang: Mapped[str] = mapped_column(String(2), default="fr")
    status: Mapped[str] = mapped_column(String(24), default="awaiting_confirmation")
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    source_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_payout_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(64))
    return_code: Mapped[str | None] = mapped_column(String(8))
    hold_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    settle_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    return_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PayoutNotification(Base):
    """A provider status notification already applied: a replay of the same event id is
    recognised and changes nothing."""

    __tablename__ = "payout_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    provider: Mapped[str] = mapped_column(String(32))
    payout_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ServiceFlag(Base):
    """A switch of the whole service, e.g. ``wind_down`` (its value: when it started)."""

    __tablename__ = "service_flags"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
