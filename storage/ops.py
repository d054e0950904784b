"""Operator actions (the /ops page): guarded transitions, each audited in the same transaction.

Every action is one conditional ``UPDATE … WHERE id = :id AND status = :expected``; a
rowcount of 0 means the row was not in the state the operator saw (someone, or the worker,
moved it meanwhile) and the action is refused, audited as such. The caller commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from handlers.outcomes import LINK_PLACEHOLDER
from storage.models import InboxEvent, OpsAudit, OutboxMessage, PaymentIntent, User
from storage.sessions import revoke_all

ACTIONS = ("retry_inbox", "cancel_inbox", "retry_outbox", "cancel_outbox", "lock_user",
           "unlock_user")


@dataclass(frozen=True, slots=True)
class Done:
    ok: bool
    detail: str


def audit(session: Session, *, actor: str, action: str, target: str, done: Done,
          now: dt.datetime) -> None:
    session.add(OpsAudit(at=now, actor=actor[:128], action=action, target=target[:64],
                         outcome="done" if done.ok else "refused", detail=done.detail[:500]))


def _changed(session: Session, statement: object) -> bool:
    return bool(session.execute(statement).rowcount)  # type: ignore[call-overload]


def retry_inbox(session: Session, row_id: int, now: dt.datetime) -> Done:
    ok = _changed(session, update(InboxEvent)
                  .where(InboxEvent.id == row_id, InboxEvent.status == "failed")
                  .values(status="pending", error=None, processed_at=None))
    return Done(ok, "back to pending: the worker handles it again" if ok else "not failed")


def cancel_inbox(session: Session, row_id: int, now: dt.datetime) -> Done:
    # The inbox has no 'cancelled' state: a cancelled event is done, with the reason kept.
    ok = _changed(session, update(InboxEvent)
                  .where(InboxEvent.id == row_id, InboxEvent.status == "failed")
                  .values(status="done", processed_at=now,
                          error="cancelled by the operator"))
    return Done(ok, "marked done without handling" if ok else "not failed")


def retry_outbox(session: Session, row_id: int, now: dt.datetime) -> Done:
    row = session.get(OutboxMessage, row_id)
    if row is None or row.status != "failed":
        return Done(False, "not failed")
    if LINK_PLACEHOLDER in row.text and not row.sealed_link:
        # A failed row's link was erased: resending would post the bare placeholder.
        return Done(False, "its one-time link was erased when it failed; the user asks again")
    ok = _changed(session, update(OutboxMessage)
                  .where(OutboxMessage.id == row_id, OutboxMessage.status == "failed")
                  .values(status="pending", attempts=0, next_attempt_at=now,
                          last_error=f"retried by the operator after: {row.last_error or ''}"
                          [:500]))
    session.expire(row)
    return Done(ok, "back to pending: the sender sends it within its budget" if ok
                else "not failed")


def cancel_outbox(session: Session, row_id: int, now: dt.datetime) -> Done:
    ok = _changed(session, update(OutboxMessage)
                  .where(OutboxMessage.id == row_id,
                         OutboxMessage.status.in_(("failed", "pending")))
                  .values(status="cancelled", sealed_link=None,
                          last_error="cancelled by the operator"))
    return Done(ok, "cancelled: never sent" if ok else "neither failed nor pending")


def lock_user(session: Session, x_user_id: int, now: dt.datetime) -> Done:
    user = session.scalar(select(User).where(User.x_user_id == x_user_id))
    if user is None:
        return Done(False, "no account")
    ok = _changed(session, update(User).where(User.id == user.id, User.status == "active")
                  .values(status="locked"))
    if ok:
        revoke_all(session, user.id, now)  # open account-page sessions end now
    session.expire(user)
    return Done(ok, "locked: no payment, no confirmation, sessions closed" if ok
                else f"not active ({user.status})")


def unlock_user(session: Session, x_user_id: int, now: dt.datetime) -> Done:
    """Lift an operator lock, and a lockout after wrong codes (the counter restarts)."""
    user = session.scalar(select(User).where(User.x_user_id == x_user_id))
    if user is None:
        return Done(False, "no account")
    pin_locked = user.locked_until is not None and user.locked_until > now
    ok = _changed(session, update(User)
                  .where(User.id == user.id,
                         or_(User.status == "locked", User.locked_until > now,
                             User.failed_pin_attempts > 0))
                  .values(status="active" if user.status == "locked" else user.status,
                          locked_until=None, failed_pin_attempts=0))
    session.expire(user)
    detail = "unlocked" + (" (wrong-code lockout lifted)" if pin_locked else "")
    return Done(ok, detail if ok else "not locked")


RUN = {"retry_inbox": retry_inbox, "cancel_inbox": cancel_inbox, "retry_outbox": retry_outbox,
       "cancel_outbox": cancel_outbox, "lock_user": lock_user, "unlock_user": unlock_user}


@dataclass
class UserEvents:
    user: User | None
    x_user_id: int | None
    inbox: list[InboxEvent] = field(default_factory=list)
    intents: list[PaymentIntent] = field(default_factory=list)
    outbox: list[OutboxMessage] = field(default_factory=list)
    audit: list[OpsAudit] = field(default_factory=list)


def find_x_user_id(session: Session, query: str) -> int | None:
    """A numeric X id as typed, or the id of the account holder whose last seen handle it is."""
    query = query.strip().lstrip("@")
    if query.isdigit():
        return int(query)
    return session.scalar(select(User.x_user_id).where(User.handle.ilike(query)))


def user_events(session: Session, x_user_id: int, limit: int = 20) -> UserEvents:
    user = session.scalar(select(User).where(User.x_user_id == x_user_id))
    events = UserEvents(user, x_user_id)
    events.inbox = list(session.scalars(
        select(InboxEvent).where(InboxEvent.author_x_user_id == x_user_id)
        .order_by(InboxEvent.id.desc()).limit(limit)))
    events.intents = list(session.scalars(
        select(PaymentIntent).where(or_(PaymentIntent.initiator_x_user_id == x_user_id,
                                        PaymentIntent.payer_x_user_id == x_user_id,
                                        PaymentIntent.payee_x_user_id == x_user_id))
        .order_by(PaymentIntent.id.desc()).limit(limit)))
    events.outbox = list(session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient_x_user_id == x_user_id)
        .order_by(OutboxMessage.id.desc()).limit(limit)))
    events.audit = list(session.scalars(
        select(OpsAudit).where(OpsAudit.target == f"user:{x_user_id}")
        .order_by(OpsAudit.id.desc()).limit(limit)))
    return events


def recent_audit(session: Session, limit: int = 20) -> list[OpsAudit]:
    return list(session.scalars(select(OpsAudit).order_by(OpsAudit.id.desc()).limit(limit)))
