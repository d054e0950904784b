"""Pro accounts (NGOs, crowdfunding pots): creating one, and the donations it received.

A Pro account is a ``User`` of kind ``pro`` with a ``pro`` wallet, bound like anyone to its
numeric X user id. It receives (the cap towards it is ``cap_pro``) and never confirms
payments itself here. ``donations_csv`` is what its page offers to download: CSV-injection
safe, amounts as exact decimal text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.errors import BusinessError
from handlers.money import Money
from storage import accounts
from storage.models import PaymentIntent, User
from storage.uow import UnitOfWork

CSV_HEADER = ("date", "reference", "donor_handle", "donor_x_user_id", "amount_eur", "memo")
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ProRefused(BusinessError):
    code = "pro_refused"


@dataclass(frozen=True, slots=True)
class Donation:
    date: dt.datetime  # when the donor confirmed
    reference: str
    donor_handle: str  # as last seen, without "@"; identity is donor_x_user_id
    donor_x_user_id: int
    amount: Money
    memo: str


def create_pro(uow: UnitOfWork, *, x_user_id: int, handle: str, name: str,
               now: dt.datetime) -> tuple[User, bool]:
    """Open the Pro account and its wallet; ``(user, created)``. Idempotent on the X id;
    refuses to turn a personal account into a Pro one. The caller commits."""
    handle = handle.lstrip("@")
    existing = uow.session.scalars(select(User).where(User.x_user_id == x_user_id)).first()
    if existing is not None and existing.kind != "pro":
        raise ProRefused(
            f"X user {x_user_id} (@{existing.handle}) already holds a personal account",
            code="personal_account_exists",
        )
    user = accounts.open_user(uow, x_user_id=x_user_id, handle=handle, now=now, kind="pro",
                              display_name=name or handle)
    return user, existing is None


def donations_received(session: Session, x_user_id: int,
                       since: dt.datetime | None = None) -> list[Donation]:
    """Confirmed payments to this account (``#don`` and ``#envoyer`` alike), oldest first."""
    payer = User.__table__.alias("payer")
    query = (
        select(PaymentIntent.decided_at, PaymentIntent.reference, payer.c.handle,
               PaymentIntent.payer_x_user_id, PaymentIntent.amount_cents, PaymentIntent.memo)
        .outerjoin(payer, payer.c.x_user_id == PaymentIntent.payer_x_user_id)
        .where(PaymentIntent.payee_x_user_id == x_user_id,
               PaymentIntent.status == "confirmed")
        .order_by(PaymentIntent.decided_at, PaymentIntent.id)
    )
    if since is not None:
        query = query.where(PaymentIntent.decided_at >= since)
    return [
        Donation(date=row[0], reference=row[1], donor_handle=row[2] or "",
                 donor_x_user_id=int(row[3]), amount=Money(int(row[4])), memo=row[5] or "")
        for row in session.execute(query)
    ]


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def euros_text(amount: Money) -> str:
    """``Money(1250)`` → ``"12.50"``: exact, dot decimal, no currency sign."""
    units, cents = divmod(amount.cents, 100)
    return f"{units}.{cents:02d}"


@dataclass(frozen=True, slots=True)
class Payout:
    """A withdrawal of the Pro account to its bank, as its CSV lists it (a negative amount)."""

    date: dt.datetime
    reference: str  # W<withdrawal id>
    amount: Money
    status: str  # submitted, settled, returned...
    bank_account: str  # masked


def donations_csv(donations: Iterable[Donation], payouts: Iterable[Payout] = ()) -> str:
    """RFC 4180 CSV (CRLF, quoted as needed), one row per donation, then one per payout to
    the bank (negative amount, the memo says where and how it went), dates in ISO 8601 UTC."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for d in donations:
        writer.writerow([
            _cell(d.date.astimezone(dt.UTC).isoformat()),
            _cell(d.reference),
            _cell(d.donor_handle),
            str(d.donor_x_user_id),
            euros_text(d.amount),
            _cell(d.memo),
        ])
    for p in payouts:
        writer.writerow([_cell(p.date.astimezone(dt.UTC).isoformat()), _cell(p.reference), "",
                         "", "-" + euros_text(p.amount),
                         _cell(f"payout to {p.bank_account} ({p.status})")])
    return out.getvalue()
