"""The one catalogue of texts (handlers.texts): both languages for every key, the same
placeholders, public texts that fit one post as X counts it, no dead key, no duplicated text."""

from __future__ import annotations

import re
import string
from collections import defaultdict
from pathlib import Path

import pytest

from handlers.amounts import UNIT_WORDS
from handlers.entities import extract_mentions
from handlers.grammar import MEMO_LIMIT
from handlers.money import Money
from handlers.near_miss import CANONICAL
from handlers.text_length import fits_in_tweet, tweet_length
from handlers.texts import EXAMPLES, FAMILIES, TEXTS, render, translator
from handlers.texts.app import APP_PRIVATE
from handlers.texts.messages import DM_ONLY

ROOT = Path(__file__).resolve().parents[2]
DM_LIMIT = 10_000  # X's limit for a direct message
# The one public text with a link: setting public_link_fallback (on by default) posts the
# confirmation link in the thread when the author's DMs are closed; the link is useless
# without the PIN. Turning the setting off removes it.
PUBLIC_LINK_FALLBACK = "public_link_fallback"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# The longest value each placeholder can take, as the bot fills it.
_BIG = Money(99_999_999)  # 999 999,99 €: beyond any cap, so any real amount is shorter
_HANDLE = "@" + "w" * 15  # X handles are at most 15 characters
_ITEM = "999 999,99 € pour " + _HANDLE + " (réf. WWWWWW)"
WORST: dict[str, object] = {
    **dict.fromkeys(("amount", "cap", "minimum", "limit", "remaining", "balance",
                     "cap_person", "cap_pro"), _BIG),
    **dict.fromkeys(("payee", "sender", "recipient", "other"), _HANDLE),
    **dict.fromkeys(("payer", "handle", "bot"), "w" * 15),
    **dict.fromkeys(("ttl", "days", "minutes", "count", "maximum"), 999),
    "amount_short": "999999,99", "who": " @" + "w" * 15, "reference": "WWWWWW",
    "items": "; ".join([_ITEM] * 3), "link": "https://tweetpay.example/c/" + "w" * 43,
    "left": 9, "failures": 99, "until": "31/12/2026 à 23:59", "time": "23:59",
    "deadline": "31/12/2026", "memo": " (« " + "w" * MEMO_LIMIT + " »)",
    "command": max(CANONICAL.values(), key=len),
    "example": max((e for d in EXAMPLES.values() for e in d.values()), key=len),
    "lines": "\n".join(["31/12 -999 999,99 € reçu de " + _HANDLE] * 50),
    "brand": "Mastercard", "last4": "4242", "month": 12, "year": 2099, "reason": "w" * 60,
    "unit": max(UNIT_WORDS.values(), key=len),
    "masked": "FR76 •••• 0189", "name": "w" * 70, "delay": "999 min",
}


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_key_has_both_languages_with_the_same_placeholders(key: str) -> None:
    texts = TEXTS[key]
    assert set(texts) == {"fr", "en"}
    assert texts["fr"].strip() and texts["en"].strip()
    assert _fields(texts["fr"]) == _fields(texts["en"])
    assert _fields(texts["fr"]) <= set(WORST), "add the placeholder's worst value to WORST"


def test_a_key_lives_in_one_family() -> None:
    assert len(TEXTS) == sum(len(family) for family in FAMILIES.values())


@pytest.mark.parametrize("key", sorted({*FAMILIES["messages"], *FAMILIES["grammar"],
                                        *FAMILIES["app_messages"]}))
def test_every_public_text_fits_one_post_as_x_counts_it(key: str) -> None:
    for lang in ("fr", "en"):
        names = _fields(TEXTS[key][lang])
        text = render(key, lang, **{name: WORST[name] for name in names})
        if key in DM_ONLY or key in APP_PRIVATE:
            assert len(text) <= DM_LIMIT, (key, lang)
        else:
            assert fits_in_tweet(text), (key, lang, tweet_length(text))


@pytest.mark.parametrize("key", sorted({*FAMILIES["messages"], *FAMILIES["grammar"],
                                        *FAMILIES["app_messages"]} - DM_ONLY - APP_PRIVATE))
def test_public_texts_mention_no_one_and_carry_no_link(key: str) -> None:
    """X turns any @handle in a post into a mention of a real account (``@ami`` exists), so a
    public text names no one, not even in an example, and links travel only by DM."""
    for lang in ("fr", "en"):
        names = _fields(TEXTS[key][lang])
        text = render(key, lang, **{name: WORST[name] for name in names})
        assert extract_mentions(text) == [], (key, lang)
        if key != PUBLIC_LINK_FALLBACK:
            assert "{link}" not in TEXTS[key][lang] and "http" not in text, (key, lang)


@pytest.mark.parametrize("family", ["pages", "account", "app_pages"])
def test_pages_use_french_typography(family: str) -> None:
    for key, texts in FAMILIES[family].items():
        assert "'" not in texts["fr"], key  # the French apostrophe on a page is ’


def test_no_text_is_written_twice() -> None:
    seen: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key, texts in TEXTS.items():
        for lang, text in texts.items():
            seen[(lang, text)].append(key)
    assert [keys for keys in seen.values() if len(keys) > 1] == []


# Keys built at run time from a code: ``pin_<PinProblem>``, ``card_reason_<provider code>``,
# ``status_<intent status>``, ``rolling_limit_<window>[_body]``; money out's
# ``return_reason_<ISO code>``, ``payout_refusal_<code>``, ``iban_error_<code>``,
# ``vop_<name check>``, ``wstatus_<withdrawal status>``, ``withdraw_done_<scheme>``,
# ``scheme_<scheme>``; ``<key>_one`` is chosen by ``plural(key, count)``.
_DYNAMIC = ("pin_", "card_reason_", "status_", "rolling_limit_", "return_reason_",
            "payout_refusal_", "iban_error_", "vop_", "wstatus_", "withdraw_done_",
            "scheme_")


def test_every_key_is_used_somewhere() -> None:
    sources = [
        path.read_text(encoding="utf-8")
        for folder in ("bot", "handlers", "storage")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in (".py", ".html") and "texts" not in path.parts
    ]
    code = "\n".join(sources)
    dead = [key for key in TEXTS if not key.startswith(_DYNAMIC)
            and not re.search(rf"[\"']{re.escape(key.removesuffix('_one'))}[\"']", code)]
    assert dead == []


def test_render_formats_money_for_the_language_and_translator_binds_it() -> None:
    assert render("balance_dm", "fr", balance=Money(1250)) == "Votre solde : 12,50\u00a0€."
    assert render("balance_dm", "en", balance=Money(1250)) == "Your balance: €12.50."
    assert translator("en")("title_confirm") == render("title_confirm", "en")
    assert render("title_confirm", "de") == render("title_confirm", "fr")  # French by default
