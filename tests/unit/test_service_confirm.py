"""bot.services.confirm without HTTP: a payment made by mention, confirmed (or not) with the
PIN through the service, on both engines."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from bot.security import PinHasher
from bot.services.confirm import ConfirmationService, Outcome
from handlers.confirmation import PinPolicy, Refusal
from handlers.money import Money
from storage.models import Transfer, User

try:
    from service_world import PIN, WRONG_PIN, World, make_world
except ImportError:
    from tests.unit.service_world import PIN, WRONG_PIN, World, make_world  # type: ignore[no-redef]


@pytest.fixture
def world(engine: Engine) -> World:
    w = make_world(engine)
    w.user("alice", 1001, balance=5_000)
    w.user("bob", 1002, lang="en")
    return w


def _pay(world: World, text: str = "@Smoney #envoyer 12€ @bob resto") -> tuple[int, str]:
    world.handle("alice", text)
    intent = world.intents()[-1]
    return intent.id, world.link_token(intent.id)


def test_the_right_pin_makes_one_transfer_and_queues_the_notices(world: World) -> None:
    intent_id, token = _pay(world)
    before = {row.dedupe_key for row in world.outbox()}
    service = world.confirmations()
    result = service.confirm(token, PIN)
    assert result.outcome is Outcome.CONFIRMED and result.facts is not None
    assert result.facts.amount == Money(1_200) and result.facts.payee_handle == "bob"
    assert world.balance("alice") == Money(3_800) and world.balance("bob") == Money(1_200)
    assert world.count(Transfer) == 2  # the seed top-up, then this payment
    intent = world.intents()[-1]
    assert intent.status == "confirmed" and intent.transfer_id == result.transfer_id
    new = [row for row in world.outbox() if row.dedupe_key not in before]
    to_bob = [row for row in new if row.recipient_x_user_id == 1002 and row.kind == "dm"]
    assert len(to_bob) == 1 and "12" in to_bob[0].text and "resto" in to_bob[0].text
    assert all(row.intent_id == intent_id for row in new if row.dedupe_key.startswith("intent"))
    # The link is spent: a second POST (a double click) moves nothing more.
    again = service.confirm(token, PIN)
    assert again.outcome is Outcome.REFUSED and again.refusal is not None
    assert again.refusal.reason is Refusal.USED
    assert world.balance("alice") == Money(3_800) and world.count(Transfer) == 2


def test_a_wrong_pin_moves_nothing_and_counts_towards_the_lock(world: World) -> None:
    _, token = _pay(world)
    service = world.confirmations()
    first = service.confirm(token, WRONG_PIN)
    assert first.outcome is Outcome.WRONG_PIN and first.attempts_left == 2
    assert world.balance("alice") == Money(5_000) and world.count(Transfer) == 1
    with world.sessions() as session:
        alice = session.scalars(select(User).where(User.x_user_id == 1001)).one()
    assert alice.failed_pin_attempts == 1 and world.intents()[-1].wrong_pin_attempts == 1
    # Three wrong codes on one payment cancel it; the right one comes too late.
    assert service.confirm(token, WRONG_PIN).outcome is Outcome.WRONG_PIN
    assert service.confirm(token, WRONG_PIN).outcome is Outcome.CANCELLED
    assert world.intents()[-1].status == "cancelled"
    assert service.confirm(token, PIN).outcome is Outcome.REFUSED
    assert world.balance("alice") == Money(5_000)


def test_five_wrong_pins_in_a_row_lock_the_account_with_one_alert(world: World) -> None:
    service = world.confirmations()
    outcomes = []
    for amount in (1, 2):  # the lock counts across payments
        _, token = _pay(world, f"@Smoney #envoyer {amount}€ @bob")
        outcomes += [service.confirm(token, WRONG_PIN).outcome for _ in range(3)]
    assert outcomes[:3] == [Outcome.WRONG_PIN, Outcome.WRONG_PIN, Outcome.CANCELLED]
    assert outcomes[3] is Outcome.WRONG_PIN and outcomes[4] is Outcome.LOCKED
    with world.sessions() as session:
        alice = session.scalars(select(User).where(User.x_user_id == 1001)).one()
    assert alice.locked_until is not None
    alerts = [row for row in world.outbox() if row.dedupe_key.startswith("lockout:")]
    assert len(alerts) == 1 and alerts[0].recipient_x_user_id == 1001


def test_an_expired_link_is_refused_without_counting_the_pin(world: World) -> None:
    _, token = _pay(world)
    world.clock.advance(seconds=world.settings.confirmation_ttl_seconds + 1)
    result = world.confirmations().confirm(token, WRONG_PIN)
    assert result.outcome is Outcome.REFUSED and result.refusal is not None
    assert result.refusal.reason is Refusal.EXPIRED
    with world.sessions() as session:
        alice = session.scalars(select(User).where(User.x_user_id == 1001)).one()
    assert alice.failed_pin_attempts == 0 and world.balance("alice") == Money(5_000)


def test_a_payment_beyond_the_balance_fails_and_spends_the_link(world: World) -> None:
    _, token = _pay(world, "@Smoney #envoyer 80€ @bob")
    result = world.confirmations().confirm(token, PIN)
    assert result.outcome is Outcome.FAILED and result.failure_reason == "insufficient_funds"
    assert world.intents()[-1].status == "failed"
    assert world.balance("alice") == Money(5_000) and world.balance("bob") == Money(0)
    assert world.confirmations().confirm(token, PIN).outcome is Outcome.REFUSED


def test_looking_at_a_link_changes_nothing(world: World) -> None:
    _, token = _pay(world)
    rows = len(world.outbox())
    view = world.confirmations().look(token)
    assert view.refusal is None and view.facts is not None
    assert view.facts.amount == Money(1_200)
    assert len(world.outbox()) == rows and world.intents()[-1].status == "awaiting_confirmation"


def test_a_token_that_is_not_the_link_confirms_nothing(world: World) -> None:
    _pay(world)
    result = world.confirmations().confirm("x" * 43, PIN)
    assert result.outcome is Outcome.REFUSED and result.facts is None
    assert result.refusal is not None and result.refusal.reason is Refusal.UNKNOWN
    assert world.balance("bob") == Money(0)
    assert world.intents()[-1].status == "awaiting_confirmation"


@given(attempts=st.lists(st.sampled_from([PIN, WRONG_PIN]), min_size=1, max_size=6),
       cents=st.integers(min_value=1, max_value=5_000))  # within the balance
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_whatever_the_pins_money_moves_once_or_not_at_all(world: World, attempts: list[str],
                                                          cents: int) -> None:
    # A fresh payer per example: locks and PIN counts never carry from one to the next.
    payer = f"p{len(world.ids)}"
    world.user(payer, 2_000 + len(world.ids), balance=5_000)
    world.handle(payer, f"@Smoney #envoyer {cents / 100:.2f}€ @bob".replace(".", ","))
    intent = world.intents()[-1]
    assert intent.amount_cents == cents and intent.payer_x_user_id == world.ids[payer]
    token, service = world.link_token(intent.id), world.confirmations()
    bob_before = world.balance("bob")
    outcomes = [service.confirm(token, pin).outcome for pin in attempts]
    confirmed = outcomes.count(Outcome.CONFIRMED)
    assert confirmed <= 1
    moved = Money(intent.amount_cents) if confirmed else Money(0)
    assert world.balance(payer) == Money(5_000) - moved
    assert world.balance("bob") == bob_before + moved
    # It confirms exactly when the right PIN comes before the third wrong one
    # (three wrong codes cancel the payment; five would lock, but three come first).
    first_right = attempts.index(PIN) if PIN in attempts else len(attempts)
    assert bool(confirmed) == (attempts[:first_right].count(WRONG_PIN) < 3 and PIN in attempts)
    status = world.intents()[-1].status
    assert status == ("confirmed" if confirmed else "cancelled"
                      if attempts.count(WRONG_PIN) >= 3 else "awaiting_confirmation")


class _SeeingHasher(PinHasher):
    """world's hasher (same pepper and cost), noting whether the gate had a permit free
    while each check ran."""

    def __init__(self, gate: Any) -> None:
        super().__init__("pepper", time_cost=1, memory_kib=8)
        self.gate, self.free_during_check = gate, []

    def verify(self, pin_hash: str, pin: str) -> bool:
        free = self.gate.acquire(timeout=0)
        if free:
            self.gate.release()
        self.free_during_check.append(free)
        return super().verify(pin_hash, pin)


def _gated(world: World, gate: Any, hasher: PinHasher, wait: float = 1.0) -> ConfirmationService:
    return ConfirmationService(world.sessions, pin_hasher=hasher, sealer=world.sealer,
                               policy=PinPolicy(), clock=world.clock, pin_gate=gate,
                               pin_gate_wait=wait)


def test_a_pin_check_holds_one_of_the_permits_the_web_workers_share(world: World) -> None:
    # What bot.web.server hands every web worker: one permit per core, here one.
    gate = multiprocessing.get_context("spawn").Semaphore(1)
    hasher = _SeeingHasher(gate)
    _, token = _pay(world)
    assert _gated(world, gate, hasher).confirm(token, PIN).outcome is Outcome.CONFIRMED
    assert hasher.free_during_check == [False]  # the only permit was the check's
    assert gate.acquire(timeout=0)  # and it was given back


def test_a_permit_lost_with_a_killed_worker_delays_the_check_but_never_blocks_it(
        world: World) -> None:
    gate = multiprocessing.get_context("spawn").Semaphore(1)
    assert gate.acquire(timeout=0)  # taken by a worker that was then SIGKILLed: never back
    hasher = _SeeingHasher(gate)
    _, token = _pay(world)
    with structlog.testing.capture_logs() as logs:
        result = _gated(world, gate, hasher, wait=0.05).confirm(token, PIN)
    assert result.outcome is Outcome.CONFIRMED and hasher.free_during_check == [False]
    assert world.balance("alice") == Money(3_800)
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["pin_gate_timeout"]
    assert not gate.acquire(timeout=0)  # nothing released that was not taken
