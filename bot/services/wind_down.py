"""Wind-down: the service closes in an orderly way and everyone gets their money out.

``start`` sets the ``wind_down`` flag (``tweetpay wind-down start``). From then on:

- new payments, donations and requests (tweet or DM) and card top-ups are refused with a
  clear reply (``refuses``; the processor and the top-up page ask it);
- withdrawals stay open, and the escrow job keeps refunding unclaimed money on schedule, so
  everything held ends up in a wallet that can be emptied;
- ``notify_due`` (a scheduler job) tells every holder with a balance to withdraw, once each,
  by DM through the outbox at most ``per_hour`` an hour, so the reminders spread over days
  instead of taking X's DM budget from the links people are waiting for; a holder with the
  app gets a Web Push instead of the DM;
- every holder can download their statement (``statement_csv``) from the bank page;
- ``status`` says what remains held, and by whom.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from handlers.commands import Donate, RequestMoney, SendMoney
from handlers.money import Money
from handlers.payout_texts import wind_down_notice
from handlers.statement import StatementLine
from handlers.statement import statement_csv as render_csv
from handlers.texts import lang_of
from storage import devices, outbox, payouts
from storage.ledger import ESCROW, PAYOUTS_IN_FLIGHT, user_account_code
from storage.models import Account, OutboxMessage, User
from storage.sealing import Sealer
from storage.uow import UnitOfWork

FLAG = "wind_down"
NOTICE_PREFIX = "wind-down:"
REFUSED_COMMANDS = (SendMoney, Donate, RequestMoney)


@dataclass(frozen=True, slots=True)
class Holding:
    x_user_id: int
    handle: str
    kind: str
    balance: Money


@dataclass(frozen=True, slots=True)
class Status:
    started_at: str | None
    holders: list[Holding]
    total: Money  # in wallets
    escrow: Money  # waiting for a claim or its refund
    in_flight: Money  # withdrawals on their way
    notices_queued: int


def is_on(session: Session) -> bool:
    return payouts.flag(session, FLAG) is not None


def active(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        return is_on(session)


def start(sessions: sessionmaker[Session], now: dt.datetime) -> bool:
    """Start the wind-down; False if it had already started (nothing changes)."""
    with UnitOfWork(sessions) as uow:
        if is_on(uow.session):
            return False
        payouts.set_flag(uow.session, FLAG, now.isoformat(), now)
        uow.commit()
        return True


def _holders(session: Session) -> list[Holding]:
    rows = session.execute(
        select(User.x_user_id, User.handle, User.kind, Account.balance_cents)
        .join(Account, Account.owner_user_id == User.id)
        .where(Account.kind.in_(("user", "pro")), Account.balance_cents > 0)
        .order_by(Account.balance_cents.desc(), User.x_user_id)
    ).all()
    return [Holding(int(x), h, k, Money(int(c))) for x, h, k, c in rows]


def _balance(session: Session, code: str) -> Money:
    cents = session.scalar(select(Account.balance_cents).where(Account.code == code))
    return Money(int(cents or 0))


def status(sessions: sessionmaker[Session]) -> Status:
    with sessions() as session:
        holders = _holders(session)
        queued = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"{NOTICE_PREFIX}%"))) or 0
        return Status(payouts.flag(session, FLAG), holders,
                      Money(sum(h.balance.cents for h in holders)),
                      _balance(session, ESCROW), _balance(session, PAYOUTS_IN_FLIGHT),
                      int(queued))


def notify_due(sessions: sessionmaker[Session], sealer: Sealer, clock: Callable[[], dt.datetime],
               per_hour: int) -> int:
    """Queue the next withdrawal reminders (once per holder, ``per_hour`` an hour at most)."""
    now = clock()
    with UnitOfWork(sessions) as uow:
        session = uow.session
        if not is_on(session):
            return 0
        recent = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"{NOTICE_PREFIX}%"), OutboxMessage.kind == "dm",
            OutboxMessage.created_at > now - dt.timedelta(hours=1))) or 0
        room = per_hour - int(recent)  # only DMs spend X's budget; pushes go at once
        told = {key.removesuffix(":push") for key in session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.dedupe_key.like(f"{NOTICE_PREFIX}%")))}
        langs = dict(session.execute(select(User.x_user_id, User.lang)).all())
        messages = []
        for holder in _holders(session):
            if f"{NOTICE_PREFIX}{holder.x_user_id}" in told:
                continue
            app = devices.has_app(session, holder.x_user_id, now)
            if not app and room <= 0:
                continue
            room -= not app
            lang = lang_of(langs.get(holder.x_user_id))
            messages.append(wind_down_notice(holder.x_user_id, holder.balance, lang, app=app))
        outbox.enqueue(session, sealer, messages, now)  # dedupe keys: once per holder
        uow.commit()
    return len(messages)


def statement_csv(sessions: sessionmaker[Session], x_user_id: int) -> str:
    """The holder's whole history, as CSV (a statement to keep once the service is gone)."""
    with UnitOfWork(sessions) as uow:
        entries = uow.ledger.history(user_account_code(x_user_id), 1_000_000)
        ids = {int(e.counterparty.split(":", 1)[1]) for e in entries
               if e.counterparty.startswith("user:")}
        handles = dict(uow.session.execute(
            select(User.x_user_id, User.handle).where(User.x_user_id.in_(ids))).all()) if ids \
            else {}
    lines = [StatementLine(e.created_at, e.transfer_id, e.kind,
                           f"@{handles[int(e.counterparty[5:])]}"
                           if e.counterparty.startswith("user:")
                           and int(e.counterparty[5:]) in handles else e.counterparty,
                           e.amount, e.memo) for e in entries]
    return render_csv(lines)
