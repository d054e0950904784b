"""What a user can ask the bot, as frozen values. Commands are imperative (``SendMoney``).

The grammar (``handlers.grammar``) turns a tweet or DM into one of these, or a
``GrammarError``. Recipients are numeric X user ids taken from the X API's mention entities;
the handle is kept for display only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from handlers.money import Lang, Money

Channel = Literal["tweet", "dm"]


@dataclass(frozen=True, slots=True)
class Recipient:
    x_user_id: int
    handle: str


@dataclass(frozen=True, slots=True)
class UnresolvedRecipient:
    """A handle the X API gave no user id for (a DM without mention ids, an unknown account).

    The caller resolves it to a user id (``XGateway`` user lookup) before making an intent, and
    refuses when it does not exist or is the author or the bot: the grammar cannot know that.
    """

    handle: str


AnyRecipient = Recipient | UnresolvedRecipient


@dataclass(frozen=True, slots=True)
class SendMoney:
    amount: Money
    recipient: AnyRecipient
    memo: str
    lang: Lang


@dataclass(frozen=True, slots=True)
class Donate:
    amount: Money
    recipient: AnyRecipient
    memo: str
    lang: Lang


@dataclass(frozen=True, slots=True)
class RequestMoney:
    """Ask ``payer`` to pay the author."""

    amount: Money
    payer: AnyRecipient
    memo: str
    lang: Lang


@dataclass(frozen=True, slots=True)
class ShowBalance:
    lang: Lang


@dataclass(frozen=True, slots=True)
class ShowHistory:
    lang: Lang
    count: int = 5


@dataclass(frozen=True, slots=True)
class Cancel:
    lang: Lang
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class Help:
    lang: Lang


@dataclass(frozen=True, slots=True)
class SignUp:
    """``#inscription`` / ``#signup``: ask for a sign-up link (by DM)."""

    lang: Lang


@dataclass(frozen=True, slots=True)
class ShowAccount:
    """``#compte`` / ``#account``: ask for a one-time login link to the account page."""

    lang: Lang


@dataclass(frozen=True, slots=True)
class Stop:
    """``#stop``: no more messages from the bot until the user writes again."""

    lang: Lang


@dataclass(frozen=True, slots=True)
class Withdraw:
    """``#retirer 50€`` / ``#withdraw all`` (DM only): money out to the holder's bank account,
    answered with a one-time confirmation link. ``amount=None``: the whole balance."""

    amount: Money | None
    lang: Lang


Command = (
    SendMoney | Donate | RequestMoney | ShowBalance | ShowHistory | Cancel | Help | SignUp
    | ShowAccount | Stop | Withdraw
)
