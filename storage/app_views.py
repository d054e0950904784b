"""What the tweetpay app shows an account holder, read in one place, and its one write of
its own: cancel (a pending payment or request, or money waiting in escrow), as ``#annuler``
does. Confirming goes through ``bot.services.confirm`` (the link page’s rules), never here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from handlers.money import Money
from storage import escrow
from storage.ledger import user_account_code
from storage.models import Account, EscrowHold, PaymentIntent, Posting, User
from storage.uow import UnitOfWork

AWAITING = "awaiting_confirmation"


@dataclass(frozen=True, slots=True)
class Pending:
    """A payment waiting: for me to confirm, or one I started that waits on someone else."""

    id: int
    reference: str
    kind: str
    amount: Money
    payee_x_user_id: int
    payee_handle: str
    other_handle: str  # a request's requester (to me), or the payer I asked
    memo: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Held:
    reference: str
    recipient_handle: str
    amount: Money
    claim_deadline: dt.datetime


@dataclass(frozen=True, slots=True)
class AppView:
    to_confirm: list[Pending]  # mine to confirm (requests to pay included: kind 'request')
    waiting_on_others: list[Pending]  # requests I sent, not paid yet
    held: list[Held]  # money I sent that waits in escrow for someone without an account


def _pending(session: Session, where: list[Any], now: dt.datetime,
             other: object) -> list[Pending]:
    other_user = User.__table__.alias("other")
    rows = session.execute(
        select(PaymentIntent, other_user.c.handle)
        .outerjoin(other_user, other_user.c.x_user_id == other)
        .where(PaymentIntent.status == AWAITING, PaymentIntent.expires_at > now, *where)
        .order_by(PaymentIntent.id.desc())
    ).all()
    return [Pending(i.id, i.reference, i.kind, Money(i.amount_cents), i.payee_x_user_id,
                    i.payee_handle, handle or "", i.memo, i.expires_at) for i, handle in rows]


def view(session: Session, x_user_id: int, now: dt.datetime) -> AppView:
    to_confirm = _pending(session, [PaymentIntent.payer_x_user_id == x_user_id], now,
                          PaymentIntent.initiator_x_user_id)
    waiting = _pending(session, [PaymentIntent.initiator_x_user_id == x_user_id,
                                 PaymentIntent.payer_x_user_id != x_user_id], now,
                       PaymentIntent.payer_x_user_id)
    held = session.execute(
        select(EscrowHold, PaymentIntent.reference)
        .join(PaymentIntent, PaymentIntent.id == EscrowHold.intent_id)
        .where(EscrowHold.sender_x_user_id == x_user_id, EscrowHold.status == "held")
        .order_by(EscrowHold.id.desc())
    ).all()
    return AppView(to_confirm, waiting, [
        Held(ref, h.recipient_handle, Money(h.amount_cents), h.claim_deadline)
        for h, ref in held])


def version(session: Session, x_user_id: int, now: dt.datetime) -> str:
    """Changes whenever what the app shows changes (a payment to confirm appears or ends,
    money moves, a hold is claimed): the live stream sends it, the page reloads its parts."""
    awaiting = session.execute(
        select(func.count(), func.coalesce(func.max(PaymentIntent.id), 0),
               func.coalesce(func.sum(PaymentIntent.id), 0))
        .where(PaymentIntent.status == AWAITING, PaymentIntent.expires_at > now,
               (PaymentIntent.payer_x_user_id == x_user_id)
               | (PaymentIntent.initiator_x_user_id == x_user_id))
    ).one()
    moved = session.scalar(
        select(func.coalesce(func.max(Posting.id), 0))
        .join(Account, Account.id == Posting.account_id)
        .where(Account.code == user_account_code(x_user_id))
    )
    held = session.scalar(select(func.count()).select_from(EscrowHold).where(
        EscrowHold.sender_x_user_id == x_user_id, EscrowHold.status == "held"))
    raw = f"{tuple(awaiting)}:{moved}:{held}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def cancel(uow: UnitOfWork, x_user_id: int, reference: str, now: dt.datetime) -> bool:
    """Cancel by reference what this user may cancel: a pending payment they would pay or
    started (a guarded transition), or their money waiting in escrow. False: nothing was."""
    session = uow.session
    done = session.execute(
        update(PaymentIntent)
        .where(PaymentIntent.reference == reference, PaymentIntent.status == AWAITING,
               (PaymentIntent.payer_x_user_id == x_user_id)
               | (PaymentIntent.initiator_x_user_id == x_user_id))
        .values(status="cancelled", failure_reason="cancelled_by_user", decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount:  # type: ignore[attr-defined]
        return True
    hold = session.scalars(
        select(EscrowHold).join(PaymentIntent, PaymentIntent.id == EscrowHold.intent_id)
        .where(PaymentIntent.reference == reference, EscrowHold.sender_x_user_id == x_user_id,
               EscrowHold.status == "held")
        .with_for_update()
    ).first()
    if hold is None:
        return False
    escrow.cancel(uow, hold, now)
    return True
