"""Ledger throughput beside the bare driver doing the naive same transaction, in one run.

    .venv/bin/python -m benchmarks.ledger [--n 3000] [--postgres-url URL]

The baseline transaction (DESIGN.md "Performance targets"): read two balances, check funds,
update both, insert the transfer row (unique key) and two postings, commit. SQLite runs in
WAL with synchronous=FULL on both sides; PostgreSQL is measured with 1 client, 8 clients
spread over many accounts, and 8 clients on one hot account (every transfer debits it).
PostgreSQL defaults to ``TWEETPAY_TEST_POSTGRES_URL`` and is skipped when unset.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from handlers.money import Money
from storage.db import make_engine
from storage.ledger import CARD_FUNDING, Ledger
from storage.migrate import upgrade

ACCOUNTS = 64
FUNDS = 10**12  # cents: nobody runs out during a run
NOW = "2026-01-01 00:00:00.000000"


def _naive_sqlite(conn: sqlite3.Connection, key: str, debit: str, credit: str, cents: int) -> None:
    cur = conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    d_id, d_bal = cur.execute(
        "SELECT id, balance_cents FROM accounts WHERE code = ?", (debit,)
    ).fetchone()
    c_id, _ = cur.execute(
        "SELECT id, balance_cents FROM accounts WHERE code = ?", (credit,)
    ).fetchone()
    if d_bal < cents:
        cur.execute("ROLLBACK")
        raise RuntimeError("insufficient funds")
    cur.execute("UPDATE accounts SET balance_cents = balance_cents - ? WHERE id = ?", (cents, d_id))
    cur.execute("UPDATE accounts SET balance_cents = balance_cents + ? WHERE id = ?", (cents, c_id))
    cur.execute(
        "INSERT INTO transfers (idempotency_key, kind, debit_account_id, credit_account_id,"
        " amount_cents, memo, created_at) VALUES (?, 'payment', ?, ?, ?, '', ?)",
        (key, d_id, c_id, cents, NOW),
    )
    transfer_id = cur.lastrowid
    cur.executemany(
        "INSERT INTO postings (transfer_id, account_id, amount_cents, created_at)"
        " VALUES (?, ?, ?, ?)",
        [(transfer_id, d_id, -cents, NOW), (transfer_id, c_id, cents, NOW)],
    )
    cur.execute("COMMIT")


def _naive_pg(conn: psycopg.Connection, key: str, debit: str, credit: str, cents: int) -> None:
    with conn.transaction(), conn.cursor() as cur:
        # Fixed lock order (ascending id) so the baseline does not deadlock either.
        rows = cur.execute(
            "SELECT id, code, balance_cents FROM accounts WHERE code = ANY(%s)"
            " ORDER BY id FOR UPDATE",
            ([debit, credit],),
        ).fetchall()
        by_code = {code: (acc_id, bal) for acc_id, code, bal in rows}
        (d_id, d_bal), (c_id, _) = by_code[debit], by_code[credit]
        if d_bal < cents:
            raise RuntimeError("insufficient funds")
        cur.execute(
            "UPDATE accounts SET balance_cents = balance_cents - %s WHERE id = %s", (cents, d_id)
        )
        cur.execute(
            "UPDATE accounts SET balance_cents = balance_cents + %s WHERE id = %s", (cents, c_id)
        )
        (transfer_id,) = cur.execute(
            "INSERT INTO transfers (idempotency_key, kind, debit_account_id, credit_account_id,"
            " amount_cents, memo, created_at) VALUES (%s, 'payment', %s, %s, %s, '', now())"
            " RETURNING id",
            (key, d_id, c_id, cents),
        ).fetchone()
        cur.execute(
            "INSERT INTO postings (transfer_id, account_id, amount_cents, created_at)"
            " VALUES (%s, %s, %s, now()), (%s, %s, %s, now())",
            (transfer_id, d_id, -cents, transfer_id, c_id, cents),
        )


def _fund(ledger: Ledger, codes: list[str]) -> None:
    for code in codes:
        ledger.open_account(code, "user")
        ledger.post_transfer(
            idempotency_key=f"fund:{code}",
            debit=CARD_FUNDING,
            credit=code,
            amount=Money(FUNDS),
            kind="topup",
        )


def _pairs(n: int, hot: bool, worker: int) -> list[tuple[str, str]]:
    pairs = []
    for i in range(n):
        if hot:  # every transfer debits the one hot account
            pairs.append(("user:0", f"user:{1 + (i + worker) % (ACCOUNTS - 1)}"))
        else:
            a = (i * 7 + worker * 13) % ACCOUNTS
            pairs.append((f"user:{a}", f"user:{(a + 1 + worker) % ACCOUNTS}"))
    return pairs


def _timed(clients: int, n: int, make_worker: Callable[[int], Callable[[], None]]) -> float:
    workers = [make_worker(w) for w in range(clients)]
    threads = [threading.Thread(target=w) for w in workers]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return clients * n / (time.perf_counter() - start)


def bench_sqlite(n: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        ours_url = f"sqlite:///{Path(tmp) / 'ledger.sqlite3'}"
        bare_path = Path(tmp) / "bare.sqlite3"
        upgrade(ours_url)
        upgrade(f"sqlite:///{bare_path}")
        codes = [f"user:{i}" for i in range(ACCOUNTS)]
        engine = make_engine(ours_url)
        ledger = Ledger(engine)
        _fund(ledger, codes)
        _fund(Ledger(bare_engine := make_engine(f"sqlite:///{bare_path}")), codes)
        bare_engine.dispose()
        pairs = _pairs(n, hot=False, worker=0)
        run = uuid.uuid4().hex[:8]

        def ours() -> None:
            for i, (d, c) in enumerate(pairs):
                ledger.post_transfer(
                    idempotency_key=f"{run}:{i}",
                    debit=d,
                    credit=c,
                    amount=Money(1 + i % 500),
                    kind="payment",
                )

        def bare() -> None:
            conn = sqlite3.connect(bare_path, isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
                conn.execute(f"PRAGMA {pragma}")
            for i, (d, c) in enumerate(pairs):
                _naive_sqlite(conn, f"{run}:{i}", d, c, 1 + i % 500)
            conn.close()

        bare_rate = _timed(1, n, lambda _w: bare)
        ours_rate = _timed(1, n, lambda _w: ours)
        assert not ledger.verify(), ledger.verify()
        engine.dispose()
        return ours_rate, bare_rate


def bench_postgres(server_url: str, n: int, clients: int, hot: bool) -> tuple[float, float]:
    admin = psycopg.connect(_libpq(server_url), autocommit=True)
    names = [f"tweetpay_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
        ours_url, bare_url = (_db_url(server_url, name) for name in names)
        codes = [f"user:{i}" for i in range(ACCOUNTS)]
        for url in (ours_url, bare_url):
            upgrade(url)
            engine = make_engine(url)
            _fund(Ledger(engine), codes)
            engine.dispose()
        run = uuid.uuid4().hex[:8]
        engine = make_engine(ours_url, pool_size=clients)
        ledger = Ledger(engine)

        def ours(worker: int) -> Callable[[], None]:
            pairs = _pairs(n, hot, worker)

            def go() -> None:
                for i, (d, c) in enumerate(pairs):
                    ledger.post_transfer(
                        idempotency_key=f"{run}:{worker}:{i}",
                        debit=d,
                        credit=c,
                        amount=Money(1 + i % 500),
                        kind="payment",
                    )

            return go

        def bare(worker: int) -> Callable[[], None]:
            pairs = _pairs(n, hot, worker)
            conn = psycopg.connect(_libpq(bare_url), autocommit=True)

            def go() -> None:
                for i, (d, c) in enumerate(pairs):
                    _naive_pg(conn, f"{run}:{worker}:{i}", d, c, 1 + i % 500)
                conn.close()

            return go

        bare_rate = _timed(clients, n, bare)
        ours_rate = _timed(clients, n, ours)
        findings = ledger.verify()
        assert not findings, findings
        engine.dispose()
        return ours_rate, bare_rate
    finally:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _db_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="transfers per client (SQLite: x2)")
    parser.add_argument("--postgres-url", default=os.environ.get("TWEETPAY_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)

    rows: list[tuple[str, float, float]] = []
    ours, bare = bench_sqlite(args.n * 2)
    rows.append(("SQLite WAL, synchronous=FULL", ours, bare))
    if args.postgres_url:
        per_client = max(args.n // 4, 50)
        for label, clients, hot in (
            ("PostgreSQL, 1 client", 1, False),
            ("PostgreSQL, 8 clients, many accounts", 8, False),
            ("PostgreSQL, 8 clients, one hot account", 8, True),
        ):
            n = args.n if clients == 1 else per_client
            ours, bare = bench_postgres(args.postgres_url, n, clients, hot)
            rows.append((label, ours, bare))
    else:
        print("PostgreSQL skipped: pass --postgres-url or set TWEETPAY_TEST_POSTGRES_URL")

    print(f"{'engine':<40} {'ledger/s':>10} {'bare/s':>10} {'ratio':>7}")
    for label, ours, bare in rows:
        print(f"{label:<40} {ours:>10,.0f} {bare:>10,.0f} {ours / bare:>6.2f}x")


if __name__ == "__main__":
    main()
