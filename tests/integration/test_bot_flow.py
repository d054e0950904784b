"""The bot end to end, on SQLite and PostgreSQL: the emulator over real HTTP, the real tweepy
gateway, the worker's jobs driven one tick at a time under a controllable clock, and the
confirmation page through Starlette's test client on the same database.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from bot.services.escrow import claim
from bot.worker import build_runtime
from handlers.money import Money
from storage.accounts import open_user
from storage.ledger import ESCROW, Ledger, user_account_code
from storage.models import EscrowHold, InboxEvent, OutboxMessage
from storage.uow import UnitOfWork

try:
    from tests.integration.bot_world import PIN, World, make_world
except ImportError:  # tests/ itself on sys.path (pytest's rootdir-less import mode)
    from integration.bot_world import PIN, World, make_world


@pytest.fixture
def world(engine: Engine, emulator: object) -> Iterator[World]:
    with make_world(engine, emulator) as built:
        yield built


def test_public_tweet_payment_end_to_end(world: World) -> None:
    tweet_id = world.tweet("alice", "@Smoney #envoyer 12,99€ @bob merci pour le resto")
    world.runtime.tick()
    posts = world.posts()
    (ack,) = posts["tweets"]
    assert ack["in_reply_to_user_id"] == str(world.users["alice"].x_user_id)
    assert "http" not in str(ack["text"]) and "@" not in str(ack["text"])
    status, page = world.confirm(world.link_for("alice"), PIN["alice"])
    assert status == 200 and "12,99" in page
    assert world.balance("alice") == Money(10_000 - 1299)
    assert world.balance("bob") == Money(5_000 + 1299)
    world.runtime.tick()
    (received,) = world.dms_to("bob")
    assert "12,99" in received and "@alice" in received
    posts = world.posts()
    # One reply per summons, nothing public after confirmation: a payment costs two DMs
    # (link, notice) and one post (the acknowledgement, in the payer's thread).
    assert (len(posts["dms"]), len(posts["tweets"])) == (2, 1)
    assert posts["tweets"][0]["referenced_tweets"] == [{"type": "replied_to", "id": tweet_id}]
    assert world.ledger.verify() == []


def test_dm_payment_writes_nothing_public(world: World) -> None:
    world.dm("alice", "#send €20 @bob rent")
    world.runtime.tick()
    status, _ = world.confirm(world.link_for("alice"), PIN["alice"])
    assert status == 200
    world.runtime.tick()
    posts = world.posts()
    assert posts["tweets"] == []
    assert len(posts["dms"]) == 2 and "20,00" in world.dms_to("bob")[0]  # in bob's language
    assert world.balance("bob") == Money(7_000)


def test_an_intent_expiring_after_its_author_unlinked_sends_nothing(world: World) -> None:
    """Consent is asked again when the outbox sends: the expiry notice was queued for an
    author who has unlinked (DM consent withdrawn) since, so it is not sent and says why."""
    from storage.models import Contact, User

    world.tweet("alice", "@Smoney #envoyer 5€ @bob")
    world.runtime.tick()
    dms_before = len(world.dms_to("alice"))
    with world.runtime.sessions.begin() as session:  # what unlinking does to consent
        alice = session.scalars(select(User).where(User.handle == "alice")).one()
        alice.status = "unlinked"
        contact = session.get(Contact, alice.x_user_id)
        if contact is not None:
            contact.dm_opt_in = False
    world.clock.advance(minutes=10, seconds=1)
    world.runtime.tick()
    (intent,) = world.intents()
    assert intent.status == "expired"
    assert len(world.dms_to("alice")) == dms_before  # nothing more was sent to her
    with world.runtime.sessions() as session:
        row = session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"intent:{intent.id}:expired")).one()
        assert row.status == "cancelled"
        assert row.last_error == "no DM consent: account unlinked: DM consent withdrawn"


def test_unconfirmed_request_expires_and_tells_the_initiator(world: World) -> None:
    world.tweet("alice", "@Smoney #envoyer 5€ @bob")
    world.runtime.tick()
    token = world.link_for("alice")
    world.clock.advance(minutes=10, seconds=1)
    world.runtime.tick()
    (intent,) = world.intents()
    assert intent.status == "expired"
    assert any("expir" in t for t in world.dms_to("alice"))
    status, _ = world.confirm(token, PIN["alice"])
    assert status == 410
    assert world.balance("alice") == Money(10_000)


def test_the_same_mention_delivered_twice_is_handled_once(world: World) -> None:
    world.tweet("alice", "@Smoney #envoyer 5€ @bob")
    world.runtime.tick()
    with world.runtime.sessions.begin() as session:  # forget the cursor: X sends it again
        from storage.models import Cursor

        session.query(Cursor).delete()
    world.runtime.tick()
    assert world.count(InboxEvent) == 1 and len(world.intents()) == 1
    assert len(world.posts()["tweets"]) == 1


def test_stranger_is_invited_publicly_without_link(world: World) -> None:
    world.tweet("carol", "@Smoney #envoyer 5€ @bob")
    world.runtime.tick()
    (reply,) = world.posts()["tweets"]
    assert "#inscription" in str(reply["text"]) and "http" not in str(reply["text"])
    assert world.posts()["dms"] == [] and world.intents() == []


def test_cap_exceeded_is_refused_with_the_cap(world: World) -> None:
    world.tweet("alice", "@Smoney #envoyer 250,01€ @bob")
    world.runtime.tick()
    (reply,) = world.posts()["tweets"]
    assert "250,00" in str(reply["text"]) and world.intents() == []


def test_x_failing_for_a_while_delays_but_loses_nothing(world: World) -> None:
    world.tweet("alice", "@Smoney #envoyer 5€ @bob")
    world.runtime.ingest.poll_mentions()
    world.runtime.processor.process_pending()
    world.emulator.state.add_fault("create_tweet", "500", count=2)  # type: ignore[attr-defined]
    # The 429 says "reset in 1 s" (X's clock): the gateway holds DMs back until then.
    world.emulator.state.add_fault("send_dm", "429", count=1, delay=1)  # type: ignore[attr-defined]
    for _ in range(8):
        world.runtime.send_outbox()
        world.clock.advance(minutes=16)
        time.sleep(0.25)
    posts = world.posts()
    assert len(posts["tweets"]) == 1 and len(posts["dms"]) == 1
    with world.runtime.sessions() as session:
        rows = list(session.scalars(select(OutboxMessage)))
    assert {r.status for r in rows} == {"sent"} and all(r.sealed_link is None for r in rows)


def test_worker_stopped_between_decision_and_send_resumes_without_doubling(
    world: World, emulator: object
) -> None:
    world.tweet("alice", "@Smoney #envoyer 5€ @bob")
    world.runtime.ingest.poll_mentions()
    world.runtime.processor.process_pending()  # decided and committed; nothing sent yet
    assert world.posts() == {"tweets": [], "dms": []}
    restarted = build_runtime(world.runtime.settings, base_url=emulator.base_url,  # type: ignore[attr-defined]
                              credentials=emulator.credentials,  # type: ignore[attr-defined]
                              clock=world.clock, engine=world.engine)
    restarted.tick()
    restarted.tick()
    posts = world.posts()
    assert len(posts["tweets"]) == 1 and len(posts["dms"]) == 1


def test_crash_after_x_accepted_a_dm_does_not_send_it_twice(world: World) -> None:
    """The narrowest window: X took the DM, then the worker died before recording it."""
    world.dm("alice", "#envoyer 5€ @bob")
    world.runtime.ingest.poll_dms()
    world.runtime.processor.process_pending()
    sender = world.runtime.sender
    claimed = sender._claim_one()  # claimed and committed as "sending", in doubt
    assert claimed is not None
    row_id = claimed.row_id
    with world.runtime.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        text = sender._text(row)
    dm_id = world.runtime.gateway.send_dm(world.users["alice"].x_user_id, text)  # ...crash
    world.clock.advance(minutes=3)  # past the claim's lease
    world.runtime.send_outbox()
    assert len(world.dms_to("alice")) == 1
    with world.runtime.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None and (row.status, row.remote_id, row.delivery_state) == (
            "sent", dm_id, "delivered")


def test_crash_after_x_accepted_a_reply_does_not_post_it_twice(world: World) -> None:
    world.tweet("carol", "@Smoney #envoyer 5€ @bob")  # a stranger: one public reply
    world.runtime.ingest.poll_mentions()
    world.runtime.processor.process_pending()
    sender = world.runtime.sender
    claimed = sender._claim_one()
    assert claimed is not None
    row_id = claimed.row_id
    with world.runtime.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        reply_id = world.runtime.gateway.reply(str(row.in_reply_to_tweet_id), row.text)
    world.clock.advance(minutes=3)
    world.runtime.send_outbox()
    assert len(world.posts()["tweets"]) == 1  # found among the bot's replies: not resent
    with world.runtime.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None and (row.status, row.remote_id) == ("sent", reply_id)


# -- escrow: a recipient without an account ----------------------------------------------------


def _pay_carol(world: World, text: str = "@Smoney #envoyer 5€ @carol merci") -> str:
    world.tweet("alice", text)
    world.runtime.tick()
    link_dm = [t for t in world.dms_to("alice") if "/c/" in t][-1]
    assert "#inscription" in link_dm  # how carol claims it, told to the sender only
    status, _ = world.confirm(world.link_for("alice"), PIN["alice"])
    assert status == 200
    world.runtime.tick()
    (intent,) = [i for i in world.intents() if i.payee_handle == "carol"]
    return intent.reference


def _carol_id(world: World) -> int:
    return int(world.emulator.state.find_user("carol").id)  # type: ignore[attr-defined]


def _held(world: World) -> list[EscrowHold]:
    with world.runtime.sessions() as session:
        return list(session.scalars(select(EscrowHold).order_by(EscrowHold.id)))


def test_money_for_a_newcomer_waits_in_escrow_until_they_sign_up(world: World) -> None:
    _pay_carol(world)
    assert world.balance("alice") == Money(9_500)
    assert world.ledger.balance(ESCROW) == Money(500)
    (hold,) = _held(world)
    assert hold.status == "held" and hold.recipient_x_user_id == _carol_id(world)
    assert all("@carol" not in str(t["text"]) for t in world.posts()["tweets"])
    assert world.dms_to(str(_carol_id(world))) == []  # she never wrote to the bot
    # carol writes to the bot: she gets a sign-up link by DM (her DMs are closed to strangers)
    world.dm("carol", "#inscription")
    world.runtime.tick()
    (signup,) = world.dms_to(str(_carol_id(world)))
    assert "/s/" in signup
    # the sign-up page's unit of work: open the account, claim what waits
    with UnitOfWork(world.runtime.sessions) as uow:
        open_user(uow, x_user_id=_carol_id(world), handle="carol", now=world.clock())
        claimed = claim(uow, world.runtime.sealer, _carol_id(world), world.clock())
        uow.commit()
    assert len(claimed) == 1
    world.runtime.tick()
    carol = Ledger(world.engine).balance(user_account_code(_carol_id(world)))
    assert carol == Money(500) and world.ledger.balance(ESCROW) == Money(0)
    assert _held(world)[0].status == "claimed"
    assert any("5,00" in t for t in world.dms_to(str(_carol_id(world)))[1:])
    assert any("carol" in t and "5,00" in t for t in world.dms_to("alice"))
    assert world.ledger.verify() == []


def test_unclaimed_escrow_is_reminded_halfway_then_refunded(world: World) -> None:
    _pay_carol(world)
    world.clock.advance(days=7, seconds=1)
    world.runtime.tick()
    assert _held(world)[0].reminded_at is not None
    assert any("Rappel" in t for t in world.dms_to("alice"))
    world.clock.advance(days=7)
    world.runtime.tick()
    assert _held(world)[0].status == "refunded"
    assert world.balance("alice") == Money(10_000)
    assert world.ledger.balance(ESCROW) == Money(0)
    assert any("de retour" in t for t in world.dms_to("alice"))
    world.clock.advance(days=30)
    world.runtime.tick()  # terminal: nothing moves twice
    assert world.balance("alice") == Money(10_000) and world.ledger.verify() == []


def test_sender_cancels_a_held_escrow_by_reference(world: World) -> None:
    reference = _pay_carol(world)
    world.dm("alice", "#annuler")  # a bare #annuler never takes back promised money
    world.runtime.tick()
    assert _held(world)[0].status == "held"
    world.dm("alice", f"#annuler {reference}")
    world.runtime.tick()
    assert _held(world)[0].status == "cancelled"
    assert world.balance("alice") == Money(10_000)
    assert world.ledger.balance(ESCROW) == Money(0) and world.ledger.verify() == []


def test_balance_and_history_by_dm_and_never_in_public(world: World) -> None:
    world.dm("alice", "#envoyer 2,50€ @bob")
    world.runtime.tick()
    world.confirm(world.link_for("alice"), PIN["alice"])
    world.dm("alice", "#solde")
    world.dm("alice", "#historique 3")
    world.tweet("alice", "@Smoney #solde")
    world.runtime.tick()
    texts = world.dms_to("alice")
    assert any("97,50" in t for t in texts)  # 100,00 € seeded, 2,50 € sent
    history = next(t for t in texts if "opérations" in t)
    assert "-2,50" in history and "100,00" in history
    # Each line names the other party, all in French (the seed top-up is not "card top-up").
    assert "à @bob" in history and "recharge par carte" in history
    assert "top-up" not in history
    (public,) = [t for t in world.posts()["tweets"]]
    assert "97" not in str(public["text"]) and "privé" in str(public["text"])


def test_money_for_an_unlinked_account_waits_in_escrow(world: World) -> None:
    with world.runtime.sessions.begin() as session:
        from storage.models import User

        bob = session.scalars(select(User).where(User.handle == "bob")).one()
        bob.status = "unlinked"
    world.dm("alice", "#envoyer 3€ @bob")
    world.runtime.tick()
    status, _ = world.confirm(world.link_for("alice"), PIN["alice"])
    assert status == 200
    (hold,) = _held(world)
    assert hold.status == "held" and hold.recipient_x_user_id == world.users["bob"].x_user_id
    assert world.balance("bob") == Money(5_000)  # the dormant wallet is not credited


def test_request_money_sends_the_payer_a_link_and_pays_the_requester(world: World) -> None:
    world.dm("alice", "#demander 7,50€ @bob pizza")
    world.runtime.tick()
    assert any("7,50" in t for t in world.dms_to("alice"))  # the requester's acknowledgement
    status, _ = world.confirm(world.link_for("bob"), PIN["bob"])
    assert status == 200
    world.runtime.tick()
    assert world.balance("bob") == Money(5_000 - 750)
    assert world.balance("alice") == Money(10_000 + 750)
    assert world.posts()["tweets"] == [] and world.ledger.verify() == []


def test_recording_an_event_twice_reports_it_new_once(world: World) -> None:
    from storage import inbox

    now = world.clock()
    with world.runtime.sessions.begin() as session:
        first = inbox.record(session, source="mention", event_id="42", author_id=1,
                             payload={"text": "x"}, now=now)
        again = inbox.record(session, source="mention", event_id="42", author_id=1,
                             payload={"text": "x"}, now=now)
    assert (first, again) == (True, False)


def test_an_unpaid_request_is_reported_to_the_requester(world: World) -> None:
    world.dm("alice", "#demander 4€ @bob")
    world.runtime.tick()
    token = world.link_for("bob")
    statuses = [world.confirm(token, "000111")[0] for _ in range(3)]
    assert 200 not in statuses  # three wrong codes: the request is cancelled
    world.runtime.tick()
    (notice,) = [t for t in world.dms_to("alice") if "pas été payée" in t]
    assert "@bob" in notice and "4,00" in notice and "code" not in notice
    world.dm("alice", "#demander 6€ @bob")
    world.runtime.tick()
    world.clock.advance(minutes=11)
    world.runtime.tick()
    assert any("expiré sans paiement" in t and "@bob" in t for t in world.dms_to("alice"))
    assert world.balance("alice") == Money(10_000) and world.balance("bob") == Money(5_000)
