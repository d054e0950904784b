"""The ledger on real databases (SQLite file and PostgreSQL): every invariant it promises."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from handlers.errors import IdempotencyConflict, InsufficientFunds, LedgerError, UnknownAccount
from handlers.money import Money
from storage.ledger import CARD_FUNDING, ESCROW, Ledger, user_account_code

ALICE, BOB = user_account_code(1), user_account_code(2)


@pytest.fixture
def funded(ledger: Ledger) -> Ledger:
    """Alice holds 100,00 €, Bob holds nothing."""
    ledger.open_account(ALICE, "user")
    ledger.open_account(BOB, "user")
    ledger.post_transfer(
        idempotency_key="topup:alice",
        debit=CARD_FUNDING,
        credit=ALICE,
        amount=Money(10_000),
        kind="topup",
    )
    return ledger


def pay(ledger: Ledger, key: str, cents: int, debit: str = ALICE, credit: str = BOB, **kw):
    return ledger.post_transfer(
        idempotency_key=key, debit=debit, credit=credit, amount=Money(cents), kind="payment", **kw
    )


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def test_system_accounts_are_seeded_by_the_migration(ledger: Ledger) -> None:
    assert ledger.balance(CARD_FUNDING) == Money(0)
    assert ledger.balance(ESCROW) == Money(0)
    assert ledger.open_account(CARD_FUNDING, "card_funding") == ledger.open_account(
        CARD_FUNDING, "card_funding"
    )


def test_open_account_is_idempotent_on_code(ledger: Ledger) -> None:
    first = ledger.open_account(ALICE, "user")
    assert ledger.open_account(ALICE, "user") == first
    assert ledger.balance(ALICE) == Money(0)
    with pytest.raises(LedgerError) as info:
        ledger.open_account(ALICE, "pro")
    assert info.value.code == "account_conflict"
    with pytest.raises(ValueError):
        ledger.open_account("user:3", "bank")


def test_transfer_moves_exact_cents(funded: Ledger) -> None:
    result = pay(funded, "intent:1", 1299, memo="resto")
    assert result.created
    assert (result.debit_balance, result.credit_balance) == (Money(8701), Money(1299))
    assert funded.balance(ALICE) == Money(8701)
    assert funded.balance(BOB) == Money(1299)
    assert funded.balance(CARD_FUNDING) == Money(-10_000)
    assert funded.verify() == []


def test_same_key_same_content_posts_once(funded: Ledger, engine: Engine) -> None:
    first = pay(funded, "intent:1", 500, memo="m")
    postings = count(engine, "postings")
    again = pay(funded, "intent:1", 500, memo="m")
    assert again.transfer_id == first.transfer_id
    assert not again.created
    assert count(engine, "postings") == postings
    assert funded.balance(BOB) == Money(500)


def test_replay_wins_over_a_funds_check_that_would_now_fail(funded: Ledger) -> None:
    first = pay(funded, "intent:all", 10_000)
    assert funded.balance(ALICE) == Money(0)
    again = pay(funded, "intent:all", 10_000)
    assert (again.transfer_id, again.created) == (first.transfer_id, False)


@pytest.mark.parametrize(
    "change",
    [
        {"cents": 501},
        {"memo": "other"},
        {"credit": CARD_FUNDING},
        {"debit": BOB, "credit": ALICE},
    ],
)
def test_same_key_different_content_conflicts(funded: Ledger, change: dict) -> None:
    pay(funded, "intent:1", 500, memo="m")
    args = {"cents": 500, "memo": "m", **change}
    with pytest.raises(IdempotencyConflict):
        pay(funded, "intent:1", **args)
    assert funded.balance(BOB) == Money(500)
    assert funded.verify() == []


def test_overdraft_is_refused_and_writes_nothing(funded: Ledger, engine: Engine) -> None:
    transfers = count(engine, "transfers")
    with pytest.raises(InsufficientFunds):
        pay(funded, "intent:big", 10_001)
    assert count(engine, "transfers") == transfers
    assert funded.balance(ALICE) == Money(10_000)
    # The key was not consumed: the same intent can succeed later.
    pay(funded, "topup:more", 1, debit=CARD_FUNDING, credit=ALICE)
    assert pay(funded, "intent:big", 10_001).created


def test_system_accounts_may_go_negative_users_never(funded: Ledger) -> None:
    pay(funded, "escrow:out", 700, debit=ESCROW, credit=BOB)
    assert funded.balance(ESCROW) == Money(-700)
    with pytest.raises(InsufficientFunds):
        pay(funded, "bob:too-much", 701, debit=BOB, credit=ALICE)


def test_unknown_accounts_and_bad_arguments(funded: Ledger) -> None:
    with pytest.raises(UnknownAccount):
        pay(funded, "k1", 1, credit="user:404")
    with pytest.raises(UnknownAccount):
        pay(funded, "k2", 1, debit="user:404")
    with pytest.raises(UnknownAccount):
        funded.balance("user:404")
    with pytest.raises(UnknownAccount):
        funded.history("user:404")
    for cents in (0, -5):
        with pytest.raises(ValueError):
            pay(funded, "k3", cents)
    with pytest.raises(ValueError):
        pay(funded, "k4", 1, credit=ALICE)
    with pytest.raises(ValueError):
        pay(funded, "", 1)


def test_reversal_mirrors_once(funded: Ledger) -> None:
    original = pay(funded, "intent:1", 2500)
    reversal = funded.reverse(original.transfer_id, idempotency_key="reverse:1")
    assert reversal.created and reversal.transfer_id != original.transfer_id
    assert funded.balance(ALICE) == Money(10_000)
    assert funded.balance(BOB) == Money(0)
    replay = funded.reverse(original.transfer_id, idempotency_key="reverse:1")
    assert (replay.transfer_id, replay.created) == (reversal.transfer_id, False)
    with pytest.raises(LedgerError) as info:
        funded.reverse(original.transfer_id, idempotency_key="reverse:again")
    assert info.value.code == "already_reversed"
    with pytest.raises(LedgerError) as info:
        funded.reverse(999_999, idempotency_key="reverse:none")
    assert info.value.code == "unknown_transfer"
    assert funded.verify() == []


def test_reversal_refused_when_the_money_was_spent(funded: Ledger) -> None:
    original = pay(funded, "intent:1", 2500)
    pay(funded, "bob:spends", 2000, debit=BOB, credit=ALICE)
    with pytest.raises(InsufficientFunds):
        funded.reverse(original.transfer_id, idempotency_key="reverse:1")
    assert funded.balance(BOB) == Money(500)
    assert funded.verify() == []


def test_history_is_newest_first_with_signed_amounts(funded: Ledger) -> None:
    first = pay(funded, "intent:1", 300, memo="café")
    second = pay(funded, "intent:2", 200, debit=BOB, credit=ALICE, memo="retour")
    rows = funded.history(ALICE)
    assert [r.transfer_id for r in rows[:2]] == [second.transfer_id, first.transfer_id]
    assert (rows[0].counterparty, rows[0].amount, rows[0].memo) == (BOB, Money(200), "retour")
    assert (rows[1].amount, rows[1].kind) == (Money(-300), "payment")
    assert rows[2].counterparty == CARD_FUNDING
    assert rows[0].created_at.tzinfo is not None
    assert len(funded.history(ALICE, limit=1)) == 1


@pytest.mark.parametrize("table", ["postings", "transfers"])
@pytest.mark.parametrize(
    "statement", ["UPDATE {table} SET amount_cents = amount_cents + 1", "DELETE FROM {table}"]
)
def test_postings_and_transfers_are_append_only(
    funded: Ledger, engine: Engine, table: str, statement: str
) -> None:
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement.format(table=table)))
    assert funded.verify() == []


def test_database_refuses_an_overdraft_even_around_the_ledger(funded: Ledger, engine: Engine):
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(f"UPDATE accounts SET balance_cents = -1 WHERE code = '{BOB}'"))


def test_verify_catches_a_tampered_balance(funded: Ledger, engine: Engine) -> None:
    pay(funded, "intent:1", 100)
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE accounts SET balance_cents = balance_cents + 1 WHERE code = '{BOB}'")
        )
    findings = funded.verify()
    assert any("sum of all account balances is 1" in f for f in findings)
    assert any(f"account {BOB}: balance 101 but its postings sum to 100" in f for f in findings)


def test_verify_catches_an_unbalanced_transfer(funded: Ledger, engine: Engine) -> None:
    # Postings are append-only, but an extra one can still be slipped in by hand.
    transfer = pay(funded, "intent:1", 100)
    with engine.begin() as conn:
        account_id = conn.execute(text(f"SELECT id FROM accounts WHERE code = '{BOB}'")).scalar()
        conn.execute(
            text(
                "INSERT INTO postings (transfer_id, account_id, amount_cents, created_at)"
                " VALUES (:t, :a, 5, :now)"
            ),
            {"t": transfer.transfer_id, "a": account_id, "now": "2026-01-01 00:00:00"},
        )
    findings = funded.verify()
    assert any(f"transfer {transfer.transfer_id}" in f for f in findings)
    assert any("sum of all postings is 5" in f for f in findings)


def test_joined_transaction_rolls_back_with_the_caller(funded: Ledger, engine: Engine) -> None:
    with engine.connect() as conn:  # no explicit begin: the ledger must not autocommit
        result = pay(funded, "intent:joined", 400, conn=conn)
        assert result.created
        assert funded.balance(BOB, conn=conn) == Money(400)
        conn.rollback()
    assert funded.balance(BOB) == Money(0)
    assert funded.verify() == []
    with engine.begin() as conn:
        pay(funded, "intent:joined", 400, conn=conn)
    assert funded.balance(BOB) == Money(400)
