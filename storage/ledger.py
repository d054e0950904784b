"""The double-entry ledger: the only code that moves money.

Invariants it keeps (``verify()`` checks every one of them on the stored data):

1. Amounts are integer cents (``Money``); a transfer moves a strictly positive amount between
   two distinct, existing accounts.
2. Every transfer writes exactly two postings, ``-amount`` on the debit account and
   ``+amount`` on the credit account, in the same transaction as both balance updates: the
   postings of a transfer sum to 0, so the balances of all accounts sum to 0, and each
   account's ``balance_cents`` equals the sum of its postings.
3. User and Pro accounts never go below 0: the funds check and the debit happen under the
   write lock (SQLite ``BEGIN IMMEDIATE``; PostgreSQL row locks taken in ascending account id
   order, so two transfers never deadlock), and the ``no_overdraft`` CHECK backs it up.
   Only the system accounts (card funding, escrow) may be negative.
4. Transfers and postings are append-only (database triggers refuse UPDATE and DELETE): a
   mistake is undone by ``reverse()``, a new transfer in the other direction, at most once
   per transfer.
5. Idempotency: a key names one transfer forever. The same key with the same content returns
   the first transfer and posts nothing (``created=False``); with other content it raises
   ``IdempotencyConflict``. A refused transfer (insufficient funds, unknown account) writes
   nothing.

Hot path: SQLite runs four short statements under ``BEGIN IMMEDIATE`` through the driver
(no ORM, no statement compilation); PostgreSQL runs one data-modifying CTE that locks both
accounts, checks funds, inserts the transfer (``ON CONFLICT DO NOTHING``), updates both
balances and inserts both postings, so the row locks are held for a single round trip.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select

from handlers.errors import IdempotencyConflict, InsufficientFunds, LedgerError, UnknownAccount
from handlers.money import Money
from storage.db import dialect_insert, run_transaction
from storage.ledger_sql import (
    _BALANCE,
    _BY_ID,
    _BY_KEY,
    _BY_REVERSED,
    _HISTORY,
    _PG_TRANSFER,
    _SQLITE_ACCOUNTS,
    _SQLITE_INSERT_POSTINGS,
    _SQLITE_INSERT_TRANSFER,
    _SQLITE_UPDATE_BALANCES,
)
from storage.models import Account

T = TypeVar("T")
_POSTING_ATTR = "_tweetpay_posting_engine"

CARD_FUNDING = "system:card_funding"
ESCROW = "system:escrow"
# Money out: wallet → in flight at confirmation, in flight → the provider's settlement account
# once it says settled. Neither may go below zero (they only ever hold what came in).
PAYOUTS_IN_FLIGHT = "system:payouts_in_flight"
ACCOUNT_KINDS = frozenset({"user", "pro", "card_funding", "escrow", "in_flight", "settlement"})
SYSTEM_KINDS = frozenset({"card_funding", "escrow"})
REVERSAL_KIND = "reversal"
MAX_KEY_LENGTH = 128
MAX_KIND_LENGTH = 16
MAX_MEMO_LENGTH = 280


def settlement_account_code(provider: str) -> str:
    """Where money paid out through ``provider`` ends up (its records are reconciled)."""
    return f"system:payout_settlement:{provider}"


def user_account_code(x_user_id: int) -> str:
    """The ledger account of an X user (identity is the numeric id, never the handle)."""
    return f"user:{int(x_user_id)}"


@dataclass(frozen=True, slots=True)
class TransferResult:
    """The transfer a call resolved to; balances are those right after the call."""

    transfer_id: int
    created: bool
    debit_balance: Money | None = None
    credit_balance: Money | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of an account statement, from that account's point of view."""

    transfer_id: int
    counterparty: str
    amount: Money  # signed: negative when money left the account
    kind: str
    memo: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class _Request:
    key: str
    debit: str
    credit: str
    cents: int
    kind: str
    memo: str
    reverses: int | None


Clock = Callable[[], dt.datetime]


def wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _now_param(dialect: str, now: dt.datetime) -> Any:
    # SQLite keeps naive UTC text in SQLAlchemy's format (what UTCDateTime reads back).
    return now.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else now


def _posting_engine(engine: Engine) -> Engine:
    """The autocommit engine of PostgreSQL postings, built once per engine: every unit of
    work makes a Ledger, and an option engine costs ~100 Python calls to build (a tenth of a
    confirmation's own). Kept on the engine itself, so it goes when the engine goes."""
    if engine.dialect.name != "postgresql":
        return engine
    built: Engine | None = getattr(engine, _POSTING_ATTR, None)
    if built is None:
        built = engine.execution_options(isolation_level="AUTOCOMMIT")
        setattr(engine, _POSTING_ATTR, built)
    return built


class Ledger:
    """Accounts, transfers and balances. Methods taking ``conn`` join the caller's transaction
    (the caller commits and retries); without it they run their own retried transaction."""

    def __init__(self, engine: Engine, clock: Clock = wall_clock) -> None:
        self._engine = engine
        # Postings, transfers and accounts are stamped with this clock (the services' own:
        # a test's or a replay's time is the time of the money it moves).
        self._clock = clock
        # On PostgreSQL a transfer is one statement, hence atomic on its own: running it in
        # autocommit saves the COMMIT round trip, so the hot row is locked only while the
        # server executes it. (Joined to a caller's transaction, it waits for their commit.)
        self._posting_engine = _posting_engine(engine)

    def _run(self, conn: Connection | None, fn: Callable[[Connection], T]) -> T:
        return fn(conn) if conn is not None else run_transaction(self._engine, fn)

    def _run_posting(self, conn: Connection | None, fn: Callable[[Connection], T]) -> T:
        return fn(conn) if conn is not None else run_transaction(self._posting_engine, fn)

    # -- accounts ---------------------------------------------------------------------------

    def open_account(
        self,
        code: str,
        kind: str,
        owner_user_id: int | None = None,
        *,
        conn: Connection | None = None,
    ) -> int:
        """Create the account ``code`` if it does not exist; return its id (idempotent)."""
        if kind not in ACCOUNT_KINDS:
            raise ValueError(f"account kind must be one of {sorted(ACCOUNT_KINDS)}: {kind!r}")
        if not code or len(code) > 64:
            raise ValueError("an account code is 1 to 64 characters")
        table = Account.__table__
        values = {
            "code": code,
            "kind": kind,
            "owner_user_id": owner_user_id,
            "balance_cents": 0,
            "allow_negative": kind in SYSTEM_KINDS,
            "created_at": self._clock(),
        }

        def work(c: Connection) -> int:
            c.execute(dialect_insert(c, table).values(values).on_conflict_do_nothing())
            row = c.execute(
                select(table.c.id, table.c.kind).where(table.c.code == code)
            ).one()
            if row.kind != kind:
                raise LedgerError(
                    f"account {code} exists with kind {row.kind}, not {kind}",
                    code="account_conflict",
                )
            return int(row.id)

        return self._run(conn, work)

    def balance(self, code: str, *, conn: Connection | None = None) -> Money:
        def work(c: Connection) -> Money:
            cents = c.execute(_BALANCE, {"code": code}).scalar_one_or_none()
            if cents is None:
                raise UnknownAccount(f"no account {code}")
            return Money(int(cents))

        return self._run(conn, work)

    def history(
        self, code: str, limit: int = 10, *, conn: Connection | None = None
    ) -> list[HistoryEntry]:
        """The account's latest movements, newest first."""

        def work(c: Connection) -> list[HistoryEntry]:
            if c.execute(_BALANCE, {"code": code}).first() is None:
                raise UnknownAccount(f"no account {code}")
            rows = c.execute(_HISTORY, {"code": code, "limit": int(limit)})
            return [
                HistoryEntry(int(r[0]), r[1], Money(int(r[2])), r[3], r[4], r[5]) for r in rows
            ]

        return self._run(conn, work)

    # -- transfers --------------------------------------------------------------------------

    def post_transfer(
        self,
        *,
        idempotency_key: str,
        debit: str,
        credit: str,
        amount: Money,
        kind: str,
        memo: str = "",
        reverses_transfer_id: int | None = None,
        conn: Connection | None = None,
    ) -> TransferResult:
        """Move ``amount`` from ``debit`` to ``credit``, once per ``idempotency_key``."""
        if not isinstance(amount, Money) or amount.cents <= 0:
            raise ValueError(f"a transfer amount must be positive Money, got {amount!r}")
        if debit == credit:
            raise ValueError("debit and credit accounts must differ")
        if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
            raise ValueError(f"an idempotency key is 1 to {MAX_KEY_LENGTH} characters")
        if not kind or len(kind) > MAX_KIND_LENGTH:
            raise ValueError(f"a transfer kind is 1 to {MAX_KIND_LENGTH} characters")
        if len(memo) > MAX_MEMO_LENGTH:
            raise ValueError(f"a memo is at most {MAX_MEMO_LENGTH} characters")
        request = _Request(
            idempotency_key, debit, credit, amount.cents, kind, memo, reverses_transfer_id
        )
        return self._run_posting(conn, lambda c: self._post(c, request))

    def reverse(
        self, transfer_id: int, *, idempotency_key: str, conn: Connection | None = None
    ) -> TransferResult:
        """Post the mirror of ``transfer_id`` (at most once); may raise InsufficientFunds."""

        def work(c: Connection) -> TransferResult:
            original = c.execute(_BY_ID, {"value": transfer_id}).first()
            if original is None:
                raise LedgerError(f"no transfer {transfer_id}", code="unknown_transfer")
            request = _Request(
                idempotency_key,
                debit=original[2],
                credit=original[1],
                cents=int(original[3]),
                kind=REVERSAL_KIND,
                memo=f"reversal of transfer {transfer_id}",
                reverses=transfer_id,
            )
            return self._post(c, request)

        return self._run_posting(conn, work)

    def _post(self, conn: Connection, request: _Request) -> TransferResult:
        if conn.dialect.name == "postgresql":
            return self._post_postgresql(conn, request)
        return self._post_sqlite(conn, request)

    def _post_sqlite(self, conn: Connection, r: _Request) -> TransferResult:
        # The transaction began with BEGIN IMMEDIATE: nobody else writes until we commit, so
        # what we read here is still true when we write. The statements go straight to the
        # driver cursor, inside SQLAlchemy's transaction: per-statement overhead matters here.
        if not conn.in_transaction():
            conn.begin()  # the raw cursor would not autobegin: make sure we are atomic
        cursor = conn.connection.cursor()
        try:
            rows = cursor.execute(_SQLITE_ACCOUNTS, (r.debit, r.credit)).fetchall()
            accounts = {row[1]: row for row in rows}
            debit, credit = accounts.get(r.debit), accounts.get(r.credit)
            if debit is None or credit is None:
                raise UnknownAccount(f"no account {r.debit if debit is None else r.credit}")
            debit_id, debit_balance, allow_negative = debit[0], debit[2], debit[3]
            credit_id, credit_balance = credit[0], credit[2]
            if not allow_negative and debit_balance < r.cents:
                return self._not_posted(conn, r, debit_balance, credit_balance, allow_negative)
            now = _now_param("sqlite", self._clock())
            inserted = cursor.execute(
                _SQLITE_INSERT_TRANSFER,
                (r.key, r.kind, debit_id, credit_id, r.cents, r.memo, r.reverses, now),
            ).fetchone()
            if inserted is None:
                return self._not_posted(conn, r, debit_balance, credit_balance, allow_negative)
            transfer_id = inserted[0]
            cursor.execute(
                _SQLITE_UPDATE_BALANCES, (debit_id, -r.cents, r.cents, debit_id, credit_id)
            )
            cursor.execute(
                _SQLITE_INSERT_POSTINGS,
                (transfer_id, debit_id, -r.cents, now, transfer_id, credit_id, r.cents, now),
            )
        finally:
            cursor.close()
        return TransferResult(
            transfer_id, True, Money(debit_balance - r.cents), Money(credit_balance + r.cents)
        )

    def _post_postgresql(self, conn: Connection, r: _Request) -> TransferResult:
        params = {
            "key": r.key,
            "debit": r.debit,
            "credit": r.credit,
            "cents": r.cents,
            "kind": r.kind,
            "memo": r.memo,
            "reverses": r.reverses,
            "now": _now_param("postgresql", self._clock()),
        }
        transfer_id, debit_balance, credit_balance, allow_negative = conn.exec_driver_sql(
            _PG_TRANSFER, params
        ).one()
        if debit_balance is None or credit_balance is None:
            raise UnknownAccount(f"no account {r.debit if debit_balance is None else r.credit}")
        if transfer_id is None:
            return self._not_posted(conn, r, debit_balance, credit_balance, allow_negative)
        return TransferResult(
            transfer_id, True, Money(debit_balance - r.cents), Money(credit_balance + r.cents)
        )

    def _not_posted(
        self,
        conn: Connection,
        r: _Request,
        debit_balance: int,
        credit_balance: int,
        allow_negative: bool,
    ) -> TransferResult:
        """Nothing was written: say why (replay, conflict, already reversed, no funds)."""
        existing = conn.execute(_BY_KEY, {"value": r.key}).first()
        if existing is not None:
            same = (existing[1], existing[2], int(existing[3]), existing[4], existing[5])
            if same != (r.debit, r.credit, r.cents, r.kind, r.memo) or existing[6] != r.reverses:
                raise IdempotencyConflict(
                    f"idempotency key {r.key!r} already names transfer {existing[0]}"
                    " with different content"
                )
            return TransferResult(
                int(existing[0]), False, Money(int(debit_balance)), Money(int(credit_balance))
            )
        if r.reverses is not None:
            reversal = conn.execute(_BY_REVERSED, {"value": r.reverses}).first()
            if reversal is not None:
                raise LedgerError(
                    f"transfer {r.reverses} was already reversed by transfer {reversal[0]}",
                    code="already_reversed",
                )
        if not allow_negative and debit_balance < r.cents:
            raise InsufficientFunds(
                f"{r.debit} holds {Money(int(debit_balance))}, {Money(r.cents)} needed"
            )
        raise RuntimeError(f"transfer {r.key!r} was neither posted nor refused")  # a bug

    # -- audit ------------------------------------------------------------------------------

    def verify(self) -> list[str]:
        """Check every invariant on the stored data; return findings (empty: all good).
        The checks, the ledger's and those of the rows that move money (escrow holds,
        intents), are listed in ``storage.audit``."""
        from storage.audit import verify  # the audit reads the ledger's tables and others

        return verify(self._engine)
