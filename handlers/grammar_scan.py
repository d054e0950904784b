"""The pieces ``handlers.grammar`` reads a text with: the items of a command (mentions,
hashtags, amounts, words, in text order), X's entities reconciled with our own extraction,
and the small tests the grammar asks of a word. Pure functions of the text."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from handlers.amounts import AMOUNT, AmountReading, read_amount, unit_word
from handlers.entities import AT_SIGNS, HASH_SIGNS, Entities, Hashtag, Mention, extract_entities
from handlers.money import Lang

Kind = Literal[
    "send", "donate", "request", "balance", "history", "cancel", "help", "signup", "account",
    "stop", "withdraw",
]
COMMAND_TAGS: dict[str, tuple[Kind, Lang | None]] = {
    "envoyer": ("send", "fr"), "envoi": ("send", "fr"), "payer": ("send", "fr"),
    "send": ("send", "en"), "pay": ("send", "en"),
    "don": ("donate", "fr"), "donner": ("donate", "fr"), "donate": ("donate", "en"),
    "demander": ("request", "fr"), "request": ("request", "en"),
    "solde": ("balance", "fr"), "balance": ("balance", "en"),
    "historique": ("history", "fr"), "history": ("history", "en"),
    "annuler": ("cancel", "fr"), "cancel": ("cancel", "en"),
    "aide": ("help", "fr"), "help": ("help", "en"),
    "inscription": ("signup", "fr"), "signup": ("signup", "en"),
    "compte": ("account", "fr"), "account": ("account", "en"),
    "stop": ("stop", None),
    "retirer": ("withdraw", "fr"), "retrait": ("withdraw", "fr"), "withdraw": ("withdraw", "en"),
}
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_INVISIBLE = frozenset("\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063"
                       "\u2064\ufeff") | _BIDI_CONTROLS
_TRAILING_PUNCT = ".,;:!?)]}»\"'…"
_FR_WORDS = frozenset((
    "merci", "pour", "le", "la", "les", "de", "des", "du", "un", "une", "je", "tu", "et", "à",
    "au", "stp", "svp", "bonjour", "salut", "resto", "mon", "ma", "mes", "ton", "ta", "tes",
    "est", "pas", "avec", "chez", "demain", "hier", "cadeau", "anniversaire",
))
_EN_WORDS = frozenset((
    "thanks", "thank", "thx", "for", "the", "you", "and", "please", "pls", "my", "your", "hi",
    "hello", "to", "of", "lunch", "dinner", "gift", "birthday", "is", "with", "tomorrow",
    "yesterday",
))


@dataclass(frozen=True, slots=True)
class _Item:
    kind: Literal["mention", "hashtag", "amount", "word"]
    start: int
    end: int
    mention: Mention | None = None
    hashtag: Hashtag | None = None
    reading: AmountReading | None = None


def _fold(tag: str) -> str:
    """Case-, accent- and width-insensitive form of a hashtag."""
    decomposed = unicodedata.normalize("NFKD", tag)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _hidden_in_command_tag(text: str) -> Lang | Literal[""] | None:
    """``#env\u200boyer``: a command hashtag with invisible characters in or around it.

    Returns the tag's language ("" for ``#stop``) when there is one, else None.
    """
    if not any(ch in _INVISIBLE for ch in text):
        return None
    for token in text.split():
        cleaned = "".join(ch for ch in token if ch not in _INVISIBLE)
        tag = _fold(_strip_punct(cleaned[1:]))
        if cleaned != token and cleaned[:1] in HASH_SIGNS and tag in COMMAND_TAGS:
            return COMMAND_TAGS[tag][1] or ""
    return None


def _reconcile(text: str, given: Entities | Mapping[str, Any] | None) -> Entities:
    """X's entities where their offsets match the text, the text's own elsewhere."""
    api = given if isinstance(given, Entities) else Entities.from_api(given)
    ok_mentions = [m for m in api.mentions if m.end <= len(text) and m.start < m.end
                   and text[m.start:m.start + 1] in AT_SIGNS
                   and text[m.start + 1:m.end].casefold() == m.username.casefold()]
    ok_tags = [h for h in api.hashtags if h.end <= len(text) and h.start < h.end
               and text[h.start:h.start + 1] in HASH_SIGNS and text[h.start + 1:h.end] == h.tag]
    ids = {m.username.casefold(): m.id for m in api.mentions if m.id is not None}
    own = extract_entities(text)
    taken = [(m.start, m.end) for m in ok_mentions] + [(h.start, h.end) for h in ok_tags]

    def free(start: int, end: int) -> bool:
        return not any(a < end and start < b for a, b in taken)

    mentions = ok_mentions + [
        Mention(m.start, m.end, m.username, ids.get(m.username.casefold()))
        for m in own.mentions if free(m.start, m.end)
    ]
    tags = ok_tags + [h for h in own.hashtags if free(h.start, h.end)]
    return Entities(tuple(sorted(mentions, key=lambda m: m.start)),
                    tuple(sorted(tags, key=lambda h: h.start)))


def _scan(text: str, ents: Entities) -> list[_Item]:
    """Cut ``text`` into mentions, hashtags, amounts and words, in order."""
    starts: dict[int, Mention | Hashtag] = {m.start: m for m in ents.mentions}
    starts.update({h.start: h for h in ents.hashtags})
    items: list[_Item] = []
    n, pos = len(text), 0
    while pos < n:
        if text[pos].isspace():
            pos += 1
            continue
        entity = starts.get(pos)
        if isinstance(entity, Mention):
            items.append(_Item("mention", pos, entity.end, mention=entity))
            pos = entity.end
            continue
        if isinstance(entity, Hashtag):
            items.append(_Item("hashtag", pos, entity.end, hashtag=entity))
            pos = entity.end
            continue
        match = AMOUNT.match(text, pos)
        end = _clean_end(text, match.end(), starts) if match else None
        if match and end is not None:
            items.append(_Item("amount", pos, end, reading=read_amount(match)))
            pos = end
            continue
        end = pos + 1
        while end < n and not text[end].isspace() and end not in starts:
            end += 1
        items.append(_Item("word", pos, end))
        pos = end
    return items


def _clean_end(text: str, end: int, starts: Mapping[int, object]) -> int | None:
    """Where an amount ends, its trailing punctuation included: at a space, the end of the
    text or an entity. None when it runs into something else (``12€/mois``)."""
    while end < len(text) and text[end] in _TRAILING_PUNCT and end not in starts:
        end += 1
    if end == len(text) or text[end].isspace() or end in starts:
        return end
    return None


def _leading_mentions(items: list[_Item], before: int) -> list[_Item]:
    leading = []
    for item in items:
        if item.kind != "mention" or item.start >= before:
            break
        leading.append(item)
    return leading


def _first_non_mention(items: list[_Item]) -> _Item | None:
    return next((i for i in items if i.kind != "mention"), None)


def _is(mention: Mention | None, user_id: int, username: str | None) -> bool:
    if mention is None:
        return False
    if mention.id is not None:
        return mention.id == user_id
    return username is not None and mention.username.casefold() == username.casefold()


def _identity(mention: Mention | None) -> object:
    assert mention is not None
    return mention.id if mention.id is not None else mention.username.casefold()


def _unit_after(text: str, items: list[_Item], amount: _Item) -> str | None:
    """The unit word right after a bare number (``5 k€``, ``5 mille €``, ``5 CAD``), if any."""
    if amount.reading is None or amount.reading.marked:
        return None
    nxt = next((i for i in items if i.start >= amount.end), None)
    if nxt is None or nxt.kind != "word":
        return None
    return unit_word(text[nxt.start:nxt.end])


def _has_digit(raw: str) -> bool:
    return any(ch.isdigit() for ch in raw)


def _looks_like_money(raw: str) -> bool:
    """A word such as ``5€/mois`` or ``$5,-``: a currency sign next to a digit."""
    return _has_digit(raw) and any(ch in "€$£¥₤" for ch in raw)


def _strip_punct(raw: str) -> str:
    return raw.rstrip(_TRAILING_PUNCT)


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    parts, pos = [], 0
    for start, end in spans:
        if start >= pos:
            parts.append(text[pos:start])
        pos = max(pos, end)
    parts.append(text[pos:])
    return " ".join(parts)


def _lang_of_words(text: str) -> Lang:
    words = [w.strip(_TRAILING_PUNCT + "(«").casefold() for w in text[:2000].split()]
    fr = sum(w in _FR_WORDS for w in words)
    en = sum(w in _EN_WORDS for w in words)
    return "en" if en > fr else "fr"
