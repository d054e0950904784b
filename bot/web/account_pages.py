"""The login link and the account page: balance, history, cards and top-up, PIN change,
unlink, log out, and a Pro account's donations (CSV download).

Every POST under /account needs a live session, a same-site request and the session's CSRF
token (``bot.web.accounts``). Successes redirect (303) back to ``/account`` with what to say
(``?done=`` a fixed key, or ``?charge=`` a charge of this user, read back from the database),
so a reload never posts twice; refusals re-render the page with the reason.
"""

from __future__ import annotations

from bot.web.account_cards import CardActions
from bot.web.account_core import (
    DECLINES,
    DONE_KEYS,
    HISTORY_LINES,
    NONCE_SHAPE,
    PIN_SHAPE,
    AccountPagesCore,
    Line,
    PageData,
)
from bot.web.account_pin import PinActions


class AccountPages(CardActions, PinActions):
    """Every handler of the account family (``bot.web.account_routes`` routes them)."""


__all__ = ["DECLINES", "DONE_KEYS", "HISTORY_LINES", "NONCE_SHAPE", "PIN_SHAPE", "AccountPages",
           "AccountPagesCore", "Line", "PageData"]
