"""Tweet text as X sends it (HTML-escaped, offsets on the escaped text) back to what the author
wrote: the text and every entity's offsets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.emulator.entities import escape_text, extract_entities
from handlers.x_text import unescape_tweet


def test_ampersand_angle_brackets_and_emoji_come_back_as_written() -> None:
    written = "@Smoney #envoyer 5€ @bob R&D <3 😀 a&b>c &amp; &eacute;"
    sent = escape_text(written)
    assert sent == ("@Smoney #envoyer 5€ @bob R&amp;D &lt;3 😀 a&amp;b&gt;c &amp;amp; "
                    "&amp;eacute;")
    text, entities = unescape_tweet(sent, extract_entities(sent))
    assert text == written
    assert [text[m["start"]:m["end"]] for m in entities["mentions"]] == ["@Smoney", "@bob"]
    assert [text[h["start"]:h["end"]] for h in entities["hashtags"]] == ["#envoyer"]


def test_a_mention_after_escapes_moves_back_by_their_length() -> None:
    sent = escape_text("a&b <> 😀 @bob")
    (mention,) = extract_entities(sent)["mentions"]
    assert sent[mention["start"]:mention["end"]] == "@bob"
    _, moved = unescape_tweet(sent, {"mentions": [mention]})
    assert moved["mentions"][0]["start"] == mention["start"] - 4 - 3 - 3  # &amp; &lt; &gt;


pieces = st.lists(st.sampled_from(
    ["&", "<", ">", "😀", "é", " ", "R", "&amp;", "#envoyer", "@bob", "@Smoney", "#tag", "5€",
     "\u200d", "👨\u200d👩"]), max_size=30)


@given(pieces)
def test_round_trip_with_entities(parts: list[str]) -> None:
    written = "".join(parts)
    sent = escape_text(written)
    given_entities = extract_entities(sent)
    text, entities = unescape_tweet(sent, given_entities)
    assert text == written
    # Every entity X computed on the escaped text points at the same characters in ours.
    for kind in ("mentions", "hashtags"):
        for before, after in zip(given_entities.get(kind, []), entities.get(kind, []),
                                 strict=True):
            assert text[after["start"]:after["end"]] == unescape_tweet(
                sent[before["start"]:before["end"]], None)[0], (written, kind)
