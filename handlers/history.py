"""An account statement as a user reads it: each movement names the other party, wholly in the
user's language, dated in their time zone. Used by ``#historique`` and the account page.

``storage.statement`` reads the movements and who was on the other side; this module only
words them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from handlers.memos import relayable
from handlers.money import Lang, Money
from handlers.texts import render
from handlers.times import day_text

# What a movement was, from this account's point of view.
Role = Literal["payment", "topup", "escrow_hold", "escrow_claim", "escrow_return", "other"]


@dataclass(frozen=True, slots=True)
class Movement:
    at: dt.datetime
    amount: Money  # signed: negative when money left the account
    role: Role
    other_handle: str = ""  # the other person, when there is one and we know their handle
    memo: str = ""  # shown without links and mentions: it may be someone else's words


def label(movement: Movement, lang: Lang) -> str:
    """``à @bob``, ``reçu de @alice``, ``recharge par carte``…"""
    if movement.role == "topup":
        return render("history_topup", lang)
    if not movement.other_handle:
        return render("history_someone", lang)
    key = {
        "escrow_hold": "history_held_for",
        "escrow_claim": "history_claimed_from",
        "escrow_return": "history_returned",
    }.get(movement.role)
    if key is None:
        key = "history_from" if movement.amount.cents > 0 else "history_to"
    return render(key, lang, handle=movement.other_handle)


def memo_shown(movement: Movement) -> str:
    """The memo as a statement shows it: without links and mentions (the payer's words on the
    payee's statement, the requester's on the payer's). System movements (a top-up) carry our
    own bookkeeping note, in English: not shown."""
    if movement.role in ("topup", "other"):
        return ""
    return relayable(movement.memo)[0]


def signed_amount(movement: Movement, lang: Lang) -> str:
    return ("+" if movement.amount.cents > 0 else "") + movement.amount.format(lang)


def line(movement: Movement, lang: Lang, tz: str) -> str:
    """One ``#historique`` line: ``01/12 -5,00 € à @bob « resto »``."""
    memo = memo_shown(movement)
    quoted = render("memo_quote", lang, memo=memo) if memo else ""
    return (f"{day_text(movement.at, lang, tz)} {signed_amount(movement, lang)} "
            f"{label(movement, lang)}{quoted}")
