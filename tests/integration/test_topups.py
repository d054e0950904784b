"""Saved cards and card top-ups on both engines: sealed at rest, key rotation, exactly-once
credit of the whole amount, declines recorded, limits refused before any charge."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.payments import CardRefused
from bot.payments.sandbox import SandboxProvider
from bot.services.topup import add_card, top_up
from config import load_settings
from handlers.money import Money
from storage import accounts
from storage.ledger import CARD_FUNDING, Ledger, user_account_code
from storage.models import Card, Charge, Transfer
from storage.sealing import Sealer, SealError
from storage.topups import TopUpLimits, TopUpRefused, remove_card, rotate_card_keys, saved_cards
from storage.uow import UnitOfWork

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
ALICE = 1001
BOB = 1002
VISA = "4242 4242 4242 4242"


@pytest.fixture
def sealer() -> Sealer:
    return Sealer([Fernet.generate_key().decode()])


@pytest.fixture
def provider() -> SandboxProvider:
    return SandboxProvider(clock=lambda: NOW)


def open_user(sessions: sessionmaker[Session], x_user_id: int, handle: str) -> int:
    with UnitOfWork(sessions) as uow:
        user = accounts.open_user(uow, x_user_id=x_user_id, handle=handle, now=NOW)
        uow.commit()
        return user.id


def save_card(sessions: sessionmaker[Session], sealer: Sealer, provider: SandboxProvider,
              user_id: int, number: str = VISA, month: int = 12, year: int = 2030) -> int:
    with UnitOfWork(sessions) as uow:
        return add_card(uow, sealer, provider, user_id=user_id, number=number,
                        exp_month=month, exp_year=year, cvc="123", now=NOW).id


def do_top_up(sessions: sessionmaker[Session], sealer: Sealer, provider: SandboxProvider,
              user_id: int, card_id: int, amount: Money, key: str, x_user_id: int = ALICE):
    with UnitOfWork(sessions) as uow:
        return top_up(uow, sealer, provider, user_id=user_id, x_user_id=x_user_id,
                      card_id=card_id, amount=amount, now=NOW, idempotency_key=key)


def test_saved_cards_show_last4_expiry_brand(session_factory, sealer, provider) -> None:
    alice = open_user(session_factory, ALICE, "alice")
    first = save_card(session_factory, sealer, provider, alice)
    second = save_card(session_factory, sealer, provider, alice, "5555 5555 5555 4444", 1, 28)
    with session_factory() as session:
        views = saved_cards(session, sealer, alice)
    assert [(v.id, v.last4, v.exp_month, v.exp_year, v.brand) for v in views] == [
        (first, "4242", 12, 2030, "visa"), (second, "4444", 1, 2028, "mastercard"),
    ]
    with UnitOfWork(session_factory) as uow:
        remove_card(uow, user_id=alice, card_id=first, now=NOW)
    with session_factory() as session:
        assert [v.id for v in saved_cards(session, sealer, alice)] == [second]


def test_a_refused_card_is_not_saved(session_factory, sealer, provider) -> None:
    alice = open_user(session_factory, ALICE, "alice")
    with pytest.raises(CardRefused) as refused:
        save_card(session_factory, sealer, provider, alice, "4242 4242 4242 4241")
    assert refused.value.code == "incorrect_number"
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Card)) == 0


def test_card_number_token_and_expiry_never_in_the_database_file(
    sqlite_engine: Engine, sqlite_url: str, sealer: Sealer, provider: SandboxProvider
) -> None:
    from storage.db import make_session_factory

    sessions = make_session_factory(sqlite_engine)
    alice = open_user(sessions, ALICE, "alice")
    card_id = save_card(sessions, sealer, provider, alice, "4242-4242-4242-4242", 7, 2031)
    with sessions() as session:
        token = json.loads(sealer.open(session.get(Card, card_id).sealed))["token"]
    sqlite_engine.dispose()
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert raw.count(b"CREATE TABLE cards") == 1  # sanity: we read the database itself
    # Random base64 may hold "4242" by chance; these structured forms it cannot.
    for secret in (b"4242424242424242", b"4242-4242-4242-4242", token.encode(), b'"last4"',
                   b'"4242"', b'"exp_year": 2031', b"07/2031", b"07/31", b"2031-07"):
        assert secret not in raw, secret


def test_key_rotation(session_factory, provider) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    alice = open_user(session_factory, ALICE, "alice")
    save_card(session_factory, Sealer([old]), provider, alice)
    save_card(session_factory, Sealer([old]), provider, alice, "5555 5555 5555 4444")
    both = Sealer([new, old])
    with session_factory() as session:
        assert [c.last4 for c in saved_cards(session, both, alice)] == ["4242", "4444"]
        with pytest.raises(SealError):
            saved_cards(session, Sealer([new]), alice)
    with session_factory.begin() as session:
        assert rotate_card_keys(session, both) == 2
    with session_factory() as session:
        assert [c.last4 for c in saved_cards(session, Sealer([new]), alice)] == ["4242", "4444"]
        with pytest.raises(SealError):
            saved_cards(session, Sealer([old]), alice)


def test_top_up_credits_the_whole_amount_once(session_factory, engine, sealer, provider) -> None:
    alice = open_user(session_factory, ALICE, "alice")
    card = save_card(session_factory, sealer, provider, alice)
    first = do_top_up(session_factory, sealer, provider, alice, card, Money(2_550), "form-1")
    assert (first.status, first.amount, first.balance, first.created) == (
        "succeeded", Money(2_550), Money(2_550), True)
    assert first.transfer_id is not None and first.decline_code is None
    again = do_top_up(session_factory, sealer, provider, alice, card, Money(2_550), "form-1")
    assert (again.charge_id, again.transfer_id, again.balance, again.created) == (
        first.charge_id, first.transfer_id, Money(2_550), False)
    ledger = Ledger(engine)
    assert ledger.balance(user_account_code(ALICE)) == Money(2_550)  # no fee, once
    assert ledger.balance(CARD_FUNDING) == Money(-2_550)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Charge)) == 1
        transfer = session.scalars(select(Transfer).where(Transfer.kind == "topup")).one()
        assert transfer.idempotency_key == f"topup:{first.charge_id}"
        assert transfer.amount_cents == 2_550
    assert provider.charge_count() == 1
    assert ledger.verify() == []


def test_a_charge_made_before_a_crash_is_completed_not_repeated(
    session_factory, engine, sealer, provider
) -> None:
    alice = open_user(session_factory, ALICE, "alice")
    card = save_card(session_factory, sealer, provider, alice)
    with session_factory() as session:
        token = json.loads(sealer.open(session.get(Card, card).sealed))["token"]
    charged = provider.charge(token, Money(1_000), "form-9")  # then the process died
    result = do_top_up(session_factory, sealer, provider, alice, card, Money(1_000), "form-9")
    assert (result.charge_id, result.created, result.balance) == (charged.id, True, Money(1_000))
    assert provider.charge_count() == 1
    assert Ledger(engine).verify() == []


def test_a_declined_charge_is_recorded_and_credits_nothing(
    session_factory, engine, sealer, provider
) -> None:
    alice = open_user(session_factory, ALICE, "alice")
    card = save_card(session_factory, sealer, provider, alice, "4000 0000 0000 9995")
    result = do_top_up(session_factory, sealer, provider, alice, card, Money(5_000), "form-2")
    assert (result.status, result.decline_code, result.transfer_id, result.balance) == (
        "declined", "insufficient_funds", None, Money(0))
    with session_factory() as session:
        row = session.scalars(select(Charge)).one()
        assert (row.status, row.decline_code, row.transfer_id) == (
            "declined", "insufficient_funds", None)
    assert Ledger(engine).balance(CARD_FUNDING) == Money(0)
    assert Ledger(engine).verify() == []


@pytest.mark.parametrize(
    ("amount", "code"),
    [(Money(0), "amount_too_small"), (Money(100_001), "amount_too_large")],
)
def test_amount_limits_are_refused_before_any_charge(
    session_factory, sealer, provider, amount: Money, code: str
) -> None:
    alice = open_user(session_factory, ALICE, "alice")
    card = save_card(session_factory, sealer, provider, alice)
    with pytest.raises(TopUpRefused) as refused:
        do_top_up(session_factory, sealer, provider, alice, card, amount, "form-3")
    assert refused.value.code == code
    assert provider.charge_count() == 0


def test_the_maximum_is_allowed_and_comes_from_the_settings(session_factory, sealer,
                                                            provider) -> None:
    settings = load_settings()
    assert TopUpLimits.from_settings(settings) == TopUpLimits(Money(1), Money(100_000),
                                                            Money(150_000))
    alice = open_user(session_factory, ALICE, "alice")
    card = save_card(session_factory, sealer, provider, alice)
    result = do_top_up(session_factory, sealer, provider, alice, card, Money(100_000), "max")
    assert result.balance == Money(100_000)


def test_someone_elses_card_is_refused(session_factory, sealer, provider) -> None:
    alice = open_user(session_factory, ALICE, "alice")
    bob = open_user(session_factory, BOB, "bob")
    card = save_card(session_factory, sealer, provider, alice)
    with pytest.raises(TopUpRefused) as refused:
        do_top_up(session_factory, sealer, provider, bob, card, Money(500), "f", x_user_id=BOB)
    assert refused.value.code == "unknown_card"
    with pytest.raises(TopUpRefused) as mismatch:
        do_top_up(session_factory, sealer, provider, alice, card, Money(500), "f", x_user_id=BOB)
    assert mismatch.value.code == "unknown_user"
    assert provider.charge_count() == 0
