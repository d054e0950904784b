"""bot.services.handle_event, the wind-down, passkeys and the step-up, without HTTP, on both
engines: an inbound event is decided and written in the caller's unit of work."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from bot.passkeys import RelyingParty
from bot.services import wind_down
from bot.services.passkeys import Passkeys
from bot.services.step_up import StepUp
from handlers.confirmation import PinPolicy
from handlers.money import Money
from storage.models import ConfirmationToken, User
from storage.sessions import PinCheck

try:
    from service_world import PIN, WRONG_PIN, World, make_world
    from webauthn_device import SoftPasskey  # type: ignore[import-not-found]
except ImportError:
    from tests.unit.service_world import PIN, WRONG_PIN, World, make_world  # type: ignore[no-redef]
    from tests.webauthn_device import SoftPasskey  # type: ignore[no-redef]

ALICE, BOB = 1001, 1002


@pytest.fixture
def world(engine: Engine) -> World:
    w = make_world(engine)
    w.user("alice", ALICE, balance=5_000)
    w.user("bob", BOB, lang="en")
    return w


def test_a_payment_mention_makes_one_intent_a_public_reply_and_a_link_dm(world: World) -> None:
    decision = world.handle("alice", "@Smoney #envoyer 12€ @bob resto", event_id="77")
    assert decision.reason == "intent_send"
    [intent] = world.intents()
    assert (intent.status, intent.amount_cents, intent.payee_x_user_id, intent.memo) == (
        "awaiting_confirmation", 1_200, BOB, "resto")
    assert intent.source_event_id == "mention:77" and intent.tweet_id == "77"
    rows = {row.kind: row for row in world.outbox()}
    assert set(rows) == {"reply", "dm"}
    reply, link = rows["reply"], rows["dm"]
    assert reply.in_reply_to_tweet_id == "77" and "12,00" in reply.text
    assert "http" not in reply.text and "@bob" not in reply.text  # no link, no mention
    assert link.recipient_x_user_id == ALICE and link.intent_id == intent.id
    assert link.sealed_link and "{link}" in link.text  # the URL only sealed, until sending
    assert world.sealer.open(link.sealed_link).startswith("http://testserver/c/")
    assert world.count(ConfirmationToken) == 1
    assert world.balance("alice") == Money(5_000)  # nothing moves before the PIN


def test_an_unknown_command_gets_an_error_reply_and_writes_nothing_else(world: World) -> None:
    decision = world.handle("alice", "@Smoney bonjour", event_id="78")
    assert decision.reason == "no_command" and decision.new_intent is None
    [reply] = world.outbox()
    assert reply.kind == "reply" and reply.in_reply_to_tweet_id == "78"
    assert "#envoyer" in reply.text and "#aide" in reply.text
    assert world.intents() == [] and world.count(ConfirmationToken) == 0


def test_a_near_miss_hashtag_is_answered_with_the_command_meant(world: World) -> None:
    decision = world.handle("bob", "#sned 5€ @alice", source="dm")
    assert decision.reason == "did_you_mean"
    [reply] = world.outbox()
    assert reply.kind == "dm" and reply.recipient_x_user_id == BOB
    assert reply.text.startswith("Did you mean #send?")  # English, like the hashtag


def test_the_same_event_twice_queues_its_answer_once(world: World) -> None:
    # The inbox handles an event once; were it to pass one again, the outbox's dedupe keys
    # (the event's) keep the answer single.
    for _ in range(2):
        world.handle("alice", "@Smoney bonjour", event_id="79")
    assert [row.dedupe_key for row in world.outbox()] == ["mention:79:reply"]


def test_the_same_payment_event_twice_cannot_make_a_second_intent(world: World) -> None:
    world.handle("alice", "@Smoney #envoyer 12€ @bob", event_id="80")
    rows = len(world.outbox())
    with pytest.raises(IntegrityError):  # one intent per event: the database says so
        world.handle("alice", "@Smoney #envoyer 12€ @bob", event_id="80")
    assert len(world.intents()) == 1 and len(world.outbox()) == rows  # all rolled back
    assert world.count(ConfirmationToken) == 1


def test_a_balance_asked_by_dm_is_answered_by_dm(world: World) -> None:
    world.handle("alice", "#solde", source="dm")
    [row] = world.outbox()
    assert row.kind == "dm" and row.recipient_x_user_id == ALICE and "50,00" in row.text


def test_cancel_by_dm_cancels_the_pending_payment_and_says_which(world: World) -> None:
    world.handle("alice", "@Smoney #envoyer 12€ @bob")
    [intent] = world.intents()
    world.handle("alice", "#annuler", source="dm")
    assert world.intents()[0].status == "cancelled"
    answer = world.outbox()[-1]
    assert answer.recipient_x_user_id == ALICE
    assert "12,00" in answer.text and "@bob" in answer.text and intent.reference in answer.text


# -- the wind-down ----------------------------------------------------------------------------

def test_the_wind_down_refuses_new_payments_and_tells_each_holder_once(world: World) -> None:
    assert wind_down.start(world.sessions, world.clock()) is True
    assert wind_down.start(world.sessions, world.clock()) is False  # already started
    decision = world.handle("alice", "@Smoney #envoyer 12€ @bob")
    assert decision.reason == "wind_down" and world.intents() == []
    state = wind_down.status(world.sessions)
    assert [h.x_user_id for h in state.holders] == [ALICE]
    assert state.total == Money(5_000)
    assert wind_down.notify_due(world.sessions, world.sealer, world.clock, per_hour=10) == 1
    assert wind_down.notify_due(world.sessions, world.sealer, world.clock, per_hour=10) == 0
    notices = [row for row in world.outbox() if row.dedupe_key.startswith(
        wind_down.NOTICE_PREFIX)]
    assert [row.recipient_x_user_id for row in notices] == [ALICE]
    assert "50,00" in notices[0].text


# -- passkeys on the account page -------------------------------------------------------------

def test_a_passkey_is_registered_listed_and_removed_only_by_its_owner(world: World) -> None:
    passkeys = Passkeys(world.sessions, rp=RelyingParty("http://localhost:8000", "Smoney"),
                        sealer=world.sealer, clock=world.clock)
    alice_id, bob_id = (_user_id(world, x) for x in (ALICE, BOB))
    device = SoftPasskey("localhost", "http://localhost:8000")
    passkey_id = passkeys.finish(alice_id, device.create(passkeys.begin(alice_id)), "Téléphone")
    assert [(p.id, p.name) for p in passkeys.listed(alice_id)] == [(passkey_id, "Téléphone")]
    assert passkeys.listed(bob_id) == []
    assert passkeys.remove(bob_id, passkey_id) is False
    assert passkeys.remove(alice_id, passkey_id) is True
    assert passkeys.listed(alice_id) == []


def _user_id(world: World, x_user_id: int) -> int:
    with world.sessions() as session:
        return session.scalars(select(User.id).where(User.x_user_id == x_user_id)).one()



def test_step_up_pins_count_with_the_payment_pins_and_a_lock_stops_them(world: World) -> None:
    step_up = StepUp(world.sessions, pins=world.pins, sealer=world.sealer, policy=PinPolicy(),
                     passkeys=None, clock=world.clock)
    alice_id = _user_id(world, ALICE)
    assert step_up.options(alice_id, "topup") is None  # no passkeys: the PIN it is
    assert step_up.check(alice_id, "topup", pin=PIN).check is PinCheck.OK
    with pytest.raises(ValueError):
        step_up.check(alice_id, "no_such_action", pin=PIN)
    world.handle("alice", "@Smoney #envoyer 3€ @bob")
    token = world.link_token(world.intents()[-1].id)
    assert world.confirmations().confirm(token, WRONG_PIN).attempts_left == 2  # 1 of 5 spent
    left = [step_up.check(alice_id, "add_card", pin=WRONG_PIN) for _ in range(4)]
    assert [r.check for r in left] == [PinCheck.WRONG] * 3 + [PinCheck.LOCKED]
    assert [r.attempts_left for r in left[:3]] == [3, 2, 1]
    locked = step_up.check(alice_id, "add_card", pin=PIN)  # the right PIN, too late
    assert locked.check is PinCheck.LOCKED and locked.locked_until == world.clock() + (
        PinPolicy().lockout)
    alerts = [row for row in world.outbox() if row.dedupe_key.startswith("lockout:")]
    assert [row.recipient_x_user_id for row in alerts] == [ALICE]
