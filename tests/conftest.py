"""Shared database fixtures, for every test that needs a real database.

- ``sqlite_url`` / ``sqlite_engine``: a fresh SQLite file in ``tmp_path`` holding the migrated
  schema (migrated once per session through Alembic, then copied: fast).
- ``pg_url`` / ``pg_engine``: a fresh PostgreSQL database per test, created from a template
  database migrated once per session; skipped unless ``TWEETPAY_TEST_POSTGRES_URL`` is set.
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

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from storage.db import make_engine, make_session_factory
from storage.ledger import Ledger
from storage.migrate import upgrade

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


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.skip(f"{PG_URL_ENV} is not set")
    return url


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
def pg_template(pg_admin: Engine, pg_server_url: str) -> Iterator[str]:
    name = _unique_name("tweetpay_template")
    _create_database(pg_admin, name)
    try:
        upgrade(_pg_database_url(pg_server_url, name))
        yield name
    finally:
        _drop_database(pg_admin, name)


@pytest.fixture
def pg_url(pg_admin: Engine, pg_template: str, pg_server_url: str) -> Iterator[str]:
    name = _unique_name("tweetpay_test")
    _create_database(pg_admin, name, template=pg_template)
    try:
        yield _pg_database_url(pg_server_url, name)
    finally:
        _drop_database(pg_admin, name)


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
