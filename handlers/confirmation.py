"""Confirming a payment intent with the PIN: the pure decision and the notices it produces.

The confirmation page (``bot.web``) and its service (``bot.services.confirm``) ask three
questions, in this order, and carry out the answer; nothing here touches a database or a clock:

1. ``check_link(token, intent, now)``: can this link still confirm anything? Asked by GET
   (render only) and again by POST under the row locks. Refusals: unknown, used, not
   awaiting, expired, mismatch (the token no longer binds the intent's payer, amount and
   payee: PSD2 dynamic linking).
2. ``check_payer(payer, now)``: may this account try a PIN at all? A locked account is
   refused *without* checking the PIN (the check costs an Argon2id and would leak a valid
   guess during the lockout).
3. ``decide(token, intent, payer, pin_matched, now, policy)``: both checks again, then
   ``Confirm`` or ``WrongPin`` (count on the intent and on the account; cancel the intent at
   ``max_attempts_per_intent``; lock the account for ``lockout`` at
   ``max_failures_per_account`` failures in a row, with one DM alert).

A wrong PIN is reported as "wrong code" and nothing more: the page never says whether the
link, the amount or the PIN was the wrong part beyond that.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any, Protocol

from handlers.memos import quoted
from handlers.money import Lang, Money
from handlers.outcomes import (
    PRIORITY_ALERT,
    PRIORITY_NOTICE,
    PRIORITY_RECEIPT,
    DirectMessage,
    Outgoing,
    PushNotice,
)
from handlers.texts import lang_of, render
from handlers.times import DEFAULT_TIMEZONE, date_text, datetime_text

AWAITING = "awaiting_confirmation"
REASON_TOO_MANY_WRONG_PINS = "too_many_wrong_pins"
REASON_INSUFFICIENT_FUNDS = "insufficient_funds"
REASON_ACCOUNT_UNAVAILABLE = "account_unavailable"
REASON_ROLLING_LIMIT = "rolling_limit"  # the payer's 24-hour or 30-day total (storage.limits)

class Refusal(enum.StrEnum):
    """Why a link or an account cannot confirm now. The web layer maps each to a status."""

    UNKNOWN = "unknown"  # no such token, or not a confirmation token
    USED = "used"  # a correct PIN already consumed it
    NOT_AWAITING = "not_awaiting"  # the intent is confirmed, cancelled, expired or failed
    EXPIRED = "expired"  # past the token's or the intent's deadline
    MISMATCH = "mismatch"  # token no longer binds the intent's payer, amount or payee
    INACTIVE = "inactive"  # the payer has no usable account or no PIN
    LOCKED = "locked"  # too many wrong PINs in a row: locked_until is in the future


class TokenFacts(Protocol):
    """What the decision reads from a ``ConfirmationToken`` row."""

    @property
    def purpose(self) -> str: ...
    @property
    def x_user_id(self) -> int: ...
    @property
    def intent_id(self) -> int | None: ...
    @property
    def amount_cents(self) -> int | None: ...
    @property
    def payee_x_user_id(self) -> int | None: ...
    @property
    def expires_at(self) -> dt.datetime: ...
    @property
    def used_at(self) -> dt.datetime | None: ...


class IntentFacts(Protocol):
    """What the decision reads from a ``PaymentIntent`` row."""

    @property
    def id(self) -> int: ...
    @property
    def reference(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def lang(self) -> str: ...
    @property
    def payer_x_user_id(self) -> int: ...
    @property
    def payee_x_user_id(self) -> int: ...
    @property
    def payee_handle(self) -> str: ...
    @property
    def amount_cents(self) -> int: ...
    @property
    def memo(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def wrong_pin_attempts(self) -> int: ...
    @property
    def tweet_id(self) -> str | None: ...
    @property
    def expires_at(self) -> dt.datetime: ...


class PayerFacts(Protocol):
    """What the decision reads from the payer's ``User`` row."""

    @property
    def x_user_id(self) -> int: ...
    @property
    def handle(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def lang(self) -> str: ...
    @property
    def pin_hash(self) -> str | None: ...
    @property
    def failed_pin_attempts(self) -> int: ...
    @property
    def locked_until(self) -> dt.datetime | None: ...


@dataclass(frozen=True, slots=True)
class PinPolicy:
    """The attempt limits (settings ``pin_max_*`` and ``lockout_minutes``)."""

    max_attempts_per_intent: int = 3
    max_failures_per_account: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=30)
    dm_receipt_to_sender: bool = False
    # Rolling totals a payer may send (settings limit_24h, limit_30d); None: not checked.
    limit_24h: Money | None = None
    limit_30d: Money | None = None
    timezone: str = DEFAULT_TIMEZONE  # times in notices (settings timezone)
    claim_days: int = 14  # how long escrowed money waits (settings claim_period_days)

    @classmethod
    def from_settings(cls, settings: Any) -> PinPolicy:
        return cls(
            max_attempts_per_intent=settings.pin_max_attempts_per_intent,
            max_failures_per_account=settings.pin_max_failures_per_account,
            lockout=dt.timedelta(minutes=settings.lockout_minutes),
            dm_receipt_to_sender=settings.dm_receipt_to_sender,
            limit_24h=Money(settings.limit_24h),
            limit_30d=Money(settings.limit_30d),
            timezone=settings.timezone,
            claim_days=settings.claim_period_days,
        )


@dataclass(frozen=True, slots=True)
class Shown:
    """What the page showed, sent back by the form: the PIN authorises exactly this."""

    amount_cents: int
    payee_x_user_id: int


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Refusal
    intent_status: str | None = None  # for NOT_AWAITING: which terminal state
    locked_until: dt.datetime | None = None  # for LOCKED


@dataclass(frozen=True, slots=True)
class Confirm:
    """Mark the token used, confirm the intent, reset the account's failures, post the
    transfer, enqueue ``notices``; if the ledger refuses, fail the intent instead."""

    idempotency_key: str


@dataclass(frozen=True, slots=True)
class WrongPin:
    """Store the new counts (committed even though nothing is confirmed)."""

    intent_attempts: int
    account_failures: int  # after this failure; 0 again if this failure locked the account
    attempts_left: int  # on this intent, and never more than the account has left
    cancel_intent: bool
    lock_until: dt.datetime | None
    alerts: tuple[Outgoing, ...] = ()


Decision = Refused | Confirm | WrongPin


def check_link(
    token: TokenFacts | None,
    intent: IntentFacts | None,
    now: dt.datetime,
    shown: Shown | None = None,
) -> Refused | None:
    """None when the link can still confirm its intent; else why not."""
    if token is None or intent is None or token.purpose != "confirm":
        return Refused(Refusal.UNKNOWN)
    if token.intent_id != intent.id:
        return Refused(Refusal.UNKNOWN)
    if token.used_at is not None:
        return Refused(Refusal.USED, intent_status=intent.status)
    if intent.status != AWAITING:
        return Refused(Refusal.NOT_AWAITING, intent_status=intent.status)
    if now >= token.expires_at or now >= intent.expires_at:
        return Refused(Refusal.EXPIRED)
    bound = (token.x_user_id, token.amount_cents, token.payee_x_user_id)
    if bound != (intent.payer_x_user_id, intent.amount_cents, intent.payee_x_user_id):
        return Refused(Refusal.MISMATCH)
    if shown is not None and (shown.amount_cents, shown.payee_x_user_id) != (
        intent.amount_cents,
        intent.payee_x_user_id,
    ):
        return Refused(Refusal.MISMATCH)
    return None


def check_payer(payer: PayerFacts | None, now: dt.datetime) -> Refused | None:
    """None when the payer may try a PIN now; checked before any Argon2id work."""
    if payer is None or payer.status != "active" or not payer.pin_hash:
        return Refused(Refusal.INACTIVE)
    if payer.locked_until is not None and payer.locked_until > now:
        return Refused(Refusal.LOCKED, locked_until=payer.locked_until)
    return None


def decide(
    token: TokenFacts | None,
    intent: IntentFacts | None,
    payer: PayerFacts | None,
    pin_matched: bool,
    now: dt.datetime,
    policy: PinPolicy,
    shown: Shown | None = None,
) -> Decision:
    """The whole decision on a POST, on rows read under lock."""
    refused = check_link(token, intent, now, shown) or check_payer(payer, now)
    if refused is not None:
        return refused
    assert intent is not None and payer is not None  # check_link/check_payer refused None
    if pin_matched:
        return Confirm(idempotency_key=idempotency_key(intent.id))

    intent_attempts = intent.wrong_pin_attempts + 1
    account_failures = payer.failed_pin_attempts + 1
    cancel = intent_attempts >= policy.max_attempts_per_intent
    locks = account_failures >= policy.max_failures_per_account
    lock_until = now + policy.lockout if locks else None
    alerts: tuple[Outgoing, ...] = ()
    if lock_until is not None:
        alerts = (lockout_alert(payer, account_failures, lock_until, policy.timezone),)
        # The lock is the record of this run of failures; after it, a fresh count starts.
        account_failures = 0
    if cancel and intent.kind == "request":
        # The requester is waiting for this money: tell them it will not come (not why).
        alerts = (*alerts, request_cancelled_notice(intent, payer))
    left = min(
        policy.max_attempts_per_intent - intent_attempts,
        policy.max_failures_per_account - (payer.failed_pin_attempts + 1),
    )
    return WrongPin(
        intent_attempts=intent_attempts,
        account_failures=account_failures,
        attempts_left=max(left, 0),
        cancel_intent=cancel,
        lock_until=lock_until,
        alerts=alerts,
    )


def idempotency_key(intent_id: int) -> str:
    """The ledger key of an intent's transfer: one confirmed intent, one transfer."""
    return f"intent:{intent_id}"


def _lang(value: str | None) -> Lang:
    return lang_of(value)


def request_cancelled_notice(intent: IntentFacts, payer: PayerFacts) -> DirectMessage:
    """To whoever asked for the money (the payee of a request)."""
    lang = _lang(intent.lang)
    return DirectMessage(
        dedupe_key=f"intent:{intent.id}:request_cancelled",
        recipient_x_user_id=intent.payee_x_user_id,
        text=render("request_cancelled_dm", lang, amount=Money(intent.amount_cents),
                    payer=payer.handle, reference=intent.reference),
        priority=PRIORITY_NOTICE,
        intent_id=intent.id,
    )


def lockout_alert(payer: PayerFacts, failures: int, until: dt.datetime,
                  tz: str) -> DirectMessage:
    lang = _lang(payer.lang)
    text = render("lockout_dm", lang, failures=failures, until=datetime_text(until, lang, tz))
    return DirectMessage(
        dedupe_key=f"lockout:{payer.x_user_id}:{until.astimezone(dt.UTC):%Y%m%dT%H%M%S}",
        recipient_x_user_id=payer.x_user_id,
        text=text,
        priority=PRIORITY_ALERT,
    )


def confirmation_notices(
    intent: IntentFacts,
    payer: PayerFacts,
    *,
    payee_lang: str | None,
    payee_reachable: bool,
    policy: PinPolicy,
    escrow_until: dt.datetime | None = None,
    payee_app: bool = False,
) -> list[Outgoing]:
    """What a confirmed payment says: the recipient's notice (push or DM), and the sender's DM
    receipt only if the setting asks. Nothing public: the summons already had its one reply
    (X allows one per summons) and the page is the payer's receipt.

    ``payee_reachable``: the payee may be DMed (an account holder who did not send #stop).
    ``escrow_until``: the payee has no account; the money waits for them until then.
    ``payee_app``: the payee has an app device: told by push, and no DM is spent.
    """
    amount = Money(intent.amount_cents)
    donation = intent.kind == "donate"
    notices: list[Outgoing] = []
    if payee_app and payee_reachable:
        lang = _lang(payee_lang)
        notices.append(PushNotice(
            dedupe_key=f"intent:{intent.id}:received-push",
            recipient_x_user_id=intent.payee_x_user_id,
            title=render("push_received_title", lang),
            body=render("push_received_body", lang, amount=amount, payer=payer.handle),
            priority=PRIORITY_NOTICE, intent_id=intent.id,
        ))
    elif payee_reachable:
        lang = _lang(payee_lang)
        notices.append(DirectMessage(
            dedupe_key=f"intent:{intent.id}:received",
            recipient_x_user_id=intent.payee_x_user_id,
            text=render("received_donation_dm" if donation else "received_dm", lang,
                        amount=amount, payer=payer.handle,
                        memo=quoted(intent.memo, lang, relayed=True), reference=intent.reference),
            priority=PRIORITY_NOTICE,
            intent_id=intent.id,
        ))
    if policy.dm_receipt_to_sender:
        lang = _lang(payer.lang)
        key = ("receipt_escrow_dm" if escrow_until else
               "receipt_donation_dm" if donation else "receipt_dm")
        deadline = date_text(escrow_until, lang, policy.timezone) if escrow_until else ""
        notices.append(DirectMessage(
            dedupe_key=f"intent:{intent.id}:receipt",
            recipient_x_user_id=payer.x_user_id,
            text=render(key, lang, amount=amount, payee=intent.payee_handle,
                        memo=quoted(intent.memo, lang, relayed=False), days=policy.claim_days,
                        deadline=deadline, reference=intent.reference),
            priority=PRIORITY_RECEIPT,
            intent_id=intent.id,
        ))
    return notices
