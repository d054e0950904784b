"""Reading back what the bot sent (the outbox's crash and timeout recovery), over the emulator
(answers validated against X's OpenAPI by the ``gateway`` fixture), and X's summons rule."""

from __future__ import annotations

import pytest

from handlers.errors import Forbidden, RateLimited

ALICE, BOB = 1790000000000000002, 1790000000000000003


def test_sent_dms_come_from_the_one_conversation_newest_first(gateway, emulator):
    gateway.send_dm(ALICE, "un")
    gateway.send_dm(BOB, "pour bob")
    emulator.control.dm("alice", "réponse d'alice")
    gateway.send_dm(ALICE, "deux")
    sent = gateway.sent_dms(ALICE)
    assert [m.text for m in sent] == ["deux", "un"]  # alice's own message and bob's left out
    assert all(m.created_at is not None and m.id for m in sent)
    assert [m.text for m in gateway.sent_dms(BOB)] == ["pour bob"]


def test_a_busy_bot_still_finds_an_older_dm_in_the_conversation(gateway, emulator):
    gateway.send_dm(ALICE, "le lien")
    for i in range(120):  # more than one page of the bot's DM events overall
        emulator.state.send_dm(emulator.bot_id, str(BOB), f"bob {i}")
    assert [m.text for m in gateway.sent_dms(ALICE)] == ["le lien"]


def test_conversation_lookups_have_their_own_15_per_15_minutes(gateway, emulator):
    for _ in range(15):
        gateway.sent_dms(ALICE)
    with pytest.raises(RateLimited):
        gateway.sent_dms(ALICE)


def test_sent_replies_name_their_parent(gateway, emulator):
    mention = emulator.control.tweet("alice", "@Smoney #aide")
    reply_id = gateway.reply(str(mention["id"]), "Voici l'aide")
    gateway.post("un post sans parent")
    (reply,) = gateway.sent_replies()
    assert (reply.id, reply.in_reply_to, reply.text) == (reply_id, str(mention["id"]),
                                                        "Voici l'aide")


def test_x_refuses_a_reply_to_a_post_that_does_not_summon_the_bot(gateway, emulator):
    unrelated = emulator.control.tweet("alice", "il fait beau #aide")
    with pytest.raises(Forbidden, match="not been mentioned"):
        gateway.reply(str(unrelated["id"]), "Voici l'aide")
    assert emulator.control.bot_posts()["tweets"] == []
