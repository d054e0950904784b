"""The messages of money out and the wind-down, as ``DirectMessage`` values (the caller
writes them to the outbox). Pure; the words live in ``handlers.texts.payouts``."""

from __future__ import annotations

from handlers.money import Lang, Money
from handlers.outcomes import (
    PRIORITY_ALERT,
    PRIORITY_LINK,
    PRIORITY_NOTICE,
    PRIORITY_RECEIPT,
    DirectMessage,
)
from handlers.texts import TEXTS, render

RETURN_CODES = ("AC01", "AC04", "AM04", "MS03")


def return_reason(code: str | None, lang: Lang) -> str:
    """An ISO 20022 return code (or ``refused``) in plain words; unknown codes as MS03."""
    key = f"return_reason_{code}"
    return render(key if key in TEXTS else "return_reason_MS03", lang)


def refusal(code: str, lang: Lang, limit: Money | None = None) -> str:
    key = f"payout_refusal_{code}"
    if key not in TEXTS:
        key = "payout_refusal_account_inactive"
    return render(key, lang, limit=limit if limit is not None else "")


def iban_added(x_user_id: int, bank_account_id: int, masked: str, until: str,
               lang: Lang) -> DirectMessage:
    return DirectMessage(f"iban-added:{bank_account_id}", x_user_id,
                         render("iban_added_dm", lang, masked=masked, until=until),
                         priority=PRIORITY_ALERT)


def withdraw_link(x_user_id: int, withdrawal_id: int, amount: Money, masked: str, link: str,
                  minutes: int, lang: Lang) -> DirectMessage:
    return DirectMessage(f"withdraw-link:{withdrawal_id}", x_user_id,
                         render("withdraw_link_dm", lang, amount=amount, masked=masked,
                                minutes=minutes, link="{link}"),
                         priority=PRIORITY_LINK, link=link)


def withdrawal_returned(x_user_id: int, withdrawal_id: int, amount: Money, masked: str,
                        code: str | None, lang: Lang) -> DirectMessage:
    return DirectMessage(f"withdraw-returned:{withdrawal_id}", x_user_id,
                         render("withdraw_returned_dm", lang, amount=amount, masked=masked,
                                reason=return_reason(code, lang)),
                         priority=PRIORITY_NOTICE)


def wind_down_notice(x_user_id: int, amount: Money, lang: Lang) -> DirectMessage:
    return DirectMessage(f"wind-down:{x_user_id}", x_user_id,
                         render("wind_down_dm", lang, amount=amount),
                         priority=PRIORITY_RECEIPT)
