"""Mentions and hashtags of a post, with offsets, the way the X API v2 reports them.

A Tweet carries them in ``entities`` (``{"mentions": [...], "hashtags": [...]}``); a DM event
(``DmEvent`` in X's OpenAPI 2.166) carries ``mentions`` and ``hashtags`` at its top level. Offsets
are Unicode code points, ``start`` inclusive and ``end`` exclusive, which is exactly a Python
``str`` index. A mention's ``id`` is optional in the schema (a DM may have none): such a mention
stays unresolved and the caller looks the handle up.

``extract_entities(text)`` computes the same spans from the text alone, following twitter-text
(the library X uses), so that the emulator and the grammar agree with X:

- mention: ``@``/``＠`` + 1–20 of ``[A-Za-z0-9_]``; not preceded by ``[A-Za-z0-9_!#$%&*@＠]``
  (except after ``RT``/``RT:``); void if followed by ``@``, an accented Latin letter or ``://``;
  ``@user/list`` is a list, not a mention. Names longer than 15 (X's username limit) are
  dropped, since no account can own them.
- hashtag: ``#``/``＃`` + letters, marks, digits, ``_``, ZWNJ/ZWJ and a few script joiners, with
  at least one letter or mark; not preceded by such a character or ``&``; void if followed by
  ``#`` or ``://``, or when it sits inside a URL.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from twitter_text import extract_urls_with_indices
from twitter_text.regexp.latin_accent_chars import latin_accent_chars

AT_SIGNS = "@＠"
HASH_SIGNS = "#＃"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_BEFORE_MENTION_BANNED = _NAME_CHARS | frozenset("!#$%&*@＠")
_BEFORE_RT_BANNED = _NAME_CHARS | frozenset("+~.-")
_MAX_SCANNED_NAME = 20  # twitter-text reads up to 20 characters
MAX_USERNAME = 15  # X usernames: ^[A-Za-z0-9_]{1,15}$
_HASHTAG_EXTRA = frozenset(
    "_\u200c\u200d\ua67e\u05be\u05f3\u05f4\uff5e\u301c\u309b\u309c\u30a0\u30fb\u3003\u0f0b\u0f0c\u00b7"
)


def _latin_accent_set() -> frozenset[str]:
    chars: set[str] = set()
    pattern = latin_accent_chars.pattern.encode().decode("unicode_escape")
    i = 0
    while i < len(pattern):
        if i + 2 < len(pattern) and pattern[i + 1] == "-":
            chars.update(chr(c) for c in range(ord(pattern[i]), ord(pattern[i + 2]) + 1))
            i += 3
        else:
            chars.add(pattern[i])
            i += 1
    return frozenset(chars)


_LATIN_ACCENTS = _latin_accent_set()


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    username: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Hashtag:
    start: int
    end: int
    tag: str


@dataclass(frozen=True, slots=True)
class Entities:
    mentions: tuple[Mention, ...] = field(default=())
    hashtags: tuple[Hashtag, ...] = field(default=())

    @classmethod
    def from_api(cls, data: Mapping[str, Any] | None) -> Entities:
        """Read a Tweet's ``entities`` or a ``DmEvent``; malformed items are skipped, not fatal."""
        if not isinstance(data, Mapping):
            return cls()
        mentions = []
        for item in _items(data.get("mentions")):
            start, end, name = item.get("start"), item.get("end"), item.get("username")
            if not (_is_index(start) and _is_index(end) and isinstance(name, str)):
                continue
            raw_id = item.get("id")
            user_id = int(raw_id) if isinstance(raw_id, str | int) and str(raw_id).isdecimal() \
                and str(raw_id).isascii() and len(str(raw_id)) <= 19 else None
            mentions.append(Mention(start, end, name, user_id))
        hashtags = [
            Hashtag(item["start"], item["end"], item["tag"])
            for item in _items(data.get("hashtags"))
            if _is_index(item.get("start")) and _is_index(item.get("end"))
            and isinstance(item.get("tag"), str)
        ]
        return cls(tuple(mentions), tuple(hashtags))

    def to_api(self) -> dict[str, Any]:
        """The X API v2 form: ids as strings, empty arrays omitted (the schema has minItems 1)."""
        out: dict[str, Any] = {}
        if self.mentions:
            out["mentions"] = [
                {"start": m.start, "end": m.end, "username": m.username}
                | ({"id": str(m.id)} if m.id is not None else {})
                for m in self.mentions
            ]
        if self.hashtags:
            out["hashtags"] = [
                {"start": h.start, "end": h.end, "tag": h.tag} for h in self.hashtags
            ]
        return out


def _items(value: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, Mapping)]
    return []


def _is_index(value: Any) -> TypeGuard[int]:
    return type(value) is int and value >= 0


def extract_entities(text: str) -> Entities:
    """Mentions (without ids) and hashtags of ``text``, with X's code-point offsets."""
    return Entities(tuple(extract_mentions(text)), tuple(extract_hashtags(text)))


def extract_mentions(text: str) -> list[Mention]:
    found: list[Mention] = []
    if "@" not in text and "＠" not in text:
        return found
    n = len(text)
    i = 0
    while i < n:
        if text[i] not in AT_SIGNS or not _mention_may_start(text, i):
            i += 1
            continue
        j = i + 1
        while j < n and j - i - 1 < _MAX_SCANNED_NAME and text[j] in _NAME_CHARS:
            j += 1
        if j == i + 1:
            i += 1
            continue
        end = j
        if j + 1 < n and text[j] == "/" and text[j + 1].isascii() and text[j + 1].isalpha():
            # @user/list-slug is a list: skip the slug
            k = j + 1
            while k < n and k - j <= 25 and (text[k] in _NAME_CHARS or text[k] == "-"):
                k += 1
            i = k
            continue
        after = text[end:end + 3]
        if (after[:1] in AT_SIGNS and after) or after[:1] in _LATIN_ACCENTS or after == "://":
            i = end
            continue
        if end - i - 1 <= MAX_USERNAME:
            found.append(Mention(i, end, text[i + 1:end]))
        i = end
    return found


def _mention_may_start(text: str, i: int) -> bool:
    if i == 0 or text[i - 1] not in _BEFORE_MENTION_BANNED:
        return True
    # "RT@bob" and "RT:@bob" are mentions (old-style retweets)
    k = i - 1 if text[i - 1] != ":" else i - 2
    if k >= 1 and text[k - 1:k + 1].lower() == "rt":
        return k - 1 == 0 or text[k - 2] not in _BEFORE_RT_BANNED
    return False


def _hashtag_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LM" or unicodedata.category(ch) == "Nd" \
        or ch in _HASHTAG_EXTRA


def extract_hashtags(text: str) -> list[Hashtag]:
    found: list[Hashtag] = []
    if "#" not in text and "＃" not in text:
        return found
    n = len(text)
    i = 0
    while i < n:
        if text[i] not in HASH_SIGNS:
            i += 1
            continue
        before = text[i - 1] if i else ""
        if before and before not in "\ufe0e\ufe0f" and (_hashtag_char(before) or before == "&"):
            i += 1
            continue
        if i + 1 < n and text[i + 1] in "\ufe0f\u20e3":
            i += 1
            continue
        j = i + 1
        has_letter = False
        while j < n and _hashtag_char(text[j]):
            has_letter = has_letter or unicodedata.category(text[j])[0] in "LM"
            j += 1
        if not has_letter or (text[j:j + 1] in ("#", "＃") and j < n) or text[j:j + 3] == "://":
            i = max(j, i + 1)
            continue
        found.append(Hashtag(i, j, text[i + 1:j]))
        i = j
    if found and ("." in text):
        urls = [u["indices"] for u in extract_urls_with_indices(text)]
        found = [h for h in found if not any(a < h.end and h.start < b for a, b in urls)]
    return found
