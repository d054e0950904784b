"""The DMs the scheduled jobs and the escrow send (expiry, escrow invitation, claim, reminder,
refund): chosen and worded here, purely; storage finds the rows and queues what this returns.

Consent is not decided here: callers ask ``handlers.consent`` (through ``storage.consent``)
and the outbox asks again at send time.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from handlers.money import Lang, Money
from handlers.outcomes import PRIORITY_NOTICE, DirectMessage
from handlers.texts import render
from handlers.times import DEFAULT_TIMEZONE, date_text


class HoldFacts(Protocol):
    """What the notices read from an ``EscrowHold`` row."""

    @property
    def id(self) -> int: ...
    @property
    def sender_x_user_id(self) -> int: ...
    @property
    def recipient_x_user_id(self) -> int: ...
    @property
    def recipient_handle(self) -> str: ...
    @property
    def amount_cents(self) -> int: ...
    @property
    def claim_deadline(self) -> dt.datetime: ...


class ExpiredFacts(Protocol):
    """What the expiry notice reads from a ``PaymentIntent`` row."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def reference(self) -> str: ...
    @property
    def initiator_x_user_id(self) -> int: ...
    @property
    def payee_handle(self) -> str: ...
    @property
    def amount_cents(self) -> int: ...


def intent_expired(intent: ExpiredFacts, lang: Lang, payer_handle: str) -> DirectMessage:
    """To the initiator: their payment (or request, naming who did not pay) expired."""
    amount = Money(intent.amount_cents)
    if intent.kind == "request":
        text = render("request_expired_dm", lang, amount=amount, payer="@" + payer_handle,
                      reference=intent.reference)
    else:
        text = render("expired_dm", lang, amount=amount, payee="@" + intent.payee_handle,
                      reference=intent.reference)
    return DirectMessage(f"intent:{intent.id}:expired", intent.initiator_x_user_id, text,
                         priority=PRIORITY_NOTICE, intent_id=intent.id)


def escrow_invitation(hold: HoldFacts, sender_handle: str, lang: Lang,
                      tz: str = DEFAULT_TIMEZONE) -> DirectMessage:
    """To someone without an account who may be DMed: money waits for them until when."""
    return DirectMessage(
        f"escrow:{hold.id}:invite", hold.recipient_x_user_id,
        render("escrow_invite_dm", lang, amount=Money(hold.amount_cents),
               sender="@" + sender_handle, deadline=date_text(hold.claim_deadline, lang, tz)),
        priority=PRIORITY_NOTICE)


def escrow_claimed(hold: HoldFacts, sender_handle: str, *, recipient_lang: Lang,
                   sender_lang: Lang, tell_sender: bool) -> list[DirectMessage]:
    """On sign-up: the new holder learns the money arrived; the sender, that it reached them."""
    amount = Money(hold.amount_cents)
    notices = [DirectMessage(
        f"escrow:{hold.id}:claimed:recipient", hold.recipient_x_user_id,
        render("escrow_claimed_recipient_dm", recipient_lang, amount=amount,
               sender="@" + sender_handle),
        priority=PRIORITY_NOTICE)]
    if tell_sender:
        notices.append(DirectMessage(
            f"escrow:{hold.id}:claimed:sender", hold.sender_x_user_id,
            render("escrow_claimed_sender_dm", sender_lang, amount=amount,
                   recipient="@" + hold.recipient_handle),
            priority=PRIORITY_NOTICE))
    return notices


def escrow_refunded(hold: HoldFacts, lang: Lang) -> DirectMessage:
    return DirectMessage(
        f"escrow:{hold.id}:refunded", hold.sender_x_user_id,
        render("escrow_refunded_dm", lang, amount=Money(hold.amount_cents),
               recipient="@" + hold.recipient_handle),
        priority=PRIORITY_NOTICE)


def escrow_reminder(hold: HoldFacts, lang: Lang, tz: str = DEFAULT_TIMEZONE) -> DirectMessage:
    return DirectMessage(
        f"escrow:{hold.id}:reminder", hold.sender_x_user_id,
        render("escrow_reminder_dm", lang, amount=Money(hold.amount_cents),
               recipient="@" + hold.recipient_handle,
               deadline=date_text(hold.claim_deadline, lang, tz)),
        priority=PRIORITY_NOTICE)
