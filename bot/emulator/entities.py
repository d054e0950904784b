"""Entity extraction as X does it: @mentions and #hashtags with code-point offsets.

X reports ``start`` (inclusive) and ``end`` (exclusive) in Unicode code points, which is what a
Python ``str`` index is; no UTF-16 arithmetic is needed. The rules follow twitter-text closely
enough for the bot: a mention is ``@`` + 1-15 of ``[A-Za-z0-9_]`` not preceded by a word
character or ``@``/``#``/``$``/``&``, and not followed by ``@`` or a further letter (too long or
an e-mail address). A hashtag is ``#`` + letters, digits, underscores with at least one
non-digit, not preceded by a word character or ``&``.

This is the emulator's own extraction (the bot's grammar must not be the thing under test).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_MENTION = re.compile(
    r"""
    (?<![A-Za-z0-9_!#$%&*@＠])   # not glued to a word, an e-mail or another sigil
    [@＠]
    (?P<name>[A-Za-z0-9_]{1,15})
    (?![A-Za-z0-9_@＠])          # a 16th character or a second @ voids the mention
    """,
    re.VERBOSE,
)
_HASHTAG = re.compile(
    r"""
    (?<![\w&])                   # not glued to a word or an HTML entity
    [#＃]
    (?P<tag>\w*[^\W\d]\w*)      # word characters, at least one that is not a digit
    """,
    re.VERBOSE,
)


def extract_entities(
    text: str, resolve: Callable[[str], str | None] | None = None
) -> dict[str, Any]:
    """Return X's ``entities`` object for ``text`` (empty lists are omitted, as X does).

    ``resolve`` maps a username to a user id; mentions of known users carry their ``id``.
    """
    entities: dict[str, Any] = {}
    mentions = []
    for match in _MENTION.finditer(text):
        name = match.group("name")
        mention: dict[str, Any] = {"start": match.start(), "end": match.end(), "username": name}
        user_id = resolve(name) if resolve else None
        if user_id is not None:
            mention["id"] = user_id
        mentions.append(mention)
    hashtags = [
        {"start": m.start(), "end": m.end(), "tag": m.group("tag")} for m in _HASHTAG.finditer(text)
    ]
    if hashtags:
        entities["hashtags"] = hashtags
    if mentions:
        entities["mentions"] = mentions
    return entities


def escape_text(text: str) -> str:
    """X HTML-escapes ``&``, ``<`` and ``>`` in a tweet's text (recorded bodies carry
    ``&amp;``); the entities' offsets are then computed on the escaped text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
