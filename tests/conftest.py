"""Shared database fixtures, for every test that needs a real database.

- ``sqlite_url`` / ``sqlite_engine``: a fresh SQLite file in ``tmp_path`` holding the migrated
  schema (migrated once per session through Alembic, then copied: fast).
- ``pg_url`` / ``pg_engine``: a PostgreSQL database migrated once per session (per xdist
  worker), emptied back to its just-migrated state before each test (rows deleted, ids
  restarted, system accounts re-seeded); skipped unless ``TWEETPAY_TEST_POSTGRES_URL`` is
  set. Dispose your engines: a transaction left open would block the next test's reset.
- ``database_url`` / ``engine``: parametrized over both engines ("sqlite", "postgres"); the
  postgres case carries the ``postgres`` marker.
- ``blank_database_url``: an empty database (no schema) on either engine, for migration tests.
- ``session_factory`` and ``ledger`` on top of ``engine``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from storage.db import make_engine, make_session_factory
from storage.ledger import CARD_FUNDING, ESCROW, Ledger
from storage.migrate import upgrade

try:
    from tests import network_guard
except ImportError:  # tests/ itself on sys.path (pytest's rootdir-less import mode)
    import network_guard  # type: ignore[no-redef]

network_guard.install()

PG_URL_ENV = "TWEETPAY_TEST_POSTGRES_URL"
ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.as_posix()}"


# -- SQLite -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade(_sqlite_url(path))  # disposes its engine: the WAL is checkpointed into the file
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "tweetpay.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return _sqlite_url(path)


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


# -- PostgreSQL -------------------------------------------------------------------------------


def _pg_database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


PG_SKIP_REASON = (
    f"PostgreSQL tests skipped: set {PG_URL_ENV}=postgresql+psycopg://user@host:port/db, or"
    " install PostgreSQL's server binaries (pg_ctl, initdb) and `make test` starts a"
    " throwaway cluster itself"
)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.skip(PG_SKIP_REASON)
    return url


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per skip reason (with its count) instead of one per test: a run without
    PostgreSQL says once how to enable those tests."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"SKIPPED ({count}): {reason}")


@pytest.fixture(scope="session")
def pg_admin(pg_server_url: str) -> Iterator[Engine]:
    """Autocommit connections to the server's maintenance database (CREATE/DROP DATABASE)."""
    url = make_url(pg_server_url).set(drivername="postgresql+psycopg")
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    yield engine
    engine.dispose()


def _create_database(admin: Engine, name: str, template: str | None = None) -> None:
    with admin.connect() as conn:
        clause = f' TEMPLATE "{template}"' if template else ""
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{clause}')


def _drop_database(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_database(pg_admin: Engine, pg_server_url: str) -> Iterator[str]:
    """One migrated database per test session (per xdist worker); tests reset it."""
    name = _unique_name("tweetpay_test")
    _create_database(pg_admin, name)
    try:
        url = _pg_database_url(pg_server_url, name)
        upgrade(url)
        yield url
    finally:
        _drop_database(pg_admin, name)


def _reset_pg(url: str) -> None:
    """Empty every table and re-seed the system accounts: the state right after migrating.

    Far faster than CREATE DATABASE or TRUNCATE per test. ``session_replication_role =
    replica`` (superuser, as on the test server) switches off the append-only and foreign-key
    triggers for this one transaction only; ids restart at 1.
    """
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            tables = (
                conn.execute(
                    text(
                        "SELECT quote_ident(tablename) FROM pg_tables"
                        " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                )
                .scalars()
                .all()
            )
            for table in tables:
                conn.exec_driver_sql(f"DELETE FROM {table}")
            conn.exec_driver_sql(
                "SELECT setval(c.oid, 1, false) FROM pg_class c"
                " WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"
            )
            ledger = Ledger(engine)
            ledger.open_account(CARD_FUNDING, "card_funding", conn=conn)
            ledger.open_account(ESCROW, "escrow", conn=conn)
    finally:
        engine.dispose()


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """The session's PostgreSQL database, emptied back to its just-migrated state."""
    _reset_pg(pg_database)
    return pg_database


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


# -- Either engine ----------------------------------------------------------------------------


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=ENGINES)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (SQLite: a file that does not exist yet)."""
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path / "fresh" / "dir" / "tweetpay.sqlite3")
        return
    admin: Engine = request.getfixturevalue("pg_admin")
    server_url: str = request.getfixturevalue("pg_server_url")
    name = _unique_name("tweetpay_blank")
    _create_database(admin, name)
    try:
        yield _pg_database_url(server_url, name)
    finally:
        _drop_database(admin, name)


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    return Ledger(engine)
