"""Migrations build exactly the schema of storage/models.py, on both engines, via the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, text

from bot.cli import main
from storage.db import make_engine
from storage.migrate import current_heads, upgrade
from storage.models import Base


def _cli_env(url: str) -> dict[str, str]:
    return {"TWEETPAY_DATABASE_URL": url, "TWEETPAY_ENV": "sandbox", "TWEETPAY_LOG_FORMAT": "json"}


def test_migrated_schema_matches_the_models(blank_database_url: str) -> None:
    upgrade(blank_database_url)
    engine = make_engine(blank_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_heads() == current_heads()
            tables = set(inspect(conn).get_table_names())
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(blank_database_url: str) -> None:
    upgrade(blank_database_url)
    upgrade(blank_database_url)
    engine = make_engine(blank_database_url)
    try:
        with engine.connect() as conn:
            codes = conn.execute(text("SELECT code FROM accounts ORDER BY code")).scalars().all()
        assert codes == ["system:card_funding", "system:escrow"]
    finally:
        engine.dispose()


def test_cli_upgrade_then_verify_then_tampering_is_found(blank_database_url: str) -> None:
    runner = CliRunner()
    env = _cli_env(blank_database_url)
    result = runner.invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["ledger", "verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "ledger ok" in result.output

    engine = make_engine(blank_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE accounts SET balance_cents = 42 WHERE code = 'system:escrow'")
            )
    finally:
        engine.dispose()
    result = runner.invoke(main, ["ledger", "verify"], env=env)
    assert result.exit_code == 1, result.output
    assert "FINDING" in result.output and "system:escrow" in result.output


def test_upgrade_works_from_another_directory_in_a_subprocess(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'sub' / 'db.sqlite3').as_posix()}"
    env = {**os.environ, **_cli_env(url)}
    for command in (["db", "upgrade"], ["ledger", "verify"]):
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_sqlite_engine_settings(sqlite_engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


@pytest.mark.postgres
def test_pg_engine_pool_fits_ten_workers(pg_engine) -> None:
    assert pg_engine.pool.size() >= 10
    assert pg_engine.dialect.driver == "psycopg"
