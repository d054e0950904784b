"""The unit of work: ledger postings and ORM rows commit or roll back together."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from handlers.errors import InsufficientFunds
from handlers.money import Money
from storage.ledger import CARD_FUNDING, Ledger, user_account_code
from storage.models import Cursor, Transfer
from storage.uow import UnitOfWork

ALICE, BOB = user_account_code(1), user_account_code(2)
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def accounts(ledger: Ledger) -> None:
    ledger.open_account(ALICE, "user")
    ledger.open_account(BOB, "user")
    ledger.post_transfer(
        idempotency_key="topup", debit=CARD_FUNDING, credit=ALICE, amount=Money(1000), kind="topup"
    )


def _transfer(uow: UnitOfWork, key: str, cents: int = 100):
    return uow.ledger.post_transfer(
        idempotency_key=key, debit=ALICE, credit=BOB, amount=Money(cents), kind="payment"
    )


def test_commit_keeps_postings_and_rows_together(
    session_factory: sessionmaker[Session], ledger: Ledger, accounts: None
) -> None:
    with UnitOfWork(session_factory) as uow:
        uow.session.add(Cursor(name="mentions", value="1", updated_at=NOW))
        result = _transfer(uow, "intent:1")
        assert uow.ledger.balance(BOB) == Money(100)
        uow.commit()
    assert result.created
    assert ledger.balance(BOB) == Money(100)
    with session_factory() as session:
        assert session.get(Cursor, "mentions") is not None
        assert session.get(Transfer, result.transfer_id).amount_cents == 100
    assert ledger.verify() == []


def test_without_commit_everything_rolls_back(
    session_factory: sessionmaker[Session], ledger: Ledger, accounts: None
) -> None:
    with UnitOfWork(session_factory) as uow:
        uow.session.add(Cursor(name="mentions", value="1", updated_at=NOW))
        _transfer(uow, "intent:1")
    assert ledger.balance(BOB) == Money(0)
    with session_factory() as session:
        assert session.get(Cursor, "mentions") is None
        assert session.scalar(select(func.count()).select_from(Transfer)) == 1  # the top-up


def test_an_error_rolls_back_and_propagates(
    session_factory: sessionmaker[Session], ledger: Ledger, accounts: None
) -> None:
    with pytest.raises(InsufficientFunds), UnitOfWork(session_factory) as uow:
        _transfer(uow, "intent:1", 600)
        _transfer(uow, "intent:2", 600)
        uow.commit()
    assert ledger.balance(ALICE) == Money(1000)
    assert ledger.verify() == []
