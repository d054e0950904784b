"""Expire: every intent still awaiting confirmation past its TTL is closed, and its initiator
told (all of them after an outage: nothing is skipped). The scheduler's job.

Each intent moves ``awaiting_confirmation -> expired`` by a guarded transition
(``storage.transitions``): one confirmed or cancelled meanwhile is left alone. A transient
database error (a deadlock with a confirmation) runs the whole pass again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from storage import intents
from storage.sealing import Sealer
from storage.uow import UnitOfWork, retrying

Clock = Callable[[], dt.datetime]


def expire_due(sessions: Any, sealer: Sealer, clock: Clock) -> int:
    """Expire what is due now; returns how many intents expired."""

    def work() -> int:
        with UnitOfWork(sessions, clock) as uow:
            expired = intents.expire_due(uow.session, sealer, clock())
            uow.commit()
        return len(expired)

    return retrying(work)
