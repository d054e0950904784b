"""The push sender: delivers the outbox's ``push`` rows to the recipient's app devices.

The same outbox table as X's messages, its own channel: ``bot.outbox_sender`` leaves
``push`` rows alone and this sender spends no X budget, only its own
(``settings.push_per_minute``, counted from the outbox like X's budgets, so it holds across
restarts and processes).

A row goes to every live subscription of its recipient (``storage.devices``). Each success is
recorded (``push_deliveries``), so a retry after an outage sends only to the devices still
missing it: nothing lost, nothing doubled. The push service's answers:

- 201/202: delivered to that device;
- 404/410: the subscription is gone: removed (RFC 8030 §7.3), the row is not retried for it;
- 429, 5xx, no answer: the row is retried with backoff, up to ``max_attempts``;
- any other 4xx: a bad subscription; dropped for this row, logged.

Crash safety as in the X sender: a row is claimed (``sending``, attempts + 1, a lease)
before any call; a row found ``sending`` after its lease is simply resumed (the deliveries
already recorded are skipped; the ``Topic`` header makes a push service replace, not repeat,
a message it still holds). Pushes carry no link and no secret (``handlers.outcomes``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.logging import get_logger
from bot.outbox_sender import backoff
from bot.push import PushService, PushUnavailable
from storage import devices
from storage.models import OutboxMessage, PaymentIntent, PushDelivery
from storage.sealing import Sealer
from storage.uow import UnitOfWork

log = get_logger(__name__)

Clock = Callable[[], dt.datetime]
LEASE = dt.timedelta(minutes=2)
WINDOW = dt.timedelta(minutes=1)
GONE = (404, 410)


@dataclass
class PushStats:
    sent: int = 0  # rows finished (every device reached or gone)
    devices: int = 0  # deliveries made
    removed: int = 0  # subscriptions the push service said are gone
    retried: int = 0
    failed: int = 0
    cancelled: int = 0


class PushSender:
    def __init__(self, session_factory: sessionmaker[Session], service: PushService,
                 sealer: Sealer, clock: Clock, *, per_minute: int = 600, ttl_seconds: int = 600,
                 max_attempts: int = 8, rng: random.Random | None = None) -> None:
        self._sessions = session_factory
        self._service = service
        self._sealer = sealer
        self._clock = clock
        self._per_minute = per_minute
        self._ttl = ttl_seconds
        self._max_attempts = max_attempts
        self._rng = rng or random.Random()

    def _room(self, session: Session, now: dt.datetime) -> int:
        sent = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.kind == "push", OutboxMessage.sent_at >= now - WINDOW)
        ) or 0
        return max(0, self._per_minute - sent)

    def _claim(self, limit: int) -> list[int]:
        now = self._clock()
        with UnitOfWork(self._sessions, self._clock) as uow:
            session = uow.session
            room = min(limit, self._room(session, now))
            if room <= 0:
                return []
            stmt = (
                select(OutboxMessage)
                .where(OutboxMessage.kind == "push",
                       OutboxMessage.status.in_(("pending", "sending")),
                       OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.priority, OutboxMessage.id)
                .limit(room)
            )
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            claimed = []
            for row in session.scalars(stmt):
                row.status = "sending"
                row.attempts += 1
                row.next_attempt_at = now + LEASE
                claimed.append(row.id)
            uow.commit()
            return claimed

    def run_once(self, limit: int = 50) -> PushStats:
        stats = PushStats()
        for row_id in self._claim(limit):
            self._deliver(row_id, stats)
        return stats

    def _deliver(self, row_id: int, stats: PushStats) -> None:
        now = self._clock()
        with UnitOfWork(self._sessions, self._clock) as uow:
            session = uow.session
            row = session.get(OutboxMessage, row_id)
            if row is None or row.status != "sending":
                return
            skip = self._why_skip(session, row)
            done = set(session.scalars(select(PushDelivery.subscription_id).where(
                PushDelivery.outbox_id == row_id)))
            targets = [(sid, info) for sid, info in devices.live_subscriptions(
                session, self._sealer, row.recipient_x_user_id or 0, now) if sid not in done]
            if skip or (not targets and not done):
                row.status, row.last_error = "cancelled", skip or "no app device left"
                uow.commit()
                stats.cancelled += 1
                return
            payload, attempts = row.text, row.attempts
        # The calls happen outside any transaction: no lock is held while a service answers.
        delivered: list[int] = []
        gone: list[int] = []
        error: str | None = None
        for sid, info in targets:
            try:
                status = self._service.send(info, payload, ttl=self._ttl, topic=f"tp-{row_id}")
            except PushUnavailable as exc:
                error = f"unavailable: {exc}"
                continue
            if status in (200, 201, 202):
                delivered.append(sid)
            elif status in GONE:
                gone.append(sid)
            elif status == 429 or status >= 500:
                error = f"push service answered {status}"
            else:  # a subscription the service refuses (bad keys...): not worth retrying
                log.warning("push.refused", outbox_id=row_id, status=status)
                gone.append(sid)
        self._record(row_id, delivered, gone, error, attempts, stats)

    def _record(self, row_id: int, delivered: list[int], gone: list[int], error: str | None,
                attempts: int, stats: PushStats) -> None:
        now = self._clock()
        with UnitOfWork(self._sessions, self._clock) as uow:
            session = uow.session
            for sid in delivered:
                session.add(PushDelivery(outbox_id=row_id, subscription_id=sid,
                                         delivered_at=now))
            for sid in gone:
                devices.remove_subscription(session, sid)
            row = session.get(OutboxMessage, row_id)
            if row is None:
                uow.commit()  # the deliveries made are kept all the same
                return
            stats.devices += len(delivered)
            stats.removed += len(gone)
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", now, None
                row.remote_id = f"push:{len(delivered)}"
                stats.sent += 1
                log.info("push.sent", outbox_id=row_id, devices=len(delivered),
                         removed=len(gone))
            elif attempts >= self._max_attempts:
                row.status, row.last_error = "failed", f"gave up: {error}"[:500]
                stats.failed += 1
                log.warning("push.failed", outbox_id=row_id, error=error)
            else:
                row.status, row.last_error = "pending", error[:500]
                row.next_attempt_at = now + dt.timedelta(seconds=backoff(attempts, self._rng))
                stats.retried += 1
                log.info("push.retry", outbox_id=row_id, error=error)
            uow.commit()

    @staticmethod
    def _why_skip(session: Session, row: OutboxMessage) -> str | None:
        """A 'to confirm' push whose payment is no longer waiting says nothing useful."""
        if row.intent_id is None or row.dedupe_key.startswith("intent:"):
            return None  # a notice about a done payment (received...) always goes
        intent = session.get(PaymentIntent, row.intent_id)
        if intent is not None and intent.status != "awaiting_confirmation":
            return f"payment no longer waiting: {intent.status}"
        return None
