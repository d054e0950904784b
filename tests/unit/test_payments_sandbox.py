"""The sandbox card acquirer: test cards, input checks, idempotent charges, refunds, state."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.payments import CardRefused, PaymentError
from bot.payments.sandbox import SandboxProvider, luhn_ok
from handlers.money import Money

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def provider() -> SandboxProvider:
    return SandboxProvider(clock=lambda: NOW)


def charge_with(provider: SandboxProvider, number: str, key: str = "k1") -> tuple[str, str | None]:
    token = provider.tokenize(number, 12, 2030, "123").token
    result = provider.charge(token, Money(2_000), key)
    return result.status, result.decline_code


@pytest.mark.parametrize(
    ("number", "status", "decline"),
    [
        ("4242 4242 4242 4242", "succeeded", None),
        ("5555-5555-5555-4444", "succeeded", None),
        ("4000000000000002", "declined", "generic_decline"),
        ("4000 0000 0000 9995", "declined", "insufficient_funds"),
        ("4000 0000 0000 0069", "declined", "expired_card"),
        ("4000 0000 0000 0127", "declined", "incorrect_cvc"),
    ],
)
def test_test_cards_charge_as_published(
    provider: SandboxProvider, number: str, status: str, decline: str | None
) -> None:
    assert charge_with(provider, number) == (status, decline)


def test_token_carries_last4_expiry_brand_never_the_number(provider: SandboxProvider) -> None:
    card = provider.tokenize("4242 4242 4242 4242", 3, 29, "999")
    assert (card.last4, card.exp_month, card.exp_year, card.brand) == ("4242", 3, 2029, "visa")
    assert card.token.startswith("tok_") and "4242424242424242" not in card.token
    assert card.token not in repr(card)


@pytest.mark.parametrize(
    ("number", "month", "year", "cvc", "code"),
    [
        ("4242 4242 4242 4241", 12, 2030, "123", "incorrect_number"),  # Luhn fails
        ("4000 0000 0000 0001", 12, 2030, "123", "incorrect_number"),
        ("4242-4242-abcd-4242", 12, 2030, "123", "invalid_number"),
        ("１２３４５６７８９０１２３", 12, 2030, "123", "invalid_number"),  # full-width digits
        ("42", 12, 2030, "123", "invalid_number"),
        ("", 12, 2030, "123", "invalid_number"),
        ("4242424242424242", 13, 2030, "123", "invalid_expiry_month"),
        ("4242424242424242", 0, 2030, "123", "invalid_expiry_month"),
        ("4242424242424242", 10, 2026, "123", "expired_card"),
        ("4242424242424242", 12, 2099, "123", "invalid_expiry_year"),
        ("4242424242424242", 12, 2030, "12", "invalid_cvc"),
        ("4242424242424242", 12, 2030, "12a", "invalid_cvc"),
        ("4242424242424242", 12, 2030, "1234", "invalid_cvc"),
        ("4012 8888 8888 1881", 12, 2030, "123", "card_not_supported"),  # Luhn ok, not a test card
    ],
)
def test_bad_card_input_is_refused_with_its_code(
    provider: SandboxProvider, number: str, month: int, year: int, cvc: str, code: str
) -> None:
    with pytest.raises(CardRefused) as refused:
        provider.tokenize(number, month, year, cvc)
    assert refused.value.code == code


def test_a_card_is_valid_through_its_expiry_month(provider: SandboxProvider) -> None:
    assert provider.tokenize("4242424242424242", 11, 2026, "123").exp_year == 2026


def test_a_card_that_expires_after_it_was_saved_is_declined() -> None:
    now = [NOW]
    provider = SandboxProvider(clock=lambda: now[0])
    token = provider.tokenize("4242424242424242", 11, 2026, "123").token
    now[0] = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    result = provider.charge(token, Money(500), "late")
    assert (result.status, result.decline_code) == ("declined", "expired_card")


def test_luhn() -> None:
    assert luhn_ok("4242424242424242") and luhn_ok("79927398713")
    assert not luhn_ok("4242424242424241") and not luhn_ok("79927398710")


def test_charges_are_idempotent_on_their_key(provider: SandboxProvider) -> None:
    token = provider.tokenize("4242424242424242", 12, 2030, "123").token
    first = provider.charge(token, Money(1_500), "topup-1")
    again = provider.charge(token, Money(1_500), "topup-1")
    other = provider.charge(token, Money(1_500), "topup-2")
    assert first == again and first.id != other.id
    assert provider.charge_count() == 2
    with pytest.raises(PaymentError) as reused:
        provider.charge(token, Money(1_600), "topup-1")
    assert reused.value.code == "idempotency_key_reused"


def test_a_declined_charge_is_idempotent_too(provider: SandboxProvider) -> None:
    token = provider.tokenize("4000000000000002", 12, 2030, "123").token
    assert provider.charge(token, Money(100), "d") == provider.charge(token, Money(100), "d")
    assert provider.charge_count() == 1


@pytest.mark.parametrize(
    ("token", "amount", "key", "code"),
    [
        ("tok_nope", Money(100), "k", "resource_missing"),
        (None, Money(0), "k", "invalid_amount"),
        (None, Money(100), "", "missing_idempotency_key"),
    ],
)
def test_charge_refusals(
    provider: SandboxProvider, token: str | None, amount: Money, key: str, code: str
) -> None:
    real = provider.tokenize("4242424242424242", 12, 2030, "123").token
    with pytest.raises(PaymentError) as refused:
        provider.charge(token or real, amount, key)
    assert refused.value.code == code


def test_refunds_never_exceed_the_charge(provider: SandboxProvider) -> None:
    token = provider.tokenize("4242424242424242", 12, 2030, "123").token
    charge = provider.charge(token, Money(1_000), "r")
    assert provider.refund(charge.id, Money(400)).amount == Money(400)
    with pytest.raises(PaymentError) as too_much:
        provider.refund(charge.id, Money(601))
    assert too_much.value.code == "amount_too_large"
    provider.refund(charge.id, Money(600))
    assert provider.refunded(charge.id) == Money(1_000)
    declined = provider.charge(
        provider.tokenize("4000000000000002", 12, 2030, "123").token, Money(100), "x"
    )
    with pytest.raises(PaymentError) as not_refundable:
        provider.refund(declined.id, Money(100))
    assert not_refundable.value.code == "charge_not_refundable"


def test_state_file_survives_a_restart_and_holds_no_card_number(tmp_path: Path) -> None:
    path = tmp_path / "payments-sandbox.json"
    first = SandboxProvider(clock=lambda: NOW, state_file=path)
    token = first.tokenize("4242 4242 4242 4242", 12, 2030, "123").token
    charge = first.charge(token, Money(700), "persisted")
    again = SandboxProvider(clock=lambda: NOW, state_file=path)
    assert again.charge(token, Money(700), "persisted") == charge
    assert again.charge(token, Money(700), "new-key").status == "succeeded"
    assert "4242424242424242" not in path.read_text()
