"""Alembic, configured in code: no alembic.ini, works from any cwd and from an installed package.

``upgrade(url)`` is what ``tweetpay db upgrade`` and the release process run. The migration
runs in one transaction on the connection given to Alembic; on PostgreSQL an advisory lock
serialises concurrent upgrades (two release processes starting at once).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from storage.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at ``storage/migrations``; the URL or an open connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolates "%": a password such as "p%40ss" must be escaped.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (default: the latest)."""
    engine = make_engine(url)
    try:
        with _sqlite_file_lock(url), engine.begin() as conn:
            command.upgrade(alembic_config(url, conn), revision)
    finally:
        engine.dispose()


@contextlib.contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    """On an SQLite file, one upgrade at a time (web, worker and release starting together,
    as honcho starts them): the others wait, then find the schema current. PostgreSQL has
    its advisory lock instead."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        yield
        return
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current_heads() -> tuple[str, ...]:
    """The head revision(s) of the migration scripts."""
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())
