"""What the confirmation service (``bot.services.confirm``) answers: the page's facts about
an intent, the outcome of a POST, and the passkey checker it calls under its row locks.
Routes (the link page, the app, passkeys) import these from ``bot.services.confirm``."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any, Protocol

from handlers.confirmation import Refused
from handlers.money import Money
from storage import limits
from storage.confirmations import IntentRow, PayerRow, TokenRow
from storage.passkeys import PasskeyRow, PasskeyUse


class Outcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    WRONG_PIN = "wrong_pin"  # try again: attempts_left > 0
    CANCELLED = "cancelled"  # this wrong PIN was the last one for the intent
    LOCKED = "locked"  # the account is (now) locked: refused without a PIN check
    FAILED = "failed"  # right PIN, but the ledger refused (insufficient funds...)
    REFUSED = "refused"  # the link cannot confirm anything (see ``refusal``)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the page shows about the intent."""

    reference: str
    kind: str
    lang: str
    amount: Money
    payee_x_user_id: int
    payee_handle: str
    payer_handle: str
    memo: str
    expires_at: dt.datetime
    status: str
    payer_lang: str = ""  # pages about this payment speak the payer's language


@dataclass(frozen=True, slots=True)
class LinkView:
    """GET: the facts to show with the form, or why the link is dead."""

    facts: Facts | None
    refusal: Refused | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """POST: what happened."""

    outcome: Outcome
    facts: Facts | None
    refusal: Refused | None = None
    attempts_left: int | None = None
    locked_until: dt.datetime | None = None
    failure_reason: str | None = None
    transfer_id: int | None = None
    escrow_until: dt.datetime | None = None  # CONFIRMED into escrow: the claim deadline
    headroom: limits.Headroom | None = None  # for REASON_ROLLING_LIMIT: what is left


class PasskeyCheck(Protocol):
    """Verifies a passkey assertion for an intent on the locked rows (``bot.services
    .passkeys``): the counter's move if it is a valid assertion of the payer's passkey
    ``row`` over the challenge derived from this intent, else None. It writes nothing: the
    counter moves with the link's spending."""

    def verify_locked(self, row: PasskeyRow | None, payer_user_id: int, intent: IntentRow,
                      assertion: Any) -> PasskeyUse | None: ...


def facts_of(
    token: TokenRow | None,
    intent: IntentRow | None,
    payer: PayerRow | None,
    status: str | None = None,
) -> Facts | None:
    # A token that does not bind its intent shows nothing of it.
    if token is None or intent is None or token.intent_id != intent.id:
        return None
    return Facts(
        reference=intent.reference,
        kind=intent.kind,
        lang=intent.lang,
        amount=Money(intent.amount_cents),
        payee_x_user_id=intent.payee_x_user_id,
        payee_handle=intent.payee_handle,
        payer_handle=payer.handle if payer is not None else "",
        memo=intent.memo,
        expires_at=min(intent.expires_at, token.expires_at),
        status=status or intent.status,
        payer_lang=payer.lang if payer is not None else "",
    )
