"""Rounds of confirm / cancel / claim / expire / refund on the same intents, from several
threads and processes at once (hypothesis draws each round), on both engines.

After every round: ``ledger verify`` is clean, no inbox row failed, and every balance is
exactly what the final states say it must be (an intent confirmed once pays its payee, or
escrow, whose hold then sends the money to the recipient or back to the sender), so no
money was created or lost whatever the interleaving.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.services import escrow as escrow_service
from bot.services import expire as expire_service
from bot.services.confirm import Outcome
from storage.ledger import ESCROW
from storage.models import InboxEvent

try:
    from tests.integration.races import WAIT, Bank, Process, expected_balances
except ImportError:  # tests/ itself on sys.path
    from integration.races import (  # type: ignore[no-redef]
        WAIT,
        Bank,
        Process,
        expected_balances,
    )

ALICE, BOB = 1001, 1002
FUNDS = 10_000_000
PROCESSES = 3
_NEWCOMERS = itertools.count(5000)

OPS = st.sampled_from(["confirm", "cancel", "claim", "expire", "refund"])
INTENT = st.tuples(st.integers(1, 9), st.booleans(), st.booleans())  # €, newcomer?, pre-confirm?
ROUND = st.tuples(
    st.lists(INTENT, min_size=1, max_size=3),
    st.lists(st.tuples(OPS, st.integers(0, 2)), min_size=2, max_size=6),
)


@pytest.fixture
def bank(database_url: str) -> Iterator[Bank]:
    world = Bank(database_url)
    world.person("alice", ALICE, cents=FUNDS)
    world.person("bob", BOB)
    world.processes = [world.process() for _ in range(PROCESSES)]  # type: ignore[attr-defined]
    yield world
    world.close()


def _setup(bank: Bank, plan: list[tuple[int, bool, bool]]) -> list[dict[str, Any]]:
    made = []
    for euros, newcomer, pre_confirm in plan:
        payee, handle = BOB, "bob"
        if newcomer:
            payee = next(_NEWCOMERS)
            handle = f"new{payee}"
            bank.person(handle, payee, member=False)
        intent, token = bank.pay(ALICE, f"#envoyer {euros}€ @{handle}")
        if pre_confirm:
            assert bank.confirm(token).outcome is Outcome.CONFIRMED
        made.append({"intent": intent, "token": token, "payee": payee, "newcomer": newcomer})
    return made


def _op(bank: Bank, proc: Process, op: str, target: dict[str, Any]) -> Callable[[], Any]:
    ttl = dt.timedelta(seconds=bank.settings.confirmation_ttl_seconds)
    period = dt.timedelta(days=bank.settings.claim_period_days)
    if op == "confirm":
        return lambda: bank.confirm(target["token"], proc)
    if op == "cancel":
        row = bank.dm(ALICE, f"#annuler {target['intent'].reference}")
        return lambda: bank.handle(row, proc)
    if op == "claim":
        return lambda: bank.sign_up(target["payee"], proc) if target["newcomer"] else None

    def expire() -> Any:  # the scheduler's jobs (bot.worker)
        return expire_service.expire_due(proc.sessions, bank.sealer, lambda: bank.clock() + ttl)

    def refund() -> Any:
        return escrow_service.process_due(proc.sessions, bank.sealer,
                                          lambda: bank.clock() + period, period)

    return expire if op == "expire" else refund


def _run_together(jobs: list[tuple[str, Callable[[], Any]]]) -> None:
    barrier = threading.Barrier(len(jobs))
    errors: list[tuple[str, BaseException]] = []

    def run(name: str, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(WAIT)
            job()
        except BaseException as exc:  # reported below
            errors.append((name, exc))

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not errors, errors


def _check(bank: Bank) -> None:
    assert bank.ledger.verify() == []
    with bank.main.sessions() as session:
        expected, escrowed = expected_balances(session, {ALICE: FUNDS})
        statuses = Counter(session.scalars(select(InboxEvent.status)))
    assert statuses["failed"] == 0 and statuses["pending"] == 0, statuses
    assert bank.ledger.balance(ESCROW).cents == escrowed
    for x_user_id in {ALICE, BOB} | set(expected):
        cents = expected.get(x_user_id, 0)
        if cents or x_user_id in (ALICE, BOB):  # a newcomer paid nothing may have no wallet
            assert bank.balance(x_user_id) == cents, x_user_id


@settings(max_examples=12, deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(round_=ROUND)
def test_concurrent_rounds_keep_every_invariant(bank: Bank, round_: Any) -> None:
    plan, ops = round_
    made = _setup(bank, plan)
    processes: list[Process] = bank.processes  # type: ignore[attr-defined]
    jobs = [(op, _op(bank, processes[i % PROCESSES], op, made[target % len(made)]))
            for i, (op, target) in enumerate(ops)]
    _run_together(jobs)
    _check(bank)
