"""A throwaway PostgreSQL database for one benchmark run, on the server the caller names."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


@contextmanager
def scratch_database(server_url: str, prefix: str = "tweetpay_bench") -> Iterator[str]:
    """Create an empty database on ``server_url`` and yield its URL; drop it afterwards,
    whatever happened (``WITH (FORCE)``: connections the run left open do not stop it)."""
    server = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
