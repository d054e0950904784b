"""The one catalogue of texts (handlers.texts): both languages for every key, the same
placeholders, public texts that fit one post as X counts it, no dead key, no duplicated text."""

from __future__ import annotations

import re
import string
from collections import defaultdict
from pathlib import Path

import pytest

from handlers.amounts import UNIT_WORDS
from handlers.grammar import MEMO_LIMIT
from handlers.money import Money
from handlers.text_length import fits_in_tweet, tweet_length
from handlers.texts import FAMILIES, TEXTS, render, translator
from handlers.texts.messages import DM_ONLY

ROOT = Path(__file__).resolve().parents[2]
DM_LIMIT = 10_000  # X's limit for a direct message


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# The longest value each placeholder can take, as the bot fills it.
_BIG = Money(99_999_999)  # 999 999,99 €: beyond any cap, so any real amount is shorter
_HANDLE = "@" + "w" * 15  # X handles are at most 15 characters
WORST: dict[str, object] = {
    "amount": _BIG, "cap": _BIG, "minimum": _BIG, "limit": _BIG, "remaining": _BIG,
    "balance": _BIG, "cap_person": _BIG, "cap_pro": _BIG, "amount_short": "999999,99",
    "payee": _HANDLE, "payer": "w" * 15, "sender": _HANDLE, "recipient": _HANDLE,
    "handle": "w" * 15, "bot": "w" * 15, "who": " @" + "w" * 15,
    "reference": "WWWWWW", "references": ", ".join(["WWWWWW"] * 3), "link":
    "https://tweetpay.example/c/" + "w" * 43, "ttl": 999, "days": 999, "minutes": 999,
    "count": 999, "left": 9, "failures": 99, "maximum": 999, "until": "2026-12-31 23:59",
    "time": "2026-12-31 23:59", "deadline": "31/12/2026", "memo": "w" * MEMO_LIMIT,
    "memo_or_dash": "w" * MEMO_LIMIT, "payee_kind": "votre bénéficiaire",
    "example": "#envoyer 12,50 € merci",
    "lines": "\n".join(["31/12 -999 999,99 € " + _HANDLE] * 50),
    "brand": "Mastercard", "last4": "4242", "month": 12, "year": 2099, "reason": "w" * 60,
    "unit": max(UNIT_WORDS.values(), key=len),
    "masked": "FR76 •••• 0189", "name": "w" * 70, "hours": 999,
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


@pytest.mark.parametrize("key", sorted({*FAMILIES["messages"], *FAMILIES["grammar"]}))
def test_every_public_text_fits_one_post_as_x_counts_it(key: str) -> None:
    for lang in ("fr", "en"):
        names = _fields(TEXTS[key][lang])
        text = render(key, lang, **{name: WORST[name] for name in names})
        if key in DM_ONLY:
            assert len(text) <= DM_LIMIT, (key, lang)
        else:
            assert fits_in_tweet(text), (key, lang, tweet_length(text))


@pytest.mark.parametrize("family", ["pages", "account"])
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
# ``scheme_<scheme>``.
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
            and not re.search(rf"[\"']{re.escape(key)}[\"']", code)]
    assert dead == []


def test_render_formats_money_for_the_language_and_translator_binds_it() -> None:
    assert render("balance_dm", "fr", balance=Money(1250)) == "Votre solde : 12,50\u00a0€."
    assert render("balance_dm", "en", balance=Money(1250)) == "Your balance: €12.50."
    assert translator("en")("title_confirm") == render("title_confirm", "en")
    assert render("title_confirm", "de") == render("title_confirm", "fr")  # French by default
