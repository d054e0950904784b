"""Expire: every intent still awaiting confirmation past its TTL is closed, and its initiator
told (all of them after an outage: nothing is skipped). The scheduler's job.

Each intent moves ``awaiting_confirmation -> expired`` by a guarded transition
(``storage.transitions``): one confirmed or cancelled meanwhile is left alone. The notice is
chosen by a pure handler (``handlers.notices``); the outbox asks for DM consent again when it
sends. A transient database error (a deadlock with a confirmation) runs the whole pass again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from handlers import notices as notices_for
from handlers.outcomes import Outgoing
from handlers.texts import lang_of
from storage import intents, outbox
from storage.models import PaymentIntent
from storage.sealing import Sealer
from storage.uow import UnitOfWork, retrying

Clock = Callable[[], dt.datetime]


def expire_in(uow: UnitOfWork, sealer: Sealer, now: dt.datetime) -> list[PaymentIntent]:
    """One pass in the caller's unit of work; returns the intents this pass expired."""
    session = uow.session
    expired = []
    notices: list[Outgoing] = []
    for intent in intents.due_to_expire(session, now):
        if not intents.expire(session, intent, now):
            continue  # confirmed or cancelled meanwhile
        expired.append(intent)
        payer = (intents.find_user(session, intent.payer_x_user_id)
                 if intent.kind == "request" else None)
        notices.append(notices_for.intent_expired(
            intent, lang_of(intent.lang),
            payer.handle if payer else str(intent.payer_x_user_id)))
    outbox.enqueue(session, sealer, notices, now)
    return expired


def expire_due(sessions: Any, sealer: Sealer, clock: Clock) -> int:
    """The scheduler's job: ``expire_in`` in its own unit of work, retried after a
    transient error; returns how many intents expired."""

    def work() -> int:
        with UnitOfWork(sessions, clock) as uow:
            expired = expire_in(uow, sealer, clock())
            uow.commit()
        return len(expired)

    return retrying(work)
