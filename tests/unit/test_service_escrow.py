"""bot.services.escrow and bot.services.expire without HTTP, on both engines: money for
someone without an account waits in escrow, is claimed at sign-up, reminded halfway and
refunded at the deadline; a payment left unconfirmed expires once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select

from bot.security import hash_token
from bot.services import escrow, expire, signup
from bot.services.confirm import Outcome
from handlers.money import Money
from storage.ledger import ESCROW
from storage.models import EscrowHold
from storage.signup import Joined
from storage.uow import UnitOfWork

try:
    from service_world import PIN, World, make_world
except ImportError:
    from tests.unit.service_world import PIN, World, make_world  # type: ignore[no-redef]

CAROL = 1003
PERIOD = dt.timedelta(days=14)


@pytest.fixture
def world(engine: Engine) -> World:
    w = make_world(engine)
    w.user("alice", 1001, balance=5_000)
    w.user("carol", CAROL, account=False)  # on X, not signed up
    return w


def _held(world: World, cents: int = 1_500) -> EscrowHold:
    world.handle("alice", f"@Smoney #envoyer {cents // 100}€ @carol")
    intent = world.intents()[-1]
    result = world.confirmations(claim_period=PERIOD).confirm(world.link_token(intent.id), PIN)
    assert result.outcome is Outcome.CONFIRMED and result.escrow_until == world.clock() + PERIOD
    with world.sessions() as session:
        return session.scalars(select(EscrowHold).where(EscrowHold.intent_id == intent.id)).one()


def _hold(world: World, hold_id: int) -> EscrowHold:
    with world.sessions() as session:
        hold = session.get(EscrowHold, hold_id)
        assert hold is not None
        return hold


def _notices(world: World, hold: EscrowHold) -> dict[str, int | None]:
    prefix = f"escrow:{hold.id}:"
    return {row.dedupe_key.removeprefix(prefix): row.recipient_x_user_id
            for row in world.outbox() if row.dedupe_key.startswith(prefix)}


def test_a_payment_to_someone_without_an_account_waits_in_escrow(world: World) -> None:
    hold = _held(world)
    assert hold.status == "held" and hold.amount_cents == 1_500
    assert hold.claim_deadline == world.clock() + PERIOD
    assert world.balance("alice") == Money(3_500) and world.balance(ESCROW) == Money(1_500)
    assert _notices(world, hold) == {}  # carol never wrote to the bot: no DM to her


def test_signing_up_claims_the_money_and_tells_both(world: World) -> None:
    hold = _held(world)
    world.clock.advance(days=3)
    with UnitOfWork(world.sessions, world.clock) as uow:
        token = signup.issue(uow.session, x_user_id=CAROL, handle="carol", lang="fr",
                             now=world.clock())
        uow.commit()
    with UnitOfWork(world.sessions, world.clock) as uow:
        joined = signup.complete(uow, world.sealer, token_hash=hash_token(token),
                                 pin_hash=world.pins.hash(PIN), lang="fr", now=world.clock())
        uow.commit()
    assert isinstance(joined, Joined)
    assert joined.claimed == Money(1_500) and joined.claimed_count == 1
    assert world.balance("carol") == Money(1_500) and world.balance(ESCROW) == Money(0)
    assert _hold(world, hold.id).status == "claimed"
    assert _notices(world, hold) == {"claimed:recipient": CAROL, "claimed:sender": 1001}
    # Later passes of the scheduler leave a claimed hold alone.
    world.clock.advance(days=30)
    assert escrow.process_due(world.sessions, world.sealer, world.clock, PERIOD) == (0, 0)
    assert world.balance("carol") == Money(1_500) and world.balance("alice") == Money(3_500)


def test_the_sender_is_reminded_once_halfway_then_refunded_at_the_deadline(
        world: World) -> None:
    hold = _held(world)
    world.clock.advance(days=6)
    assert escrow.process_due(world.sessions, world.sealer, world.clock, PERIOD) == (0, 0)
    world.clock.advance(days=1)  # half of the 14 days
    assert escrow.process_due(world.sessions, world.sealer, world.clock, PERIOD) == (1, 0)
    assert escrow.process_due(world.sessions, world.sealer, world.clock, PERIOD) == (0, 0)
    assert _notices(world, hold) == {"reminder": 1001}
    assert world.balance(ESCROW) == Money(1_500)
    world.clock.advance(days=7)  # the deadline
    assert escrow.process_due(world.sessions, world.sealer, world.clock, PERIOD) == (0, 1)
    assert escrow.process_due(world.sessions, world.sealer, world.clock, PERIOD) == (0, 0)
    assert _hold(world, hold.id).status == "refunded"
    assert world.balance("alice") == Money(5_000) and world.balance(ESCROW) == Money(0)
    assert _notices(world, hold) == {"reminder": 1001, "refunded": 1001}
    refund = next(row for row in world.outbox() if row.dedupe_key.endswith(":refunded"))
    assert "15" in refund.text and "@carol" in refund.text


def test_after_an_outage_a_hold_past_its_deadline_is_refunded_without_a_reminder(
        world: World) -> None:
    hold = _held(world)
    world.clock.advance(days=20)
    assert escrow.process_due(world.sessions, world.sealer, world.clock, PERIOD) == (0, 1)
    assert _notices(world, hold) == {"refunded": 1001}
    assert world.balance("alice") == Money(5_000)


# -- expiry ---------------------------------------------------------------------------------

def test_an_unconfirmed_payment_expires_once_and_its_author_is_told(world: World) -> None:
    world.user("bob", 1002)
    world.handle("alice", "@Smoney #envoyer 9€ @bob")
    intent = world.intents()[-1]
    token = world.link_token(intent.id)
    assert expire.expire_due(world.sessions, world.sealer, world.clock) == 0  # not yet
    world.clock.advance(seconds=world.settings.confirmation_ttl_seconds)
    before = len(world.outbox())
    assert expire.expire_due(world.sessions, world.sealer, world.clock) == 1
    assert expire.expire_due(world.sessions, world.sealer, world.clock) == 0
    assert world.intents()[-1].status == "expired"
    told = world.outbox()[before:]
    assert [row.recipient_x_user_id for row in told] == [1001]
    assert intent.reference in told[0].text
    late = world.confirmations().confirm(token, PIN)
    assert late.outcome is Outcome.REFUSED
    assert world.balance("alice") == Money(5_000) and world.balance("bob") == Money(0)
