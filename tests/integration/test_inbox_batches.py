"""The inbox job handles pending rows in batches, one transaction per batch (bot.processor):
each row is still handled exactly once, and a row that raises cannot poison its batch.

Faults are raised at the cursor on chosen statements (the driver's own errors for transient
ones), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from storage.models import InboxEvent, OutboxMessage, PaymentIntent

try:
    from tests.integration.races import Bank, Fault, Pause, Worker, serialization_failure, wait_for
except ImportError:  # tests/ itself on sys.path
    from integration.races import (  # type: ignore[no-redef]
        Bank,
        Fault,
        Pause,
        Worker,
        serialization_failure,
        wait_for,
    )

# People who are not account holders: each "#aide" gets exactly one reply, to its author.
STRANGERS = {f"user{n}": 2000 + n for n in range(12)}


class Crash(BaseException):
    """What a kill -9 looks like from inside: nothing catches it, nothing after it runs."""


@pytest.fixture
def bank(database_url: str) -> Iterator[Bank]:
    world = Bank(database_url)
    for handle, x_id in STRANGERS.items():
        world.person(handle, x_id, member=False)
    yield world
    world.close()


def _asks(bank: Bank) -> dict[int, int]:
    """Every stranger asks for help by DM: their inbox row, by X user id."""
    return {x_id: bank.dm(x_id, "#aide") for x_id in STRANGERS.values()}


def _status(bank: Bank) -> dict[int, str]:
    with bank.main.sessions() as session:
        return {row.id: row.status for row in session.scalars(select(InboxEvent))}


def _replies(bank: Bank) -> dict[int, int]:
    """Outbox rows per recipient."""
    with bank.main.sessions() as session:
        recipients = session.scalars(select(OutboxMessage.recipient_x_user_id))
        counts: dict[int, int] = {}
        for recipient in recipients:
            counts[recipient] = counts.get(recipient, 0) + 1
        return counts


def test_a_batch_is_one_transaction(bank: Bank) -> None:
    rows = _asks(bank)
    commits: list[int] = []
    event.listen(bank.main.engine, "commit", lambda conn: commits.append(1))
    assert bank.main.processor.process_pending() == len(rows)
    assert len(commits) == 1
    assert set(_status(bank).values()) == {"done"}
    assert _replies(bank) == {x_id: 1 for x_id in rows}


def test_a_bug_in_one_row_fails_that_row_only(bank: Bank) -> None:
    rows = _asks(bank)
    victim = STRANGERS["user3"]
    fault = Fault(bank.main.engine, "INSERT INTO outbox", lambda: ZeroDivisionError("a bug"),
                  about=victim, times=10)
    assert bank.main.processor.process_pending() == len(rows) - 1
    assert fault.met == 3  # in the batch, in the batch again with savepoints, then alone
    status = _status(bank)
    assert status.pop(rows[victim]) == "failed"
    assert set(status.values()) == {"done"}
    assert _replies(bank) == {x_id: 1 for x_id in rows if x_id != victim}
    with bank.main.sessions() as session:
        failed = session.get(InboxEvent, rows[victim])
        assert failed is not None and failed.error == "ZeroDivisionError: a bug"


def test_a_row_that_raises_once_is_handled_alone(bank: Bank) -> None:
    rows = _asks(bank)
    victim = STRANGERS["user5"]
    Fault(bank.main.engine, "INSERT INTO outbox", lambda: ZeroDivisionError("a bug"),
          about=victim)
    assert bank.main.processor.process_pending() == len(rows)
    assert set(_status(bank).values()) == {"done"}
    assert _replies(bank) == {x_id: 1 for x_id in rows}


def test_a_transient_error_aborts_the_batch_and_every_row_is_handled_once(bank: Bank) -> None:
    rows = _asks(bank)
    engine = bank.main.engine
    fault = Fault(engine, "INSERT INTO outbox", serialization_failure(engine), skip=4)
    assert bank.main.processor.process_pending() == len(rows)
    assert fault.met > len(rows)  # the batch's first five, then every row again, alone
    assert set(_status(bank).values()) == {"done"}
    assert _replies(bank) == {x_id: 1 for x_id in rows}


def test_a_crash_mid_batch_leaves_every_row_pending(bank: Bank) -> None:
    rows = _asks(bank)
    Fault(bank.main.engine, "INSERT INTO outbox", Crash, skip=6)
    with pytest.raises(Crash):
        bank.main.processor.process_pending()
    assert set(_status(bank).values()) == {"pending"}
    assert _replies(bank) == {}
    # The next run (the restarted worker) handles each row once.
    assert bank.main.processor.process_pending() == len(rows)
    assert _replies(bank) == {x_id: 1 for x_id in rows}


def test_one_persons_events_keep_their_order_when_one_is_retried_alone(bank: Bank) -> None:
    alice, bob = 1001, 1002
    bank.person("alice", alice, cents=10_000)
    bank.person("bob", bob)
    others = _asks(bank)
    pay = bank.dm(alice, "#envoyer 5€ @bob")
    cancel = bank.dm(alice, "#annuler")
    # The payment raises once in the batch: it is redone alone, and her #annuler after it.
    Fault(bank.main.engine, "INSERT INTO payment_intents", lambda: ZeroDivisionError("once"))
    assert bank.main.processor.process_pending() == len(others) + 2
    assert (bank.inbox_status(pay), bank.inbox_status(cancel)) == ("done", "done")
    with bank.main.sessions() as session:
        intents = list(session.scalars(select(PaymentIntent)))
    assert [intent.status for intent in intents] == ["cancelled"]


def test_two_workers_on_the_same_rows_handle_each_once(bank: Bank) -> None:
    """Worker A is held inside its first batch's transaction, after its claim. PostgreSQL:
    B skips A's rows without waiting and handles all the others; SQLite: B waits for A's
    commit (one writer at a time). Either way, each row once."""
    rows = {x_id: [bank.dm(x_id, "#aide"), bank.dm(x_id, "#solde")]
            for x_id in STRANGERS.values()}
    total = 2 * len(rows)
    a, b = bank.process(), bank.process()
    pause = Pause(a.engine, r"INSERT INTO outbox")
    first = Worker(lambda: a.processor.process_pending(batch=5))
    first.start()
    wait_for(lambda: pause.reached.is_set(), "A inside its batch")
    second = Worker(lambda: b.processor.process_pending(batch=5))
    second.start()
    if bank.main.engine.dialect.name == "postgresql":
        assert second.value() == total - 5  # finished while A still holds its five rows
        pause.release()
        assert first.value() == 5
    else:
        pause.release()
        assert first.value() + second.value() == total
    assert set(_status(bank).values()) == {"done"}
    assert _replies(bank) == {x_id: 2 for x_id in rows}


def test_two_workers_running_freely_handle_each_row_once(bank: Bank) -> None:
    rows = {x_id: [bank.dm(x_id, "#aide"), bank.dm(x_id, "#solde")]
            for x_id in STRANGERS.values()}
    a, b = bank.process(), bank.process()
    start = threading.Barrier(2)

    def run(proc: Any) -> Callable[[], int]:
        def work() -> int:
            start.wait()
            return int(proc.processor.process_pending(batch=3))
        return work

    workers = [Worker(run(a)), Worker(run(b))]
    for worker in workers:
        worker.start()
    handled = [worker.value() for worker in workers]
    leftover = bank.main.processor.process_pending()
    assert sum(handled) + leftover == 2 * len(rows)
    assert _replies(bank) == {x_id: 2 for x_id in rows}
