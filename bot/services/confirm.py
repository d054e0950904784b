"""Confirm a payment: look at a link (GET) and confirm it with a PIN or a passkey (POST).

The entry point for every route that confirms a payment (the link page, the app, a passkey):
``ConfirmationService(...).confirm(token, pin)`` returns a ``Result`` the route maps to a
page, a JSON answer or an HTTP code. The rows and writes are ``storage.confirmations``; the
decision is ``handlers.confirmation`` (pure).

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

On SQLite, the transactions of step 3 that wait for the one write lock at the same moment
run as savepoints of one transaction and commit together (``storage.group_commit``): each is
still all or nothing, and none is answered before that COMMIT.

A passkey has no Argon2id to keep out of the lock: its POST skips step 1 (step 3 makes the
same checks on the locked rows, and refuses what they refuse without writing) and its
assertion is verified in step 3, against the challenge derived from the locked intent.

The token itself is only ever handled as its SHA-256; it is never logged.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.logging import get_logger
from bot.passkeys import Assertion, PasskeyRefused, parse_assertion
from bot.security import PinHasher, hash_token
from bot.services import escrow as escrow_service
from bot.services.confirm_outcomes import (
    Facts,
    LinkView,
    Outcome,
    PasskeyCheck,
    Result,
    facts_of,
)
from handlers.binding import INTENT_LABEL, intent_parts
from handlers.confirmation import (
    REASON_ACCOUNT_UNAVAILABLE,
    REASON_INSUFFICIENT_FUNDS,
    REASON_ROLLING_LIMIT,
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
from handlers.consent import Reach, may_dm
from handlers.errors import InsufficientFunds, UnknownAccount
from handlers.money import Money
from storage import confirmations as rows
from storage import escrow, limits, outbox
from storage.confirmations import IntentRow, Locked, PayerRow, TokenRow
from storage.db import backoff_seconds, is_retryable, read_engine
from storage.group_commit import GroupCommit, Sessions
from storage.ledger import ESCROW, user_account_code
from storage.passkeys import PasskeyUse
from storage.sealing import Sealer
from storage.uow import UnitOfWork

# The entry point and what it answers (the answers live in bot.services.confirm_outcomes).
__all__ = ["ConfirmationService", "Facts", "LinkView", "Outcome", "PasskeyCheck", "Result"]

Clock = Callable[[], dt.datetime]
TRANSFER_KIND = "payment"
WRITE_ATTEMPTS = 8
# Longer than a queue of checks ever waits for a permit (a few checks of ~25 ms each).
PIN_GATE_WAIT_SECONDS = 1.0
log = get_logger(__name__)


class PinGate(Protocol):
    """Permits shared by the processes of one machine (a ``multiprocessing`` semaphore)."""

    def acquire(self, *, timeout: float) -> bool: ...

    def release(self) -> None: ...


def _parsed(assertion: Any) -> Any:
    """The page's assertion parsed (``bot.passkeys.parse_assertion``); junk stays as it came,
    for the checker to refuse as a wrong code."""
    if not isinstance(assertion, str):
        return assertion
    try:
        return parse_assertion(assertion)
    except PasskeyRefused:
        return assertion


class ConfirmationService:
    """``look`` (GET) and ``confirm`` / ``confirm_with_passkey`` (POST) for one-time payment
    links; build one per process and share it (it bounds concurrent Argon2id checks)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        pin_hasher: PinHasher,
        sealer: Sealer,
        policy: PinPolicy,
        clock: Clock,
        claim_period: dt.timedelta = dt.timedelta(days=14),
        pin_concurrency: int | None = None,
        pin_gate: PinGate | None = None,
        pin_gate_wait: float = PIN_GATE_WAIT_SECONDS,
        passkeys: PasskeyCheck | None = None,
    ) -> None:
        self._sessions = session_factory
        self._passkeys = passkeys
        self._claim_period = claim_period
        self._engine: Engine = session_factory.kw["bind"]
        # The pre-read is one SELECT, a consistent snapshot on its own: no transaction around
        # it (PostgreSQL: no BEGIN/ROLLBACK round trips; SQLite: no wait for the write lock).
        self._read_engine: Engine = read_engine(self._engine)
        self._pins = pin_hasher
        self._sealer = sealer
        self._policy = policy
        self._clock = clock
        # Argon2id checks run on their own threads, one per core: more cannot run faster, and
        # each holds 19 MiB, so a burst on the threadpool (40 threads) must not take 760 MiB.
        # The same few threads every time also reuse their 19 MiB (their malloc arenas stay
        # warm), where a check on any of the 40 request threads first faults its pages in.
        self._pin_pool = ThreadPoolExecutor(pin_concurrency or os.cpu_count() or 1,
                                            thread_name_prefix="argon2id")
        # Several web workers share the cores: a check also takes one of the machine's
        # ``cores`` permits (bot.web.server), so a worker may use more than its share of the
        # cores when the others are idle, but together they never run more checks than
        # there are cores.
        self._pin_gate, self._pin_gate_wait = pin_gate, pin_gate_wait
        # SQLite has one writer at a time: the confirmations waiting for it commit together,
        # each in its own savepoint, with one fsync (storage.group_commit: one web process
        # confirmed 561 passkey payments per second instead of 450). PostgreSQL's writers
        # lock only their own rows and go on in parallel.
        self.group_commit = (GroupCommit(self._engine, session_options=session_factory.kw)
                             if self._engine.dialect.name == "sqlite" else None)

    def _read(self, token_hash: str) -> tuple[TokenRow | None, IntentRow | None, PayerRow | None]:
        with self._read_engine.connect() as conn:
            return rows.read(conn, token_hash)

    def look(self, token: str) -> LinkView:
        """Read only: what the page shows for this link now."""
        return self.look_hash(hash_token(token))

    def look_hash(self, token_hash: str) -> LinkView:
        """``look`` by the token's hash: the app holds no link, only its session and the
        intent, whose token row it finds (``storage.devices.confirm_token_hash``)."""
        now = self._clock()
        tok, intent, payer = self._read(token_hash)
        refused = check_link(tok, intent, now) or self._unbound(intent)
        facts = facts_of(tok, intent, payer)
        if refused is None:
            # A locked account sees the payment but is told to come back later.
            refused = check_payer(payer, now)
        if refused is not None and refused.reason in (Refusal.UNKNOWN, Refusal.MISMATCH):
            facts = None
        return LinkView(facts, refused)

    def confirm(self, token: str, pin: str, shown: Shown | None = None) -> Result:
        """Check the link and the PIN; write the decision in one transaction."""
        return self._confirm(hash_token(token), shown, pin=pin)

    def confirm_hash(self, token_hash: str, pin: str, shown: Shown | None = None) -> Result:
        """``confirm`` by the token's hash (the app's confirm-in-place): the same rules."""
        return self._confirm(token_hash, shown, pin=pin)

    def confirm_hash_with_passkey(self, token_hash: str, assertion: Any,
                                  shown: Shown | None = None) -> Result:
        """``confirm_with_passkey`` by the token's hash (the app's confirm-in-place)."""
        if self._passkeys is None:
            return self._refused(Refused(Refusal.UNKNOWN), None)
        return self._confirm(token_hash, shown, assertion=assertion)

    def confirm_with_passkey(self, token: str, assertion: Any, shown: Shown | None = None
                             ) -> Result:
        """The same, with a passkey assertion instead of the PIN: the ``passkeys`` checker
        verifies it under the row locks, against the challenge derived from the locked intent
        (``handlers.binding``). A refused assertion counts as a wrong code."""
        if self._passkeys is None:
            return self._refused(Refused(Refusal.UNKNOWN), None)
        return self._confirm(hash_token(token), shown, assertion=assertion)

    def _confirm(self, token_hash: str, shown: Shown | None, *, pin: str = "",
                 assertion: Any = None) -> Result:
        checked_hash, matched = "", False
        if assertion is None:
            now = self._clock()
            tok, intent, payer = self._read(token_hash)
            refused = (check_link(tok, intent, now, shown) or self._unbound(intent)
                       or check_payer(payer, now))
            if refused is not None:
                return self._refused(refused, facts_of(tok, intent, payer))
            assert payer is not None
            checked_hash = payer.pin_hash or ""
            # The PIN: ~25 ms of CPU, outside any transaction.
            matched = self._verify(checked_hash, pin)
        else:
            # A passkey is checked under the lock, where the same checks are made again: no
            # pre-read (one statement less). Its JSON is parsed once, before the transaction.
            assertion = _parsed(assertion)

        def write(sessions: Sessions) -> Result:
            return self._write(sessions, token_hash, pin, checked_hash, matched, shown,
                               assertion)

        for attempt in range(WRITE_ATTEMPTS):
            try:
                group = self.group_commit
                return write(self._sessions) if group is None else group.run(write)
            except DBAPIError as exc:
                if attempt + 1 >= WRITE_ATTEMPTS or not is_retryable(exc):
                    raise
            time.sleep(backoff_seconds(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _dead(self, token_hash: str, shown: Shown | None) -> Result:
        """A passkey POST whose rows cannot be locked: refused as the pre-read refuses."""
        now = self._clock()
        tok, intent, payer = self._read(token_hash)
        refused = (check_link(tok, intent, now, shown) or self._unbound(intent)
                   or check_payer(payer, now) or Refused(Refusal.UNKNOWN))
        return self._refused(refused, facts_of(tok, intent, payer))

    def _unbound(self, intent: IntentRow | None) -> Refused | None:
        """MISMATCH unless the intent still carries the MAC made over its values at creation:
        its amount, payee or memo changed since (PSD2 dynamic linking, ``handlers.binding``)."""
        if intent is None or self._sealer.mac_ok(intent.binding_mac, INTENT_LABEL,
                                                  *intent_parts(intent)):
            return None
        return Refused(Refusal.MISMATCH)

    def _verify(self, pin_hash: str, pin: str) -> bool:
        return self._pin_pool.submit(self._gated_verify, pin_hash, pin).result()

    def _gated_verify(self, pin_hash: str, pin: str) -> bool:
        gate = self._pin_gate
        if gate is None:
            return self._pins.verify(pin_hash, pin)
        # A permit is only a way to share the cores, never a condition of the check: a worker
        # killed during a check (SIGKILL, OOM) never gives its permit back, so after
        # a wait the check runs without one rather than wait for a permit that is gone.
        held = gate.acquire(timeout=self._pin_gate_wait)
        if not held:
            log.warning("pin_gate_timeout", waited_seconds=self._pin_gate_wait)
        try:
            return self._pins.verify(pin_hash, pin)
        finally:
            if held:
                gate.release()

    @staticmethod
    def _refused(refused: Refused, facts: Facts | None) -> Result:
        if refused.reason in (Refusal.UNKNOWN, Refusal.MISMATCH):
            facts = None
        if refused.reason is Refusal.LOCKED:
            return Result(Outcome.LOCKED, facts, refused, locked_until=refused.locked_until)
        return Result(Outcome.REFUSED, facts, refused)

    def _write(
        self, sessions: Sessions, token_hash: str, pin: str, checked_hash: str,
        matched: bool, shown: Shown | None, assertion: Any = None,
    ) -> Result:
        with UnitOfWork(sessions, self._clock) as uow:
            conn = uow.session.connection()
            # A passkey POST locks the passkey its assertion names with the other rows.
            credential_id = assertion.credential_id if isinstance(assertion, Assertion) else None
            locked = rows.lock(conn, token_hash, self._clock(), credential_id)
            if locked is None:  # no intent or no payer: the unlocked read says why
                return self._dead(token_hash, shown) if assertion is not None else (
                    self._refused(Refused(Refusal.UNKNOWN), None))
            tok, intent, payer = locked.token, locked.intent, locked.payer
            now = self._clock()
            live = check_link(tok, intent, now, shown) is None
            unbound = self._unbound(intent) if live else None
            if unbound is not None:  # checked again on the locked row
                return self._refused(unbound, None)
            used: PasskeyUse | None = None
            if assertion is not None:
                # Verified here, on the locked rows: the challenge is derived from the intent
                # as it is now, and the passkey's counter moves in this same transaction.
                assert self._passkeys is not None
                if live and check_payer(payer, now) is None:
                    used = self._passkeys.verify_locked(locked.passkey, payer.id, intent,
                                                        assertion)
                matched = used is not None
            elif payer.pin_hash and payer.pin_hash != checked_hash:
                # The PIN changed between the read and the lock (rare): check the new one.
                matched = self._verify(payer.pin_hash, pin)
            decision = decide(tok, intent, payer, matched, now, self._policy, shown)
            if isinstance(decision, Refused):
                return self._refused(decision, facts_of(tok, intent, payer))  # nothing written
            if isinstance(decision, WrongPin):
                result = self._wrong_pin(
                    uow, decision, intent, payer, facts_of(tok, intent, payer), now
                )
            else:
                result = self._confirmed(uow, decision, locked, now, used)
            uow.commit()
            return result

    def _wrong_pin(
        self,
        uow: UnitOfWork,
        decision: WrongPin,
        intent: IntentRow,
        payer: PayerRow,
        facts: Facts | None,
        now: dt.datetime,
    ) -> Result:
        rows.record_wrong_pin(
            uow.session.connection(), intent.id, payer.id,
            intent_attempts=decision.intent_attempts, cancel=decision.cancel_intent,
            cancel_reason=REASON_TOO_MANY_WRONG_PINS, account_failures=decision.account_failures,
            lock_until=decision.lock_until, now=now,
        )
        outbox.enqueue(uow.session, self._sealer, decision.alerts, now)
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
            failure_reason=REASON_TOO_MANY_WRONG_PINS if decision.cancel_intent else None,
        )

    def _confirmed(self, uow: UnitOfWork, decision: Confirm, locked: Locked,
                   now: dt.datetime, used: PasskeyUse | None = None) -> Result:
        """``used``: the passkey's counter move (a passkey confirmation), written with the
        link's spending whatever the ledger then says: the assertion is spent with it."""
        conn = uow.session.connection()
        tok, intent, payer = locked.token, locked.intent, locked.payer
        if payer.failed_pin_attempts:
            rows.reset_failures(conn, payer.id)
        # A payee without an account: the money waits in escrow for their numeric id.
        # An unlinked account is no account: its owner may not be reachable any more.
        escrowed = locked.payee_status in (None, "unlinked")
        policy = self._policy
        # The link is spent whatever the ledger says: the intent becomes terminal either way.
        if policy.limit_24h is not None and policy.limit_30d is not None:
            # Authoritative check: the payer's row is locked, so their totals cannot move.
            windows = rows.spend(conn, tok.id, now, windows_of=intent.payer_x_user_id,
                                 used=used)
            assert windows is not None
            room = limits.room_left(Money(windows[0]), Money(windows[1]),
                                    limit_24h=policy.limit_24h, limit_30d=policy.limit_30d)
            if Money(intent.amount_cents) > room.remaining:
                failed = self._failed(conn, tok, intent, payer, REASON_ROLLING_LIMIT, now)
                return replace(failed, headroom=room)
        else:
            rows.spend(conn, tok.id, now, used=used)
        try:
            # A refused transfer writes nothing (storage.ledger invariant 5): no savepoint.
            transfer = uow.ledger.post_transfer(
                idempotency_key=decision.idempotency_key,
                debit=user_account_code(intent.payer_x_user_id),
                credit=ESCROW if escrowed else user_account_code(intent.payee_x_user_id),
                amount=Money(intent.amount_cents),
                kind=TRANSFER_KIND,
                memo=intent.memo,
            )
        except InsufficientFunds:
            return self._failed(conn, tok, intent, payer, REASON_INSUFFICIENT_FUNDS, now)
        except UnknownAccount:
            return self._failed(conn, tok, intent, payer, REASON_ACCOUNT_UNAVAILABLE, now)
        notices = confirmation_notices(
            intent,
            payer,
            payee_lang=locked.payee_lang,
            # Account holders consented to DMs at sign-up; #stop still wins.
            payee_reachable=may_dm(Reach(locked.payee_status, stopped=bool(locked.payee_stopped))),
            policy=self._policy,
            escrow_until=now + self._claim_period if escrowed else None,
            payee_app=locked.payee_app,
        )
        if escrowed:
            hold = escrow.record_hold(
                uow.session, intent_id=intent.id, sender_x_user_id=intent.payer_x_user_id,
                recipient_x_user_id=intent.payee_x_user_id,
                recipient_handle=intent.payee_handle, amount=Money(intent.amount_cents),
                hold_transfer_id=transfer.transfer_id, now=now,
                claim_period=self._claim_period,
            )
            notices += escrow_service.invitation(uow, hold, payer.handle)
        # The intent's UPDATE rides with the outbox INSERT (PostgreSQL: one statement).
        outbox.enqueue(uow.session, self._sealer, notices, now,
                       along=rows.confirmed_along(intent.id, transfer.transfer_id, now))
        return Result(
            Outcome.CONFIRMED,
            facts_of(tok, intent, payer, "confirmed"),
            transfer_id=transfer.transfer_id,
            escrow_until=now + self._claim_period if escrowed else None,
        )

    @staticmethod
    def _failed(
        conn: Connection,
        tok: TokenRow,
        intent: IntentRow,
        payer: PayerRow,
        reason: str,
        now: dt.datetime,
    ) -> Result:
        rows.record_failed(conn, intent.id, reason, now)
        return Result(Outcome.FAILED, facts_of(tok, intent, payer, "failed"), failure_reason=reason)

    def ping(self) -> None:
        """Raise unless the database answers ``SELECT 1`` (for /healthz)."""
        with self._engine.connect() as conn:
            conn.execute(select(1)).scalar_one()
