"""Top up: save a card at the payment provider, charge it, finish a 3-D Secure challenge.

The service calls the provider (port ``bot.payments.PaymentProvider``) with no database
transaction open and lets ``storage.topups`` keep the rows: reserve the charge under the
user's row lock, record the outcome and post card funding → wallet in one transaction.
Each function commits the unit of work it is given: pass a fresh one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.payments import PaymentError, PaymentProvider
from handlers.money import Money
from storage import topups
from storage.sealing import Sealer
from storage.topups import CardView, TopUpLimits, TopUpRefused, TopUpResult
from storage.uow import UnitOfWork


def add_card(uow: UnitOfWork, sealer: Sealer, provider: PaymentProvider, *, user_id: int,
             number: str, exp_month: int, exp_year: int, cvc: str,
             now: dt.datetime) -> CardView:
    """Tokenize the card at the provider (``CardRefused`` on bad input) and save it sealed."""
    topups.active_user(uow.session, user_id)
    uow.rollback()  # no transaction stays open across the provider call
    card = provider.tokenize(number, exp_month, exp_year, cvc)
    view = topups.save_card(uow, sealer, user_id=user_id, provider=provider.name, card=card,
                            now=now)
    uow.commit()
    return view


@dataclass(frozen=True, slots=True)
class ThreeDSPolicy:
    """When the issuer's 3-D Secure challenge is asked for (strong customer authentication
    for card-not-present payments): a card's first top-up, or any above ``above``."""

    above: Money
    return_url: str


def top_up(uow: UnitOfWork, sealer: Sealer, provider: PaymentProvider, *, user_id: int,
           x_user_id: int, card_id: int, amount: Money, now: dt.datetime,
           idempotency_key: str, limits: TopUpLimits | None = None,
           three_ds: ThreeDSPolicy | None = None) -> TopUpResult:
    """Charge ``amount`` on the saved card, then credit the whole of it to the wallet.

    ``idempotency_key`` names this request (e.g. a nonce in the form): the same key never
    charges twice. Raises ``TopUpRefused`` before any charge (amounts, card, the 24-hour cap);
    a declined charge is recorded and returned with its ``decline_code``; ``PaymentError`` if
    the provider refuses. With ``three_ds``, a charge the issuer must authenticate comes back
    ``requires_action`` with its ``challenge_url``; ``complete_challenge`` finishes it.

    Three short transactions: reserve (lock the user row, check the 24-hour total, write the
    charge ``pending``), call the provider with no transaction open, record the outcome.
    """
    limits = limits or TopUpLimits()
    if not isinstance(amount, Money) or amount < limits.minimum:
        raise TopUpRefused(f"a top-up is at least {limits.minimum}", code="amount_too_small")
    if amount > limits.maximum:
        raise TopUpRefused(f"a top-up is at most {limits.maximum}", code="amount_too_large")
    reserved = topups.reserve(uow, sealer, user_id=user_id, x_user_id=x_user_id,
                              card_id=card_id, amount=amount, now=now, key=idempotency_key,
                              limits=limits)
    if isinstance(reserved, TopUpResult):
        return reserved  # this request was already made: its outcome, nothing charged again
    row_id, token, first_use = reserved
    authenticate = three_ds is not None and (first_use or amount > three_ds.above)
    try:
        charge = provider.charge(token, amount, idempotency_key, authenticate=authenticate,
                                 return_url=three_ds.return_url if three_ds else "")
    except PaymentError:
        topups.release(uow, row_id, "failed")
        raise
    if charge.amount != amount:  # a provider bug: never credit what was not charged
        raise RuntimeError(f"charge {charge.id} is for {charge.amount}, not {amount}")
    return topups.record(uow, row_id, charge, x_user_id=x_user_id)


def complete_challenge(uow: UnitOfWork, provider: PaymentProvider, *, user_id: int,
                       x_user_id: int, provider_charge_id: str, result: str,
                       now: dt.datetime) -> TopUpResult:
    """Back from the issuer's challenge page: the provider checks the signed ``result``
    (once: a replay is refused with ``PaymentError``), captures or declines, and the outcome
    is recorded like any charge. ``TopUpRefused('unknown_charge')`` for another's charge."""
    row_id, status = topups.charge_to_complete(uow, user_id=user_id,
                                               provider_charge_id=provider_charge_id)
    uow.rollback()
    if status != "requires_action":
        raise PaymentError("this challenge was already answered", code="challenge_replayed")
    charge = provider.complete_authentication(provider_charge_id, result)
    return topups.record(uow, row_id, charge, x_user_id=x_user_id)
