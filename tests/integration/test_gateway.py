"""The gateway (real tweepy underneath) against the emulator: the port's contract, every
injected fault turned into its typed error, rate-limit budgets, the user cache.

The ``gateway`` fixture validates every answer it received against X's OpenAPI at teardown.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from bot.gateway import DmEvent, Mention, XUser, make_gateway
from config import load_settings
from handlers.errors import (
    AnswerLost,
    Forbidden,
    GatewayError,
    RateLimited,
    TimedOut,
    Transient,
)

ALICE, BOB, CAROL = 1790000000000000002, 1790000000000000003, 1790000000000000004


def test_me_and_user_lookups(gateway, emulator):
    assert gateway.me() == XUser(id=int(emulator.bot_id), username="Smoney", name="S-Money")
    assert gateway.user_by_handle("@Bob") == XUser(id=BOB, username="bob", name="Bob")
    assert gateway.user_by_id(ALICE) == XUser(id=ALICE, username="alice", name="Alice")
    assert gateway.user_by_handle("nobody") is None
    assert gateway.user_by_handle("not a handle") is None
    assert gateway.user_by_id("42") is None


def test_user_lookups_are_cached(gateway, emulator):
    assert gateway.user_by_handle("carol").id == CAROL
    emulator.control.fault("user_by_username", "503", count=5)
    emulator.control.fault("user_by_id", "503", count=5)
    assert gateway.user_by_handle("CAROL").id == CAROL  # no request made
    assert gateway.user_by_id(CAROL).username == "carol"


def test_user_cache_expires(emulator):
    gateway = make_gateway(
        load_settings(),
        base_url=emulator.base_url,
        credentials=emulator.credentials,
        user_cache_ttl=0.05,
    )
    assert gateway.user_by_handle("bob").id == BOB
    emulator.control.update_user("bob", username="robert")  # handles change and get reused
    time.sleep(0.1)
    assert gateway.user_by_handle("bob") is None
    assert gateway.user_by_id(BOB).username == "robert"


def test_mentions_all_pages_oldest_first_with_cursor(gateway, emulator):
    assert gateway.mentions(None).mentions == []
    assert gateway.mentions(None).newest_id is None
    ids = [emulator.control.tweet("alice", f"@Smoney #solde {n}")["id"] for n in range(130)]
    batch = gateway.mentions(None)
    assert [m.id for m in batch.mentions] == ids
    assert batch.newest_id == ids[-1]
    first = batch.mentions[0]
    assert isinstance(first, Mention)
    assert (first.author_id, first.author_handle) == (ALICE, "alice")
    assert first.entities["mentions"][0] == {
        "start": 0,
        "end": 7,
        "username": "Smoney",
        "id": emulator.bot_id,
    }
    assert first.conversation_id == first.id and first.in_reply_to_user_id is None
    assert first.created_at.tzinfo == dt.UTC
    newer = gateway.mentions(ids[127])
    assert [m.id for m in newer.mentions] == ids[128:]
    assert gateway.mentions(None, max_pages=1).mentions == [
        m for m in batch.mentions if int(m.id) >= int(ids[30])
    ]


def test_mentions_expose_retweets_quotes_and_replies(gateway, emulator):
    original = emulator.control.tweet("alice", "@Smoney #envoyer 5€ @bob")
    emulator.control.tweet("bob", retweet_of=original["id"])
    emulator.control.tweet("carol", "@Smoney ça marche ?", quote_of=original["id"])
    bot_reply = gateway.reply(original["id"], "@alice c'est noté")
    emulator.control.tweet("alice", "@Smoney merci", in_reply_to=bot_reply)
    by_author = {m.author_handle: m for m in gateway.mentions(None).mentions}
    assert by_author["bob"].is_retweet
    assert [r.type for r in by_author["carol"].referenced_tweets] == ["quoted"]
    assert by_author["alice"].in_reply_to_user_id is not None


def test_dm_events_until_a_seen_id_oldest_first_inbound_only(gateway, emulator):
    assert gateway.dm_events(None) == []
    first = emulator.control.dm("alice", "#solde")["id"]
    gateway.send_dm(ALICE, "Solde : 12,00 €")
    later = [emulator.control.dm("bob", f"#historique {n}")["id"] for n in range(120)]
    events = gateway.dm_events(first)
    assert [e.id for e in events] == later
    assert isinstance(events[0], DmEvent)
    assert (events[0].sender_id, events[0].sender_handle) == (BOB, "bob")
    assert events[0].dm_conversation_id == f"{emulator.bot_id}-{BOB}"
    everything = gateway.dm_events(None)
    assert [e.id for e in everything] == [first, *later]  # the bot's own DM is not inbound


def test_reply_post_and_send_dm_return_ids(gateway, emulator):
    mention = emulator.control.tweet("alice", "@Smoney #aide")
    reply_id = gateway.reply(mention["id"], "@alice voici l'aide")
    post_id = gateway.post("Bonjour")
    dm_id = gateway.send_dm(ALICE, "Votre lien")
    posts = emulator.control.bot_posts()
    assert [t["id"] for t in posts["tweets"]] == [reply_id, post_id]
    assert posts["tweets"][0]["in_reply_to_user_id"] == str(ALICE)
    assert [d["id"] for d in posts["dms"]] == [dm_id]


def test_refusals_are_forbidden(gateway, emulator):
    gateway.post("Bonjour")
    with pytest.raises(Forbidden, match="duplicate content"):
        gateway.post("Bonjour")
    with pytest.raises(Forbidden, match="cannot send messages"):
        gateway.send_dm(CAROL, "Votre lien")


def test_bad_request_and_bad_credentials_are_gateway_errors(gateway, emulator):
    with pytest.raises(GatewayError) as caught:
        gateway.reply("123", "hello")
    assert type(caught.value) is GatewayError
    settings = load_settings()
    creds = emulator.credentials
    forged = make_gateway(
        settings,
        base_url=emulator.base_url,
        credentials=type(creds)(**{**creds.as_dict(), "access_token_secret": "wrong"}),
    )
    with pytest.raises(GatewayError, match="401"):
        forged.me()


# -- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("429", RateLimited),
        ("500", Transient),
        ("503", Transient),
        ("malformed", AnswerLost),  # X may have acted: a write is in doubt
        ("reset", AnswerLost),
    ],
)
@pytest.mark.parametrize(
    ("endpoint", "call"),
    [
        ("mentions", lambda g: g.mentions(None)),
        ("dm_events", lambda g: g.dm_events(None)),
        ("create_tweet", lambda g: g.post("Bonjour")),
        ("send_dm", lambda g: g.send_dm(ALICE, "Bonjour")),
        ("user_by_username", lambda g: g.user_by_handle("bob")),
        ("user_by_id", lambda g: g.user_by_id(BOB)),
        ("users_me", lambda g: g.me()),
    ],
)
def test_each_fault_becomes_its_typed_error_then_recovers(
    gateway, emulator, kind, error, endpoint, call
):
    # A read whose connection is reset is retried once (idle keep-alive sockets get closed
    # by servers); two resets in a row are the fault. A post is never retried.
    reads = {"mentions", "dm_events", "user_by_username", "user_by_id", "users_me"}
    count = 2 if kind == "reset" and endpoint in reads else 1
    emulator.control.fault(endpoint, kind, count=count, delay=30)
    with pytest.raises(error) as caught:
        call(gateway)
    assert type(caught.value) is error
    if kind == "429":
        reset_at = caught.value.reset_at
        assert reset_at is not None and reset_at > dt.datetime.now(dt.UTC) + dt.timedelta(
            seconds=20
        )
        assert gateway.budget(endpoint).remaining == 0
        # the gateway now refuses by itself until the reset
        with pytest.raises(RateLimited):
            call(gateway)
        return
    call(gateway)  # the fault was used up: the next call goes through


@pytest.mark.parametrize(
    ("endpoint", "call"),
    [("mentions", lambda g: g.mentions(None)), ("users_me", lambda g: g.me())],
)
def test_one_reset_on_a_read_is_retried_transparently(gateway, emulator, endpoint, call):
    emulator.control.fault(endpoint, "reset", count=1)
    call(gateway)


def test_a_reset_post_is_not_retried(gateway, emulator):
    emulator.control.fault("send_dm", "reset", count=1)
    with pytest.raises(Transient):
        gateway.send_dm(ALICE, "Bonjour")
    assert [d for d in emulator.state.bot_posts()["dms"] if d.text == "Bonjour"] == []


def test_slow_server_times_out_instead_of_hanging(emulator):
    gateway = make_gateway(
        load_settings(),
        base_url=emulator.base_url,
        credentials=emulator.credentials,
        timeout=0.3,
    )
    emulator.control.fault("mentions", "slow", count=1, delay=1.5)
    started = time.monotonic()
    with pytest.raises(TimedOut):
        gateway.mentions(None)
    assert time.monotonic() - started < 1.2
    assert isinstance(TimedOut("x"), Transient)  # callers may retry it like any transient
    assert gateway.mentions(None).mentions == []


def test_slow_but_within_the_timeout_succeeds(gateway, emulator):
    emulator.control.fault("users_me", "slow", count=1, delay=0.2)
    assert gateway.me().username == "Smoney"


def test_fault_counts_and_wildcard(gateway, emulator):
    emulator.control.fault("*", "503", count=2)
    with pytest.raises(Transient):
        gateway.me()
    with pytest.raises(Transient):
        gateway.user_by_id(BOB)
    assert gateway.user_by_id(BOB).username == "bob"


# -- rate-limit budgets --------------------------------------------------------------------------


def test_budget_follows_the_headers_and_is_honoured_before_calling(gateway, emulator):
    assert gateway.budget("send_dm") is None
    emulator.control.rate_limit("send_dm", 2)
    gateway.send_dm(ALICE, "un")
    budget = gateway.budget("send_dm")
    assert (budget.remaining, budget.limit) == (1, 2)
    assert budget.reset_at > dt.datetime.now(dt.UTC)
    gateway.send_dm(ALICE, "deux")
    assert gateway.budget("send_dm").remaining == 0
    emulator.control.fault("send_dm", "500")  # would fire if a request were sent
    with pytest.raises(RateLimited) as caught:
        gateway.send_dm(ALICE, "trois")
    assert caught.value.reset_at == budget.reset_at
    assert len(emulator.control.bot_posts()["dms"]) == 2
    assert emulator.state.faults, "the gateway must not have called X"


def test_real_429_from_the_limit_carries_the_reset(gateway, emulator):
    emulator.control.rate_limit("dm_events", 1)
    other = make_gateway(
        load_settings(), base_url=emulator.base_url, credentials=emulator.credentials
    )
    other.dm_events(None)  # spends the bot's only call, unknown to ``gateway``
    with pytest.raises(RateLimited) as caught:
        gateway.dm_events(None)
    assert caught.value.reset_at is not None
    assert gateway.budget("dm_events").remaining == 0


def test_spent_budget_ends_at_the_reset_by_the_given_clock(emulator):
    gateway = make_gateway(
        load_settings(),
        base_url=emulator.base_url,
        credentials=emulator.credentials,
        clock=emulator.state.now,
    )
    emulator.control.rate_limit("create_tweet", 1)
    gateway.post("un")
    with pytest.raises(RateLimited):
        gateway.post("deux")
    emulator.control.advance_clock(901)
    assert gateway.post("deux")
