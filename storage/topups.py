"""Saved cards and card top-ups: the card is charged at the provider, then ONE transaction
records the charge and posts card funding → wallet through the ledger.

Rules it keeps:

- A card number never reaches the database: only the provider's token, the last four digits,
  the expiry and the brand, together Fernet-sealed in ``Card.sealed`` (``storage.sealing``;
  ``rotate_card_keys`` re-seals every row with the newest key).
- A top-up moves exactly the amount charged, no fee, once: the ``Charge`` row is unique on the
  provider's charge id and the transfer's idempotency key is ``topup:<charge id>``.
- The provider's charge is idempotent on the caller's ``idempotency_key`` (one per form
  submission): a retried submission, or a retry after a crash between the charge and the
  commit, finds the same charge and completes it instead of charging again.
- The provider is never called while a database transaction is open (on SQLite the write
  lock would be held during a network call).

Each service commits the unit of work it is given: pass a fresh one.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.payments import CardToken, PaymentProvider
from handlers.errors import BusinessError
from handlers.money import Money
from storage import accounts
from storage.ledger import user_account_code
from storage.models import Card, Charge, User
from storage.sealing import Sealer
from storage.uow import UnitOfWork


class TopUpRefused(BusinessError):
    """A top-up or card request we refuse before the provider sees it: ``amount_too_small``,
    ``amount_too_large``, ``unknown_card``, ``account_inactive``, ``unknown_user``."""

    code = "topup_refused"


_DEFAULT_MIN = Money(1)  # the settings' defaults: min_amount, topup_max
_DEFAULT_MAX = Money(100_000)


@dataclass(frozen=True, slots=True)
class TopUpLimits:
    minimum: Money = _DEFAULT_MIN
    maximum: Money = _DEFAULT_MAX

    @classmethod
    def from_settings(cls, settings: Any) -> TopUpLimits:
        return cls(minimum=settings.min_amount, maximum=settings.topup_max)


@dataclass(frozen=True, slots=True)
class CardView:
    """What a page may show of a saved card."""

    id: int
    last4: str
    exp_month: int
    exp_year: int
    brand: str


@dataclass(frozen=True, slots=True)
class TopUpResult:
    status: Literal["succeeded", "declined"]
    charge_id: str
    amount: Money
    transfer_id: int | None  # None when declined
    decline_code: str | None
    balance: Money  # the wallet's balance after this call
    created: bool  # False: this charge was already recorded (a replay)


# -- cards -----------------------------------------------------------------------------------


def _seal(sealer: Sealer, card: CardToken) -> str:
    return sealer.seal(json.dumps({
        "token": card.token, "last4": card.last4, "exp_month": card.exp_month,
        "exp_year": card.exp_year, "brand": card.brand,
    }))


def _open(sealer: Sealer, row: Card) -> dict[str, Any]:
    return dict(json.loads(sealer.open(row.sealed)))


def _view(sealer: Sealer, row: Card) -> CardView:
    data = _open(sealer, row)
    return CardView(row.id, data["last4"], data["exp_month"], data["exp_year"], data["brand"])


def _active_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise TopUpRefused(f"no user {user_id}", code="unknown_user")
    if user.status != "active":
        raise TopUpRefused("this account is not active", code="account_inactive")
    return user


def add_card(uow: UnitOfWork, sealer: Sealer, provider: PaymentProvider, *, user_id: int,
             number: str, exp_month: int, exp_year: int, cvc: str,
             now: dt.datetime) -> CardView:
    """Tokenize the card at the provider (``CardRefused`` on bad input) and save it sealed."""
    _active_user(uow.session, user_id)
    uow.rollback()  # no transaction stays open across the provider call
    card = provider.tokenize(number, exp_month, exp_year, cvc)
    _active_user(uow.session, user_id)
    row = Card(user_id=user_id, provider=provider.name, sealed=_seal(sealer, card),
               created_at=now)
    uow.session.add(row)
    uow.session.flush()
    view = CardView(row.id, card.last4, card.exp_month, card.exp_year, card.brand)
    uow.commit()
    return view


def saved_cards(session: Session, sealer: Sealer, user_id: int) -> list[CardView]:
    """The user's cards still in use, oldest first."""
    rows = session.scalars(
        select(Card).where(Card.user_id == user_id, Card.removed_at.is_(None)).order_by(Card.id)
    )
    return [_view(sealer, row) for row in rows]


def remove_card(uow: UnitOfWork, *, user_id: int, card_id: int, now: dt.datetime) -> None:
    """Stop offering the card (the row stays: past charges point at it)."""
    row = uow.session.get(Card, card_id)
    if row is None or row.user_id != user_id or row.removed_at is not None:
        raise TopUpRefused("no such card", code="unknown_card")
    row.removed_at = now
    uow.commit()


def rotate_card_keys(session: Session, sealer: Sealer) -> int:
    """Re-seal every card row with the newest key (the caller commits); returns the count.

    Rotation: put the new key first in ``TWEETPAY_DATA_KEYS`` (the old ones stay after it,
    so they still open), run ``tweetpay keys rotate``, then drop the old keys.
    """
    count = 0
    for row in session.scalars(select(Card).order_by(Card.id)):
        row.sealed = sealer.rotate(row.sealed)
        count += 1
    session.flush()
    return count


# -- top-ups ---------------------------------------------------------------------------------


def top_up(uow: UnitOfWork, sealer: Sealer, provider: PaymentProvider, *, user_id: int,
           x_user_id: int, card_id: int, amount: Money, now: dt.datetime,
           idempotency_key: str, limits: TopUpLimits | None = None) -> TopUpResult:
    """Charge ``amount`` on the saved card, then credit the whole of it to the wallet.

    ``idempotency_key`` names this request (e.g. a nonce in the form): the same key never
    charges twice. Raises ``TopUpRefused`` before any charge; a declined charge is recorded
    and returned with its ``decline_code``; ``PaymentError`` if the provider refuses.
    """
    limits = limits or TopUpLimits()
    if not isinstance(amount, Money) or amount < limits.minimum:
        raise TopUpRefused(f"a top-up is at least {limits.minimum}", code="amount_too_small")
    if amount > limits.maximum:
        raise TopUpRefused(f"a top-up is at most {limits.maximum}", code="amount_too_large")
    session = uow.session
    user = _active_user(session, user_id)
    if user.x_user_id != x_user_id:
        raise TopUpRefused("this user is not that X account", code="unknown_user")
    row = session.get(Card, card_id)
    if row is None or row.user_id != user_id or row.removed_at is not None:
        raise TopUpRefused("no such card", code="unknown_card")
    token = _open(sealer, row)["token"]
    uow.rollback()  # no transaction stays open across the provider call

    charge = provider.charge(token, amount, idempotency_key)
    if charge.amount != amount:  # a provider bug: never credit what was not charged
        raise RuntimeError(f"charge {charge.id} is for {charge.amount}, not {amount}")
    try:
        return _record(uow, charge, user_id=user_id, x_user_id=x_user_id, card_id=card_id,
                       now=now)
    except IntegrityError:
        uow.rollback()  # a concurrent request recorded the same charge first
        return _record(uow, charge, user_id=user_id, x_user_id=x_user_id, card_id=card_id,
                       now=now)


def _record(uow: UnitOfWork, charge: Any, *, user_id: int, x_user_id: int, card_id: int,
            now: dt.datetime) -> TopUpResult:
    """ONE transaction: the Charge row and, if it succeeded, card funding → wallet."""
    session = uow.session
    row = session.scalars(
        select(Charge).where(Charge.provider_charge_id == charge.id)
    ).first()
    created = row is None
    if row is None:
        row = Charge(provider_charge_id=charge.id, user_id=user_id, card_id=card_id,
                     amount_cents=charge.amount.cents, status=charge.status,
                     decline_code=charge.decline_code, created_at=now)
        session.add(row)
        session.flush()
    elif row.user_id != user_id:
        raise RuntimeError(f"charge {charge.id} is recorded for another user")
    if row.status == "succeeded" and row.transfer_id is None:
        row.transfer_id = accounts.top_up(uow, x_user_id=x_user_id, amount=charge.amount,
                                          charge_id=charge.id)
    balance = uow.ledger.balance(user_account_code(x_user_id))
    result = TopUpResult(
        status="succeeded" if row.status == "succeeded" else "declined",
        charge_id=charge.id, amount=Money(row.amount_cents), transfer_id=row.transfer_id,
        decline_code=row.decline_code, balance=balance, created=created,
    )
    uow.commit()
    return result
