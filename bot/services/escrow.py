"""Escrow's scheduled pass: remind the sender halfway through the claim period, refund them
at its end (every deadline that passed, after any outage). The scheduler's job.

A refund moves the hold ``held -> refunded`` by a guarded transition before any money moves
(``storage.transitions``): a hold claimed or cancelled meanwhile is left alone, and a hold
is released once whatever runs at the same time. A transient database error runs the whole
pass again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from storage import escrow
from storage.sealing import Sealer
from storage.uow import UnitOfWork, retrying

Clock = Callable[[], dt.datetime]


def process_due(sessions: Any, sealer: Sealer, clock: Clock,
                claim_period: dt.timedelta) -> tuple[int, int]:
    """Reminders and refunds due now; returns (reminded, refunded)."""

    def work() -> tuple[int, int]:
        with UnitOfWork(sessions, clock) as uow:
            done = escrow.process_due(uow, sealer, clock(), claim_period)
            uow.commit()
        return done

    return retrying(work)
