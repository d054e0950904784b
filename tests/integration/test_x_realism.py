"""The bot against X as it really behaves, on SQLite and PostgreSQL, over the emulator's HTTP:
escaped tweet text, one reply per summons, duplicate-content refusals, transient errors."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from handlers.outcomes import DirectMessage, PublicReply
from storage import outbox
from storage.models import InboxEvent, OutboxMessage, PaymentIntent
from storage.uow import UnitOfWork

try:
    from tests.integration.bot_world import PIN, World, make_world
except ImportError:  # tests/ itself on sys.path (pytest's rootdir-less import mode)
    from integration.bot_world import PIN, World, make_world


@pytest.fixture
def world(engine: Engine, emulator: object) -> Iterator[World]:
    with make_world(engine, emulator) as built:
        yield built


# -- 3. text as X sends it -------------------------------------------------------------------


def test_emulator_sends_tweet_text_escaped_with_offsets_on_it(world: World) -> None:
    world.tweet("alice", "@Smoney #envoyer 5€ @bob R&D <3 😀")
    batch = world.runtime.gateway.mentions(since_id=None)
    (tweet,) = batch.mentions
    assert tweet.text == "@Smoney #envoyer 5€ @bob R&amp;D &lt;3 😀"  # as X serves it
    spans = [tweet.text[m["start"]:m["end"]] for m in tweet.entities["mentions"]]
    assert spans == ["@Smoney", "@bob"]


def test_memo_mixing_escapes_and_emoji_is_kept_as_written(world: World) -> None:
    memo = "R&D <3 😀 a&b>c & co"
    world.tweet("alice", f"@Smoney #envoyer 5€ @bob {memo}")
    world.runtime.tick()
    (intent,) = world.intents()
    assert intent.memo == memo
    status, page = world.confirm(world.link_for("alice"), PIN["alice"])
    assert status == 200
    # The page shows it as written (escaped once by the template, never twice).
    assert "R&amp;D &lt;3 😀 a&amp;b&gt;c &amp; co" in page
    assert "&amp;amp;" not in page
    with world.runtime.sessions() as session:
        stored = session.scalars(select(PaymentIntent.memo)).one()
    assert stored == memo


# -- 1 and 2. one public reply per summons, each unique ---------------------------------------


def _rows(world: World) -> list[OutboxMessage]:
    with world.runtime.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_ten_people_in_a_row_ask_for_help_and_each_gets_a_reply(world: World) -> None:
    control = world.emulator.control  # type: ignore[attr-defined]
    asked = []
    for i in range(10):
        handle = f"curieux{i}"
        control.create_user(handle)
        asked.append(world.tweet(handle, "@Smoney #aide"))
    world.runtime.tick()
    replies = world.posts()["tweets"]
    parents = sorted(r["referenced_tweets"][0]["id"] for r in replies)
    assert parents == sorted(asked)  # one each, none lost to "duplicate content"
    assert len({r["text"] for r in replies}) == 10
    assert {r.status for r in _rows(world)} == {"sent"}


def test_a_duplicate_refusal_is_not_a_delivery_the_reply_is_reworded(world: World) -> None:
    tweet_id = world.tweet("alice", "@Smoney #aide")
    world.runtime.ingest.poll_mentions()
    world.runtime.processor.process_pending()
    (row,) = _rows(world)
    # Someone (an older post of the bot's) already said exactly this: X will refuse it.
    world.emulator.state.post_tweet(world.emulator.bot_id, row.text)  # type: ignore[attr-defined]
    for _ in range(3):
        world.runtime.send_outbox()
        world.clock.advance(minutes=1)
    (row,) = _rows(world)
    ours = [t for t in world.posts()["tweets"] if t.get("referenced_tweets")]
    assert [t["referenced_tweets"][0]["id"] for t in ours] == [tweet_id]
    assert (row.status, row.remote_id) == ("sent", ours[0]["id"])
    assert row.text.endswith(" (2)") and ours[0]["text"] == row.text.replace("&", "&amp;")


def test_a_duplicate_that_never_clears_fails_visibly(world: World) -> None:
    world.runtime.sender._max_attempts = 2  # type: ignore[attr-defined]
    world.tweet("alice", "@Smoney #aide")
    world.runtime.ingest.poll_mentions()
    world.runtime.processor.process_pending()
    (row,) = _rows(world)
    state = world.emulator.state  # type: ignore[attr-defined]
    state.post_tweet(world.emulator.bot_id, row.text)  # type: ignore[attr-defined]
    state.post_tweet(world.emulator.bot_id, row.text + " (2)")  # type: ignore[attr-defined]
    for _ in range(4):
        world.runtime.send_outbox()
        world.clock.advance(minutes=1)
    (row,) = _rows(world)
    assert row.status == "failed" and "duplicate" in (row.last_error or "")
    assert row.remote_id is None and row.sent_at is None


def test_a_public_payment_gets_one_reply_and_nothing_public_after_confirming(
        world: World) -> None:
    world.tweet("alice", "@Smoney #envoyer 3€ @bob R&D")
    world.runtime.tick()
    status, _ = world.confirm(world.link_for("alice"), PIN["alice"])
    assert status == 200
    for _ in range(3):
        world.runtime.tick()
        world.clock.advance(minutes=1)
    (reply,) = world.posts()["tweets"]
    assert "http" not in reply["text"]


def test_dms_closed_the_link_reply_replaces_the_acknowledgement(world: World) -> None:
    control = world.emulator.control  # type: ignore[attr-defined]
    control.update_user("bob", accepts_dms=False)  # bob never wrote to the bot by DM
    world.tweet("bob", "@Smoney #envoyer 2€ @alice")
    world.runtime.tick()
    (reply,) = world.posts()["tweets"]  # one, and it carries the link
    assert "/c/" in reply["text"]
    by_key = {r.dedupe_key.rsplit(":", 1)[1]: r for r in _rows(world)}
    assert by_key["link"].status == "sent" and by_key["link"].kind == "reply"
    assert by_key["reply"].status == "cancelled"


def test_never_a_reply_to_a_post_that_does_not_mention_the_bot(world: World) -> None:
    unrelated = world.tweet("alice", "il fait beau")
    with UnitOfWork(world.runtime.sessions) as uow:
        outbox.enqueue(uow.session, world.runtime.sealer,
                       [PublicReply("test:unrelated:reply", unrelated, "Bonjour")],
                       world.clock())
        uow.commit()
    world.runtime.send_outbox()
    (row,) = _rows(world)
    assert row.status == "cancelled" and "mention" in (row.last_error or "")
    assert world.posts()["tweets"] == []


# -- 5. one broken row does not stop the others -----------------------------------------------


def test_a_row_that_raises_is_marked_and_the_batch_goes_on(world: World) -> None:
    world.dm("alice", "#solde")
    world.dm("bob", "#solde")
    world.runtime.ingest.poll_dms()
    world.runtime.processor.process_pending()
    first, second = _rows(world)
    with world.runtime.sessions.begin() as session:
        row = session.get(OutboxMessage, first.id)
        assert row is not None
        row.sealed_link, row.text = "not a sealed link", row.text + " {link}"
    stats = world.runtime.sender.run_once()
    first, second = _rows(world)
    assert (second.status, stats.sent) == ("sent", 1)
    assert first.status == "pending" and first.attempts == 1 and "SealError" in (
        first.last_error or "")


# -- 5. transient errors never drop a command --------------------------------------------------


def _inbox(world: World) -> list[InboxEvent]:
    with world.runtime.sessions() as session:
        return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


def test_a_rate_limited_handle_lookup_waits_for_the_reset_then_pays(world: World) -> None:
    state = world.emulator.state  # type: ignore[attr-defined]
    state.add_fault("user_by_username", "429", count=1, delay=2)
    world.dm("alice", "#envoyer 5€ @carol")  # a DM: the handle is looked up on X
    world.runtime.poll_dms()
    (row,) = _inbox(world)
    assert row.status == "pending" and row.next_attempt_at is not None
    assert _rows(world) == []  # nothing decided, nothing said: not "unknown handle"
    world.runtime.processor.process_pending()  # before the reset: not even tried
    assert _inbox(world)[0].status == "pending"
    time.sleep(2.2)  # X's reset (its clock, in the 429's headers)
    # The worker's clock stands where the world was made; X's reset is real time from the
    # 429, which comes later (seconds later on a loaded CI host): move just past it.
    until = row.next_attempt_at
    until = until if until.tzinfo else until.replace(tzinfo=dt.UTC)
    world.clock.advance(seconds=(until - world.clock()).total_seconds() + 1)
    world.runtime.processor.process_pending()
    (row,) = _inbox(world)
    assert row.status == "done"
    (intent,) = world.intents()
    assert intent.payee_handle == "carol"


def test_x_failing_again_and_again_never_fails_the_command(world: World) -> None:
    state = world.emulator.state  # type: ignore[attr-defined]
    state.add_fault("user_by_username", "503", count=12)
    world.dm("alice", "#envoyer 5€ @carol")
    world.runtime.poll_dms()
    while state.faults:  # twelve 503s in a row, a minute apart
        assert _inbox(world)[0].status == "pending" and world.intents() == []
        world.clock.advance(minutes=1)
        world.runtime.processor.process_pending()
    world.clock.advance(minutes=1)
    world.runtime.processor.process_pending()
    assert _inbox(world)[0].status == "done" and len(world.intents()) == 1


def test_a_handle_that_does_not_exist_is_answered_unknown(world: World) -> None:
    world.dm("alice", "#envoyer 5€ @personne_ici")
    world.runtime.tick()
    (row,) = _inbox(world)
    assert row.status == "done" and world.intents() == []
    (reply,) = world.dms_to("alice")
    assert "compte X" in reply  # "we cannot find this X account"


# -- 7. a fair share of X's DM budget ---------------------------------------------------------


def test_one_stranger_cannot_make_alices_link_wait(world: World) -> None:
    for _ in range(16):
        world.dm("carol", "#inscription")
    world.runtime.poll_dms()
    world.tweet("alice", "@Smoney #envoyer 4€ @bob")
    world.runtime.poll_mentions()
    world.runtime.send_outbox()  # the budget's next slot
    assert any("/c/" in t for t in world.dms_to("alice"))  # her link went out
    (intent,) = world.intents()
    assert intent.status == "awaiting_confirmation" and intent.expires_at > world.clock()
    carol = world.dms_to(str(world.emulator.state.find_user("carol").id))  # type: ignore[attr-defined]
    limit = world.runtime.settings.dm_commands_per_hour
    assert len(carol) == limit + 1  # her links, then one notice, then nothing
    assert sum("/s/" in t for t in carol) == limit
    status, _ = world.confirm(world.link_for("alice"), PIN["alice"])
    assert status == 200


# -- 6. crash windows: the record agrees with X ------------------------------------------------


def _claim_link(world: World) -> tuple[int, str]:
    sender = world.runtime.sender
    claimed = sender._claim_one()  # type: ignore[attr-defined]
    assert claimed is not None
    with world.runtime.sessions() as session:
        row = session.get(OutboxMessage, claimed.row_id)
        assert row is not None and row.delivery_state == "in_doubt"
        return claimed.row_id, sender._text(row)  # type: ignore[attr-defined]


def _cancel_alices_intent(world: World) -> None:
    world.dm("alice", "#annuler")
    world.runtime.poll_dms()
    assert [i.status for i in world.intents()] == ["cancelled"]


@pytest.mark.parametrize("x_took_it", [True, False])
def test_a_link_whose_intent_was_cancelled_meanwhile_is_recorded_as_x_has_it(
        world: World, x_took_it: bool) -> None:
    world.dm("alice", "#envoyer 5€ @bob")
    world.runtime.poll_dms()
    row_id, text = _claim_link(world)
    if x_took_it:
        world.runtime.gateway.send_dm(world.users["alice"].x_user_id, text)
    # ...the worker dies here; meanwhile alice cancels.
    _cancel_alices_intent(world)
    world.clock.advance(minutes=3)
    world.runtime.send_outbox()
    with world.runtime.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        links = [t for t in world.dms_to("alice") if "/c/" in t]
        if x_took_it:
            assert (row.status, len(links)) == ("sent", 1)  # it was sent: the record says so
        else:
            assert (row.status, len(links)) == ("cancelled", 0)  # never sent, and never will


def test_a_second_identical_dm_is_not_taken_for_the_first(world: World) -> None:
    with UnitOfWork(world.runtime.sessions) as uow:
        outbox.enqueue(uow.session, world.runtime.sealer, [
            DirectMessage("t:one", world.users["alice"].x_user_id, "Même texte"),
            DirectMessage("t:two", world.users["alice"].x_user_id, "Même texte"),
        ], world.clock())
        uow.commit()
    world.runtime.sender.run_once(limit=1)  # the first goes out, recorded
    world.runtime.sender._claim_one()  # type: ignore[attr-defined]  # the second: then a crash
    world.clock.advance(minutes=3)  # past the lease
    world.runtime.send_outbox()
    first, second = _rows(world)
    # Same recipient, same text, in the window: but that DM on X is the first row's.
    assert world.dms_to("alice").count("Même texte") == 2
    assert first.status == second.status == "sent" and first.remote_id != second.remote_id


def test_a_timeout_is_a_crash_not_a_fresh_send(engine: Engine, emulator: object) -> None:
    with make_world(engine, emulator, x_timeout_seconds=1.0) as world:
        world.dm("alice", "#solde")
        world.runtime.poll_dms()
        state = world.emulator.state  # type: ignore[attr-defined]
        state.add_fault("send_dm", "slow", count=1, delay=2.0)  # X acts after we gave up
        world.runtime.send_outbox()
        (row,) = _rows(world)
        assert (row.status, row.delivery_state) == ("pending", "in_doubt")
        time.sleep(2.5)  # X has acted by now
        world.clock.advance(minutes=1)
        world.runtime.send_outbox()
        (row,) = _rows(world)
        assert row.status == "sent" and len(world.dms_to("alice")) == 1  # found, not resent
