"""Many threads posting at once: no lost update, no deadlock, no exception, exact sums."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import Engine

from handlers.money import Money
from storage.db import run_transaction
from storage.ledger import CARD_FUNDING, Ledger

HOT = "user:100"
FEEDER_FUNDS = 1_000_000
HOT_FUNDS = 200_000


def _hammer(engine: Engine, threads: int, per_thread: int) -> None:
    ledger = Ledger(engine)
    feeders = [f"user:{200 + t}" for t in range(threads)]
    sinks = [f"user:{300 + t}" for t in range(threads)]
    for code in [HOT, *feeders, *sinks]:
        ledger.open_account(code, "user")
    for code, cents in [(HOT, HOT_FUNDS)] + [(f, FEEDER_FUNDS) for f in feeders]:
        ledger.post_transfer(
            idempotency_key=f"fund:{code}",
            debit=CARD_FUNDING,
            credit=code,
            amount=Money(cents),
            kind="topup",
        )

    expected: Counter[str] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []
    created = Counter()
    barrier = threading.Barrier(threads)

    def work(t: int) -> None:
        mine: Counter[str] = Counter()
        try:
            barrier.wait()
            for i in range(per_thread):
                key = f"c:{t}:{i}"
                if i % 4 == 3:  # out of the hot account
                    debit, credit, cents = HOT, sinks[t], 100 + i
                else:  # into the hot account
                    debit, credit, cents = feeders[t], HOT, 1 + i * 7
                args = dict(
                    idempotency_key=key,
                    debit=debit,
                    credit=credit,
                    amount=Money(cents),
                    kind="payment",
                )
                if i % 5 == 0:  # joined to a caller's transaction, caller retries
                    result = run_transaction(
                        engine, lambda c, a=args: ledger.post_transfer(**a, conn=c)
                    )
                else:
                    result = ledger.post_transfer(**args)
                assert result.created
                mine[debit] -= cents
                mine[credit] += cents
                if i % 6 == 0:  # a redelivery: posts nothing
                    again = ledger.post_transfer(**args)
                    assert (again.transfer_id, again.created) == (result.transfer_id, False)
            with lock:
                expected.update(mine)
                created[t] = per_thread
        except BaseException as exc:  # reported below
            with lock:
                errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert not errors, errors
    assert sum(created.values()) == threads * per_thread
    assert ledger.balance(HOT) == Money(HOT_FUNDS + expected[HOT])
    for code in feeders:
        assert ledger.balance(code) == Money(FEEDER_FUNDS + expected[code])
    for code in sinks:
        assert ledger.balance(code) == Money(expected[code])
    assert ledger.verify() == []


@pytest.mark.postgres
def test_eight_threads_on_one_hot_account_postgres(pg_engine: Engine) -> None:
    _hammer(pg_engine, threads=8, per_thread=100)


def test_four_threads_on_one_hot_account_sqlite(sqlite_engine: Engine) -> None:
    _hammer(sqlite_engine, threads=4, per_thread=30)
