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
    Outgoing,
    PushNotice,
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


def _notice(dedupe_key: str, x_user_id: int, lang: Lang, *, app: bool, dm: str,
            push: tuple[str, str], priority: int, **params: object) -> Outgoing:
    """A Web Push (title, body keys) when the holder has the app (no DM spent), else a DM."""
    if app:
        return PushNotice(f"{dedupe_key}:push", x_user_id, render(push[0], lang),
                          render(push[1], lang, **params), priority=priority,
                          url="/account/bank")
    return DirectMessage(dedupe_key, x_user_id, render(dm, lang, **params), priority=priority)


def iban_added(x_user_id: int, bank_account_id: int, masked: str, until: str, lang: Lang,
               *, app: bool = False) -> Outgoing:
    return _notice(f"iban-added:{bank_account_id}", x_user_id, lang, app=app,
                   dm="iban_added_dm", push=("push_iban_added_title", "push_iban_added_body"),
                   priority=PRIORITY_ALERT,
                   masked=masked, until=until)


def withdraw_link(x_user_id: int, withdrawal_id: int, amount: Money, masked: str, link: str,
                  minutes: int, lang: Lang) -> DirectMessage:
    return DirectMessage(f"withdraw-link:{withdrawal_id}", x_user_id,
                         render("withdraw_link_dm", lang, amount=amount, masked=masked,
                                minutes=minutes, link="{link}"),
                         priority=PRIORITY_LINK, link=link)


def withdrawal_returned(x_user_id: int, withdrawal_id: int, amount: Money, masked: str,
                        code: str | None, lang: Lang, *, app: bool = False) -> Outgoing:
    return _notice(f"withdraw-returned:{withdrawal_id}", x_user_id, lang, app=app,
                   dm="withdraw_returned_dm", push=("push_returned_title", "push_returned_body"),
                   priority=PRIORITY_NOTICE,
                   amount=amount, masked=masked, reason=return_reason(code, lang))


def wind_down_notice(x_user_id: int, amount: Money, lang: Lang, *, app: bool = False
                     ) -> Outgoing:
    return _notice(f"wind-down:{x_user_id}", x_user_id, lang, app=app, dm="wind_down_dm",
                   push=("push_wind_down_title", "push_wind_down_body"),
                   priority=PRIORITY_RECEIPT, amount=amount)
