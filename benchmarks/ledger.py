"""Ledger throughput beside the bare driver doing the naive same transaction, in one run.

    .venv/bin/python -m benchmarks.ledger [--n 3000] [--postgres-url URL]

The baseline transaction (docs/design.md "Performance targets"): read two balances, check funds,
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


def _run_threads(workers: list[Callable[[], None]]) -> float:
    threads = [threading.Thread(target=w) for w in workers]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def _interleaved(
    rounds: int, ours: Callable[[int], float], bare: Callable[[int], float], per_round: int
) -> tuple[float, float]:
    """Alternate our chunk and the baseline's, so load from other processes hits both alike."""
    ours_time = bare_time = 0.0
    for r in range(rounds):
        if r % 2:
            ours_time += ours(r)
            bare_time += bare(r)
        else:
            bare_time += bare(r)
            ours_time += ours(r)
    return per_round * rounds / ours_time, per_round * rounds / bare_time


def bench_sqlite(n: int, rounds: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        ours_url = f"sqlite:///{Path(tmp) / 'ledger.sqlite3'}"
        bare_path = Path(tmp) / "bare.sqlite3"
        codes = [f"user:{i}" for i in range(ACCOUNTS)]
        for url in (ours_url, f"sqlite:///{bare_path}"):
            upgrade(url)
            setup = make_engine(url)
            _fund(Ledger(setup), codes)
            setup.dispose()
        engine = make_engine(ours_url)
        ledger = Ledger(engine)
        conn = sqlite3.connect(bare_path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        per_round = max(n // rounds, 1)
        pairs = _pairs(per_round, hot=False, worker=0)
        run = uuid.uuid4().hex[:8]

        def ours(r: int) -> float:
            start = time.perf_counter()
            for i, (d, c) in enumerate(pairs):
                ledger.post_transfer(
                    idempotency_key=f"{run}:{r}:{i}",
                    debit=d,
                    credit=c,
                    amount=Money(1 + i % 500),
                    kind="payment",
                )
            return time.perf_counter() - start

        def bare(r: int) -> float:
            start = time.perf_counter()
            for i, (d, c) in enumerate(pairs):
                _naive_sqlite(conn, f"{run}:{r}:{i}", d, c, 1 + i % 500)
            return time.perf_counter() - start

        rates = _interleaved(rounds, ours, bare, per_round)
        conn.close()
        findings = ledger.verify()
        assert not findings, findings
        engine.dispose()
        return rates


def bench_postgres(
    server_url: str, n: int, clients: int, hot: bool, rounds: int
) -> tuple[float, float]:
    admin = psycopg.connect(_libpq(server_url), autocommit=True)
    names = [f"tweetpay_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    conns: list[psycopg.Connection] = []
    try:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
        ours_url, bare_url = (_db_url(server_url, name) for name in names)
        codes = [f"user:{i}" for i in range(ACCOUNTS)]
        for url in (ours_url, bare_url):
            upgrade(url)
            setup = make_engine(url)
            _fund(Ledger(setup), codes)
            setup.dispose()
        run = uuid.uuid4().hex[:8]
        engine = make_engine(ours_url, pool_size=clients)
        ledger = Ledger(engine)
        conns = [psycopg.connect(_libpq(bare_url), autocommit=True) for _ in range(clients)]
        per_round = max(n // rounds, 1)
        pairs = [_pairs(per_round, hot, w) for w in range(clients)]

        def ours(r: int) -> float:
            def worker(w: int) -> Callable[[], None]:
                def go() -> None:
                    for i, (d, c) in enumerate(pairs[w]):
                        ledger.post_transfer(
                            idempotency_key=f"{run}:{r}:{w}:{i}",
                            debit=d,
                            credit=c,
                            amount=Money(1 + i % 500),
                            kind="payment",
                        )

                return go

            return _run_threads([worker(w) for w in range(clients)])

        def bare(r: int) -> float:
            def worker(w: int) -> Callable[[], None]:
                def go() -> None:
                    for i, (d, c) in enumerate(pairs[w]):
                        _naive_pg(conns[w], f"{run}:{r}:{w}:{i}", d, c, 1 + i % 500)

                return go

            return _run_threads([worker(w) for w in range(clients)])

        ours_rate, bare_rate = _interleaved(rounds, ours, bare, per_round * clients)
        findings = ledger.verify()
        assert not findings, findings
        engine.dispose()
        return ours_rate, bare_rate
    finally:
        for conn in conns:
            conn.close()
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _db_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="transfers per engine and side")
    parser.add_argument("--rounds", type=int, default=6, help="alternating chunks per side")
    parser.add_argument("--postgres-url", default=os.environ.get("TWEETPAY_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)

    rows: list[tuple[str, float, float]] = []
    ours, bare = bench_sqlite(args.n * 2, args.rounds)
    rows.append(("SQLite WAL, synchronous=FULL", ours, bare))
    if args.postgres_url:
        for label, clients, hot in (
            ("PostgreSQL, 1 client", 1, False),
            ("PostgreSQL, 8 clients, many accounts", 8, False),
            ("PostgreSQL, 8 clients, one hot account", 8, True),
        ):
            n = args.n if clients == 1 else max(args.n // clients, args.rounds)
            ours, bare = bench_postgres(args.postgres_url, n, clients, hot, args.rounds)
            rows.append((label, ours, bare))
    else:
        print("PostgreSQL skipped: pass --postgres-url or set TWEETPAY_TEST_POSTGRES_URL")

    print(f"{'engine':<40} {'ledger/s':>10} {'bare/s':>10} {'ratio':>7}")
    for label, ours, bare in rows:
        print(f"{label:<40} {ours:>10,.0f} {bare:>10,.0f} {ours / bare:>6.2f}x")


if __name__ == "__main__":
    main()
