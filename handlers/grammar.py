"""The command grammar: a tweet or DM in, a command or a readable refusal out. Pure.

``parse(text, entities, bot_user_id=…, author_id=…, channel=…, caps=…)`` returns a command
from ``handlers.commands`` or a ``GrammarError`` (returned, never raised). It never raises on
any ``str``: whatever the text, the answer is a value.

How a text is read, in small steps:

1. Refuse outright: more than 10,000 code points (X's DM limit), bidi overrides/isolates
   anywhere (they make the shown text differ from the real one), a command hashtag with
   zero-width characters in it.
2. Entities: the ones X sent, if their offsets match the text; the text's own (computed as X
   does, ``handlers.entities``) for the rest, with ids taken from X's mentions by username.
3. The command is the one hashtag that names a command (case, accents and full-width letters
   ignored); two command hashtags are refused. Its language (French or English tag) is the
   reply's language; ``#stop`` and non-commands take the language of the words.
4. The text is cut into items: mentions, amounts, other words. The *leading* mentions (X puts
   a reply's ``@handles`` first) are context, never a recipient. The *arguments* are the items
   right after the command hashtag, up to the first plain word.
5. Amount: the amount among the arguments (two there: refused), else the only amount written
   with a currency elsewhere. Any other amount with a currency (``5€`` in the memo) is a second
   amount: refused rather than guessed. Bare numbers after the arguments stay memo text.
6. Recipient: the mentions after the command hashtag, the bot's own left aside. None: refused;
   only the bot: refused; two different people: refused; the author: refused.
7. Memo: everything else except leading mentions and bot mentions, with control, zero-width and
   bidi characters removed, whitespace collapsed, cut to ``MEMO_LIMIT`` code points. It is text,
   never interpreted (HTML stays literal; templates escape it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from handlers.amounts import AMOUNT, AmountReading, glued_unit, read_amount, unit_word
from handlers.commands import (
    AnyRecipient,
    Cancel,
    Channel,
    Command,
    Donate,
    Help,
    Recipient,
    RequestMoney,
    SendMoney,
    ShowAccount,
    ShowBalance,
    ShowHistory,
    SignUp,
    Stop,
    UnresolvedRecipient,
    Withdraw,
)
from handlers.entities import AT_SIGNS, HASH_SIGNS, Entities, Hashtag, Mention, extract_entities
from handlers.errors import GrammarError
from handlers.money import Lang, Money
from handlers.near_miss import near_miss
from handlers.texts import EXAMPLES, render

MAX_TEXT = 10_000  # X's DM limit; a longer text cannot come from X
MEMO_LIMIT = 140
HISTORY_DEFAULT = 5
HISTORY_MAX = 50

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
_EVERYTHING = frozenset(("tout", "totalité", "all", "everything"))
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_INVISIBLE = frozenset("\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063"
                       "\u2064\ufeff") | _BIDI_CONTROLS
_TRAILING_PUNCT = ".,;:!?)]}»\"'…"
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
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
class Caps:
    """Per-transaction limits (settings). Which cap applies depends on the payee's kind (250 €
    between people, 500 € towards a Pro account whatever the hashtag), which only the decision
    knows (``handlers.decide``): the grammar refuses only what no payee could receive, above
    ``ceiling``, and what is below the minimum for everyone."""

    person: Money
    pro: Money
    minimum: Money

    @property
    def ceiling(self) -> Money:
        return max(self.person, self.pro)

    @classmethod
    def from_settings(cls, settings: Any) -> Caps:
        """From ``config.settings.Settings`` (``cap_person``, ``cap_pro``, ``min_amount``)."""
        return cls(settings.cap_person, settings.cap_pro, settings.min_amount)


DEFAULT_CAPS = Caps(person=Money(25_000), pro=Money(50_000), minimum=Money(1))


@dataclass(frozen=True, slots=True)
class _Item:
    kind: Literal["mention", "hashtag", "amount", "word"]
    start: int
    end: int
    mention: Mention | None = None
    hashtag: Hashtag | None = None
    reading: AmountReading | None = None


def parse(
    text: str,
    entities: Entities | Mapping[str, Any] | None = None,
    *,
    bot_user_id: int,
    author_id: int,
    channel: Channel = "tweet",
    caps: Caps = DEFAULT_CAPS,
    bot_username: str | None = None,
    author_username: str | None = None,
) -> Command | GrammarError:
    """Read ``text`` (with X's ``entities``, or a ``DmEvent``) as one command, or refuse it.

    ``bot_username``/``author_username`` only serve mentions that carry no user id.
    """
    if not isinstance(text, str):
        return _error("no_command", "fr")
    if len(text) > MAX_TEXT:
        return _error("too_long", _lang_of_words(text[:500]))
    hidden_tag = _hidden_in_command_tag(text)
    if hidden_tag is not None:
        return _error("hidden_characters", hidden_tag or _lang_of_words(text))

    ents = _reconcile(text, entities)
    commands = [(h, COMMAND_TAGS[_fold(h.tag)]) for h in ents.hashtags
                if _fold(h.tag) in COMMAND_TAGS]
    if not commands:
        guess = near_miss((_fold(h.tag) for h in ents.hashtags), COMMAND_TAGS)
        if guess is not None:
            command, guess_lang = guess
            return _error("did_you_mean", guess_lang or _lang_of_words(text), command=command)
        return _error("no_command", _lang_of_words(text))
    tag, (kind, tag_lang) = commands[0]
    lang = tag_lang or _lang_of_words(text)
    if any(ch in _BIDI_CONTROLS for ch in text):
        return _error("hidden_characters", lang)
    if len(commands) > 1:
        return _error("two_commands", lang)

    items = _scan(text, ents)
    leading = _leading_mentions(items, tag.start)
    after = [item for item in items if item.start >= tag.end]
    args = []
    for item in after:
        if item.kind in ("word", "hashtag"):
            break
        args.append(item)

    if kind in ("send", "donate", "request"):
        return _payment(text, kind, lang, tag, items, leading, after, args, caps=caps,
                        bot=(bot_user_id, bot_username), author=(author_id, author_username))
    if kind in ("balance", "history", "withdraw") and channel != "dm":
        return _error("dm_only", lang)
    if kind == "withdraw":
        return _withdraw(after, text, lang, caps)
    if kind == "history":
        return _history(after, text, lang)
    if kind == "cancel":
        first = next((i for i in after if i.kind != "mention"), None)
        raw = _strip_punct(text[first.start:first.end]) if first else ""
        reference = raw if _REFERENCE.fullmatch(raw) and any(c.isdigit() for c in raw) else None
        return Cancel(lang=lang, reference=reference)
    return _SIMPLE[kind](lang=lang)


_SIMPLE: dict[str, type[ShowBalance | Help | SignUp | ShowAccount | Stop]] = {
    "balance": ShowBalance, "help": Help, "signup": SignUp, "account": ShowAccount, "stop": Stop,
}


def _payment(text: str, kind: Kind, lang: Lang, tag: Hashtag, items: list[_Item],
             leading: list[_Item], after: list[_Item], args: list[_Item], *, caps: Caps,
             bot: tuple[int, str | None], author: tuple[int, str | None]) -> Command | GrammarError:
    example = EXAMPLES[kind][lang]
    # Hostile shapes first: they must never reach "which amount, which person".
    for item in after:
        raw = text[item.start:item.end]
        if item.kind == "word" and raw[0] in AT_SIGNS and len(raw) > 1:
            return _error("suspicious_handle", lang)
        if item.kind == "mention" and item.end < len(text):
            nxt = text[item.end]
            if nxt.isalnum() or unicodedata.category(nxt) == "Cf" or nxt in AT_SIGNS:
                return _error("suspicious_handle", lang)
    if any(ch in _INVISIBLE for item in args for ch in text[item.start:item.end]):
        return _error("hidden_characters", lang)
    first_word = next((i for i in after if i.kind == "word"), None)
    if first_word and any(ch in _INVISIBLE for ch in text[first_word.start:first_word.end]):
        raw = text[first_word.start:first_word.end]
        if _has_digit(raw) or raw.lstrip("".join(_INVISIBLE))[:1] in "€$£@＠":
            return _error("hidden_characters", lang)

    # Amount.
    leading_ids = {id(i) for i in leading}
    body = [i for i in items if id(i) not in leading_ids and i is not None]
    in_args = [i for i in args if i.kind == "amount"]
    if len(in_args) > 1:
        return _error("two_amounts", lang)
    marked_elsewhere = [i for i in body if i.kind == "amount" and i not in in_args
                        and i.reading is not None and i.reading.marked]
    marked_elsewhere += [i for i in body if i.kind == "word" and _looks_like_money(
        text[i.start:i.end])]
    if in_args:
        amount_item = in_args[0]
        if marked_elsewhere:
            return _error("two_amounts", lang)
    elif len(marked_elsewhere) == 1 and marked_elsewhere[0].kind == "amount":
        amount_item = marked_elsewhere[0]
    elif len(marked_elsewhere) > 1:
        return _error("two_amounts", lang)
    else:
        glued = glued_unit(text[first_word.start:first_word.end]) if first_word else None
        if glued is not None and first_word is _first_non_mention(after):
            # ``5%``, ``5k€``, ``5BTC``: the unit changes the number; name it, never drop it.
            return _error("unit_after_amount", lang, unit=glued)
        if first_word is not None and first_word is _first_non_mention(after) and (
                _has_digit(text[first_word.start:first_word.end])
                or marked_elsewhere):
            return _error("bad_amount", lang)
        if marked_elsewhere:
            return _error("bad_amount", lang)
        return _error("missing_amount", lang, example=example)
    reading = amount_item.reading
    assert reading is not None
    unit = _unit_after(text, items, amount_item)
    if unit is not None:
        return _error("unit_after_amount", lang, unit=unit)
    if reading.problem == "amount_too_large":
        return _error("above_cap", lang, cap=caps.ceiling.format(lang))
    if reading.problem is not None or reading.money is None:
        return _error(reading.problem or "bad_amount", lang)
    amount = reading.money
    if amount < caps.minimum:
        return _error("below_minimum", lang, minimum=caps.minimum.format(lang))
    if amount > caps.ceiling:
        return _error("above_cap", lang, cap=caps.ceiling.format(lang))

    # Recipient.
    bot_id, bot_name = bot
    author_id, author_name = author
    mentions = [i for i in after if i.kind == "mention"]
    is_bot = [_is(i.mention, bot_id, bot_name) for i in mentions]
    people = [i for i, b in zip(mentions, is_bot, strict=True) if not b]
    if not people:
        if mentions:
            return _error("bot_recipient", lang, example=example)
        return _error("no_recipient", lang, example=example)
    if len({_identity(i.mention) for i in people}) > 1:
        return _error("two_recipients", lang)
    chosen = people[0].mention
    assert chosen is not None
    if _is(chosen, author_id, author_name):
        return _error("self_recipient", lang)
    recipient: AnyRecipient = (Recipient(chosen.id, chosen.username) if chosen.id is not None
                               else UnresolvedRecipient(chosen.username))

    # Memo: what is left once the command's own parts are taken out.
    bots = [i for i in items if i.kind == "mention" and _is(i.mention, bot_id, bot_name)]
    removed = [*leading, amount_item, *mentions, *bots]
    spans = sorted([(i.start, i.end) for i in removed] + [(tag.start, tag.end)])
    memo = clean_memo(_without(text, spans))
    if kind == "send":
        return SendMoney(amount=amount, recipient=recipient, memo=memo, lang=lang)
    if kind == "donate":
        return Donate(amount=amount, recipient=recipient, memo=memo, lang=lang)
    return RequestMoney(amount=amount, payer=recipient, memo=memo, lang=lang)


def _withdraw(after: list[_Item], text: str, lang: Lang, caps: Caps) -> Command | GrammarError:
    """``#retirer 50€`` (an amount as in payments) or ``#retirer tout`` (the whole balance);
    the limits are the withdrawal service's, checked against the balance."""
    first = _first_non_mention(after)
    if first is None or first.kind == "hashtag":
        return _error("missing_amount", lang, example=EXAMPLES["withdraw"][lang])
    raw = _strip_punct(text[first.start:first.end])
    if first.kind == "word" and raw.casefold() in _EVERYTHING:
        return Withdraw(amount=None, lang=lang)
    if first.kind != "amount" or first.reading is None:
        if _has_digit(raw) or _looks_like_money(raw):
            return _error("bad_amount", lang)
        return _error("missing_amount", lang, example=EXAMPLES["withdraw"][lang])
    reading = first.reading
    if reading.problem is not None or reading.money is None:
        code = reading.problem if reading.problem not in (None, "amount_too_large") else (
            "bad_amount")
        return _error(code or "bad_amount", lang)
    if reading.money < caps.minimum:
        return _error("below_minimum", lang, minimum=caps.minimum.format(lang))
    return Withdraw(amount=reading.money, lang=lang)


def _history(after: list[_Item], text: str, lang: Lang) -> Command | GrammarError:
    first = _first_non_mention(after)
    if first is None or first.kind == "hashtag":
        return ShowHistory(lang=lang)
    raw = _strip_punct(text[first.start:first.end])
    if first.kind == "amount" or _has_digit(raw):
        if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= HISTORY_MAX:
            return ShowHistory(lang=lang, count=int(raw))
        return _error("bad_history_count", lang, maximum=HISTORY_MAX)
    return ShowHistory(lang=lang)


def clean_memo(raw: str) -> str:
    """Memo text: no control, zero-width or bidi characters, spaces collapsed, ≤ MEMO_LIMIT."""
    kept = []
    for ch in raw:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        elif category in ("Cf", "Cs", "Co") or ch in _INVISIBLE:
            continue
        else:
            kept.append(ch)
    memo = unicodedata.normalize("NFC", " ".join("".join(kept).split()))
    return memo[:MEMO_LIMIT].rstrip()


# --- small named steps ------------------------------------------------------------------------


def _error(code: str, lang: Lang, **values: str | int) -> GrammarError:
    return GrammarError(code, lang, render(code, lang, **values))


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
