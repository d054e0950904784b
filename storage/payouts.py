"""Repositories of money out: bank accounts (sealed at rest), withdrawals and their guarded
state transitions, provider notifications already applied, and the service flags.

Persistence only: no text, no provider call. The flows live in ``bot.services.withdraw``.

Every change of a withdrawal's state is ``transition(session, id, expected, new, ...)``: one
``UPDATE ... WHERE id = :id AND status IN (:expected)``; it returns False when someone else
moved the row first (a concurrent confirmation, the recovery job, a webhook), and refuses a
move that is not in ``TRANSITIONS``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from handlers.bank_details import BankDetails, mask
from handlers.money import Money
from storage.models import BankAccount, PayoutNotification, ServiceFlag, Withdrawal
from storage.pro import Payout
from storage.sealing import Sealer

TRANSITIONS: frozenset[tuple[str, str]] = frozenset({
    ("awaiting_confirmation", "confirmed"),
    ("awaiting_confirmation", "cancelled"),
    ("awaiting_confirmation", "expired"),
    ("awaiting_confirmation", "failed"),  # right PIN, but no funds or over a limit
    ("confirmed", "submitting"),  # the attempt is recorded before the provider is called
    ("confirmed", "cancelled"),  # the holder, while a new IBAN's security delay runs
    ("submitting", "submitted"),
    ("submitting", "settled"),
    ("submitting", "returned"),
    ("submitting", "failed"),  # the provider refused it outright: nothing was paid
    ("submitted", "settled"),
    ("submitted", "returned"),
    ("settled", "returned"),  # a SEPA return can come after settlement
})
COUNTS_TOWARDS_LIMIT = ("confirmed", "submitting", "submitted", "settled")
HELD = ("confirmed", "submitting", "submitted")  # money in flight


@dataclass(frozen=True, slots=True)
class BankAccountView:
    """What a page may show of a bank account."""

    id: int
    masked: str
    holder_name: str
    bic: str | None
    payee_check: str
    suggested_name: str | None
    payee_confirmed: bool
    usable_from: dt.datetime


# -- bank accounts ---------------------------------------------------------------------------


def seal_details(sealer: Sealer, details: BankDetails, suggested_name: str | None) -> str:
    return sealer.seal(json.dumps({"iban": details.iban, "holder_name": details.holder_name,
                                   "bic": details.bic, "suggested_name": suggested_name}))


def open_details(sealer: Sealer, row: BankAccount) -> tuple[BankDetails, str | None]:
    data = json.loads(sealer.open(row.sealed))
    return BankDetails(data["iban"], data["holder_name"], data["bic"]), data["suggested_name"]


def view(sealer: Sealer, row: BankAccount) -> BankAccountView:
    details, suggested = open_details(sealer, row)
    return BankAccountView(row.id, mask(details.iban), details.holder_name, details.bic,
                           row.payee_check, suggested, row.payee_confirmed_at is not None,
                           row.usable_from)


def current_bank_account(session: Session, user_id: int) -> BankAccount | None:
    return session.scalars(
        select(BankAccount).where(BankAccount.user_id == user_id,
                                  BankAccount.removed_at.is_(None))
        .order_by(BankAccount.id.desc())
    ).first()


def replace_bank_account(session: Session, *, user_id: int, provider: str, sealed: str,
                         payee_check: str, now: dt.datetime, usable_from: dt.datetime
                         ) -> BankAccount:
    """The user's new bank account; the previous one stops being used (the row stays:
    past withdrawals point at it)."""
    session.execute(
        update(BankAccount)
        .where(BankAccount.user_id == user_id, BankAccount.removed_at.is_(None))
        .values(removed_at=now).execution_options(synchronize_session=False)
    )
    row = BankAccount(user_id=user_id, provider=provider, sealed=sealed,
                      payee_check=payee_check, created_at=now, usable_from=usable_from)
    session.add(row)
    session.flush()
    return row


def confirm_payee(session: Session, bank_account_id: int, now: dt.datetime) -> bool:
    done = session.execute(
        update(BankAccount)
        .where(BankAccount.id == bank_account_id, BankAccount.payee_confirmed_at.is_(None))
        .values(payee_confirmed_at=now).execution_options(synchronize_session=False)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def rotate_bank_keys(session: Session, sealer: Sealer) -> int:
    """Re-seal every bank account with the newest key (the caller commits)."""
    count = 0
    for row in session.scalars(select(BankAccount).order_by(BankAccount.id)):
        row.sealed = sealer.rotate(row.sealed)
        count += 1
    session.flush()
    return count


# -- withdrawals -----------------------------------------------------------------------------


def idempotency_key(withdrawal_id: int) -> str:
    return f"withdrawal:{withdrawal_id}"


def withdrawal_id_of(key: str) -> int | None:
    prefix, _, rest = key.partition(":")
    return int(rest) if prefix == "withdrawal" and rest.isascii() and rest.isdigit() else None


def add_withdrawal(session: Session, **values: Any) -> Withdrawal:
    row = Withdrawal(status="awaiting_confirmation", attempts=0, **values)
    session.add(row)
    session.flush()
    return row


def by_token_hash(session: Session, token_hash: str) -> Withdrawal | None:
    return session.scalars(select(Withdrawal).where(Withdrawal.token_hash == token_hash)).first()


def by_source_event(session: Session, event_id: str) -> Withdrawal | None:
    return session.scalars(
        select(Withdrawal).where(Withdrawal.source_event_id == event_id)).first()


def transition(session: Session, withdrawal_id: int, expected: str | Iterable[str], new: str,
               **values: Any) -> bool:
    """Move the withdrawal from one of ``expected`` to ``new``; False if it was not there."""
    olds = (expected,) if isinstance(expected, str) else tuple(expected)
    for old in olds:
        if (old, new) not in TRANSITIONS:
            raise ValueError(f"withdrawal transition {old} → {new} is not allowed")
    done = session.execute(
        update(Withdrawal)
        .where(Withdrawal.id == withdrawal_id, Withdrawal.status.in_(olds))
        .values(status=new, **values).execution_options(synchronize_session=False)
    )
    session.expire_all()  # the ORM copy of the row (if loaded) is stale now
    return done.rowcount == 1  # type: ignore[attr-defined]


def withdrawn_since(session: Session, user_id: int, since: dt.datetime) -> int:
    """Cents confirmed for withdrawal since ``since`` and not given back (the daily limit)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Withdrawal.amount_cents), 0))
        .where(Withdrawal.user_id == user_id, Withdrawal.status.in_(COUNTS_TOWARDS_LIMIT),
               Withdrawal.confirmed_at >= since)
    )
    return int(total or 0)


def due_for_submission(session: Session, now: dt.datetime, limit: int = 100) -> list[int]:
    return list(session.scalars(
        select(Withdrawal.id).where(Withdrawal.status == "confirmed",
                                    Withdrawal.not_before <= now)
        .order_by(Withdrawal.id).limit(limit)))


def unresolved(session: Session, *, submitted_before: dt.datetime, limit: int = 200
               ) -> list[int]:
    """Withdrawals the provider has (or may have) and has not finished with; a submission
    younger than ``submitted_before`` may still be on its way and is left to its caller."""
    return list(session.scalars(
        select(Withdrawal.id).where(or_(
            Withdrawal.status == "submitted",
            and_(Withdrawal.status == "submitting", Withdrawal.submitted_at <= submitted_before),
        )).order_by(Withdrawal.id).limit(limit)))


def stale_requests(session: Session, now: dt.datetime, limit: int = 200) -> list[int]:
    return list(session.scalars(
        select(Withdrawal.id).where(Withdrawal.status == "awaiting_confirmation",
                                    Withdrawal.expires_at <= now)
        .order_by(Withdrawal.id).limit(limit)))


def history(session: Session, user_id: int, limit: int = 20) -> list[Withdrawal]:
    return list(session.scalars(
        select(Withdrawal).where(Withdrawal.user_id == user_id,
                                 Withdrawal.hold_transfer_id.is_not(None))
        .order_by(Withdrawal.id.desc()).limit(limit)))


def all_withdrawals(session: Session, since: dt.datetime | None = None) -> list[Withdrawal]:
    query = select(Withdrawal).where(Withdrawal.hold_transfer_id.is_not(None))
    if since is not None:
        query = query.where(Withdrawal.created_at >= since)
    return list(session.scalars(query.order_by(Withdrawal.id)))


# -- provider notifications ------------------------------------------------------------------


def record_notification(session: Session, *, event_id: str, provider: str, payout_id: str,
                        status: str, now: dt.datetime) -> bool:
    """True the first time this event id is seen; False for a replay."""
    values = {"event_id": event_id, "provider": provider, "payout_id": payout_id,
              "status": status, "received_at": now}
    table = cast(Table, PayoutNotification.__table__)
    conn = session.connection()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    # RETURNING tells a new row from a conflict on both engines (rowcount does not, on PG).
    done = conn.execute(insert(table).values(values)
                        .on_conflict_do_nothing(index_elements=["event_id"])
                        .returning(table.c.id))
    return done.first() is not None


# -- service flags ---------------------------------------------------------------------------


def flag(session: Session, name: str) -> str | None:
    row = session.get(ServiceFlag, name)
    return row.value if row is not None else None


def set_flag(session: Session, name: str, value: str, now: dt.datetime) -> None:
    row = session.get(ServiceFlag, name)
    if row is None:
        session.add(ServiceFlag(name=name, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
    session.flush()


def payout_rows(session: Session, sealer: Sealer, user_id: int) -> list[Payout]:
    """The holder's confirmed withdrawals as Pro CSV rows (``storage.pro.Payout``)."""
    rows = []
    for w in reversed(history(session, user_id, limit=100_000)):
        account = session.get(BankAccount, w.bank_account_id)
        masked = view(sealer, account).masked if account is not None else ""
        rows.append(Payout(w.confirmed_at or w.created_at, f"W{w.id}", Money(w.amount_cents),
                           w.status, masked))
    return rows
