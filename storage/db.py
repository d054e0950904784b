"""Engines, sessions and retried transactions for SQLite and PostgreSQL.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` (an acknowledged
transfer survives a power cut), foreign keys on, and every transaction opened with
``BEGIN IMMEDIATE``: a transaction takes the write lock when it starts, so two writers never
both read and then deadlock upgrading their locks; the second one waits (``busy_timeout``).
pysqlite's own implicit BEGIN is switched off so SQLAlchemy's ``begin`` is the only one.

PostgreSQL goes through psycopg 3 with a pool sized for ~10 concurrent workers. Transactions
run at READ COMMITTED; the ledger takes row locks in a fixed order, and ``run_transaction``
retries the rare serialization failure or deadlock.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from handlers.errors import TransitionLost

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_POOL_SIZE = 10
PG_MAX_OVERFLOW = 5
# SQLSTATEs worth retrying: serialization_failure, deadlock_detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
UNIQUE_VIOLATION = "23505"
LONE_READ = "tweetpay_lone_read"  # SQLite execution option: see read_engine


def make_engine(url: str, *, echo: bool = False, **kwargs: Any) -> Engine:
    """An engine configured for the ledger's needs (see the module docstring)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, echo=echo, **kwargs)
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs.setdefault("pool_size", PG_POOL_SIZE)
        kwargs.setdefault("max_overflow", PG_MAX_OVERFLOW)
        # No pre-ping (a round trip per checkout): a dead connection fails once, the pool
        # is invalidated, and run_transaction retries on a fresh one.
        kwargs.setdefault("pool_recycle", 1800)
        return create_engine(parsed, echo=echo, **kwargs)
    raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")


def _sqlite_engine(url: str, *, echo: bool, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    connect_args.setdefault("check_same_thread", False)
    engine = create_engine(url, echo=echo, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Take transaction control away from pysqlite: SQLAlchemy's "begin" emits ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(LONE_READ):  # read_engine: no transaction at all
            return
        # Straight to the driver: this runs once per transaction, on the ledger's hot path.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]

    return engine


def read_engine(engine: Engine) -> Engine:
    """The engine for reads of one statement, which is a consistent snapshot on its own: no
    transaction is opened around it. PostgreSQL: autocommit, so no BEGIN and no ROLLBACK
    round trips (a ROLLBACK would also make psycopg forget the connection's prepared
    statements). SQLite: no ``BEGIN IMMEDIATE``, so the read neither waits for the write
    lock nor holds it (WAL readers never block writers). Nothing written through it."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine.execution_options(**{LONE_READ: True})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (no surprise reloads)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def dialect_insert(bind: Session | Connection | Engine, target: Any) -> Any:
    """An ``INSERT`` that takes ``ON CONFLICT`` clauses on this engine (both spell them the
    same way): shared rows are written as upserts, so two processes inserting the same new
    row both go through."""
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    return insert_for(dialect.name, target)


def insert_for(dialect_name: str, target: Any) -> Any:
    """``dialect_insert`` by the dialect's name: for statements built once per engine kind."""
    return (postgresql.insert if dialect_name == "postgresql" else sqlite.insert)(target)


def is_retryable(exc: BaseException) -> bool:
    """A transient concurrency failure: PG serialization/deadlock, SQLite locked/busy."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True  # server restarted or connection dropped: the pool reconnects
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    if isinstance(orig, sqlite3.OperationalError):
        message = str(orig).lower()
        return "database is locked" in message or "database is busy" in message
    return False


def is_transient(exc: BaseException) -> bool:
    """Worth doing the whole unit of work again: what ``is_retryable`` retries, a lost guarded
    transition, or a unique violation (two processes inserting the same new row: done
    again, the row exists and the work takes the other path). A real bug fails the same
    way every time, so the caller bounds its retries."""
    if isinstance(exc, TransitionLost) or is_retryable(exc):
        return True
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if getattr(orig, "sqlstate", None) == UNIQUE_VIOLATION:
        return True
    return isinstance(orig, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(orig)


def backoff_seconds(attempt: int, base: float = 0.005, cap: float = 0.25) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def run_transaction(engine: Engine, fn: Callable[[Connection], T], attempts: int = 8) -> T:
    """Run ``fn(conn)`` in a transaction; commit on return, roll back on exception.

    Retries (with jittered backoff) only the failures in ``is_retryable``; ``fn`` must be safe
    to run again from the start. A failed attempt was rolled back, except when the connection
    died during COMMIT, where the outcome is unknown: ledger transfers are idempotent by key,
    so the retry then returns the transfer that did commit.
    Business errors raised by ``fn`` roll back and propagate at once.
    """
    for attempt in range(attempts):
        try:
            with engine.begin() as conn:
                return fn(conn)
        except DBAPIError as exc:
            if attempt + 1 >= attempts or not is_retryable(exc):
                raise
        time.sleep(backoff_seconds(attempt))
    raise AssertionError("unreachable")  # pragma: no cover
