"""Rolling limits on both engines: what counts as outgoing, the totals the processor loads
for a decision, and the authoritative check inside the confirmation transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bot.services.handle_event import EventService
from config import load_settings
from handlers.commands import Recipient, SendMoney
from handlers.decide import Event, decide
from handlers.money import Money
from storage import accounts
from storage.db import make_session_factory
from storage.ledger import CARD_FUNDING, ESCROW, Ledger, user_account_code
from storage.limits import DAY, MONTH, headroom, outgoing_since
from storage.models import ConfirmationToken, PaymentIntent
from storage.sealing import Sealer
from storage.uow import UnitOfWork

try:
    from tests.integration.test_web_confirm import ALICE, BOB, PIN, World, make_world
except ImportError:  # tests/ itself on sys.path
    from integration.test_web_confirm import (  # type: ignore[no-redef]
        ALICE,
        BOB,
        PIN,
        World,
        make_world,
    )

CAROL = 333


def _pay(ledger: Ledger, key: str, debit: str, credit: str, cents: int, kind: str) -> int:
    return ledger.post_transfer(idempotency_key=key, debit=debit, credit=credit,
                                amount=Money(cents), kind=kind).transfer_id


def test_outgoing_counts_payments_and_escrow_holds_only(engine: Engine) -> None:
    wall = dt.datetime.now(dt.UTC)  # the ledger stamps postings with the wall clock
    ledger = Ledger(engine)
    for x_id in (ALICE, BOB):
        ledger.open_account(user_account_code(x_id), "user")
    a, b = user_account_code(ALICE), user_account_code(BOB)
    _pay(ledger, "topup:1", CARD_FUNDING, a, 10_000, "topup")  # not outgoing
    _pay(ledger, "intent:1", a, b, 1_250, "payment")  # outgoing
    _pay(ledger, "intent:2", a, ESCROW, 700, "payment")  # escrow hold: outgoing
    _pay(ledger, "escrow:1:refund", ESCROW, a, 700, "refund")  # credit back: not outgoing
    received = _pay(ledger, "intent:3", b, a, 300, "payment")  # received: not outgoing
    ledger.reverse(received, idempotency_key="rev:3")  # a reversal debit: not a payment
    with engine.connect() as conn:
        assert outgoing_since(conn, ALICE, wall - DAY) == Money(1_950)
        assert outgoing_since(conn, BOB, wall - DAY) == Money(300)
        assert outgoing_since(conn, ALICE, wall + dt.timedelta(minutes=5)) == Money(0)
        assert outgoing_since(conn, CAROL, wall - MONTH) == Money(0)  # no account: nothing
        room = headroom(conn, ALICE, wall, limit_24h=Money(2_000), limit_30d=Money(5_000))
        assert (room.remaining, room.window, room.limit) == (Money(50), "24h", Money(2_000))
        room = headroom(conn, ALICE, wall, limit_24h=Money(2_000), limit_30d=Money(1_000))
        assert (room.remaining, room.window) == (Money(0), "30d")


def test_the_event_service_loads_the_authors_totals(engine: Engine) -> None:
    wall = dt.datetime.now(dt.UTC)  # the ledger stamps postings with the wall clock
    sessions = make_session_factory(engine)
    with UnitOfWork(sessions) as uow:
        for x_id, handle in ((ALICE, "alice"), (BOB, "bob")):
            accounts.open_user(uow, x_user_id=x_id, handle=handle, now=wall)
        accounts.top_up(uow, x_user_id=ALICE, amount=Money(9_000), charge_id="c1")
        uow.commit()
    _pay(Ledger(engine), "intent:9", user_account_code(ALICE), user_account_code(BOB), 4_000,
         "payment")
    settings = load_settings(limit_24h="50", limit_30d="100")
    service = EventService(sessions, Sealer([settings.data_keys[0].get_secret_value()]),
                           lambda: wall, settings)
    event = Event("dm", "e1", ALICE, "alice")
    command = SendMoney(Money(1_001), Recipient(BOB, "bob"), "", "en")
    with UnitOfWork(sessions) as uow:
        facts = service._facts(uow, event, command, wall)
    assert (facts.outgoing_24h, facts.outgoing_30d) == (Money(4_000), Money(4_000))
    assert (facts.policy.limit_24h, facts.policy.limit_30d) == (Money(5_000), Money(10_000))
    (dm,) = decide(command, event, facts).outgoing
    assert dm.text == (
        "24-hour limit of €50.00 reached: you can still send €10.00 today. Nothing was charged."
    )


@pytest.fixture
def limited(engine: Engine) -> Iterator[World]:
    yield from make_world(engine, limit_24h="20", limit_30d="30")


def test_confirmation_refuses_over_the_24h_limit_with_what_is_left(limited: World) -> None:
    world = limited
    token, _ = world.intent(1_500)
    assert world.post(token, PIN).status_code == 200
    token, intent_id = world.intent(600)
    response = world.post(token, PIN)
    assert response.status_code == 403
    assert (
        "Plafond de 20,00\u00a0€ sur 24 h atteint : 6,00\u00a0€ dépasserait ce plafond. Vous "
        "pouvez encore envoyer 5,00\u00a0€ aujourd’hui. Rien n’a été débité."
    ) in response.text
    intent = world.get(PaymentIntent, id=intent_id)
    assert (intent.status, intent.failure_reason, intent.transfer_id) == (
        "failed", "rolling_limit", None)
    assert world.get(ConfirmationToken, intent_id=intent_id).used_at is not None
    assert world.balance(ALICE) == 3_500 and world.balance(BOB) == 1_500
    token, intent_id = world.intent(500)  # exactly what is left
    assert world.post(token, PIN).status_code == 200
    assert world.get(PaymentIntent, id=intent_id).status == "confirmed"
    assert world.ledger.verify() == []


def test_confirmation_refuses_over_the_30d_limit_in_english(engine: Engine) -> None:
    for world in make_world(engine, limit_24h="20", limit_30d="10"):
        token, _ = world.intent(800)
        assert world.post(token, PIN).status_code == 200
        token, intent_id = world.intent(300, lang="en")
        response = world.post(token, PIN)
        assert response.status_code == 403
        assert (
            "30-day limit of €10.00 reached: €3.00 would go over it. You can still send €2.00 "
            "over the last 30 days. Nothing was charged."
        ) in response.text
        assert world.get(PaymentIntent, id=intent_id).failure_reason == "rolling_limit"
        assert world.balance(ALICE) == 4_200
