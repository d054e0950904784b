"""storage.group_commit on a real SQLite file: units waiting together share one transaction,
each is all or nothing on its own, nothing is answered before the COMMIT, a failed COMMIT
fails every unit of its batch; and through the confirmation service, two POSTs of one link
in one batch move the money once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    event,
    func,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services.confirm import Outcome
from handlers.confirmation import Refusal
from handlers.money import Money
from storage.db import make_session_factory, read_engine
from storage.group_commit import GroupCommit, Sessions
from storage.models import Transfer
from storage.uow import UnitOfWork

try:
    from service_world import PIN, make_world
except ImportError:
    from tests.unit.service_world import PIN, make_world  # type: ignore[no-redef]

META = MetaData()
PARENT = Table("gc_parent", META, Column("id", Integer, primary_key=True))
CHILD = Table("gc_child", META, Column("id", Integer, primary_key=True),
              Column("parent_id", Integer, ForeignKey("gc_parent.id"), nullable=False))


@pytest.fixture
def group(sqlite_engine: Engine) -> GroupCommit:
    META.create_all(sqlite_engine)
    return GroupCommit(sqlite_engine,
                       session_options=make_session_factory(sqlite_engine).kw)


def _insert(row_id: int) -> Callable[[Sessions], int]:
    def work(sessions: Sessions) -> int:
        with UnitOfWork(sessions) as uow:
            uow.session.execute(PARENT.insert().values(id=row_id))
            uow.commit()
        return row_id
    return work


def _ids(engine: Engine) -> list[int]:
    # A lone read (no BEGIN IMMEDIATE): it must not wait for a batch's write lock.
    with read_engine(engine).connect() as conn:
        return sorted(conn.scalars(select(PARENT.c.id)))


class _Plug:
    """A unit that holds the lead of ``group``'s batch until released, so the units started
    meanwhile queue behind it and then run together in the next batch."""

    def __init__(self, group: GroupCommit, pool: ThreadPoolExecutor) -> None:
        self.group = group
        started, self._go = threading.Event(), threading.Event()

        def plug(sessions: Sessions) -> None:
            started.set()
            assert self._go.wait(10)

        self.first = pool.submit(group.run, plug)
        assert started.wait(10)

    def wait_queued(self, count: int, seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while len(self.group._waiting) < count:
            assert time.monotonic() < deadline
            time.sleep(0.001)

    def release(self) -> None:
        self._go.set()
        self.first.result(10)


def _one_batch(group: GroupCommit, units: list[Callable[[Sessions], Any]]
               ) -> list[Future[Any]]:
    """Run ``units`` in ONE batch: a first unit holds the lead until they all wait."""
    with ThreadPoolExecutor(len(units) + 1) as pool:
        plug = _Plug(group, pool)
        futures = [pool.submit(group.run, unit) for unit in units]
        plug.wait_queued(len(units))  # every unit queued behind the plug
        batches = group.batches
        plug.release()
        for future in futures:
            future.exception(10)
    assert group.batches == batches + 2  # the plug's batch, then all of ``units`` in one
    return futures


def test_units_waiting_together_commit_in_one_batch(group: GroupCommit,
                                                    sqlite_engine: Engine) -> None:
    futures = _one_batch(group, [_insert(i) for i in range(1, 9)])
    assert [f.result() for f in futures] == list(range(1, 9))
    assert _ids(sqlite_engine) == list(range(1, 9))


def test_a_result_is_handed_back_only_once_committed(group: GroupCommit,
                                                     sqlite_engine: Engine) -> None:
    seen: list[list[int]] = []

    def check_after(sessions: Sessions) -> None:
        # Inside the batch, another connection does not see the rows yet.
        seen.append(_ids(sqlite_engine))

    group.run(_insert(1))
    assert _ids(sqlite_engine) == [1]  # committed when run() returned
    futures = _one_batch(group, [_insert(2), check_after])
    assert futures[0].result() == 2 and seen == [[1]]
    assert _ids(sqlite_engine) == [1, 2]


def test_no_unit_is_answered_while_its_batch_is_committing(group: GroupCommit,
                                                          sqlite_engine: Engine) -> None:
    at_commit, go = threading.Event(), threading.Event()
    commits: list[int] = []

    @event.listens_for(sqlite_engine, "commit")  # before the driver's COMMIT
    def hold(conn: Any) -> None:
        commits.append(1)
        if len(commits) == 2:  # the batch of the two units below
            at_commit.set()
            assert go.wait(10)

    with ThreadPoolExecutor(3) as pool:
        plug = _Plug(group, pool)
        units = [pool.submit(group.run, _insert(i)) for i in (7, 8)]
        plug.wait_queued(2)
        plug.release()
        assert at_commit.wait(10)  # their batch is committing: neither is answered yet
        with pytest.raises(TimeoutError):  # a follower answered early would be back by now
            units[1].result(timeout=0.2)
        assert plug.first.done() and not any(u.done() for u in units)
        assert _ids(sqlite_engine) == []
        go.set()
        assert [u.result(10) for u in units] == [7, 8]
    assert _ids(sqlite_engine) == [7, 8]


def test_a_unit_that_raises_is_undone_alone(group: GroupCommit, sqlite_engine: Engine) -> None:
    def fails(sessions: Sessions) -> None:
        with UnitOfWork(sessions) as uow:
            uow.session.execute(PARENT.insert().values(id=50))
            raise ValueError("a bug in this unit")

    futures = _one_batch(group, [_insert(1), fails, _insert(2)])
    assert futures[0].result() == 1 and futures[2].result() == 2
    assert isinstance(futures[1].exception(), ValueError)
    assert _ids(sqlite_engine) == [1, 2]


def test_what_a_unit_leaves_uncommitted_is_rolled_back(group: GroupCommit,
                                                       sqlite_engine: Engine) -> None:
    def leaks(sessions: Sessions) -> str:
        session = sessions()  # never committed, rolled back nor closed
        session.execute(PARENT.insert().values(id=60))
        return "returned"

    futures = _one_batch(group, [leaks, _insert(3)])
    assert futures[0].result() == "returned" and futures[1].result() == 3
    assert _ids(sqlite_engine) == [3]


def test_a_failed_commit_fails_every_unit_of_its_batch_and_writes_nothing(
        group: GroupCommit, sqlite_engine: Engine) -> None:
    def orphan(sessions: Sessions) -> None:
        # Checked at COMMIT only: the whole batch's COMMIT fails.
        with UnitOfWork(sessions) as uow:
            uow.session.execute(text("PRAGMA defer_foreign_keys = ON"))
            uow.session.execute(CHILD.insert().values(id=1, parent_id=999))
            uow.commit()

    futures = _one_batch(group, [_insert(1), orphan, _insert(2)])
    assert all(isinstance(f.exception(), IntegrityError) for f in futures)
    assert _ids(sqlite_engine) == []
    assert group.run(_insert(4)) == 4  # the next batch is a fresh transaction
    assert _ids(sqlite_engine) == [4]


def test_each_unit_has_fresh_sessions(group: GroupCommit) -> None:
    sessions_seen: list[Session] = []

    def remember(sessions: Sessions) -> None:
        with UnitOfWork(sessions) as uow:
            sessions_seen.append(uow.session)
            uow.session.execute(select(func.count()).select_from(PARENT))
            uow.commit()

    _one_batch(group, [remember, remember])
    assert sessions_seen[0] is not sessions_seen[1]


def test_two_posts_of_one_link_in_one_batch_move_the_money_once(sqlite_engine: Engine) -> None:
    world = make_world(sqlite_engine)
    world.user("alice", 1001, balance=5_000)
    world.user("bob", 1002, lang="en")
    world.handle("alice", "@Smoney #envoyer 12€ @bob")
    token = world.link_token(world.intents()[-1].id)
    service = world.confirmations()
    assert service.group_commit is not None  # SQLite: confirmations commit in batches

    # The POSTs run confirm() on their own threads; their writes wait behind the plug.
    with ThreadPoolExecutor(3) as pool:
        plug = _Plug(service.group_commit, pool)
        posts = [pool.submit(service.confirm, token, PIN) for _ in range(2)]
        plug.wait_queued(2, seconds=30)  # each POST checks its PIN (Argon2id) first
        plug.release()
        results = [p.result(30) for p in posts]
    outcomes = sorted(r.outcome.value for r in results)
    assert outcomes == sorted([Outcome.CONFIRMED.value, Outcome.REFUSED.value])
    refused = next(r for r in results if r.outcome is Outcome.REFUSED)
    assert refused.refusal is not None and refused.refusal.reason is Refusal.USED
    assert world.balance("alice") == Money(3_800) and world.balance("bob") == Money(1_200)
    assert world.count(Transfer) == 2  # the seed top-up and one payment


def test_postgresql_confirmations_commit_on_their_own(pg_engine: Engine) -> None:
    assert make_world(pg_engine).confirmations().group_commit is None
