"""Entity extraction as X does it, the reconciliation with X's entities, and tweet length."""

from __future__ import annotations

import pytest

from handlers.commands import Recipient, SendMoney, UnresolvedRecipient
from handlers.entities import Entities, Hashtag, Mention, extract_entities
from handlers.errors import GrammarError
from handlers.grammar import Caps, parse
from handlers.money import Money
from handlers.text_length import fits_in_tweet, tweet_length


@pytest.mark.parametrize(("text", "mentions", "tags"), [
    ("@Smoney #envoyer 12€ @bob", [(0, 7, "Smoney"), (21, 25, "bob")], [(8, 16, "envoyer")]),
    ("＠bob ＃Don", [(0, 4, "bob")], [(5, 9, "Don")]),
    ("mail bob@example.com", [], []),
    ("RT @bob: hi", [(3, 7, "bob")], []),
    ("@bob/liste", [], []),
    ("@bobé", [], []),
    ("@" + "a" * 16, [], []),
    ("a#b #123 #é1 &#x", [], [(9, 12, "é1")]),
    ("😀 @bob #été", [(2, 6, "bob")], [(7, 11, "été")]),
    ("#a#b", [], []),
    ("https://example.com/#frag #ok", [], [(26, 29, "ok")]),
])
def test_extract_entities(text, mentions, tags) -> None:
    ents = extract_entities(text)
    assert [(m.start, m.end, m.username) for m in ents.mentions] == mentions
    assert [(h.start, h.end, h.tag) for h in ents.hashtags] == tags


def test_api_round_trip_and_ids() -> None:
    api = {"mentions": [{"start": 0, "end": 4, "username": "bob", "id": "2"}],
           "hashtags": [{"start": 5, "end": 9, "tag": "don"}]}
    ents = Entities.from_api(api)
    assert ents == Entities((Mention(0, 4, "bob", 2),), (Hashtag(5, 9, "don"),))
    assert ents.to_api() == api
    assert Entities.from_api(None) == Entities()
    assert Entities().to_api() == {}


def test_wrong_offsets_are_relocated_by_username() -> None:
    # X v2 escapes "&" as "&amp;" in text while offsets count it as one character.
    text = "R&amp;D @Smoney #envoyer 5€ @bob"
    api = {"mentions": [{"start": 4, "end": 11, "username": "Smoney", "id": "1"},
                        {"start": 24, "end": 28, "username": "bob", "id": "2"}],
           "hashtags": [{"start": 12, "end": 20, "tag": "envoyer"}]}
    assert parse(text, api, bot_user_id=1, author_id=3) == \
        SendMoney(Money(500), Recipient(2, "bob"), "R&amp;D", "fr")


def test_dm_event_without_ids_gives_unresolved_recipient() -> None:
    dm = {"id": "9", "event_type": "MessageCreate", "text": "#envoyer 5€ @bob",
          "mentions": [{"start": 12, "end": 16, "username": "bob"}]}
    result = parse(dm["text"], dm, bot_user_id=1, author_id=3, channel="dm")
    assert result == SendMoney(Money(500), UnresolvedRecipient("bob"), "", "fr")


def test_caps_are_configurable_and_named_in_the_reply() -> None:
    caps = Caps(person=Money(10_000), pro=Money(20_000), minimum=Money(100))
    # Above the person cap but within the Pro one: only the payee's kind can tell (decide).
    within = parse("#envoyer 101€ @bob", None, bot_user_id=1, author_id=3, caps=caps)
    assert isinstance(within, SendMoney) and within.amount == Money(10_100)
    over = parse("#envoyer 201€ @bob", None, bot_user_id=1, author_id=3, caps=caps)
    assert isinstance(over, GrammarError) and over.code == "above_cap"
    assert "200,00\u00a0€" in over.text
    under = parse("#send €0.50 @bob", None, bot_user_id=1, author_id=3, caps=caps)
    assert isinstance(under, GrammarError) and under.code == "below_minimum"
    assert "€1.00" in under.text


def test_error_is_a_value_with_code_lang_text() -> None:
    err = parse("@Smoney #solde", None, bot_user_id=1, author_id=3)
    assert isinstance(err, GrammarError)
    assert (err.code, err.lang) == ("dm_only", "fr")
    assert not any(ch.isdigit() for ch in err.text) and "€" not in err.text  # discloses nothing


@pytest.mark.parametrize(("text", "length"), [
    ("12,99 €", 8), ("a" * 280, 280), ("é" * 10, 10), ("日本語", 6),
    ("👨\u200d👩\u200d👧\u200d👦", 2), ("voir https://example.com/une/longue/adresse", 28),
    ("1\u202f234,56\u00a0€", 12),
])
def test_tweet_length_counts_like_x(text: str, length: int) -> None:
    assert tweet_length(text) == length


def test_fits_in_tweet_limits() -> None:
    assert fits_in_tweet("a" * 280)
    assert not fits_in_tweet("a" * 281)
    assert not fits_in_tweet("€" * 141)
    assert fits_in_tweet("€" * 140)
    assert not fits_in_tweet("")
