"""The confirmation page's service: look at a link (GET) and confirm it with a PIN (POST).

``look`` only reads: link-preview crawlers fetch URLs, so a GET never changes anything.

``confirm`` runs in three steps so that the Argon2id check (~25 ms of CPU) never holds a lock:

1. read the token, its intent and the payer, and refuse at once what ``check_link`` or
   ``check_payer`` refuses (unknown, used, expired, locked account...): no PIN check, no write;
2. verify the PIN, outside any transaction;
3. in ONE transaction, lock the intent, the token and the payer (in that order, the order the
   scheduler's expiry also takes), decide again on what is now true (``handlers.confirmation``
   .decide: a concurrent POST may have used the link meanwhile) and write the decision:

   - right PIN: token ``used_at``, intent ``confirmed`` with its ``transfer_id``, the payer's
     failures back to 0, the ledger transfer keyed ``intent:<id>``, the outbox notices;
     if the ledger refuses (insufficient funds) the intent is ``failed`` with its reason
     instead, and the link is spent all the same;
   - wrong PIN: the counts (and the cancellation, the lock and its alert DM) are committed,
     though nothing is confirmed.

The token itself is only ever handled as its SHA-256; it is never logged.
"""

from __future__ import annotations

import datetime as dt
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.security import PinHasher, hash_token
from handlers.confirmation import (
    REASON_ACCOUNT_UNAVAILABLE,
    REASON_INSUFFICIENT_FUNDS,
    REASON_TOO_MANY_WRONG_PINS,
    Confirm,
    PinPolicy,
    Refusal,
    Refused,
    Shown,
    WrongPin,
    check_link,
    check_payer,
    confirmation_notices,
    decide,
)
from handlers.errors import InsufficientFunds, UnknownAccount
from handlers.money import Money
from storage import outbox
from storage.db import backoff_seconds, is_retryable
from storage.ledger import user_account_code
from storage.models import ConfirmationToken, Contact, PaymentIntent, User
from storage.sealing import Sealer
from storage.uow import UnitOfWork

Clock = Callable[[], dt.datetime]
TRANSFER_KIND = "payment"
WRITE_ATTEMPTS = 8


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


def _facts(
    token: ConfirmationToken | None, intent: PaymentIntent | None, payer: User | None
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
        status=intent.status,
    )


class ConfirmationService:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        pin_hasher: PinHasher,
        sealer: Sealer,
        policy: PinPolicy,
        clock: Clock,
    ) -> None:
        self._sessions = session_factory
        self._pins = pin_hasher
        self._sealer = sealer
        self._policy = policy
        self._clock = clock

    def _read(
        self, session: Session, token_hash: str
    ) -> tuple[ConfirmationToken | None, PaymentIntent | None, User | None]:
        row = session.execute(
            select(ConfirmationToken, PaymentIntent, User)
            .outerjoin(PaymentIntent, PaymentIntent.id == ConfirmationToken.intent_id)
            .outerjoin(User, User.x_user_id == PaymentIntent.payer_x_user_id)
            .where(ConfirmationToken.token_hash == token_hash)
        ).first()
        if row is None:
            return None, None, None
        return row[0], row[1], row[2]

    def look(self, token: str) -> LinkView:
        """Read only: what the page shows for this link now."""
        now = self._clock()
        with self._sessions() as session:
            tok, intent, payer = self._read(session, hash_token(token))
        refused = check_link(tok, intent, now)
        facts = _facts(tok, intent, payer)
        if refused is None:
            # A locked account sees the payment but is told to come back later.
            refused = check_payer(payer, now)
        if refused is not None and refused.reason in (Refusal.UNKNOWN, Refusal.MISMATCH):
            facts = None
        return LinkView(facts, refused)

    def confirm(self, token: str, pin: str, shown: Shown | None = None) -> Result:
        """Check the link and the PIN; write the decision in one transaction."""
        token_hash = hash_token(token)
        now = self._clock()
        with self._sessions() as session:
            tok, intent, payer = self._read(session, token_hash)
        refused = check_link(tok, intent, now, shown) or check_payer(payer, now)
        if refused is not None:
            return self._refused(refused, _facts(tok, intent, payer))
        assert tok is not None and intent is not None and payer is not None
        checked_hash = payer.pin_hash or ""
        matched = self._pins.verify(checked_hash, pin)
        intent_id = intent.id

        for attempt in range(WRITE_ATTEMPTS):
            try:
                return self._write(token_hash, intent_id, pin, checked_hash, matched, shown)
            except DBAPIError as exc:
                if attempt + 1 >= WRITE_ATTEMPTS or not is_retryable(exc):
                    raise
            time.sleep(backoff_seconds(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _refused(refused: Refused, facts: Facts | None) -> Result:
        if refused.reason in (Refusal.UNKNOWN, Refusal.MISMATCH):
            facts = None
        if refused.reason is Refusal.LOCKED:
            return Result(Outcome.LOCKED, facts, refused, locked_until=refused.locked_until)
        return Result(Outcome.REFUSED, facts, refused)

    def _write(
        self,
        token_hash: str,
        intent_id: int,
        pin: str,
        checked_hash: str,
        matched: bool,
        shown: Shown | None,
    ) -> Result:
        with UnitOfWork(self._sessions) as uow:
            session = uow.session
            intent = session.scalars(
                select(PaymentIntent)
                .where(PaymentIntent.id == intent_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).first()
            tok = session.scalars(
                select(ConfirmationToken)
                .where(ConfirmationToken.token_hash == token_hash)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).first()
            payer = None
            if intent is not None:
                payer = session.scalars(
                    select(User)
                    .where(User.x_user_id == intent.payer_x_user_id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                ).first()
            if payer is not None and payer.pin_hash and payer.pin_hash != checked_hash:
                # The PIN changed between the read and the lock (rare): check the new one.
                matched = self._pins.verify(payer.pin_hash, pin)
            now = self._clock()
            decision = decide(tok, intent, payer, matched, now, self._policy, shown)
            facts = _facts(tok, intent, payer)
            if isinstance(decision, Refused):
                return self._refused(decision, facts)  # rolled back: nothing written
            assert tok is not None and intent is not None and payer is not None
            if isinstance(decision, WrongPin):
                result = self._wrong_pin(session, decision, intent, payer, facts, now)
            else:
                result = self._confirmed(uow, decision, tok, intent, payer, facts, now)
            uow.commit()
            return result

    def _wrong_pin(
        self,
        session: Session,
        decision: WrongPin,
        intent: PaymentIntent,
        payer: User,
        facts: Facts | None,
        now: dt.datetime,
    ) -> Result:
        intent.wrong_pin_attempts = decision.intent_attempts
        payer.failed_pin_attempts = decision.account_failures
        if decision.cancel_intent:
            intent.status = "cancelled"
            intent.failure_reason = REASON_TOO_MANY_WRONG_PINS
            intent.decided_at = now
        if decision.lock_until is not None:
            payer.locked_until = decision.lock_until
        outbox.enqueue(session, self._sealer, decision.alerts, now)
        session.flush()
        if decision.lock_until is not None:
            outcome = Outcome.LOCKED
        elif decision.cancel_intent:
            outcome = Outcome.CANCELLED
        else:
            outcome = Outcome.WRONG_PIN
        return Result(
            outcome,
            facts,
            attempts_left=decision.attempts_left,
            locked_until=decision.lock_until,
            failure_reason=intent.failure_reason if decision.cancel_intent else None,
        )

    def _confirmed(
        self,
        uow: UnitOfWork,
        decision: Confirm,
        tok: ConfirmationToken,
        intent: PaymentIntent,
        payer: User,
        facts: Facts | None,
        now: dt.datetime,
    ) -> Result:
        session = uow.session
        tok.used_at = now
        payer.failed_pin_attempts = 0
        intent.decided_at = now
        try:
            # A refused transfer writes nothing (storage.ledger invariant 5): no savepoint.
            transfer = uow.ledger.post_transfer(
                idempotency_key=decision.idempotency_key,
                debit=user_account_code(intent.payer_x_user_id),
                credit=user_account_code(intent.payee_x_user_id),
                amount=Money(intent.amount_cents),
                kind=TRANSFER_KIND,
                memo=intent.memo,
            )
        except InsufficientFunds:
            return self._failed(session, intent, facts, REASON_INSUFFICIENT_FUNDS)
        except UnknownAccount:
            return self._failed(session, intent, facts, REASON_ACCOUNT_UNAVAILABLE)
        intent.status = "confirmed"
        intent.transfer_id = transfer.transfer_id
        payee = session.scalars(
            select(User).where(User.x_user_id == intent.payee_x_user_id)
        ).first()
        contacts = {
            c.x_user_id: c
            for c in session.scalars(
                select(Contact).where(
                    Contact.x_user_id.in_({intent.payee_x_user_id, intent.initiator_x_user_id})
                )
            )
        }
        payee_contact = contacts.get(intent.payee_x_user_id)
        initiator_contact = contacts.get(intent.initiator_x_user_id)
        notices = confirmation_notices(
            intent,
            payer,
            payee_lang=payee.lang if payee is not None else None,
            # Account holders consented to DMs at sign-up; #stop still wins.
            payee_reachable=(
                payee is not None
                and payee.status == "active"
                and not (payee_contact is not None and payee_contact.stopped)
            ),
            thread_reachable=not (initiator_contact is not None and initiator_contact.stopped),
            policy=self._policy,
        )
        outbox.enqueue(session, self._sealer, notices, now)
        session.flush()
        return Result(
            Outcome.CONFIRMED,
            _refresh(facts, "confirmed"),
            transfer_id=transfer.transfer_id,
        )

    @staticmethod
    def _failed(
        session: Session, intent: PaymentIntent, facts: Facts | None, reason: str
    ) -> Result:
        intent.status = "failed"
        intent.failure_reason = reason
        session.flush()
        return Result(Outcome.FAILED, _refresh(facts, "failed"), failure_reason=reason)

    def ping(self) -> None:
        """Raise unless the database answers ``SELECT 1`` (for /healthz)."""
        with self._sessions() as session:
            session.execute(select(1)).scalar_one()
            session.rollback()


def _refresh(facts: Facts | None, status: str) -> Facts | None:
    return None if facts is None else replace(facts, status=status)
