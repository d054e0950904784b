"""bot.webhook: the CRC answer, the signature check and the v1.1 → inbox payload conversion.

The expected payloads are what the poller builds (``bot.ingest.mention_payload`` over the
gateway's ``Mention``, with X's entities as the emulator extracts them) for the same tweet.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest

from bot import ingest
from bot.emulator.entities import extract_entities
from bot.gateway import DmEvent, Mention, ReferencedTweet
from bot.webhook import (
    InboxItem,
    MalformedEvent,
    crc_response,
    dm_payload,
    inbox_items,
    sign,
    signature_ok,
    tweet_payload,
)

SECRET = "sandbox-consumer-secret"
BOT, ALICE, BOB = "1000", "2001", "2002"
HANDLES = {BOT: "Smoney", ALICE: "alice", BOB: "bob"}
IDS = {name.lower(): uid for uid, name in HANDLES.items()}
WHEN_MS = 1_700_000_000_123
WHEN = dt.datetime(2023, 11, 14, 22, 13, 20, 123_000, tzinfo=dt.UTC)


# -- authentication ---------------------------------------------------------------------------


def test_crc_response_is_the_base64_hmac_of_the_token() -> None:
    # Computed with openssl, not Python:
    # printf %s challenge | openssl dgst -sha256 -hmac secret -binary | base64
    assert crc_response("secret", "challenge") == {
        "response_token": "sha256=oeUF6Wxqoezggrue+wbIDxKRPSF6esKwizR2MHh9HaA="
    }


BODY = b'{"for_user_id":"1000","tweet_create_events":[]}'


def test_signature_of_the_body_is_accepted() -> None:
    assert signature_ok(SECRET, BODY, sign(SECRET, BODY))


@pytest.mark.parametrize(
    ("body", "header"),
    [
        pytest.param(BODY, sign("another-secret", BODY), id="wrong secret"),
        pytest.param(BODY + b" ", sign(SECRET, BODY), id="tampered body"),
        pytest.param(BODY, None, id="missing header"),
        pytest.param(BODY, "", id="empty header"),
        pytest.param(BODY, sign(SECRET, BODY)[len("sha256="):], id="no sha256= prefix"),
        pytest.param(BODY, "sha256=not base64!!", id="not base64"),
        pytest.param(BODY, "sha256=é" + sign(SECRET, BODY)[8:], id="not ascii"),
        pytest.param(BODY, "sha256=" + base64.b64encode(b"short").decode(), id="short digest"),
    ],
)
def test_signature_is_refused(body: bytes, header: str | None) -> None:
    assert not signature_ok(SECRET, body, header)


# -- the v1.1 shapes, built the way X builds them ---------------------------------------------


def v1_entities(text: str) -> dict[str, Any]:
    """X v1.1 ``entities`` for ``text``: ``indices`` and ``id_str`` (code-point offsets)."""
    v2 = extract_entities(text, lambda name: IDS.get(name.lower()))
    return {
        "hashtags": [{"text": h["tag"], "indices": [h["start"], h["end"]]}
                     for h in v2.get("hashtags", [])],
        "user_mentions": [
            {"screen_name": m["username"], "name": m["username"], "id": int(m["id"]),
             "id_str": m["id"], "indices": [m["start"], m["end"]]}
            for m in v2.get("mentions", []) if "id" in m
        ],
        "urls": [], "symbols": [],
    }


def v1_tweet(tweet_id: str, author: str, text: str, *, reply_to: tuple[str, str] | None = None,
             quote_of: str | None = None, **extra: Any) -> dict[str, Any]:
    tweet: dict[str, Any] = {
        "created_at": "Tue Nov 14 22:13:20 +0000 2023",
        "id": int(tweet_id), "id_str": tweet_id, "text": text, "truncated": False,
        "user": {"id": int(author), "id_str": author, "screen_name": HANDLES[author],
                 "name": HANDLES[author]},
        "entities": v1_entities(text),
        "in_reply_to_status_id_str": reply_to[0] if reply_to else None,
        "in_reply_to_user_id_str": reply_to[1] if reply_to else None,
        "is_quote_status": quote_of is not None,
        "timestamp_ms": str(WHEN_MS),
    }
    if quote_of:
        tweet["quoted_status_id_str"] = quote_of
        tweet["quoted_status"] = v1_tweet(quote_of, BOB, "@Smoney #envoyer 99€ @alice")
    tweet.update(extra)
    return tweet


def polled(tweet_id: str, author: str, text: str, *, conversation_id: str | None = None,
           reply_to: tuple[str, str] | None = None,
           quote_of: str | None = None) -> dict[str, Any]:
    """What the poller stores for the same tweet (the gateway's ``Mention``)."""
    refs = []
    if quote_of:
        refs.append(ReferencedTweet("quoted", quote_of))
    if reply_to:
        refs.append(ReferencedTweet("replied_to", reply_to[0]))
    return ingest.mention_payload(Mention(
        id=tweet_id, author_id=int(author), author_handle=HANDLES[author], text=text,
        entities=extract_entities(text, lambda name: IDS.get(name.lower())),
        conversation_id=conversation_id or tweet_id,
        in_reply_to_user_id=int(reply_to[1]) if reply_to else None,
        referenced_tweets=tuple(refs), created_at=WHEN,
    ))


def test_a_mention_becomes_the_pollers_payload() -> None:
    text = "@Smoney #envoyer 12,99€ @bob merci pour le resto"
    assert tweet_payload(v1_tweet("5001", ALICE, text), BOT) == polled("5001", ALICE, text)


def test_escaped_text_becomes_what_the_author_wrote_as_the_poller_does() -> None:
    sent = "@Smoney #envoyer 5€ @bob R&amp;D &lt;3 😀"  # X escapes &, <, > in tweet text
    payload = tweet_payload(v1_tweet("5001", ALICE, sent), BOT)
    assert payload == polled("5001", ALICE, sent)
    assert payload is not None and payload["text"] == "@Smoney #envoyer 5€ @bob R&D <3 😀"
    bob = payload["entities"]["mentions"][1]
    assert payload["text"][bob["start"]:bob["end"]] == "@bob"


def test_hand_written_v1_offsets_are_kept() -> None:
    """Code points, not UTF-16: the € before @bob does not shift it (both X APIs agree)."""
    tweet = v1_tweet("5001", ALICE, "@Smoney #envoyer 5€ 🎉 @bob")
    tweet["entities"] = {
        "hashtags": [{"text": "envoyer", "indices": [8, 16]}],
        "user_mentions": [
            {"screen_name": "Smoney", "id_str": BOT, "indices": [0, 7]},
            {"screen_name": "bob", "id_str": BOB, "indices": [22, 26]},
        ],
    }
    payload = tweet_payload(tweet, BOT)
    assert payload is not None
    assert payload["entities"] == {
        "hashtags": [{"start": 8, "end": 16, "tag": "envoyer"}],
        "mentions": [{"start": 0, "end": 7, "username": "Smoney", "id": BOT},
                     {"start": 22, "end": 26, "username": "bob", "id": BOB}],
    }
    assert payload["text"][22:26] == "@bob"
    assert payload["created_at"] == "2023-11-14T22:13:20.123000+00:00"


def test_a_reply_keeps_its_leading_mentions() -> None:
    text = "@bob @Smoney #envoyer 5€ @bob"
    payload = tweet_payload(v1_tweet("5003", ALICE, text, reply_to=("5002", BOB)), BOT)
    expected = polled("5003", ALICE, text, conversation_id="5000", reply_to=("5002", BOB))
    # v1.1 does not name the conversation of a reply; nothing downstream reads it.
    assert payload is not None and payload.pop("conversation_id") is None
    expected.pop("conversation_id")
    assert payload == expected


def test_a_quote_uses_the_quoting_text_only() -> None:
    text = "@Smoney #envoyer 3€ @bob"
    payload = tweet_payload(v1_tweet("5004", ALICE, text, quote_of="4000"), BOT)
    assert payload == polled("5004", ALICE, text, quote_of="4000")


def test_a_quote_whose_own_text_does_not_mention_the_bot_is_skipped() -> None:
    assert tweet_payload(v1_tweet("5004", ALICE, "lol", quote_of="4000"), BOT) is None


def test_extended_tweet_full_text_and_its_entities_are_used() -> None:
    full = "@Smoney #envoyer 7€ @bob " + "x" * 240
    tweet = v1_tweet("5005", ALICE, full[:137] + "…", truncated=True,
                     extended_tweet={"full_text": full, "entities": v1_entities(full),
                                     "display_text_range": [0, len(full)]})
    tweet["entities"] = v1_entities(full[:137])
    assert tweet_payload(tweet, BOT) == polled("5005", ALICE, full)


def test_a_truncated_tweet_without_its_full_text_is_left_to_the_poller() -> None:
    assert tweet_payload(v1_tweet("5005", ALICE, "@Smoney #envoyer…", truncated=True),
                         BOT) is None


@pytest.mark.parametrize(
    "tweet",
    [
        pytest.param(v1_tweet("5006", ALICE, "RT @bob: @Smoney #envoyer 5€ @alice",
                              retweeted_status=v1_tweet("4001", BOB,
                                                        "@Smoney #envoyer 5€ @alice")),
                     id="retweet"),
        pytest.param(v1_tweet("5007", BOT, "@alice c'est fait"), id="the bot's own tweet"),
        pytest.param(v1_tweet("5008", ALICE, "#envoyer 5€ @bob"), id="no mention of the bot"),
    ],
)
def test_skipped_tweets(tweet: dict[str, Any]) -> None:
    assert tweet_payload(tweet, BOT) is None


# -- direct messages --------------------------------------------------------------------------


def v1_dm(event_id: str, sender: str, recipient: str, text: str) -> dict[str, Any]:
    return {
        "type": "message_create", "id": event_id, "created_timestamp": str(WHEN_MS),
        "message_create": {
            "target": {"recipient_id": recipient}, "sender_id": sender,
            "message_data": {"text": text, "entities": v1_entities(text)},
        },
    }


USERS = {uid: {"id": uid, "screen_name": name} for uid, name in HANDLES.items()}


def test_a_dm_becomes_the_pollers_payload() -> None:
    text = "#send €20 @bob rent"
    expected = ingest.dm_payload(DmEvent(
        id="6001", sender_id=int(ALICE), sender_handle="alice", text=text,
        dm_conversation_id=f"{BOT}-{ALICE}", created_at=WHEN,
    ))
    assert dm_payload(v1_dm("6001", ALICE, BOT, text), USERS, BOT) == expected


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(v1_dm("6002", BOT, ALICE, "Votre lien…"), id="sent by the bot"),
        pytest.param(v1_dm("6003", ALICE, BOB, "#send 1€ @bob"), id="not to the bot"),
        pytest.param({"type": "message_read", "id": "6004"}, id="not a message"),
    ],
)
def test_skipped_dms(event: dict[str, Any]) -> None:
    assert dm_payload(event, USERS, BOT) is None


# -- a whole delivery -------------------------------------------------------------------------


def test_inbox_items_of_a_delivery() -> None:
    body = {
        "for_user_id": BOT,
        "tweet_create_events": [v1_tweet("5001", ALICE, "@Smoney #solde"),
                                v1_tweet("5007", BOT, "@alice ok")],
        "direct_message_events": [v1_dm("6001", ALICE, BOT, "#solde")],
        "users": USERS,
    }
    items = inbox_items(body, int(BOT))
    assert [(i.source, i.event_id, i.author_id) for i in items] == [
        ("mention", "5001", int(ALICE)), ("dm", "6001", int(ALICE))]
    assert all(isinstance(i, InboxItem) for i in items)
    assert inbox_items(body, 999) == []  # a delivery for another account
    assert inbox_items({"for_user_id": BOT, "favorite_events": [{}]}) == []
    assert inbox_items({}) == []


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        {"for_user_id": BOT, "tweet_create_events": [{"id_str": "1"}]},
        {"for_user_id": BOT, "tweet_create_events": "nope"},
        {"for_user_id": BOT, "direct_message_events": [{"type": "message_create", "id": "1"}]},
    ],
)
def test_malformed_deliveries_raise(body: Any) -> None:
    with pytest.raises(MalformedEvent):
        inbox_items(body)
