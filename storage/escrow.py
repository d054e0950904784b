"""Escrow for recipients without an account.

A confirmed payment to someone who has no account moves sender → escrow, held for the
recipient's numeric X user id (never the handle: money waiting for "@bob" belongs to the id
@bob resolved to when the intent was made). Then exactly one of:

- claimed: the recipient signs up; escrow → their new wallet; both are told;
- cancelled: the sender ``#annuler``s it before the claim; escrow → sender;
- refunded: the claim period ends (default 14 days, a reminder halfway); escrow → sender.

Every move goes through the ledger with an idempotency key derived from the hold, so a
retried job or a crash between steps can never move the money twice, and each release is a
guarded transition (``storage.transitions``) made before the money moves, so a hold is
released once whatever runs at the same time.

This module is the holds' repository and their moves; the flows (who is told what, the
scheduler's pass) are ``bot.services.escrow``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from handlers.errors import TransitionLost
from handlers.money import Lang, Money
from handlers.texts import lang_of
from storage import transitions
from storage.ledger import ESCROW, user_account_code
from storage.models import Contact, EscrowHold, User
from storage.uow import UnitOfWork


def lang_for(session: Session, x_user_id: int) -> Lang:
    """The language to write to this X user in: their account's, else their contact's."""
    user = session.scalars(select(User.lang).where(User.x_user_id == x_user_id)).first()
    if user in ("fr", "en"):
        return lang_of(user)
    contact = session.get(Contact, x_user_id)
    return lang_of(contact.lang if contact is not None else None)


def handle_for(session: Session, x_user_id: int) -> str:
    """Their handle as last seen (for display only: identity is the numeric id)."""
    handle = session.scalars(select(User.handle).where(User.x_user_id == x_user_id)).first()
    if handle:
        return handle
    contact = session.get(Contact, x_user_id)
    return contact.handle if contact is not None and contact.handle else str(x_user_id)


def record_hold(session: Session, *, intent_id: int, sender_x_user_id: int,
                recipient_x_user_id: int, recipient_handle: str, amount: Money,
                hold_transfer_id: int, now: dt.datetime, claim_period: dt.timedelta) -> EscrowHold:
    hold = EscrowHold(
        intent_id=intent_id, sender_x_user_id=sender_x_user_id,
        recipient_x_user_id=recipient_x_user_id, recipient_handle=recipient_handle,
        amount_cents=amount.cents, status="held", hold_transfer_id=hold_transfer_id,
        created_at=now, claim_deadline=now + claim_period,
    )
    session.add(hold)
    session.flush()
    return hold


def _release(uow: UnitOfWork, hold: EscrowHold, *, to_x_user_id: int, kind: str,
             status: str, now: dt.datetime) -> bool:
    """Move the hold out of ``held`` (guarded: ``storage.transitions``), then post its money;
    False, having moved nothing, if another process released it first."""
    if not transitions.move(uow.session, transitions.HOLD, hold.id, "held", status, row=hold,
                            decided_at=now):
        return False
    result = uow.ledger.post_transfer(
        idempotency_key=f"escrow:{hold.id}:{kind}", debit=ESCROW,
        credit=user_account_code(to_x_user_id), amount=Money(hold.amount_cents), kind=kind,
        memo=f"escrow {hold.id}",
    )
    hold.release_transfer_id = result.transfer_id
    return True


def claim_all(uow: UnitOfWork, x_user_id: int, now: dt.datetime) -> list[EscrowHold]:
    """On sign-up: every hold waiting for this numeric id moves to the new wallet; returns
    those this call released (one cancelled or refunded meanwhile is left alone)."""
    holds = list(uow.session.scalars(
        select(EscrowHold).where(EscrowHold.recipient_x_user_id == x_user_id,
                                 EscrowHold.status == "held").order_by(EscrowHold.id)
    ))
    return [hold for hold in holds
            if _release(uow, hold, to_x_user_id=x_user_id, kind="claim", status="claimed",
                        now=now)]


def cancel(uow: UnitOfWork, hold: EscrowHold, now: dt.datetime) -> None:
    """The sender takes the money back before it is claimed; ``TransitionLost`` if the
    recipient claimed it (or the deadline refunded it) first."""
    if not _release(uow, hold, to_x_user_id=hold.sender_x_user_id, kind="refund",
                    status="cancelled", now=now):
        raise TransitionLost(f"escrow hold {hold.id} is no longer held")


def holds_of_sender(session: Session, sender_x_user_id: int,
                    hold_ids: tuple[int, ...]) -> list[EscrowHold]:
    """These holds, if ``sender_x_user_id`` sent them (whatever their state: a release is
    guarded, so one claimed meanwhile is a lost race, not a silent skip)."""
    if not hold_ids:
        return []
    return list(session.scalars(
        select(EscrowHold).where(EscrowHold.id.in_(hold_ids),
                                 EscrowHold.sender_x_user_id == sender_x_user_id)
        .order_by(EscrowHold.id)
    ))


def held_by_sender(session: Session, sender_x_user_id: int) -> list[EscrowHold]:
    return list(session.scalars(
        select(EscrowHold).where(EscrowHold.sender_x_user_id == sender_x_user_id,
                                 EscrowHold.status == "held").order_by(EscrowHold.id)
    ))


def remind(session: Session, hold: EscrowHold, now: dt.datetime) -> bool:
    """Once per hold, and only while it is held (not a state change: a guarded stamp)."""
    stamped = session.execute(
        update(EscrowHold)
        .where(EscrowHold.id == hold.id, EscrowHold.status == "held",
               EscrowHold.reminded_at.is_(None))
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if stamped == 1:
        set_committed_value(hold, "reminded_at", now)
    return stamped == 1


def still_held(session: Session, limit: int = 500) -> list[EscrowHold]:
    """Holds still held, earliest deadline first, for the scheduler's pass (PostgreSQL: those
    another worker is handling are skipped, and these stay locked for this transaction)."""
    stmt = (select(EscrowHold).where(EscrowHold.status == "held")
            .order_by(EscrowHold.claim_deadline).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, key_share=True)
    return list(session.scalars(stmt))


def refund(uow: UnitOfWork, hold: EscrowHold, now: dt.datetime) -> bool:
    """The claim period is over: escrow → sender; False if claimed or cancelled meanwhile."""
    return _release(uow, hold, to_x_user_id=hold.sender_x_user_id, kind="refund",
                    status="refunded", now=now)
