"""A transient database error is not a bug: the inbox row stays pending and is retried with
bounded backoff; only a real bug fails it, and failed rows are counted (status, metrics).

The faults are the driver's own errors (a serialization failure on PostgreSQL, "database is
locked" on SQLite), raised at the cursor on the chosen statement.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator

import psycopg
import pytest

from bot.processor import IN_PLACE_ATTEMPTS
from storage import inbox
from storage.models import InboxEvent
from storage.uow import UnitOfWork

try:
    from tests.integration.races import Bank, Fault, serialization_failure
except ImportError:  # tests/ itself on sys.path
    from integration.races import Bank, Fault, serialization_failure  # type: ignore[no-redef]

DAVE = 1004


@pytest.fixture
def bank(database_url: str) -> Iterator[Bank]:
    world = Bank(database_url)
    world.person("dave", DAVE, member=False)
    yield world
    world.close()


def _row(bank: Bank, row_id: int) -> InboxEvent:
    with bank.main.sessions() as session:
        row = session.get(InboxEvent, row_id)
        assert row is not None
        return row


def _counts(bank: Bank) -> dict[str, int]:
    with UnitOfWork(bank.main.sessions) as uow:
        return inbox.count_by_status(uow.session)


def test_a_transient_error_leaves_the_row_pending_then_it_is_handled(bank: Bank) -> None:
    row_id = bank.dm(DAVE, "#aide")
    engine = bank.main.engine
    fault = Fault(engine, "INSERT INTO outbox", serialization_failure(engine),
                  times=IN_PLACE_ATTEMPTS)
    assert bank.main.processor.process_pending() == 0
    assert fault.met >= IN_PLACE_ATTEMPTS  # every in-place try met the fault
    row = _row(bank, row_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == bank.clock() + inbox.retry_delay(1)
    assert bank.texts_to(DAVE) == []
    # Not before its time; then handled, once.
    assert bank.main.processor.process_pending() == 0
    bank.clock.now = row.next_attempt_at
    assert bank.main.processor.process_pending() == 1
    assert _row(bank, row_id).status == "done" and len(bank.texts_to(DAVE)) == 1


def test_one_transient_error_is_retried_at_once(bank: Bank) -> None:
    row_id = bank.dm(DAVE, "#aide")
    engine = bank.main.engine
    Fault(engine, "INSERT INTO outbox", serialization_failure(engine), times=1)
    assert bank.main.processor.process_pending() == 1
    row = _row(bank, row_id)
    assert (row.status, row.attempts) == ("done", 0) and len(bank.texts_to(DAVE)) == 1


def test_retries_are_bounded_then_the_row_is_failed_and_counted(bank: Bank) -> None:
    row_id = bank.dm(DAVE, "#aide")
    engine = bank.main.engine
    Fault(engine, "INSERT INTO outbox", serialization_failure(engine), times=10_000)
    delays = []
    for _ in range(inbox.MAX_ATTEMPTS):
        bank.main.processor.process_pending()
        row = _row(bank, row_id)
        if row.status != "pending":
            break
        delays.append(row.next_attempt_at - bank.clock())
        bank.clock.now = row.next_attempt_at
    row = _row(bank, row_id)
    assert row.status == "failed" and row.attempts == inbox.MAX_ATTEMPTS
    assert row.error is not None and row.error.startswith(
        f"gave up after {inbox.MAX_ATTEMPTS} transient errors")
    assert delays == [inbox.retry_delay(n) for n in range(1, inbox.MAX_ATTEMPTS)]
    assert delays == sorted(delays) and max(delays) <= inbox.RETRY_CAP
    assert _counts(bank) == {"failed": 1}


def test_a_bug_fails_the_row_at_once(bank: Bank) -> None:
    first, second = bank.dm(DAVE, "#aide"), bank.dm(DAVE, "#solde")
    # Three times: in the batch, in the batch done again with a savepoint per row, then
    # when the row is tried alone (bot.processor).
    Fault(bank.main.engine, "INSERT INTO outbox", lambda: ZeroDivisionError("a bug"), times=3)
    bank.main.processor.process_pending()
    row = _row(bank, first)
    assert (row.status, row.attempts) == ("failed", 0)
    assert row.error == "ZeroDivisionError: a bug"
    # It blocks nothing behind it.
    assert _row(bank, second).status == "done"
    assert _counts(bank) == {"failed": 1, "done": 1}


def test_a_lost_race_is_transient(bank: Bank) -> None:
    """A unique violation (two processes inserting the same new row) is retried: done again,
    the row exists and the work takes the other path."""
    row_id = bank.dm(DAVE, "#aide")
    engine = bank.main.engine
    if engine.dialect.name == "postgresql":
        error = lambda: psycopg.errors.UniqueViolation("duplicate key")  # noqa: E731
    else:
        error = lambda: sqlite3.IntegrityError("UNIQUE constraint failed: contacts.x_user_id")  # noqa: E731
    Fault(engine, "INSERT INTO contacts", error, times=1)
    assert bank.main.processor.process_pending() == 1
    assert _row(bank, row_id).status == "done"


def test_deferred_rows_wait_without_blocking_the_others(bank: Bank) -> None:
    first = bank.dm(DAVE, "#aide")
    engine = bank.main.engine
    Fault(engine, "INSERT INTO outbox", serialization_failure(engine), times=IN_PLACE_ATTEMPTS)
    bank.main.processor.process_pending()
    second = bank.dm(DAVE, "#solde")
    assert bank.main.processor.process_pending() == 1
    assert (_row(bank, first).status, _row(bank, second).status) == ("pending", "done")
    assert _counts(bank) == {"pending": 1, "done": 1}
    bank.clock.now += dt.timedelta(minutes=10)
    assert bank.main.processor.process_pending() == 1
