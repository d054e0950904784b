"""Alembic environment: runs on the connection handed over by ``storage.migrate``.

When Alembic is driven from its own CLI instead, a connection is made from ``sqlalchemy.url``
with the same engine settings as the application (WAL, BEGIN IMMEDIATE, psycopg 3).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from storage.db import make_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata
# Any constant works; it only has to be the same for every process running migrations.
PG_MIGRATION_LOCK = 7_245_001


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
