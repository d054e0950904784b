"""Escrow for recipients without an account: who is told what, and the scheduler's pass.

A payment to someone without an account is held in escrow (``bot.services.confirm``); then
the recipient claims it at sign-up (``claim``), the sender cancels it (``#annuler <ref>``,
``bot.services.handle_event``) or the claim period ends: ``process_due`` reminds the sender
halfway and refunds them at the deadline (every deadline that passed, after any outage).

Each release is a guarded transition made before any money moves (``storage.escrow``): a
hold claimed or cancelled meanwhile is left alone, and a hold is released once whatever runs
at the same time. The messages are chosen by pure handlers (``handlers.notices``) and only
sent to whom may be DMed (``storage.consent``). A transient database error runs the whole
scheduled pass again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from handlers import notices as notices_for
from handlers.outcomes import Outgoing
from storage import escrow, outbox
from storage.consent import may_dm
from storage.models import EscrowHold
from storage.sealing import Sealer
from storage.uow import UnitOfWork, retrying

Clock = Callable[[], dt.datetime]


def invitation(uow: UnitOfWork, hold: EscrowHold, sender_handle: str) -> list[Outgoing]:
    """The recipient is told only if they may be DMed (they wrote to the bot before);
    otherwise the sender's page and reply say how to invite them (no unsolicited mention)."""
    session = uow.session
    if not may_dm(session, hold.recipient_x_user_id):
        return []
    return [notices_for.escrow_invitation(hold, sender_handle,
                                          escrow.lang_for(session, hold.recipient_x_user_id))]


def claim(uow: UnitOfWork, sealer: Sealer, x_user_id: int,
          now: dt.datetime) -> list[EscrowHold]:
    """At sign-up, in the caller's unit of work: every hold waiting for this numeric id moves
    to the new wallet; the recipient and (if reachable) the sender are told."""
    session = uow.session
    claimed = escrow.claim_all(uow, x_user_id, now)
    notices: list[Outgoing] = []
    for hold in claimed:
        notices += notices_for.escrow_claimed(
            hold, escrow.handle_for(session, hold.sender_x_user_id),
            recipient_lang=escrow.lang_for(session, x_user_id),
            sender_lang=escrow.lang_for(session, hold.sender_x_user_id),
            tell_sender=may_dm(session, hold.sender_x_user_id))
    outbox.enqueue(session, sealer, notices, now)
    return claimed


def settle_due(uow: UnitOfWork, sealer: Sealer, now: dt.datetime,
               claim_period: dt.timedelta) -> tuple[int, int]:
    """One pass in the caller's unit of work: remind halfway, refund at the deadline;
    returns (reminded, refunded)."""
    session = uow.session
    reminded = refunded = 0
    notices: list[Outgoing] = []
    for hold in escrow.still_held(session):
        lang = escrow.lang_for(session, hold.sender_x_user_id)
        if hold.claim_deadline <= now:
            if not escrow.refund(uow, hold, now):
                continue  # claimed or cancelled meanwhile: it moved nothing
            refunded += 1
            if may_dm(session, hold.sender_x_user_id):
                notices.append(notices_for.escrow_refunded(hold, lang))
        elif hold.reminded_at is None and hold.claim_deadline - claim_period / 2 <= now:
            if not escrow.remind(session, hold, now):
                continue
            reminded += 1
            if may_dm(session, hold.sender_x_user_id):
                notices.append(notices_for.escrow_reminder(hold, lang))
    outbox.enqueue(session, sealer, notices, now)
    return reminded, refunded


def process_due(sessions: Any, sealer: Sealer, clock: Clock,
                claim_period: dt.timedelta) -> tuple[int, int]:
    """The scheduler's job: ``settle_due`` in its own unit of work, retried after a
    transient error; returns (reminded, refunded)."""

    def work() -> tuple[int, int]:
        with UnitOfWork(sessions, clock) as uow:
            done = settle_due(uow, sealer, clock(), claim_period)
            uow.commit()
        return done

    return retrying(work)
