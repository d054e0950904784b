"""The amount reader on its own: every accepted form, every refusal, never a float."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.amounts import AMOUNT, read_amount
from handlers.money import Money


def read(text: str):
    match = AMOUNT.fullmatch(text)
    assert match is not None, text
    return read_amount(match)


@pytest.mark.parametrize(("text", "cents", "marked"), [
    ("12,99€", 1299, True), ("12,99 €", 1299, True), ("12.99€", 1299, True),
    ("€12,99", 1299, True), ("€ 12.99", 1299, True), ("12€99", 1299, True), ("12€", 1200, True),
    ("12 EUR", 1200, True), ("12 euros", 1200, True), ("12,5 €", 1250, True),
    ("0,50€", 50, True), ("1 234,56 €", 123456, True), ("1\u202f234,56 €", 123456, True),
    ("1\u00a0234,56 €", 123456, True), ("1.234,56 €", 123456, True),
    ("1,234.56 €", 123456, True), ("12", 1200, False), ("12,5", 1250, False),
    ("1,234,567", 123456700, False), ("1.234.567,89", 123456789, False),
    ("EUR 3", 300, True), ("3eur", 300, True), ("+5€", 500, True), ("0012", 1200, False),
    ("5 centimes", 5, True), ("1 centime", 1, True), ("50 cts", 50, True), ("5 ct", 5, True),
    ("5ct", 5, True), ("150 CENTIMES", 150, True), ("007 cts", 7, True),
])
def test_accepted(text: str, cents: int, marked: bool) -> None:
    reading = read(text)
    assert reading.problem is None
    assert reading.money == Money(cents)
    assert reading.marked is marked


@pytest.mark.parametrize(("text", "problem"), [
    ("1.234", "ambiguous_amount"), ("1,234", "ambiguous_amount"), ("12 150", "ambiguous_amount"),
    ("0,125", "too_many_decimals"), ("12,9999", "too_many_decimals"),
    ("1234,567", "too_many_decimals"), ("1.234,567", "too_many_decimals"),
    ("1,23,456", "bad_amount"), ("1.2.3", "bad_amount"), ("€12€", "bad_amount"),
    ("12,5€99", "bad_amount"), ("0,5 ct", "bad_amount"), ("€5 cts", "bad_amount"),
    ("1 000 cts", "bad_amount"), ("0 ct", "zero_amount"),
    ("0", "zero_amount"), ("0,00€", "zero_amount"),
    ("-12€", "negative_amount"), ("−12", "negative_amount"), ("€-5", "negative_amount"),
    ("12$", "other_currency"), ("$12", "other_currency"), ("£12", "other_currency"),
    ("12 USD", "other_currency"), ("12 GBP", "other_currency"), ("12 CHF", "other_currency"),
    ("1e3", "exponent"), ("1E2€", "exponent"), ("2.5e1", "exponent"),
    ("１２€", "non_ascii_digits"), ("١٢", "non_ascii_digits"), ("1٢", "non_ascii_digits"),
    ("9" * 5000, "amount_too_large"),
])
def test_refused(text: str, problem: str) -> None:
    reading = read(text)
    assert reading.money is None
    assert reading.problem == problem


@given(st.integers(min_value=1, max_value=10**11))
def test_round_trip_through_money_format(cents: int) -> None:
    for lang in ("fr", "en"):
        assert read(Money(cents).format(lang)).money == Money(cents)  # type: ignore[arg-type]


@given(st.integers(0, 10**9), st.integers(0, 99))
def test_digits_become_cents_exactly(units: int, cents: int) -> None:
    reading = read(f"{units},{cents:02d}")
    if units == cents == 0:
        assert reading.problem == "zero_amount"
    else:
        assert reading.money is not None and reading.money.cents == units * 100 + cents
        assert type(reading.money.cents) is int
