"""The bot against X as it really behaves, on SQLite and PostgreSQL, over the emulator's HTTP:
escaped tweet text, one reply per summons, duplicate-content refusals, transient errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from storage.models import PaymentIntent

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
