"""Fakes for the ports, shared by the tests: one clock, an X gateway and a card provider that
keep everything in memory. Each fake subclasses its port, so a port that grows a method
breaks the fake loudly instead of silently."""

from __future__ import annotations

import datetime as dt
import itertools

from bot.gateway.port import XGateway
from bot.gateway.values import DmEvent, MentionBatch, SentMessage, XUser
from bot.payments import (
    CardRefused,
    CardToken,
    ChargeRecord,
    ChargeResult,
    PaymentError,
    PaymentProvider,
    RefundResult,
)
from handlers.errors import Forbidden
from handlers.money import Money


class FakeClock:
    """A clock that moves only when told: ``clock()`` is the time, ``advance(minutes=…)``."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        # Default: the real time (the emulator stamps rate-limit resets with its own clock).
        self.now = now or dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class FakeGateway(XGateway):
    """X in memory: known users, what was posted and DMed, DMs a user has closed."""

    def __init__(self, bot: XUser, users: list[XUser] | None = None) -> None:
        self.bot = bot
        self.users = {u.id: u for u in [bot, *(users or [])]}
        self.replies: list[tuple[str, str]] = []  # (in reply to, text)
        self.posts: list[str] = []
        self.dms: list[tuple[int, str]] = []  # (recipient id, text)
        self.dms_closed: set[int] = set()
        self.inbound_mentions: list[object] = []
        self.inbound_dms: list[DmEvent] = []
        self._ids = itertools.count(1000)

    def me(self) -> XUser:
        return self.bot

    def mentions(self, since_id: str | None, *, max_pages: int | None = None) -> MentionBatch:
        return MentionBatch(list(self.inbound_mentions), None)  # type: ignore[arg-type]

    def dm_events(self, until_event_id: str | None, *,
                  max_pages: int | None = None) -> list[DmEvent]:
        return list(self.inbound_dms)

    def reply(self, in_reply_to_tweet_id: str, text: str) -> str:
        self.replies.append((in_reply_to_tweet_id, text))
        return str(next(self._ids))

    def post(self, text: str) -> str:
        self.posts.append(text)
        return str(next(self._ids))

    def send_dm(self, recipient_id: int | str, text: str) -> str:
        if int(recipient_id) in self.dms_closed:
            raise Forbidden("this user does not accept DMs")
        self.dms.append((int(recipient_id), text))
        return str(next(self._ids))

    def user_by_handle(self, handle: str) -> XUser | None:
        return next((u for u in self.users.values()
                     if u.username.casefold() == handle.casefold()), None)

    def user_by_id(self, user_id: int | str) -> XUser | None:
        return self.users.get(int(user_id))

    def sent_dms(self, recipient_id: int | str) -> list[SentMessage]:
        """Newest first. No times are kept here: recovery after a crash is tested against
        the emulator (tests/integration), which stamps every message as X does."""
        return [SentMessage(str(i), text, None) for i, (uid, text) in
                reversed(list(enumerate(self.dms))) if uid == int(recipient_id)]

    def sent_replies(self) -> list[SentMessage]:
        return [SentMessage(str(i), text, None, in_reply_to=parent)
                for i, (parent, text) in reversed(list(enumerate(self.replies)))]


class FakePaymentProvider(PaymentProvider):
    """A card acquirer in memory. Cards ending in 0002 are declined; ``fail_next`` makes the
    next charge raise as a provider outage would. Charges are idempotent on their key."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[str] = []  # what was asked, in order (to prove what was not)
        self.fail_next = False
        self._charges: dict[str, ChargeResult] = {}  # by idempotency key
        self._refunds: dict[str, Money] = {}
        self._ids = itertools.count(1)

    def tokenize(self, number: str, exp_month: int, exp_year: int, cvc: str) -> CardToken:
        self.calls.append("tokenize")
        digits = number.replace(" ", "")
        if not digits.isdigit() or len(digits) < 12:
            raise CardRefused("invalid_number")
        return CardToken(f"tok_{digits[-4:]}", digits[-4:], exp_month, exp_year, "visa")

    def charge(self, token: str, amount: Money, idempotency_key: str, *,
               authenticate: bool = False, return_url: str = "") -> ChargeResult:
        self.calls.append("charge")
        if idempotency_key in self._charges:
            return self._charges[idempotency_key]
        if self.fail_next:
            self.fail_next = False
            raise PaymentError("provider unavailable", code="unavailable")
        declined = token.endswith("0002")
        result = ChargeResult(f"ch_{next(self._ids)}", "declined" if declined else "succeeded",
                              amount, decline_code="generic_decline" if declined else None)
        self._charges[idempotency_key] = result
        return result

    def complete_authentication(self, charge_id: str, result: str) -> ChargeResult:
        self.calls.append("complete_authentication")
        raise PaymentError("no challenge was asked", code="challenge_replayed")

    def refund(self, charge_id: str, amount: Money) -> RefundResult:
        self.calls.append("refund")
        self._refunds[charge_id] = self._refunds.get(charge_id, Money(0)) + amount
        return RefundResult(f"re_{next(self._ids)}", charge_id, amount)

    def charges(self) -> list[ChargeRecord]:
        return [ChargeRecord(c.id, c.status, c.amount, self._refunds.get(c.id, Money(0)),
                             "2026-12-01T00:00:00Z") for c in self._charges.values()]
