"""Withdraw: from a request (account page or ``#retirer`` by DM) to money in flight.

``request`` checks what can be checked before the PIN (a bank account, limits, the balance)
and records the withdrawal ``awaiting_confirmation`` with a one-time link (only its SHA-256
kept), amount, bank account and scheme frozen. ``look`` reads the link (GET: no change).
``confirm`` runs like a payment's confirmation:

1. read the link and refuse at once what cannot be confirmed (no PIN spent);
2. verify the PIN outside any transaction (Argon2id);
3. ONE transaction: the PIN check under the user row's lock (failures counted, lockout),
   the guarded move ``awaiting_confirmation → confirmed``, the daily limit (read under that
   lock, so two confirmations cannot both fit under it) and the ledger transfer
   wallet → payouts in flight (key ``withdrawal:<id>:hold``; the ledger refuses an
   overdraft, whatever runs at the same time). No funds or over the limit: ``failed``.

The provider is called after the commit (``bot.services.withdraw_provider``): at once when
the bank account is past its cooling-off period, else by the scheduler once it is.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.logging import get_logger
from bot.security import hash_token, new_token
from bot.services.payout_common import PayoutDeps, Proof, WithdrawRefused, active_user
from handlers.errors import InsufficientFunds
from handlers.money import Lang, Money
from handlers.outcomes import Outgoing
from storage import outbox, payouts
from storage.ledger import PAYOUTS_IN_FLIGHT, user_account_code
from storage.models import User, Withdrawal
from storage.payouts import BankAccountView
from storage.sessions import PinCheck
from storage.uow import UnitOfWork

log = get_logger(__name__)
HOLD_KIND = "withdrawal"


class Outcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    WRONG_PIN = "wrong_pin"
    LOCKED = "locked"
    FAILED = "failed"  # right PIN, but no funds / over a limit / bank account changed
    REFUSED = "refused"  # the link cannot confirm anything (``refusal`` says why)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the confirmation page shows."""

    withdrawal_id: int
    user_id: int
    lang: str
    amount: Money
    scheme: str
    status: str
    expires_at: dt.datetime
    account: BankAccountView
    not_before: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Requested:
    withdrawal_id: int
    token: str
    amount: Money
    account: BankAccountView


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    facts: Facts | None
    refusal: str | None = None  # unknown, expired, used, mismatch, payee_ack, inactive
    attempts_left: int | None = None
    locked_until: dt.datetime | None = None
    failure: str | None = None  # insufficient_funds, daily_limit, bank_account_changed
    submit_now: bool = False


def request(deps: PayoutDeps, *, user_id: int, amount: Money | None, scheme: str,
            channel: str, lang: Lang, source_event_id: str | None = None,
            notify: Callable[[Requested, User], Iterable[Outgoing]] | None = None
            ) -> Requested:
    """A withdrawal awaiting its PIN; ``amount=None`` is everything in the wallet.
    ``notify`` returns messages (the DM with the link) written in the same transaction."""
    with deps.uow() as uow:
        requested = request_in(uow, deps, user_id=user_id, amount=amount, scheme=scheme,
                               channel=channel, lang=lang, source_event_id=source_event_id,
                               notify=notify)
        uow.commit()
    return requested


def request_in(uow: UnitOfWork, deps: PayoutDeps, *, user_id: int, amount: Money | None,
               scheme: str, channel: str, lang: Lang, source_event_id: str | None = None,
               notify: Callable[[Requested, User], Iterable[Outgoing]] | None = None
               ) -> Requested:
    """``request`` in the caller's transaction (the DM processor's, with its inbox row)."""
    if scheme not in ("instant", "standard"):
        raise ValueError(scheme)
    policy, now = deps.policy, deps.clock()
    user = active_user(uow, user_id)
    bank = payouts.current_bank_account(uow.session, user_id)
    if bank is None:
        raise WithdrawRefused("no bank account", code="no_bank_account")
    balance = uow.ledger.balance(user_account_code(user.x_user_id))
    amount = balance if amount is None else amount
    _check_amount(uow, deps, user_id, amount, balance, now)
    token, token_hash = new_token()
    row = payouts.add_withdrawal(
        uow.session, user_id=user_id, x_user_id=user.x_user_id, bank_account_id=bank.id,
        amount_cents=amount.cents, scheme=scheme, channel=channel, lang=lang,
        token_hash=token_hash, source_event_id=source_event_id,
        provider=deps.provider.name, created_at=now, expires_at=now + policy.link_ttl)
    requested = Requested(row.id, token, amount, payouts.view(deps.sealer, bank))
    if notify is not None:
        outbox.enqueue(uow.session, deps.sealer, list(notify(requested, user)), now)
    log.info("withdrawal_requested", withdrawal_id=row.id, amount_cents=amount.cents,
             channel=channel)
    return requested


def _check_amount(uow: UnitOfWork, deps: PayoutDeps, user_id: int, amount: Money,
                  balance: Money, now: dt.datetime) -> None:
    policy = deps.policy
    if amount.cents <= 0 and balance.cents <= 0:
        raise WithdrawRefused("nothing to withdraw", code="empty_balance")
    if amount < policy.minimum:
        raise WithdrawRefused("too small", code="amount_too_small", limit=policy.minimum)
    if amount > policy.maximum:
        raise WithdrawRefused("too large", code="amount_too_large", limit=policy.maximum)
    if amount > balance:
        raise WithdrawRefused("not enough money", code="insufficient_funds")
    spent = payouts.withdrawn_since(uow.session, user_id, now - dt.timedelta(hours=24))
    if spent + amount.cents > policy.per_day.cents:
        raise WithdrawRefused("over the daily limit", code="daily_limit", limit=policy.per_day)


def _facts(deps: PayoutDeps, uow: UnitOfWork, row: Withdrawal) -> Facts:
    bank = uow.session.get(payouts.BankAccount, row.bank_account_id)
    assert bank is not None
    return Facts(row.id, row.user_id, row.lang, Money(row.amount_cents), row.scheme,
                 row.status, row.expires_at, payouts.view(deps.sealer, bank), row.not_before)


def look(deps: PayoutDeps, token: str) -> tuple[Facts | None, str | None]:
    """GET: the facts and, if the link cannot confirm, why (``unknown``, ``expired``...)."""
    with deps.uow() as uow:
        row = payouts.by_token_hash(uow.session, hash_token(token))
        if row is None:
            return None, "unknown"
        facts = _facts(deps, uow, row)
        return facts, _refusal(uow, row, deps.clock())


def _refusal(uow: UnitOfWork, row: Withdrawal, now: dt.datetime) -> str | None:
    if row.status != "awaiting_confirmation":
        return "used"
    if now >= row.expires_at:
        return "expired"
    user = uow.session.get(User, row.user_id)
    if user is None or user.status != "active":
        return "inactive"
    return None


def confirm(deps: PayoutDeps, token: str, proof: Proof, *, shown_amount_cents: int,
            shown_bank_account_id: int, payee_ack: bool) -> Result:
    now = deps.clock()
    with deps.uow() as uow:
        row = payouts.by_token_hash(uow.session, hash_token(token))
        if row is None:
            return Result(Outcome.REFUSED, None, "unknown")
        facts = _facts(deps, uow, row)
        refused = _refusal(uow, row, now)
        if refused is None and (row.amount_cents, row.bank_account_id) != (
                shown_amount_cents, shown_bank_account_id):
            refused = "mismatch"  # the PIN authorises exactly what the page showed
        if refused is None and not facts.account.payee_confirmed and not payee_ack:
            refused = "payee_ack"
        user = uow.session.get(User, row.user_id)
        if refused is None and user is not None and user.locked_until and user.locked_until > now:
            return Result(Outcome.LOCKED, facts, locked_until=user.locked_until)
    if refused is not None:
        return Result(Outcome.REFUSED, facts, refused)
    checked = deps.verify_outside(facts.user_id, proof)
    with deps.uow() as uow:
        pin = deps.authenticate(uow, facts.user_id, proof, checked)
        if pin.check is not PinCheck.OK:
            uow.commit()  # the failure counts
            outcome = Outcome.LOCKED if pin.check is PinCheck.LOCKED else Outcome.WRONG_PIN
            return Result(outcome, facts, attempts_left=pin.attempts_left,
                          locked_until=pin.locked_until)
        failure = _hold(deps, uow, facts, payee_ack, now)
        if failure == "used":
            return Result(Outcome.REFUSED, facts, "used")
        if failure is None:
            uow.commit()
    if failure is not None:
        with deps.uow() as uow:  # the PIN was right: its success (failures back to 0) stays
            deps.authenticate(uow, facts.user_id, proof, checked)
            payouts.transition(uow.session, facts.withdrawal_id, "awaiting_confirmation",
                               "failed", last_error=failure, resolved_at=now)
            uow.commit()
        log.info("withdrawal_failed", withdrawal_id=facts.withdrawal_id, reason=failure)
        return Result(Outcome.FAILED, facts, failure=failure)
    with deps.uow() as uow:
        row = uow.session.get(Withdrawal, facts.withdrawal_id)
        assert row is not None
        confirmed = _facts(deps, uow, row)
    log.info("withdrawal_confirmed", withdrawal_id=facts.withdrawal_id,
             amount_cents=facts.amount.cents)
    return Result(Outcome.CONFIRMED, confirmed,
                  submit_now=confirmed.not_before is not None and confirmed.not_before <= now)


def _hold(deps: PayoutDeps, uow: UnitOfWork, facts: Facts, payee_ack: bool,
          now: dt.datetime) -> str | None:
    """wallet → in flight, in the caller's transaction; the reason it failed, if it did."""
    session = uow.session
    bank = payouts.current_bank_account(session, facts.user_id)
    if bank is None or bank.id != facts.account.id:
        return "bank_account_changed"
    try:
        spent = payouts.withdrawn_since(session, facts.user_id, now - dt.timedelta(hours=24))
        if spent + facts.amount.cents > deps.policy.per_day.cents:
            return "daily_limit"
        if not payouts.transition(session, facts.withdrawal_id, "awaiting_confirmation",
                                  "confirmed", confirmed_at=now,
                                  not_before=max(now, bank.usable_from)):
            return "used"  # a concurrent confirmation got there first
        uow.ledger.open_account(PAYOUTS_IN_FLIGHT, "in_flight")  # idempotent
        row = session.get(Withdrawal, facts.withdrawal_id)
        assert row is not None
        hold = uow.ledger.post_transfer(
            idempotency_key=f"{payouts.idempotency_key(row.id)}:hold",
            debit=user_account_code(row.x_user_id), credit=PAYOUTS_IN_FLIGHT,
            amount=facts.amount, kind=HOLD_KIND, memo=f"withdrawal to {facts.account.masked}")
        row.hold_transfer_id = hold.transfer_id
        if payee_ack:
            payouts.confirm_payee(session, bank.id, now)
        session.flush()
    except InsufficientFunds:
        uow.rollback()
        return "insufficient_funds"
    return None


def expire_due(deps: PayoutDeps) -> int:
    now = deps.clock()
    with deps.uow() as uow:
        ids = payouts.stale_requests(uow.session, now)
        done = sum(payouts.transition(uow.session, i, "awaiting_confirmation", "expired",
                                      resolved_at=now) for i in ids)
        uow.commit()
    return done


def cancel_held(deps: PayoutDeps, *, user_id: int, withdrawal_id: int) -> bool:
    """The holder takes back a confirmed withdrawal that has not left yet (a new IBAN's
    cooling-off): in flight → wallet. False if it already left (the submit job won) or is
    not theirs."""
    now = deps.clock()
    with deps.uow() as uow:
        row = uow.session.get(Withdrawal, withdrawal_id)
        if row is None or row.user_id != user_id or not payouts.transition(
                uow.session, withdrawal_id, "confirmed", "cancelled", resolved_at=now):
            return False
        back = uow.ledger.post_transfer(
            idempotency_key=f"{payouts.idempotency_key(withdrawal_id)}:refund",
            debit=PAYOUTS_IN_FLIGHT, credit=user_account_code(row.x_user_id),
            amount=Money(row.amount_cents), kind="payout_refund",
            memo=f"withdrawal {withdrawal_id}: cancelled")
        uow.session.query(Withdrawal).filter(Withdrawal.id == withdrawal_id).update(
            {"return_transfer_id": back.transfer_id}, synchronize_session=False)
        uow.commit()
    log.info("withdrawal_cancelled", withdrawal_id=withdrawal_id)
    return True


def recent(deps: PayoutDeps, user_id: int, limit: int = 20) -> list[Withdrawal]:
    """The holder's confirmed withdrawals, newest first (for the bank page)."""
    with deps.sessions() as session:
        rows = payouts.history(session, user_id, limit)
        for row in rows:
            session.expunge(row)
        return rows


def balance_of(deps: PayoutDeps, x_user_id: int) -> Money:
    with deps.uow() as uow:
        return uow.ledger.balance(user_account_code(x_user_id))
