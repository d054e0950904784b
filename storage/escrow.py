"""Escrow for recipients without an account.

A confirmed payment to someone who has no account moves sender → escrow, held for the
recipient's numeric X user id (never the handle: money waiting for "@bob" belongs to the id
@bob resolved to when the intent was made). Then exactly one of:

- claimed: the recipient signs up; escrow → their new wallet; both are told;
- cancelled: the sender ``#annuler``s it before the claim; escrow → sender;
- refunded: the claim period ends (default 14 days, a reminder halfway); escrow → sender.

Every move goes through the ledger with an idempotency key derived from the hold, so a
retried job or a crash between steps can never move the money twice. The scheduler job
``process_due`` takes every deadline that passed, so an outage delays refunds, never skips
them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from handlers import notices as notices_for
from handlers.errors import TransitionLost
from handlers.money import Lang, Money
from handlers.outcomes import Outgoing
from handlers.texts import lang_of
from storage import outbox, transitions
from storage.consent import may_dm
from storage.ledger import ESCROW, user_account_code
from storage.models import Contact, EscrowHold, User
from storage.sealing import Sealer
from storage.uow import UnitOfWork


def _lang(session: Session, x_user_id: int) -> Lang:
    user = session.scalars(select(User.lang).where(User.x_user_id == x_user_id)).first()
    if user in ("fr", "en"):
        return lang_of(user)
    contact = session.get(Contact, x_user_id)
    return lang_of(contact.lang if contact is not None else None)


def _handle(session: Session, x_user_id: int) -> str:
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


def invitation(session: Session, hold: EscrowHold, sender_handle: str) -> list[Outgoing]:
    """The recipient is told only if they may be DMed (they wrote to the bot before);
    otherwise the sender's page and reply say how to invite them (no unsolicited mention)."""
    if not may_dm(session, hold.recipient_x_user_id):
        return []
    lang = _lang(session, hold.recipient_x_user_id)
    return [notices_for.escrow_invitation(hold, sender_handle, lang)]


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


def claim_for(uow: UnitOfWork, sealer: Sealer, x_user_id: int,
              now: dt.datetime) -> list[EscrowHold]:
    """On sign-up: every hold waiting for this numeric id moves to the new wallet."""
    session = uow.session
    holds = list(session.scalars(
        select(EscrowHold).where(EscrowHold.recipient_x_user_id == x_user_id,
                                 EscrowHold.status == "held").order_by(EscrowHold.id)
    ))
    notices: list[Outgoing] = []
    claimed = []
    for hold in holds:
        if not _release(uow, hold, to_x_user_id=x_user_id, kind="claim", status="claimed",
                        now=now):
            continue  # the sender cancelled it, or the deadline refunded it, meanwhile
        claimed.append(hold)
        notices += notices_for.escrow_claimed(
            hold, _handle(session, hold.sender_x_user_id),
            recipient_lang=_lang(session, x_user_id),
            sender_lang=_lang(session, hold.sender_x_user_id),
            tell_sender=may_dm(session, hold.sender_x_user_id))
    outbox.enqueue(session, sealer, notices, now)
    return claimed


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


def _remind(session: Session, hold: EscrowHold, now: dt.datetime) -> bool:
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


def process_due(uow: UnitOfWork, sealer: Sealer, now: dt.datetime,
                claim_period: dt.timedelta, limit: int = 500) -> tuple[int, int]:
    """Remind halfway, refund at the deadline; returns (reminded, refunded)."""
    session = uow.session
    stmt = (select(EscrowHold).where(EscrowHold.status == "held")
            .order_by(EscrowHold.claim_deadline).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, key_share=True)
    reminded = refunded = 0
    notices: list[Outgoing] = []
    for hold in session.scalars(stmt):
        lang = _lang(session, hold.sender_x_user_id)
        if hold.claim_deadline <= now:
            if not _release(uow, hold, to_x_user_id=hold.sender_x_user_id, kind="refund",
                            status="refunded", now=now):
                continue  # claimed or cancelled meanwhile: it moved nothing
            refunded += 1
            if may_dm(session, hold.sender_x_user_id):
                notices.append(notices_for.escrow_refunded(hold, lang))
        elif hold.reminded_at is None and hold.claim_deadline - claim_period / 2 <= now:
            if not _remind(session, hold, now):
                continue
            reminded += 1
            if may_dm(session, hold.sender_x_user_id):
                notices.append(notices_for.escrow_reminder(hold, lang))
    outbox.enqueue(session, sealer, notices, now)
    return reminded, refunded
