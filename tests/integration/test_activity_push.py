"""The X Activity API end to end, on SQLite and PostgreSQL: the emulator pushes signed events
to the real web app (uvicorn on a free port), the worker's runtime handles the inbox with
polling off, and a delivery lost while the web process is down comes back by replay.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select

from bot.activity.recovery import PushWatch
from bot.activity.subscriptions import subscribe
from bot.web.app import create_app
from handlers.money import Money
from storage.models import InboxEvent, User, WebSession

try:
    from tests.integration.activity_world import LiveApp, free_port
    from tests.integration.bot_world import PIN, World, make_world
except ImportError:  # tests/ itself on sys.path (pytest's rootdir-less import mode)
    from integration.activity_world import LiveApp, free_port
    from integration.bot_world import PIN, World, make_world


@dataclass
class Push:
    world: World
    live: LiveApp
    url: str

    def settle(self) -> None:
        """Let the emulator finish pushing, then run the worker's jobs except polling."""
        assert self.world.emulator.state.activity.deliverer.wait_idle(10)  # type: ignore[attr-defined]
        runtime = self.world.runtime
        runtime.processor.process_pending()
        while runtime.send_outbox():
            pass

    def inbox(self) -> list[InboxEvent]:
        with self.world.runtime.sessions() as session:
            return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


@pytest.fixture
def push(engine: Engine, emulator: object) -> Iterator[Push]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/xaa"
    with make_world(engine, emulator, x_push=True, polling=False, x_webhook_url=url) as world:
        state = world.emulator.state  # type: ignore[attr-defined]
        state.activity.settings.retry_delays = [0.05, 0.1]  # X waits minutes; tests cannot
        state.activity.settings.timeout = 2.0
        bot_id = int(world.runtime.gateway.me().id)
        app = create_app(world.runtime.settings, world.runtime.sessions, clock=world.clock,
                         sealer=world.runtime.sealer, bot_user_id=bot_id)
        with LiveApp(app, port) as live:
            holders = [u.x_user_id for u in world.users.values()]
            subscribe(world.runtime.gateway, url=url, bot_user_id=bot_id,  # type: ignore[arg-type]
                      holders=holders)
            yield Push(world, live, url)


def test_a_mention_and_a_dm_reach_the_bot_by_push_and_payments_complete(push: Push) -> None:
    world = push.world
    world.tweet("alice", "@Smoney #envoyer 12,99€ @bob merci pour le resto")
    push.settle()
    status, _ = world.confirm(world.link_for("alice"), PIN["alice"])
    assert status == 200
    world.dm("alice", "#envoyer 3€ @bob")
    push.settle()
    links = [t for t in world.dms_to("alice") if "/c/" in t]
    assert len(links) == 2
    status, _ = world.confirm(world.link_for("alice"), PIN["alice"])
    assert status == 200
    push.settle()
    assert world.balance("bob") == Money(5_000 + 1299 + 300)
    assert [(e.source, e.status) for e in push.inbox()] == [("mention", "done"), ("dm", "done")]
    usage = world.emulator.control.usage()["operations"]  # type: ignore[attr-defined]
    # Polling was off: no mentions or DM reads, the events came by push.
    assert "owned_read" not in usage and "dm_read" not in usage
    assert usage["event.post.mention.create"]["billed"] == 1
    assert usage["event.dm.received"]["billed"] == 1
    assert world.ledger.verify() == []


def test_duplicate_deliveries_and_the_poller_make_one_inbox_row(push: Push) -> None:
    world = push.world
    world.emulator.state.activity.settings.duplicate_every = 1  # type: ignore[attr-defined]
    tweet = world.tweet("alice", "@Smoney #solde")
    push.settle()
    world.runtime.ingest.poll_mentions()  # the safety net brings the same post again
    rows = [e for e in push.inbox() if e.source == "mention"]
    assert [e.event_id for e in rows] == [tweet]
    attempts = world.emulator.control.activity()["attempts"]  # type: ignore[attr-defined]
    assert len([a for a in attempts if a["event_type"] == "post.mention.create"]) == 3


def test_a_delivery_lost_while_the_web_process_is_down_comes_back_by_replay(
        push: Push) -> None:
    world = push.world
    watch = PushWatch(world.runtime.sessions, world.runtime.gateway,  # type: ignore[arg-type]
                      world.runtime.settings, world.clock,
                      bot_user_id=int(world.runtime.gateway.me().id))
    assert watch.run() == "ok"
    push.live.stop()
    assert watch.run() == "down"
    tweet = world.tweet("alice", "@Smoney #envoyer 2€ @bob")
    push.settle()  # every retry fails: the web process is down
    assert [e for e in push.inbox() if e.event_id == tweet] == []
    push.live.start()
    assert watch.run() == "replayed"
    push.settle()
    assert [e.event_id for e in push.inbox() if e.source == "mention"] == [tweet]
    assert any("/c/" in t for t in world.dms_to("alice"))
    assert watch.run() == "ok"  # the mark is cleared: no second replay


def test_a_handle_change_updates_the_shown_handle_never_the_identity(push: Push) -> None:
    world = push.world
    alice = world.users["alice"].x_user_id
    world.emulator.control.update_user("alice", username="alice_pays")  # type: ignore[attr-defined]
    push.settle()
    with world.runtime.sessions() as session:
        user = session.scalars(select(User).where(User.x_user_id == alice)).one()
        assert user.handle == "alice_pays"
    # A late or replayed copy of an older change does not undo the newer one.
    world.emulator.control.update_user("alice_pays", username="alice")  # type: ignore[attr-defined]
    world.emulator.control.update_user("alice", username="alice3")  # type: ignore[attr-defined]
    push.settle()
    with world.runtime.sessions() as session:
        assert session.scalars(select(User.handle).where(User.x_user_id == alice)).one() \
            == "alice3"
    assert world.balance("alice") == Money(10_000)


def test_a_revoked_authorisation_closes_the_users_sessions(push: Push) -> None:
    from storage.sessions import open_session

    world = push.world
    alice = world.users["alice"].x_user_id
    with world.runtime.sessions.begin() as session:
        user_id = session.scalars(select(User.id).where(User.x_user_id == alice)).one()
        open_session(session, user_id=user_id, session_hash="a" * 64, now=world.clock())
    world.emulator.control.revoke("alice")  # type: ignore[attr-defined]
    push.settle()
    with world.runtime.sessions() as session:
        (web_session,) = session.scalars(select(WebSession)).all()
        assert web_session.revoked_at is not None
    assert [e.source for e in push.inbox()] == ["revoke"]


def test_an_x_chat_reaches_the_bot_by_push_and_the_payment_completes(push: Push) -> None:
    world = push.world
    world.emulator.control.chat("alice", "#envoyer 4€ @bob")  # type: ignore[attr-defined]
    push.settle()
    assert [(e.source, e.status) for e in push.inbox()] == [("chat", "done")]
    bot = world.emulator.bot_id  # type: ignore[attr-defined]
    said = [m["text"] for m in world.emulator.control.chats("alice")  # type: ignore[attr-defined]
            if m["sender_id"] == bot]
    assert len(said) == 1 and "/c/" in said[0]  # the link, encrypted in her conversation
    token = said[0].split("/c/")[1].split()[0].rstrip(".")
    status, _ = world.confirm(token, PIN["alice"])
    assert status == 200
    push.settle()
    assert world.balance("bob") == Money(5_400)
    usage = world.emulator.control.usage()["operations"]  # type: ignore[attr-defined]
    assert "event.chat.received" in usage
    with world.runtime.sessions() as session:
        (row,) = session.scalars(select(InboxEvent).where(InboxEvent.source == "chat"))
        assert "envoyer" not in row.payload
