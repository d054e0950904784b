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
from typing import Any, Literal, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from handlers.errors import BusinessError
from handlers.money import Money
from storage import accounts
from storage.ledger import user_account_code
from storage.models import Card, Charge, User
from storage.sealing import Sealer
from storage.uow import UnitOfWork


class CardFields(Protocol):
    """What is kept of a tokenized card (``bot.payments.CardToken``)."""

    @property
    def token(self) -> str: ...
    @property
    def last4(self) -> str: ...
    @property
    def exp_month(self) -> int: ...
    @property
    def exp_year(self) -> int: ...
    @property
    def brand(self) -> str: ...


class TopUpRefused(BusinessError):
    """A top-up or card request we refuse before the provider sees it: ``amount_too_small``,
    ``amount_too_large``, ``daily_cap`` (``remaining`` says what is left), ``unknown_card``,
    ``account_inactive``, ``unknown_user``, ``unknown_charge``."""

    code = "topup_refused"

    def __init__(self, message: str, *, code: str, remaining: Money | None = None) -> None:
        super().__init__(message, code=code)
        self.remaining = remaining


_DEFAULT_MIN = Money(1)  # the settings' defaults: min_amount, topup_max
_DEFAULT_MAX = Money(100_000)


@dataclass(frozen=True, slots=True)
class TopUpLimits:
    minimum: Money = _DEFAULT_MIN
    maximum: Money = _DEFAULT_MAX
    daily: Money | None = None  # over any 24 hours, charges pending or succeeded

    @classmethod
    def from_settings(cls, settings: Any) -> TopUpLimits:
        daily = getattr(settings, "topup_max_24h", None)
        return cls(minimum=Money(settings.min_amount), maximum=Money(settings.topup_max),
                   daily=Money(daily) if daily is not None else None)


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
    status: Literal["succeeded", "declined", "requires_action"]
    charge_id: str
    amount: Money
    transfer_id: int | None  # None when declined
    decline_code: str | None
    balance: Money  # the wallet's balance after this call
    created: bool  # False: this charge was already recorded (a replay)
    challenge_url: str | None = None  # requires_action: the issuer's 3-D Secure page
    three_ds: str | None = None  # the challenge's result, if one was asked


# -- cards -----------------------------------------------------------------------------------


def _seal(sealer: Sealer, card: CardFields) -> str:
    return sealer.seal(json.dumps({
        "token": card.token, "last4": card.last4, "exp_month": card.exp_month,
        "exp_year": card.exp_year, "brand": card.brand,
    }))


def _open(sealer: Sealer, row: Card) -> dict[str, Any]:
    return dict(json.loads(sealer.open(row.sealed)))


def _view(sealer: Sealer, row: Card) -> CardView:
    data = _open(sealer, row)
    return CardView(row.id, data["last4"], data["exp_month"], data["exp_year"], data["brand"])


def active_user(session: Session, user_id: int) -> User:
    """The user row of a top-up, refused unless it exists and is active."""
    user = session.get(User, user_id)
    if user is None:
        raise TopUpRefused(f"no user {user_id}", code="unknown_user")
    if user.status != "active":
        raise TopUpRefused("this account is not active", code="account_inactive")
    return user


def save_card(uow: UnitOfWork, sealer: Sealer, *, user_id: int, provider: str,
              card: CardFields, now: dt.datetime) -> CardView:
    """Keep a tokenized card, sealed (the caller commits)."""
    active_user(uow.session, user_id)
    row = Card(user_id=user_id, provider=provider, sealed=_seal(sealer, card), created_at=now)
    uow.session.add(row)
    uow.session.flush()
    return CardView(row.id, card.last4, card.exp_month, card.exp_year, card.brand)


def charge_to_complete(uow: UnitOfWork, *, user_id: int,
                       provider_charge_id: str) -> tuple[int, str]:
    """The row id and status of the user's charge waiting at the provider by its id;
    ``TopUpRefused('unknown_charge')`` for another's (or no) charge."""
    row = uow.session.scalars(
        select(Charge).where(Charge.provider_charge_id == provider_charge_id)
    ).first()
    if row is None or row.user_id != user_id:
        raise TopUpRefused("no such charge", code="unknown_charge")
    return row.id, row.status


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

DAY = dt.timedelta(hours=24)
# A requires_action charge older than this is abandoned: the issuer's challenge has expired.
CHALLENGE_WINDOW = dt.timedelta(minutes=15)
_HOLDING = ("pending", "requires_action", "succeeded")


def abandon_stale(session: Session, now: dt.datetime) -> int:
    """Challenges nobody came back from: the charge is abandoned (nothing was captured)."""
    done = session.execute(
        update(Charge)
        .where(Charge.status == "requires_action", Charge.created_at < now - CHALLENGE_WINDOW)
        .values(status="abandoned", three_ds="timed_out")
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


def _total_24h(session: Session, user_id: int, now: dt.datetime) -> Money:
    total = session.scalar(
        select(func.coalesce(func.sum(Charge.amount_cents), 0)).where(
            Charge.user_id == user_id, Charge.status.in_(_HOLDING),
            Charge.created_at > now - DAY)
    )
    return Money(int(total or 0))


def reserve(uow: UnitOfWork, sealer: Sealer, *, user_id: int, x_user_id: int, card_id: int,
             amount: Money, now: dt.datetime, key: str, limits: TopUpLimits
             ) -> tuple[int, str, bool] | TopUpResult:
    """ONE transaction, the user row locked (PostgreSQL: FOR UPDATE; SQLite: BEGIN
    IMMEDIATE), so concurrent top-ups see each other's pending charges: the 24-hour cap
    holds however many arrive at once."""
    session = uow.session
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise TopUpRefused(f"no user {user_id}", code="unknown_user")
    if user.status != "active":
        raise TopUpRefused("this account is not active", code="account_inactive")
    if user.x_user_id != x_user_id:
        raise TopUpRefused("this user is not that X account", code="unknown_user")
    card = session.get(Card, card_id)
    if card is None or card.user_id != user_id or card.removed_at is not None:
        raise TopUpRefused("no such card", code="unknown_card")
    seen = session.scalars(select(Charge).where(Charge.idempotency_key == key)).first()
    if seen is not None:
        if seen.user_id != user_id:
            raise RuntimeError("this idempotency key belongs to another user")
        if seen.status in ("succeeded", "declined", "abandoned"):
            result = _result(uow, seen, x_user_id, created=False)
            uow.commit()
            return result
        row_id = seen.id  # not final: ask the provider again, same key, same charge
    else:
        abandon_stale(session, now)
        if limits.daily is not None:
            used = _total_24h(session, user_id, now)
            if used + amount > limits.daily:
                room = limits.daily - used if limits.daily > used else Money(0)
                raise TopUpRefused(f"at most {limits.daily} a day; {room} left",
                                   code="daily_cap", remaining=room)
        row = Charge(user_id=user_id, card_id=card_id, amount_cents=amount.cents,
                     status="pending", idempotency_key=key, created_at=now)
        session.add(row)
        session.flush()
        row_id = row.id
    first_use = session.scalar(
        select(func.count()).select_from(Charge).where(
            Charge.card_id == card_id, Charge.status == "succeeded")
    ) == 0
    token = _open(sealer, card)["token"]
    uow.commit()
    return row_id, token, first_use


def release(uow: UnitOfWork, row_id: int, status: str) -> None:
    uow.rollback()
    uow.session.execute(update(Charge).where(Charge.id == row_id, Charge.status == "pending")
                        .values(status=status).execution_options(synchronize_session=False))
    uow.commit()


def record(uow: UnitOfWork, row_id: int, charge: Any, *, x_user_id: int) -> TopUpResult:
    """ONE transaction: the charge's outcome and, if it succeeded, card funding → wallet.
    Guarded: only a pending or challenged row moves, and the transfer is keyed by charge."""
    uow.rollback()
    session = uow.session
    row = session.get(Charge, row_id, with_for_update=True)
    assert row is not None
    created = row.status in ("pending", "requires_action", "failed")
    if created:
        row.provider_charge_id = charge.id
        row.status = charge.status
        row.decline_code = charge.decline_code
        row.three_ds = getattr(charge, "three_ds", None) or row.three_ds
    if row.status == "succeeded" and row.transfer_id is None:
        row.transfer_id = accounts.top_up(uow, x_user_id=x_user_id, amount=charge.amount,
                                          charge_id=charge.id)
    result = _result(uow, row, x_user_id, created=created,
                     challenge_url=getattr(charge, "challenge_url", None))
    uow.commit()
    return result


def _result(uow: UnitOfWork, row: Charge, x_user_id: int, *, created: bool,
            challenge_url: str | None = None) -> TopUpResult:
    balance = uow.ledger.balance(user_account_code(x_user_id))
    status = row.status if row.status in ("succeeded", "requires_action") else "declined"
    return TopUpResult(
        status=status,  # type: ignore[arg-type]
        charge_id=row.provider_charge_id or "", amount=Money(row.amount_cents),
        transfer_id=row.transfer_id, decline_code=row.decline_code, balance=balance,
        created=created, challenge_url=challenge_url if status == "requires_action" else None,
        three_ds=row.three_ds,
    )
