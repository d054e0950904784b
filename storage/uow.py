"""The unit of work: one SQLAlchemy session, one transaction, rolled back unless committed.

    with UnitOfWork(session_factory) as uow:
        uow.session.add(intent)
        uow.ledger.post_transfer(idempotency_key=f"intent:{intent.id}", ...)
        uow.commit()

``uow.ledger`` is the ledger bound to the session's connection, so postings, intents and
outbox rows commit or roll back together; it stamps postings with the unit of work's clock
(``UnitOfWork(factory, clock)``: pass the service's, so a posting's time is the flow's).
Retrying a whole unit of work after a transient failure is the caller's job: ``retrying``
below, with ``storage.db.is_transient`` saying which failures qualify.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from handlers.money import Money
from storage.db import backoff_seconds, is_transient
from storage.ledger import Clock, HistoryEntry, Ledger, TransferResult, wall_clock

T = TypeVar("T")
RETRY_ATTEMPTS = 8


class SessionLedger:
    """The ledger API, every call joining the session's current transaction."""

    def __init__(self, ledger: Ledger, session: Session) -> None:
        self._ledger = ledger
        self._session = session

    def _conn(self) -> Connection:
        # ORM rows added before a ledger call reach the database first, in order.
        self._session.flush()
        return self._session.connection()

    def open_account(self, code: str, kind: str, owner_user_id: int | None = None) -> int:
        return self._ledger.open_account(code, kind, owner_user_id, conn=self._conn())

    def post_transfer(self, **kwargs: Any) -> TransferResult:
        return self._ledger.post_transfer(**kwargs, conn=self._conn())

    def reverse(self, transfer_id: int, *, idempotency_key: str) -> TransferResult:
        return self._ledger.reverse(transfer_id, idempotency_key=idempotency_key, conn=self._conn())

    def balance(self, code: str) -> Money:
        return self._ledger.balance(code, conn=self._conn())

    def history(self, code: str, limit: int = 10) -> list[HistoryEntry]:
        return self._ledger.history(code, limit, conn=self._conn())


class UnitOfWork:
    """``with UnitOfWork(factory) as uow: ...; uow.commit()``; anything else rolls back."""

    session: Session
    ledger: SessionLedger

    def __init__(self, session_factory: Callable[[], Session],
                 clock: Clock = wall_clock) -> None:
        self._session_factory = session_factory
        self._clock = clock  # stamps the ledger's postings

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        bind = self.session.get_bind()
        engine = bind.engine if isinstance(bind, Connection) else bind
        self.ledger = SessionLedger(Ledger(engine, self._clock), self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()  # a no-op after commit(); undoes everything otherwise
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


def retrying(work: Callable[[], T], attempts: int = RETRY_ATTEMPTS) -> T:
    """Run ``work`` (which opens, and commits, its own unit of work) again after a transient
    error (``storage.db.is_transient``: a deadlock, a lost guarded transition...), with
    jittered backoff; anything else, or the last failure, propagates. Each try starts from
    fresh facts, since the failed one rolled back."""
    for attempt in range(attempts):
        try:
            return work()
        except Exception as exc:
            if attempt + 1 >= attempts or not is_transient(exc):
                raise
        time.sleep(backoff_seconds(attempt))
    raise AssertionError("unreachable")  # pragma: no cover
