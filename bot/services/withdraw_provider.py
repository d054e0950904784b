"""Withdrawals and the payout provider: each one reaches it exactly once, whatever crashes.

The provider's idempotency key is the withdrawal's (``withdrawal:<id>``), and a call is never
made inside a database transaction:

1. record the attempt: ``confirmed → submitting`` (attempts + 1, ``submitted_at``), commit;
2. call ``provider.submit``;
3. record the outcome in one transaction (``apply``).

A crash or a time-out between 2 and 3 leaves the row ``submitting``. ``recover`` (a scheduler
job) asks the provider for the state of every unresolved submission older than the grace
period: the provider knows it (record what it says) or never received it (submit again with
the same key: a real duplicate is impossible, the provider returns the first payout).

``apply`` moves the money with the state, each move a guarded transition in the same
transaction as its ledger transfer, so a webhook, the recovery job and the submitting
request can race without moving money twice:

- ``pending``: ``submitting → submitted``;
- ``settled``: in flight → the provider's settlement account;
- ``returned``: in flight (or, after settlement, the settlement account) → the wallet, and
  the holder is told why, in plain words.

A state the withdrawal has already passed (an old notification arriving late) changes
nothing. ``notification`` verifies a signed status webhook (constant-time MAC, timestamp
tolerance: ``WebhookRefused``), refuses a replayed event id, then applies its state.
"""

from __future__ import annotations

import datetime as dt

from bot.logging import get_logger
from bot.payments.payouts import (
    PayoutError,
    PayoutRequest,
    PayoutState,
    PayoutTimeout,
    WebhookRefused,
)
from bot.services.payout_common import PayoutDeps
from handlers.money import Money
from handlers.payout_texts import withdrawal_returned
from handlers.texts import lang_of
from storage import devices, outbox, payouts
from storage.ledger import PAYOUTS_IN_FLIGHT, settlement_account_code, user_account_code
from storage.models import Withdrawal
from storage.uow import UnitOfWork

log = get_logger(__name__)
# Refusals that mean "nothing was paid, nothing will be": the money goes back at once.
PERMANENT = frozenset({"invalid_iban", "invalid_amount", "invalid_scheme", "account_blocked"})


def _request(deps: PayoutDeps, row: Withdrawal) -> PayoutRequest:
    with deps.sessions() as session:
        account = session.get(payouts.BankAccount, row.bank_account_id)
        assert account is not None
        details, _ = payouts.open_details(deps.sealer, account)
    return PayoutRequest(payouts.idempotency_key(row.id), details.iban, details.holder_name,
                         Money(row.amount_cents), row.scheme,  # type: ignore[arg-type]
                         f"tweetpay W{row.id}")


def submit(deps: PayoutDeps, withdrawal_id: int) -> str:
    """Send a confirmed withdrawal whose cooling-off is over; returns its status after."""
    now = deps.clock()
    with deps.uow() as uow:
        row = uow.session.get(Withdrawal, withdrawal_id)
        if row is None or row.status != "confirmed" or (row.not_before or now) > now:
            return row.status if row is not None else "unknown"
        attempts = row.attempts + 1
        if not payouts.transition(uow.session, row.id, "confirmed", "submitting",
                                  attempts=attempts, submitted_at=now):
            return "raced"
        row = _loaded(uow, withdrawal_id)
        uow.commit()
    return _call(deps, row)


def _loaded(uow: UnitOfWork, withdrawal_id: int) -> Withdrawal:
    """The row with every column read, usable after the session closes."""
    row = uow.session.get(Withdrawal, withdrawal_id, populate_existing=True)
    assert row is not None
    uow.session.expunge(row)
    return row


def _call(deps: PayoutDeps, row: Withdrawal) -> str:
    request = _request(deps, row)
    try:
        state = deps.provider.submit(request)
    except PayoutTimeout:
        _note(deps, row.id, "timeout")
        log.warning("payout_timeout", withdrawal_id=row.id)
        return "submitting"
    except PayoutError as exc:
        if exc.code not in PERMANENT:
            _note(deps, row.id, exc.code)
            log.error("payout_error", withdrawal_id=row.id, code=exc.code)
            return "submitting"
        return _refused(deps, row.id, exc.code)
    return apply(deps, state)


def _note(deps: PayoutDeps, withdrawal_id: int, error: str) -> None:
    with deps.uow() as uow:
        uow.session.query(Withdrawal).filter(
            Withdrawal.id == withdrawal_id, Withdrawal.status == "submitting"
        ).update({"last_error": error[:64]}, synchronize_session=False)
        uow.commit()


def _refused(deps: PayoutDeps, withdrawal_id: int, code: str) -> str:
    """The provider refused outright: nothing was paid; in flight → wallet."""
    now = deps.clock()
    with deps.uow() as uow:
        row = uow.session.get(Withdrawal, withdrawal_id)
        assert row is not None
        if not payouts.transition(uow.session, row.id, "submitting", "failed",
                                  last_error=code[:64], resolved_at=now):
            return "raced"
        back = _move(uow, row, PAYOUTS_IN_FLIGHT, user_account_code(row.x_user_id), "refund")
        uow.session.query(Withdrawal).filter(Withdrawal.id == row.id).update(
            {"return_transfer_id": back}, synchronize_session=False)
        _tell_returned(deps, uow, row, "refused", now)
        uow.commit()
    log.warning("payout_refused", withdrawal_id=withdrawal_id, code=code)
    return "failed"


def _move(uow: UnitOfWork, row: Withdrawal, debit: str, credit: str, step: str) -> int:
    result = uow.ledger.post_transfer(
        idempotency_key=f"{payouts.idempotency_key(row.id)}:{step}", debit=debit,
        credit=credit, amount=Money(row.amount_cents), kind=f"payout_{step}"[:16],
        memo=f"withdrawal {row.id}: {step}")
    return result.transfer_id


def _tell_returned(deps: PayoutDeps, uow: UnitOfWork, row: Withdrawal, code: str | None,
                   now: dt.datetime) -> None:
    account = uow.session.get(payouts.BankAccount, row.bank_account_id)
    assert account is not None
    masked = payouts.view(deps.sealer, account).masked
    lang = lang_of(row.lang)
    app = devices.has_app(uow.session, row.x_user_id, now)  # push first, else a DM
    outbox.enqueue(uow.session, deps.sealer,
                   [withdrawal_returned(row.x_user_id, row.id, Money(row.amount_cents), masked,
                                        code, lang, app=app)], now)


def apply(deps: PayoutDeps, state: PayoutState, *, uow: UnitOfWork | None = None) -> str:
    """Record the provider's state of a withdrawal; returns the withdrawal's status after."""
    if uow is None:
        with deps.uow() as own:
            status = apply(deps, state, uow=own)
            own.commit()
            return status
    withdrawal_id = payouts.withdrawal_id_of(state.idempotency_key)
    row = uow.session.get(Withdrawal, withdrawal_id) if withdrawal_id else None
    if row is None:
        log.error("payout_unknown", payout_id=state.payout_id)
        return "unknown"
    if state.amount.cents != row.amount_cents:
        log.error("payout_amount_mismatch", withdrawal_id=row.id)  # reconcile reports it
        return row.status
    now = deps.clock()
    session, wallet = uow.session, user_account_code(row.x_user_id)
    settlement = settlement_account_code(row.provider)
    if state.status == "pending":
        payouts.transition(session, row.id, "submitting", "submitted",
                           provider_payout_id=state.payout_id)
    elif state.status == "settled":
        if payouts.transition(session, row.id, ("submitting", "submitted"), "settled",
                              provider_payout_id=state.payout_id, resolved_at=now):
            uow.ledger.open_account(settlement, "settlement")
            moved = _move(uow, row, PAYOUTS_IN_FLIGHT, settlement, "settle")
            session.query(Withdrawal).filter(Withdrawal.id == row.id).update(
                {"settle_transfer_id": moved}, synchronize_session=False)
    elif state.status == "returned":
        was_settled = row.status == "settled"
        if payouts.transition(session, row.id, ("submitting", "submitted", "settled"),
                              "returned", provider_payout_id=state.payout_id,
                              return_code=state.return_code, resolved_at=now):
            moved = _move(uow, row, settlement if was_settled else PAYOUTS_IN_FLIGHT, wallet,
                          "return")
            session.query(Withdrawal).filter(Withdrawal.id == row.id).update(
                {"return_transfer_id": moved}, synchronize_session=False)
            _tell_returned(deps, uow, row, state.return_code, now)
    session.expire_all()
    fresh = session.get(Withdrawal, row.id)
    assert fresh is not None
    return fresh.status


def submit_due(deps: PayoutDeps) -> int:
    """Scheduler: send every confirmed withdrawal whose cooling-off is over."""
    with deps.sessions() as session:
        ids = payouts.due_for_submission(session, deps.clock())
    return sum(submit(deps, i) not in ("confirmed", "raced") for i in ids)


def recover(deps: PayoutDeps) -> int:
    """Scheduler: ask the provider about every unresolved submission; returns how many
    changed state."""
    now = deps.clock()
    with deps.sessions() as session:
        ids = payouts.unresolved(session, submitted_before=now - deps.policy.recovery_grace)
    changed = 0
    for withdrawal_id in ids:
        with deps.sessions() as session:
            row = session.get(Withdrawal, withdrawal_id)
            if row is None:
                continue
            session.expunge(row)
        before = row.status
        state = deps.provider.status(payouts.idempotency_key(row.id))
        if state is None:
            if before == "submitting":  # the provider never got it: same key, same payout
                changed += _call(deps, row) != before
            continue
        changed += apply(deps, state) != before
    return changed


def notification(deps: PayoutDeps, body: bytes, signature: str) -> str:
    """A signed status webhook: ``applied`` / ``duplicate`` / ``unknown``; raises
    ``WebhookRefused`` for a forged or stale one."""
    now = deps.clock()
    event = deps.provider.verify_webhook(body, signature, now)
    if not event.event_id:
        raise WebhookRefused("no event id", code="malformed")
    with deps.uow() as uow:
        fresh = payouts.record_notification(
            uow.session, event_id=event.event_id, provider=deps.provider.name,
            payout_id=event.state.payout_id, status=event.state.status, now=now)
        if not fresh:
            return "duplicate"
        status = apply(deps, event.state, uow=uow)
        uow.commit()
    return "unknown" if status == "unknown" else "applied"
