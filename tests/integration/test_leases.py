"""Only one process polls X at a time on PostgreSQL; SQLite runs alone anyway."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from storage.leases import exclusive


@pytest.mark.postgres
def test_a_second_poller_skips_while_the_first_holds_the_lease(pg_engine: Engine) -> None:
    with exclusive(pg_engine, "poll_mentions") as first:
        assert first
        with exclusive(pg_engine, "poll_mentions") as second:
            assert not second
        with exclusive(pg_engine, "poll_dms") as other_job:
            assert other_job
    with exclusive(pg_engine, "poll_mentions") as again:
        assert again  # released


def test_sqlite_always_runs(sqlite_engine: Engine) -> None:
    with exclusive(sqlite_engine, "poll_mentions") as first, \
            exclusive(sqlite_engine, "poll_mentions") as second:
        assert first and second
