"""A passkey confirmation moves the passkey's counter with the link's spending, once, on
either engine: with the rolling limits on (PostgreSQL: the counter's UPDATE rides in the
statement that spends the link and reads the payer's totals) and off; and an assertion of
another account's passkey, locked with nobody's rows, is a wrong code that moves nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.passkeys import RelyingParty
from bot.services.confirm import ConfirmationService, Outcome
from bot.services.passkeys import Passkeys
from handlers.binding import CHALLENGE_LABEL, intent_parts
from handlers.confirmation import PinPolicy
from handlers.money import Money
from storage.models import Passkey, PaymentIntent, User

try:
    from tests.integration.test_web_confirm import ALICE, BOB, World, make_world
    from tests.webauthn_device import SoftPasskey, b64
except ImportError:  # rootdir-less import mode
    from test_web_confirm import ALICE, BOB, World, make_world  # type: ignore
    from webauthn_device import SoftPasskey, b64  # type: ignore

BASE = "http://localhost:8000"
LIMITS = {"off": PinPolicy(), "on": PinPolicy(limit_24h=Money(50_000), limit_30d=Money(90_000))}


@pytest.fixture
def world(engine: Engine) -> Iterator[World]:
    yield from make_world(engine)


def _passkey_of(w: World, x_user_id: int, passkeys: Passkeys) -> tuple[int, SoftPasskey]:
    with w.sessions() as session:
        user_id = session.scalars(select(User.id).where(User.x_user_id == x_user_id)).one()
    device = SoftPasskey("localhost", BASE)
    passkeys.finish(user_id, device.create(passkeys.begin(user_id)), "Téléphone")
    return user_id, device


def _counters(sessions: sessionmaker[Session]) -> dict[int, tuple[int, bool]]:
    """Each account's passkey: its counter, and whether it was ever used."""
    with sessions() as session:
        return {k.user_id: (k.sign_count, k.last_used_at is not None)
                for k in session.scalars(select(Passkey))}


@pytest.mark.parametrize("limits", sorted(LIMITS))
def test_the_counter_moves_once_with_the_spending(world: World, limits: str) -> None:
    w = world
    passkeys = Passkeys(w.sessions, rp=RelyingParty(BASE, "Smoney"), sealer=w.sealer,
                        clock=w.clock)
    service = ConfirmationService(w.sessions, pin_hasher=w.hasher, sealer=w.sealer,
                                  policy=LIMITS[limits], clock=w.clock, passkeys=passkeys)
    (alice_id, alice), (bob_id, bob) = _passkey_of(w, ALICE, passkeys), _passkey_of(
        w, BOB, passkeys)
    start = _counters(w.sessions)
    assert start == {alice_id: (alice.count, False), bob_id: (bob.count, False)}

    token, intent_id = w.intent()
    with w.sessions() as session:
        intent = session.get(PaymentIntent, intent_id)
        assert intent is not None
        challenge = b64(w.sealer.mac_bytes(CHALLENGE_LABEL, *intent_parts(intent)))

    # bob's passkey over alice's payment: a wrong code; no counter moves, nothing is paid.
    refused = service.confirm_with_passkey(token, bob.get(challenge))
    assert refused.outcome is Outcome.WRONG_PIN
    assert _counters(w.sessions) == start

    assertion = alice.get(challenge)
    assert service.confirm_with_passkey(token, assertion).outcome is Outcome.CONFIRMED
    moved = _counters(w.sessions)
    assert moved == {alice_id: (alice.count, True), bob_id: start[bob_id]}
    assert alice.count > start[alice_id][0]
    # Replayed: the link is spent, and the counter stays where the one use put it.
    assert service.confirm_with_passkey(token, assertion).outcome is Outcome.REFUSED
    assert _counters(w.sessions) == moved
