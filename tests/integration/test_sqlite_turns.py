"""SQLite writers of one process take turns (``storage.db``): the turn is taken at BEGIN
IMMEDIATE and handed on at every end of the transaction (commit, rollback, a failed
statement, a closed connection); a lone read never takes it; a second writer waits for it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine, read_engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path}/turns.sqlite3")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER NOT NULL)"))
    yield engine
    engine.dispose()


def _turn(engine: Engine) -> threading.Lock:
    with engine.connect() as conn:
        turn = conn.connection.driver_connection.turn  # type: ignore[union-attr]
    assert isinstance(turn, type(threading.Lock()))
    return turn


def _count(engine: Engine) -> int:
    with read_engine(engine).connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM t")).scalar_one())


def test_the_turn_is_handed_on_at_every_end_of_a_transaction(sqlite_engine: Engine) -> None:
    turn = _turn(sqlite_engine)
    with sqlite_engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert turn.locked()
    assert not turn.locked()  # committed

    with pytest.raises(RuntimeError), sqlite_engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
        raise RuntimeError("rolled back")
    assert not turn.locked()

    with pytest.raises(IntegrityError), sqlite_engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (NULL)"))  # NOT NULL: the statement fails
    assert not turn.locked()

    conn = sqlite_engine.connect()
    conn.begin()
    conn.execute(text("INSERT INTO t VALUES (3)"))
    conn.invalidate()  # the driver connection is closed mid-transaction
    conn.close()
    assert not turn.locked()
    assert _count(sqlite_engine) == 1


def test_a_lone_read_takes_no_turn(sqlite_engine: Engine) -> None:
    turn = _turn(sqlite_engine)
    with read_engine(sqlite_engine).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        assert not turn.locked()


def test_a_second_writer_waits_for_the_first_then_goes(sqlite_engine: Engine) -> None:
    done = threading.Event()

    def second() -> None:
        with sqlite_engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
        done.set()

    with sqlite_engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        thread = threading.Thread(target=second)
        thread.start()
        assert not done.wait(0.3)  # it cannot write while this transaction is open
        assert _count(sqlite_engine) == 0  # nothing committed yet, by either
    thread.join(timeout=30)
    assert done.is_set() and _count(sqlite_engine) == 2
