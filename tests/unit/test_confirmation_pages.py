"""The confirmation pages' strings: both languages, same placeholders, language picking."""

from __future__ import annotations

import string

import pytest

from bot.web.i18n import STRINGS, accept_language, pick_lang, translator
from handlers.confirmation import DONE_PUBLIC, LOCKOUT_DM, RECEIPT_DM, RECEIVED_DM


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_every_page_string_has_both_languages_with_the_same_placeholders(key: str) -> None:
    texts = STRINGS[key]
    assert set(texts) == {"fr", "en"}
    assert _fields(texts["fr"]) == _fields(texts["en"])
    assert "'" not in texts["fr"]  # French typography: the apostrophe is ’


@pytest.mark.parametrize("texts", [DONE_PUBLIC, RECEIVED_DM, RECEIPT_DM, LOCKOUT_DM])
def test_notices_have_both_languages_with_the_same_placeholders(texts: dict[str, str]) -> None:
    assert set(texts) == {"fr", "en"}
    assert _fields(texts["fr"]) == _fields(texts["en"])


def test_public_done_text_has_no_link_and_no_mention() -> None:
    for text in DONE_PUBLIC.values():
        assert "@" not in text and "http" not in text and "{link}" not in text


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (("en", "fr"), "en"),
        (("EN-gb",), "en"),
        (("de", "en"), "en"),
        ((None, "", "fr"), "fr"),
        ((None,), "fr"),
        (("xx",), "fr"),
    ],
)
def test_pick_lang(candidates: tuple[str | None, ...], expected: str) -> None:
    assert pick_lang(*candidates) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9,fr;q=0.8", "en"),
        ("de-DE,de;q=0.9,fr;q=0.5", "fr"),
        ("de", None),
        (None, None),
        ("", None),
    ],
)
def test_accept_language(header: str | None, expected: str | None) -> None:
    assert accept_language(header) == expected


def test_translator_fills_placeholders() -> None:
    assert translator("en")("wrong_code", left=2) == "Wrong code. 2 attempt(s) left."
    assert translator("fr")("title_confirm") == "Confirmer le paiement"
