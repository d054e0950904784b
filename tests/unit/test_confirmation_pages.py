"""Which language a page speaks (bot.web.i18n); the strings are tested in test_texts."""

from __future__ import annotations

import pytest

from bot.web.i18n import accept_language, pick_lang
from handlers.texts import translator


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
    assert translator("en")("wrong_code", left=2) == "Wrong code. 2 attempts left."
    assert translator("fr")("title_confirm") == "Confirmer le paiement"
