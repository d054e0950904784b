"""The PIN rules (handlers.pins): a table of codes and the problem each one has."""

from __future__ import annotations

import pytest

from handlers.pins import COMMON_PINS, PinProblem, check_new_pin, weakness
from handlers.texts import TEXTS, render

P = PinProblem


@pytest.mark.parametrize(
    ("pin", "problem"),
    [
        # Acceptable codes.
        ("482916", None),
        ("739251", None),
        ("051973", None),
        ("120987", None),
        ("908172", None),
        # Shape: exactly six ASCII digits.
        ("", P.FORMAT),
        ("12345", P.FORMAT),
        ("4829161", P.FORMAT),
        ("48291a", P.FORMAT),
        (" 482916", P.FORMAT),
        ("482 916", P.FORMAT),
        ("٤٨٢٩١٦", P.FORMAT),  # Arabic-Indic digits: \d would accept them
        ("４８２９１６", P.FORMAT),  # full-width digits
        ("-48291", P.FORMAT),
        # All the same digit.
        ("000000", P.ALL_SAME),
        ("111111", P.ALL_SAME),
        ("999999", P.ALL_SAME),
        # Ascending / descending runs, wrapping 9 → 0.
        ("123456", P.SEQUENCE),
        ("234567", P.SEQUENCE),
        ("456789", P.SEQUENCE),
        ("567890", P.SEQUENCE),
        ("890123", P.SEQUENCE),
        ("012345", P.SEQUENCE),
        ("654321", P.SEQUENCE),
        ("987654", P.SEQUENCE),
        ("098765", P.SEQUENCE),
        ("210987", P.SEQUENCE),
        # Repeated blocks of two or three digits.
        ("121212", P.REPEATED),
        ("101010", P.REPEATED),
        ("123123", P.REPEATED),
        ("007007", P.REPEATED),
        ("696969", P.REPEATED),
        # The most common ones that no pattern catches.
        ("112233", P.COMMON),
        ("123321", P.COMMON),
        ("159753", P.COMMON),
        ("147258", P.COMMON),
        ("520520", P.REPEATED),
        ("789456", P.COMMON),
        ("112358", P.COMMON),
        ("314159", P.COMMON),
        ("654456", P.COMMON),
    ],
)
def test_weakness_table(pin: str, problem: PinProblem | None) -> None:
    assert weakness(pin) is problem


def test_every_common_pin_is_refused() -> None:
    assert len(COMMON_PINS) >= 40
    for pin in COMMON_PINS:
        assert len(pin) == 6 and pin.isascii() and pin.isdigit()
        assert weakness(pin) is not None, pin


def test_most_pins_stay_allowed() -> None:
    # The rules remove about a thousand codes out of a million (0.12 %: the 1,000 repeated
    # 3-digit blocks are most of them), not a large share of the space. Every 17th code: fast
    # (not 7, 11 or 13: every abcabc is a multiple of 1001 = 7 × 11 × 13).
    sample = range(0, 1_000_000, 17)
    refused = sum(1 for n in sample if weakness(f"{n:06d}") is not None)
    assert 0.0005 < refused / len(sample) < 0.003


@pytest.mark.parametrize(
    ("pin", "again", "problem"),
    [
        ("482916", "482916", None),
        ("482916", "482917", P.MISMATCH),
        ("482916", "", P.MISMATCH),
        ("123456", "123456", P.SEQUENCE),  # the weakness is the more useful message
        ("123456", "999999", P.SEQUENCE),
        ("4829", "4829", P.FORMAT),
    ],
)
def test_check_new_pin(pin: str, again: str, problem: PinProblem | None) -> None:
    assert check_new_pin(pin, again) is problem


def test_every_problem_has_a_distinct_message_in_both_languages() -> None:
    assert all(f"pin_{problem.value}" in TEXTS for problem in PinProblem)
    for lang in ("fr", "en"):
        texts = [render(f"pin_{problem.value}", lang) for problem in PinProblem]
        assert all(texts) and len(set(texts)) == len(texts)
    assert "6" in render("pin_format", "fr") and "6" in render("pin_format", "en")
