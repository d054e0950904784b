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
from typing import Any

from handlers.amounts import glued_unit
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
from handlers.entities import AT_SIGNS, Entities, Hashtag
from handlers.errors import GrammarError
from handlers.grammar_scan import (
    _BIDI_CONTROLS,
    _INVISIBLE,
    COMMAND_TAGS,
    Kind,
    _first_non_mention,
    _fold,
    _has_digit,
    _hidden_in_command_tag,
    _identity,
    _is,
    _Item,
    _lang_of_words,
    _leading_mentions,
    _looks_like_money,
    _reconcile,
    _scan,
    _strip_punct,
    _unit_after,
    _without,
)
from handlers.money import Lang, Money
from handlers.near_miss import near_miss
from handlers.texts import EXAMPLES, render

MAX_TEXT = 10_000  # X's DM limit; a longer text cannot come from X
MEMO_LIMIT = 140
HISTORY_DEFAULT = 5
HISTORY_MAX = 50

_EVERYTHING = frozenset(("tout", "totalité", "all", "everything"))
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")


@dataclass(frozen=True, slots=True)
class Caps:
    """Per-transaction limits (settings). Which cap applies depends on the payee's kind (250 €
    between people, 500 € towards a Pro account whatever the hashtag), which only the decision
    knows (``handlers.decide``): the grammar refuses only what no payee could receive, above
    ``ceiling``, and what is below the minimum for everyone (the one place that minimum is
    checked: it does not depend on the payee)."""

    person: Money
    pro: Money
    minimum: Money

    @property
    def ceiling(self) -> Money:
        return max(self.person, self.pro)

    @classmethod
    def from_settings(cls, settings: Any) -> Caps:
        """From ``config.settings.Settings`` (``cap_person``, ``cap_pro``, ``min_amount``)."""
        return cls(Money(settings.cap_person), Money(settings.cap_pro),
                   Money(settings.min_amount))


DEFAULT_CAPS = Caps(person=Money(25_000), pro=Money(50_000), minimum=Money(1))


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
    """#envoyer / #don / #demander: an amount, one person, a memo (the rest of the text)."""
    example = EXAMPLES[kind][lang]
    # Hostile shapes first: they must never reach "which amount, which person".
    hostile = _hostile_shapes(text, lang, after, args)
    if hostile is not None:
        return hostile
    found = _amount(text, lang, items, leading, after, args, caps=caps, example=example)
    if isinstance(found, GrammarError):
        return found
    amount, amount_item = found
    chosen = _recipient(lang, after, example=example, bot=bot, author=author)
    if isinstance(chosen, GrammarError):
        return chosen
    recipient, mentions = chosen
    # Memo: what is left once the command's own parts are taken out.
    bots = [i for i in items if i.kind == "mention" and _is(i.mention, *bot)]
    removed = [*leading, amount_item, *mentions, *bots]
    spans = sorted([(i.start, i.end) for i in removed] + [(tag.start, tag.end)])
    memo = clean_memo(_without(text, spans))
    if kind == "send":
        return SendMoney(amount=amount, recipient=recipient, memo=memo, lang=lang)
    if kind == "donate":
        return Donate(amount=amount, recipient=recipient, memo=memo, lang=lang)
    return RequestMoney(amount=amount, payer=recipient, memo=memo, lang=lang)


def _hostile_shapes(text: str, lang: Lang, after: list[_Item],
                    args: list[_Item]) -> GrammarError | None:
    """Look-alike handles and invisible characters in the command's arguments."""
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
    return None


def _amount(text: str, lang: Lang, items: list[_Item], leading: list[_Item],
            after: list[_Item], args: list[_Item], *, caps: Caps,
            example: str) -> tuple[Money, _Item] | GrammarError:
    """The one amount of the command (in its arguments, or marked as money elsewhere)."""
    leading_ids = {id(i) for i in leading}
    body = [i for i in items if id(i) not in leading_ids and i is not None]
    in_args = [i for i in args if i.kind == "amount"]
    if len(in_args) > 1:
        return _error("two_amounts", lang)
    marked_elsewhere = [i for i in body if i.kind == "amount" and i not in in_args
                        and i.reading is not None and i.reading.marked]
    marked_elsewhere += [i for i in body if i.kind == "word" and _looks_like_money(
        text[i.start:i.end])]
    first_word = next((i for i in after if i.kind == "word"), None)
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
    return amount, amount_item


def _recipient(lang: Lang, after: list[_Item], *, example: str, bot: tuple[int, str | None],
               author: tuple[int, str | None]
               ) -> tuple[AnyRecipient, list[_Item]] | GrammarError:
    """The one person mentioned after the command (not the bot, not the author), and every
    mention there (they leave the memo)."""
    mentions = [i for i in after if i.kind == "mention"]
    people = [i for i in mentions if not _is(i.mention, *bot)]
    if not people:
        if mentions:
            return _error("bot_recipient", lang, example=example)
        return _error("no_recipient", lang, example=example)
    if len({_identity(i.mention) for i in people}) > 1:
        return _error("two_recipients", lang)
    chosen = people[0].mention
    assert chosen is not None
    if _is(chosen, *author):
        return _error("self_recipient", lang)
    recipient: AnyRecipient = (Recipient(chosen.id, chosen.username) if chosen.id is not None
                               else UnresolvedRecipient(chosen.username))
    return recipient, mentions


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


