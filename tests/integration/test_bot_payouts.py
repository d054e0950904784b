"""Money out through the bot, on SQLite and PostgreSQL: ``#retirer`` by DM answered with a
one-time link (never in public), the withdrawal confirmed on it and sent by the worker's job;
a withdrawal racing a payment that waits for its PIN; the wind-down refusing new payments and
requests while everyone can still withdraw, its reminders paced, its status."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from bot.services import bank_accounts, wind_down
from bot.services.payout_common import PinProof
from handlers.money import Money
from storage.models import OutboxMessage, PaymentIntent, Withdrawal

try:
    from tests.integration.bot_world import PIN, World, make_world
except ImportError:  # tests/ itself on sys.path (pytest's rootdir-less import mode)
    from integration.bot_world import PIN, World, make_world

WLINK = re.compile(r"https?://\S+/w/([A-Za-z0-9_\-]+)")


@pytest.fixture
def world(engine: Engine, emulator: object, tmp_path: Path) -> Iterator[World]:
    with make_world(engine, emulator, data_dir=tmp_path, payout_cooling_off_hours=0) as built:
        yield built


def add_iban(world: World, handle: str = "alice") -> None:
    deps = world.runtime.payout_deps()
    with world.runtime.sessions() as session:
        from storage.models import User

        user_id = session.scalar(select(User.id).where(
            User.x_user_id == world.users[handle].x_user_id))
    added = bank_accounts.add_bank_account(deps, user_id=user_id, iban="DE89370400440532013000",
                                           holder_name=handle.title(),
                                           proof=PinProof(PIN[handle]), lang="fr")
    assert added.account is not None


def confirm_withdrawal(world: World, handle: str, token: str) -> tuple[int, str]:
    page = world.web.get(f"/w/{token}")
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    fields.update(pin=PIN[handle], payee_ack="1")
    response = world.web.post(f"/w/{token}", data=fields, headers={"Origin": "http://testserver"})
    return response.status_code, response.text


def withdraw_link(world: World, handle: str) -> str:
    texts = [t for t in world.dms_to(handle) if WLINK.search(t)]
    assert texts, world.dms_to(handle)
    match = WLINK.search(texts[-1])
    assert match
    return match.group(1)


def test_retirer_by_dm_answers_with_a_link_and_the_worker_sends_it(world: World) -> None:
    world.dm("alice", "#retirer 30€")
    world.runtime.tick()
    assert "IBAN" in world.dms_to("alice")[-1]  # no bank account yet: how to add one
    add_iban(world)
    world.dm("alice", "#retirer 30€")
    world.tweet("alice", "@Smoney #retirer 30€")  # never in public: told to use a DM
    world.runtime.tick()
    (reply,) = world.posts()["tweets"]
    assert "http" not in str(reply["text"])
    token = withdraw_link(world, "alice")
    status, page = confirm_withdrawal(world, "alice", token)
    assert status == 200 and "Retrait confirmé" in page
    assert world.balance("alice") == Money(7_000)
    world.clock.advance(seconds=10)
    world.runtime.tick()
    with world.runtime.sessions() as session:
        assert session.scalars(select(Withdrawal.status)).all() == ["settled"]
    assert world.ledger.verify() == []


def test_a_withdrawal_during_a_pending_payment_never_overdraws(world: World) -> None:
    add_iban(world)
    world.tweet("alice", "@Smoney #envoyer 80€ @bob loyer")
    world.dm("alice", "#retirer tout")
    world.runtime.tick()
    status, _ = confirm_withdrawal(world, "alice", withdraw_link(world, "alice"))
    assert status == 200 and world.balance("alice") == Money(0)
    status, _ = world.confirm(world.link_for("alice"), PIN["alice"])
    assert status == 402  # the payment fails for insufficient funds; nothing overdrawn
    assert world.balance("alice") == Money(0) and world.balance("bob") == Money(5_000)
    assert [i.status for i in world.intents()] == ["failed"]
    assert world.ledger.verify() == []


def test_wind_down_refuses_new_payments_and_lets_everyone_withdraw(world: World) -> None:
    add_iban(world)
    assert wind_down.start(world.runtime.sessions, world.clock())
    world.tweet("alice", "@Smoney #envoyer 5€ @bob merci")
    world.dm("bob", "#demander 5€ @alice")
    world.dm("alice", "#don 5€ @ACF")
    world.dm("alice", "#retirer 10€")
    world.runtime.tick()
    with world.runtime.sessions() as session:
        assert session.scalars(select(PaymentIntent)).all() == []
    (reply,) = world.posts()["tweets"]
    assert "Le service ferme" in str(reply["text"])
    assert any("Le service ferme" in t for t in world.dms_to("bob"))
    status, _ = confirm_withdrawal(world, "alice", withdraw_link(world, "alice"))
    assert status == 200 and world.balance("alice") == Money(9_000)
    # Every holder with money is reminded once (alice and bob here), one an hour at most.
    with world.runtime.sessions() as session:
        reminders = session.scalars(select(OutboxMessage.recipient_x_user_id).where(
            OutboxMessage.dedupe_key.like("wind-down:%"))).all()
    assert len(reminders) == 2
    assert wind_down.notify_due(world.runtime.sessions, world.runtime.sealer, world.clock,
                                per_hour=20) == 0  # nobody twice
    state = wind_down.status(world.runtime.sessions)
    assert state.total == Money(9_000 + 5_000) and len(state.holders) == 2
    assert state.in_flight == Money(1_000)


def test_wind_down_reminders_are_paced(world: World) -> None:
    wind_down.start(world.runtime.sessions, world.clock())
    assert wind_down.notify_due(world.runtime.sessions, world.runtime.sealer, world.clock,
                                per_hour=1) == 1
    assert wind_down.notify_due(world.runtime.sessions, world.runtime.sealer, world.clock,
                                per_hour=1) == 0
    world.clock.advance(hours=1, seconds=1)
    assert wind_down.notify_due(world.runtime.sessions, world.runtime.sealer, world.clock,
                                per_hour=1) == 1


def test_wind_down_cli(world: World, database_url: str, tmp_path: Path) -> None:
    from bot.cli import main

    env = {"TWEETPAY_DATABASE_URL": database_url, "TWEETPAY_DATA_DIR": str(tmp_path),
           "TWEETPAY_LOG_FORMAT": "json"}
    off = CliRunner().invoke(main, ["wind-down", "status"], env=env)
    assert off.exit_code == 0 and "wind-down: off" in off.output
    on = CliRunner().invoke(main, ["wind-down", "start"], env=env)
    assert on.exit_code == 0 and "started" in on.output
    again = CliRunner().invoke(main, ["wind-down", "start"], env=env)
    assert "already" in again.output
    status = CliRunner().invoke(main, ["wind-down", "status"], env=env)
    assert "held in wallets: €150.00 by 2 holder(s)" in status.output
    assert "@alice" in status.output and "€100.00" in status.output


def test_escrow_still_refunds_on_schedule_during_the_wind_down(world: World) -> None:
    world.tweet("alice", "@Smoney #envoyer 25€ @carol")
    world.runtime.tick()
    assert world.confirm(world.link_for("alice"), PIN["alice"])[0] == 200
    assert world.balance("alice") == Money(7_500)
    wind_down.start(world.runtime.sessions, world.clock())
    assert wind_down.status(world.runtime.sessions).escrow == Money(2_500)
    world.clock.advance(days=world.runtime.settings.claim_period_days, seconds=1)
    world.runtime.tick()
    assert world.balance("alice") == Money(10_000)  # back, and withdrawable
    assert wind_down.status(world.runtime.sessions).escrow == Money(0)


def test_wind_down_pushes_to_app_holders_at_once_and_paces_only_dms(world: World) -> None:
    import datetime as dt

    from storage import devices
    from storage.models import User, WebSession

    with world.runtime.sessions.begin() as session:
        bob = session.scalar(select(User.id).where(User.handle == "bob"))
        device = WebSession(session_hash="b" * 64, user_id=bob, created_at=world.clock(),
                            expires_at=world.clock() + dt.timedelta(days=30))
        session.add(device)
        session.flush()
        devices.subscribe(session, world.runtime.sealer, session_id=device.id,
                          x_user_id=world.users["bob"].x_user_id,
                          subscription={"endpoint": "https://push.example/bob",
                                        "keys": {"p256dh": "x", "auth": "y"}},
                          now=world.clock())
    wind_down.start(world.runtime.sessions, world.clock())
    assert wind_down.notify_due(world.runtime.sessions, world.runtime.sealer, world.clock,
                                per_hour=1) == 2  # alice's DM (the hour's one) and bob's push
    with world.runtime.sessions() as session:
        kinds = dict(session.execute(select(OutboxMessage.recipient_x_user_id,
                                            OutboxMessage.kind).where(
            OutboxMessage.dedupe_key.like("wind-down:%"))).all())
    assert kinds == {world.users["alice"].x_user_id: "dm", world.users["bob"].x_user_id: "push"}
    assert wind_down.notify_due(world.runtime.sessions, world.runtime.sealer, world.clock,
                                per_hour=1) == 0
