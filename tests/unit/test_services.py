"""The services of bot/services with the fakes of their ports (tests/fakes.py): no HTTP, a
real SQLite file and PostgreSQL. The emulator tests drive the same services end to end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.gateway.values import XUser
from bot.outbox_sender import OutboxSender
from bot.payments import PaymentError
from bot.security import PinHasher, hash_token, new_token
from bot.services import login, signup, topup
from handlers.confirmation import PinPolicy
from handlers.money import Money
from handlers.outcomes import DirectMessage
from storage import accounts, outbox
from storage.db import make_session_factory
from storage.ledger import user_account_code
from storage.models import Charge, ConfirmationToken, Contact, OutboxMessage, User
from storage.sealing import Sealer
from storage.sessions import LoginRefusal, PinCheck
from storage.signup import Joined, SignupRefusal
from storage.uow import UnitOfWork

try:
    from tests.fakes import FakeClock, FakeGateway, FakePaymentProvider
except ImportError:  # tests/ itself on sys.path
    from fakes import FakeClock, FakeGateway, FakePaymentProvider  # type: ignore[no-redef]

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
ALICE, BOB, BOT = 1001, 1002, 1
VISA = "4242 4242 4242 4242"


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield make_session_factory(engine)  # SQLite file and PostgreSQL


@pytest.fixture
def sealer() -> Sealer:
    return Sealer([Fernet.generate_key().decode()])


def _user(sessions: sessionmaker[Session], x_user_id: int, handle: str, **kw: object) -> int:
    with UnitOfWork(sessions) as uow:
        user = accounts.open_user(uow, x_user_id=x_user_id, handle=handle, now=NOW, **kw)  # type: ignore[arg-type]
        uow.commit()
        return user.id


# -- top-up ------------------------------------------------------------------------------

def test_a_top_up_charges_once_per_key_and_credits_exactly(sessions, sealer) -> None:  # type: ignore[no-untyped-def]
    cards = FakePaymentProvider()
    alice = _user(sessions, ALICE, "alice")
    with UnitOfWork(sessions) as uow:
        card = topup.add_card(uow, sealer, cards, user_id=alice, number=VISA, exp_month=12,
                              exp_year=2030, cvc="123", now=NOW)
    for _ in range(2):  # a double-submitted form
        with UnitOfWork(sessions) as uow:
            result = topup.top_up(uow, sealer, cards, user_id=alice, x_user_id=ALICE,
                                  card_id=card.id, amount=Money(2_000), now=NOW,
                                  idempotency_key="form-1")
        assert result.status == "succeeded"
    with UnitOfWork(sessions) as uow:
        assert uow.ledger.balance(user_account_code(ALICE)) == Money(2_000)
    assert len(cards.charges()) == 1


def test_a_provider_outage_credits_nothing_and_frees_the_reservation(sessions, sealer) -> None:  # type: ignore[no-untyped-def]
    cards = FakePaymentProvider()
    alice = _user(sessions, ALICE, "alice")
    with UnitOfWork(sessions) as uow:
        card = topup.add_card(uow, sealer, cards, user_id=alice, number=VISA, exp_month=12,
                              exp_year=2030, cvc="123", now=NOW)
    cards.fail_next = True
    with pytest.raises(PaymentError), UnitOfWork(sessions) as uow:
        topup.top_up(uow, sealer, cards, user_id=alice, x_user_id=ALICE, card_id=card.id,
                     amount=Money(2_000), now=NOW, idempotency_key="form-2")
    with sessions() as session:
        assert session.scalars(select(Charge.status)).all() == ["failed"]
    with UnitOfWork(sessions) as uow:
        assert uow.ledger.balance(user_account_code(ALICE)) == Money(0)


def test_a_declined_card_is_recorded_and_credits_nothing(sessions, sealer) -> None:  # type: ignore[no-untyped-def]
    cards = FakePaymentProvider()
    alice = _user(sessions, ALICE, "alice")
    with UnitOfWork(sessions) as uow:
        card = topup.add_card(uow, sealer, cards, user_id=alice, number="4000 0000 0000 0002",
                              exp_month=12, exp_year=2030, cvc="123", now=NOW)
    with UnitOfWork(sessions) as uow:
        result = topup.top_up(uow, sealer, cards, user_id=alice, x_user_id=ALICE,
                              card_id=card.id, amount=Money(500), now=NOW,
                              idempotency_key="form-3")
    assert result.status == "declined" and result.decline_code == "generic_decline"
    with UnitOfWork(sessions) as uow:
        assert uow.ledger.balance(user_account_code(ALICE)) == Money(0)


# -- sign-up ---------------------------------------------------------------------------------

def test_a_sign_up_link_opens_one_account_once(sessions, sealer) -> None:  # type: ignore[no-untyped-def]
    with UnitOfWork(sessions) as uow:
        token = signup.issue(uow.session, x_user_id=BOB, handle="bob", lang="en", now=NOW)
        uow.commit()
    with UnitOfWork(sessions) as uow:
        joined = signup.complete(uow, sealer, token_hash=hash_token(token), pin_hash="h",
                                 lang="en", now=NOW)
        uow.commit()
    assert isinstance(joined, Joined) and joined.handle == "bob" and not joined.relinked
    with UnitOfWork(sessions) as uow:
        again = signup.complete(uow, sealer, token_hash=hash_token(token), pin_hash="h",
                                lang="en", now=NOW)
    assert again is SignupRefusal.USED
    with sessions() as session:
        assert session.scalars(select(User.status).where(User.x_user_id == BOB)).one() == "active"


# -- login and the PIN -----------------------------------------------------------------------

def _login_link(sessions: sessionmaker[Session], x_user_id: int) -> str:
    token, token_hash = new_token()
    with sessions.begin() as session:
        session.add(ConfirmationToken(token_hash=token_hash, purpose="login",
                                      x_user_id=x_user_id, created_at=NOW,
                                      expires_at=NOW + dt.timedelta(minutes=10)))
    return token


def test_a_login_link_opens_one_session(sessions) -> None:  # type: ignore[no-untyped-def]
    alice = _user(sessions, ALICE, "alice")
    token = _login_link(sessions, ALICE)
    with UnitOfWork(sessions) as uow:
        assert login.log_in(uow, token_hash=hash_token(token), session_hash="s1", now=NOW) == alice
        uow.commit()
    with UnitOfWork(sessions) as uow:
        assert login.log_in(uow, token_hash=hash_token(token), session_hash="s2",
                            now=NOW) is LoginRefusal.USED


def test_wrong_pins_lock_the_account_and_queue_one_alert(sessions, sealer) -> None:  # type: ignore[no-untyped-def]
    pins = PinHasher("test-pepper", time_cost=1, memory_kib=8)
    alice = _user(sessions, ALICE, "alice", pin_hash=pins.hash("246810"))
    policy = PinPolicy(max_failures_per_account=3)
    results = []
    for _ in range(3):
        with UnitOfWork(sessions) as uow:
            results.append(login.check_pin(uow, sealer, policy, pins, user_id=alice,
                                           pin="135790", checked=(None, False), now=NOW).check)
            uow.commit()
    assert results == [PinCheck.WRONG, PinCheck.WRONG, PinCheck.LOCKED]
    with sessions() as session:
        alerts = session.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient_x_user_id == ALICE)).all()
    assert len(alerts) == 1 and "2026-12-01 at" not in alerts[0].text  # French by default
    assert "01/12/2026 à 13:30" in alerts[0].text  # 12:30 UTC, in Paris


# -- the outbox, with the fake X ----------------------------------------------------------

def test_the_outbox_asks_consent_at_send_time(sessions, sealer) -> None:  # type: ignore[no-untyped-def]
    x = FakeGateway(XUser(BOT, "Smoney", "Smoney"))
    _user(sessions, ALICE, "alice")
    _user(sessions, BOB, "bob")
    with sessions.begin() as session:
        outbox.enqueue(session, sealer, [DirectMessage("t:1", ALICE, "pour alice"),
                                         DirectMessage("t:2", BOB, "pour bob")], NOW)
        bob = session.scalars(select(User).where(User.x_user_id == BOB)).one()
        bob.status = "unlinked"  # consent withdrawn after the row was queued
        session.merge(Contact(x_user_id=BOB, handle="bob", dm_opt_in=False, stopped=False,
                              updated_at=NOW))
    sender = OutboxSender(sessions, x, sealer, FakeClock(NOW))
    sender.run_once()
    assert x.dms == [(ALICE, "pour alice")]
    with sessions() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == "t:2")).one()
    assert row.status == "cancelled" and row.last_error.startswith("no DM consent: account")
