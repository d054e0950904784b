"""One runner at a time for jobs that must not run twice at once across processes.

On PostgreSQL several worker processes may share the database (docs/design.md, Scale): the pollers
take a session-level advisory lock and a worker that does not get it skips that run (another
one is polling). Correctness never depends on it — the inbox's unique key already makes a
double delivery a no-op — it saves X API calls, the scarcest thing the bot has. On SQLite
(one machine, the embedded default) it is a no-op.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator

from sqlalchemy import Engine, text


def lock_key(name: str) -> int:
    """A stable 32-bit key per job name (advisory locks take a bigint)."""
    return zlib.crc32(f"tweetpay:{name}".encode())


@contextlib.contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[bool]:
    """Yield True if this process may run job ``name`` now, False if another one is."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                {"k": lock_key(name)}).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(name)})
                conn.commit()
