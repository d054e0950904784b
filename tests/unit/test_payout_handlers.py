"""Money out's pure parts: bank details as typed (schwifty), the masked IBAN, ``#retirer`` in
the grammar (amounts read exactly as payments read them), the statement CSV."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.bank_details import BankDetailsError, mask, read_bank_details
from handlers.commands import SendMoney, Withdraw
from handlers.errors import GrammarError
from handlers.grammar import parse
from handlers.money import Money
from handlers.statement import StatementLine, statement_csv

BOT, AUTHOR = 1, 2


@pytest.mark.parametrize(("typed", "compact", "bic"), [
    ("FR76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189", "AGRIFRPPXXX"),
    ("fr7630006000011234567890189", "FR7630006000011234567890189", "AGRIFRPPXXX"),
    ("  DE89 3704 0044 0532 0130 00 ", "DE89370400440532013000", "COBADEFFXXX"),
    ("de89\u00a03704\u00a00044\u00a00532\u00a00130\u00a000", "DE89370400440532013000",
     "COBADEFFXXX"),
])
def test_ibans_as_people_type_them(typed: str, compact: str, bic: str) -> None:
    details = read_bank_details(typed, "Carol  Martin")
    assert (details.iban, details.bic, details.holder_name) == (compact, bic, "Carol Martin")
    assert compact not in repr(details)


@pytest.mark.parametrize(("typed", "code"), [
    ("FR7630006000011234567890188", "iban_checksum"),
    ("FR763000600001123456789018", "iban_length"),
    ("ZZ7630006000011234567890189", "iban_country"),
    ("FR76 3000 6000 0112 3456 7890 18９", "iban_format"),  # a full-width digit
    ("FR76-3000-6000", "iban_format"),
    ("BR1800360305000010009795493C1", "iban_not_sepa"),
    ("", "iban_empty"),
])
def test_bad_ibans(typed: str, code: str) -> None:
    with pytest.raises(BankDetailsError) as refused:
        read_bank_details(typed, "Carol")
    assert refused.value.code == code


@pytest.mark.parametrize(("name", "code"), [
    ("Carol\x00", "name_control"), ("Carol\nMartin", "name_control"),
    ("Car\u200bol", "name_control"), ("\u202eloraC", "name_control"), ("", "name_empty"),
    ("a" * 71, "name_too_long"),
])
def test_bad_holder_names(name: str, code: str) -> None:
    with pytest.raises(BankDetailsError) as refused:
        read_bank_details("FR7630006000011234567890189", name)
    assert refused.value.code == code


def test_mask_keeps_country_check_digits_and_last_four() -> None:
    assert mask("FR7630006000011234567890189") == "FR76 •••• 0189"


@pytest.mark.parametrize(("text", "expected"), [
    ("#retirer 50€", Withdraw(Money(5_000), "fr")),
    ("#retirer 12,99 €", Withdraw(Money(1_299), "fr")),
    ("#withdraw €7.50", Withdraw(Money(750), "en")),
    ("#retirer tout", Withdraw(None, "fr")),
    ("#withdraw all", Withdraw(None, "en")),
    ("#RETIRER 5 €", Withdraw(Money(500), "fr")),
])
def test_retirer_reads_amounts_as_payments_do(text: str, expected: Withdraw) -> None:
    assert parse(text, bot_user_id=BOT, author_id=AUTHOR, channel="dm") == expected


@pytest.mark.parametrize("text", ["#retirer", "#retirer beaucoup", "#retirer 5 $",
                                  "#retirer 1e3", "#retirer -5€", "#retirer 0€",
                                  "#retirer 0,001 €", "#retirer 5%"])
def test_retirer_refusals(text: str) -> None:
    assert isinstance(parse(text, bot_user_id=BOT, author_id=AUTHOR, channel="dm"), GrammarError)


def test_retirer_is_dm_only() -> None:
    refused = parse("@Smoney #retirer 50€", bot_user_id=BOT, author_id=AUTHOR, channel="tweet")
    assert isinstance(refused, GrammarError) and refused.code == "dm_only"


@given(st.integers(min_value=1, max_value=25_000))
def test_retirer_and_envoyer_read_the_same_amount(cents: int) -> None:
    written = f"{cents // 100},{cents % 100:02d} €"
    withdraw = parse(f"#retirer {written}", bot_user_id=BOT, author_id=AUTHOR, channel="dm")
    send = parse(f"#envoyer {written} @bob", {"mentions": [
        {"start": 8 + len(written) + 1, "end": 8 + len(written) + 5, "username": "bob",
         "id": "3"}]}, bot_user_id=BOT, author_id=AUTHOR, channel="dm")
    assert isinstance(withdraw, Withdraw) and isinstance(send, SendMoney)
    assert withdraw.amount == send.amount == Money(cents)


def test_statement_running_balance_and_no_formula_cells() -> None:
    at = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
    text = statement_csv([
        StatementLine(at, 2, "withdrawal", "system:payouts_in_flight", Money(-700), "=cmd()"),
        StatementLine(at, 1, "topup", "system:card_funding", Money(1_000), "card top-up"),
    ])
    rows = text.splitlines()
    assert rows[0] == "date_utc,transfer_id,kind,counterparty,amount_eur,balance_eur,memo"
    assert rows[1].endswith(",1,topup,system:card_funding,10.00,10.00,card top-up")
    assert rows[2].endswith(",2,withdrawal,system:payouts_in_flight,-7.00,3.00,'=cmd()")
