"""Group commit for SQLite: the confirmations waiting for the write lock share one transaction.

SQLite has one writer at a time. Each confirmation used to pay for its own ``BEGIN
IMMEDIATE``, its own ``COMMIT`` with its fsync, and its threads' fight for the lock and the
GIL. Here the units of work waiting at one moment (up to ``max_batch``) run one after the
other in ONE transaction, each in its own SAVEPOINT, and commit together:

- a unit of work that raises before its commit is rolled back alone; the others commit;
- a result is handed back only after the COMMIT returned, so nothing is acknowledged before
  it is durable (``synchronous=FULL``);
- if the COMMIT (or the BEGIN) fails, every unit of the batch gets that exception and
  nothing of the batch was written: callers retry as they retry any failed transaction;
- the units run in the order they arrived and each sees what the earlier ones wrote, as if
  those had committed just before it; a second POST of a spent link finds it spent.

A unit's session factory makes sessions that join the batch's connection with
``join_transaction_mode="create_savepoint"`` (SQLAlchemy's pattern for a session inside an
outer transaction): each session works in a SAVEPOINT of its own, which its ``commit()``
releases (durable when the batch commits, as a commit is durable on its own) and its
``rollback()`` undoes, and every unit has fresh sessions, so no unit sees another's loaded
objects. What a unit leaves neither committed nor rolled back is rolled back before the
next unit runs, as a transaction left open would never have committed.

A unit holds the batch's write lock while it runs: it must not wait for anything slow, nor
call ``run`` itself (it would wait for its own batch).

PostgreSQL has row locks and concurrent writers: it does not use this.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
Sessions = Callable[[], Session]
Work = Callable[[Sessions], T]

MAX_BATCH = 16


@dataclass
class _Unit(Generic[T]):
    work: Work[T]
    future: Future[T] = field(default_factory=Future)
    # Set when the unit is done, or when its thread is to lead the next batch.
    turn: threading.Event = field(default_factory=threading.Event)


def _roll_back_open_savepoints(conn: Connection) -> None:
    """Undo what a unit's sessions neither committed nor rolled back (a session left open,
    or an error before its rollback): on its own, such a transaction would never commit."""
    nested = conn.get_nested_transaction()
    while nested is not None:
        nested.rollback()
        nested = conn.get_nested_transaction()


class GroupCommit:
    """``run(work)``: ``work(sessions)`` inside a batch's transaction; its result once the
    batch has committed. ``session_options``: the options of the caller's own sessions
    (``sessionmaker.kw``), so a unit's sessions behave the same.

    No thread of its own: the caller that finds no batch running leads one, on its own
    thread, with every unit waiting then; the callers that arrive meanwhile wait, and the
    first of them leads the next batch. A lone confirmation (a PIN one, mostly) thus runs on
    its own thread as before; a writer thread woken for every batch cost each PIN
    confirmation 0.6 ms of CPU (the wake-ups land on cores busy with Argon2id)."""

    def __init__(self, engine: Engine, *, session_options: dict[str, Any] | None = None,
                 max_batch: int = MAX_BATCH) -> None:
        self._engine = engine
        options = {k: v for k, v in (session_options or {}).items() if k != "bind"}
        # Made once: each sessionmaker is a new Session class, and setting up its ORM events
        # cost 0.4 ms a batch. A batch binds it to its connection.
        self._sessions = sessionmaker(join_transaction_mode="create_savepoint", **options)
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Unit[Any]] = []
        self._leading = False
        self.batches = 0  # committed or failed, for tests and benchmarks

    def run(self, work: Work[T]) -> T:
        unit: _Unit[T] = _Unit(work)
        with self._lock:
            self._waiting.append(unit)
            lead = not self._leading
            self._leading = True
        if not lead:
            unit.turn.wait()
        if not unit.future.done():  # this thread leads the next batch (its unit is first)
            self._lead()
        return unit.future.result()

    def _lead(self) -> None:
        with self._lock:
            batch = self._waiting[:self._max_batch]
            del self._waiting[:self._max_batch]
        try:
            self._commit(batch)
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting[0].turn.set()  # its thread leads the next batch
                else:
                    self._leading = False
            for unit in batch:  # a unit _commit could not settle: never leave it waiting
                if not unit.future.done():
                    unit.future.set_exception(RuntimeError("group commit: unit not run"))
                unit.turn.set()

    def _commit(self, batch: list[_Unit[Any]]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            # begin(): storage.db's BEGIN IMMEDIATE; leaving the block commits.
            with self._engine.connect() as conn, conn.begin():
                sessions = functools.partial(self._sessions, bind=conn)
                for unit in batch:
                    try:
                        outcomes.append((unit.work(sessions), None))
                    except Exception as exc:  # this unit only
                        outcomes.append((None, exc))
                    finally:
                        _roll_back_open_savepoints(conn)
        except BaseException as exc:  # the batch's BEGIN or COMMIT: nothing was written
            for unit in batch:
                unit.future.set_exception(exc)
            return
        finally:
            self.batches += 1
        for unit, (value, error) in zip(batch, outcomes, strict=True):
            if error is not None:
                unit.future.set_exception(error)
            else:
                unit.future.set_result(value)
