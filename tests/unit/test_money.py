"""Money: integer cents only, exact arithmetic, strict parsing, French and English display."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.money import ZERO, AmountError, Money


@pytest.mark.parametrize("bad", [0.1, 1.0, "100", None, True, 10**0 * 1.5])
def test_only_integer_cents(bad: object) -> None:
    with pytest.raises(AmountError):
        Money(bad)  # type: ignore[arg-type]


def test_no_float_rounding_ever() -> None:
    assert Money(10) + Money(20) == Money(30)  # where 0.1 + 0.2 != 0.3
    assert Money.euros(12, 99) == Money(1299)
    assert Money(500) - Money(501) == Money(-1)
    assert -Money(5) == Money(-5)
    assert not ZERO and Money(1).is_positive and not Money(-1).is_positive


@pytest.mark.parametrize(("units", "cents"), [(1.5, 0), (1, 100), (1, -1), (1, 0.5)])
def test_euros_refuses_bad_parts(units: object, cents: object) -> None:
    with pytest.raises(AmountError):
        Money.euros(units, cents)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("250", 25_000),
        ("250,00", 25_000),
        ("12.5 €", 1250),
        ("0,50 EUR", 50),
        ("12,99\u00a0€", 1299),
        ("  7 ", 700),
        ("0,05", 5),
        ("1,5", 150),
    ],
)
def test_parse_accepts_plain_amounts(text: str, cents: int) -> None:
    assert Money.parse(text) == Money(cents)


@pytest.mark.parametrize(
    "text", ["", "abc", "-5", "+5", "1 000", "1.000,00", "12,999", "1e3", "12,", "€", "5 $"]
)
def test_parse_refuses_anything_unclear(text: str) -> None:
    with pytest.raises(AmountError):
        Money.parse(text)


@pytest.mark.parametrize(
    ("cents", "fr", "en"),
    [
        (1299, "12,99\u00a0€", "€12.99"),
        (5, "0,05\u00a0€", "€0.05"),
        (123_456_789, "1\u202f234\u202f567,89\u00a0€", "€1,234,567.89"),
        (-250, "-2,50\u00a0€", "-€2.50"),
    ],
)
def test_format(cents: int, fr: str, en: str) -> None:
    assert Money(cents).format("fr") == fr
    assert Money(cents).format("en") == en
    assert str(Money(cents)) == fr


def test_ordering_and_hashing() -> None:
    assert sorted([Money(3), Money(-1), Money(2)]) == [Money(-1), Money(2), Money(3)]
    assert len({Money(1), Money(1), Money(2)}) == 2
    assert repr(Money(42)) == "Money(42)"


@given(st.integers(min_value=0, max_value=999_999_999_99))
def test_format_then_parse_round_trips(cents: int) -> None:
    text = Money(cents).format("fr").replace("\u202f", "")
    assert Money.parse(text) == Money(cents)


@given(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12))
def test_addition_is_exact(a: int, b: int) -> None:
    assert (Money(a) + Money(b)).cents == a + b
    assert (Money(a) - Money(b)) + Money(b) == Money(a)
