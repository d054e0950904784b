"""Rolling limits on what a user sends: totals over the last 24 hours and 30 days.

Besides the per-payment caps (``cap_person``, ``cap_pro``), the settings ``limit_24h`` and
``limit_30d`` bound the *sum* of a user's outgoing payments over a sliding window. Checked
twice: when the intent is made (``handlers.decide``, a reply with what is left) and again
inside the confirmation transaction (``bot.services.confirm``), where it is authoritative.

What counts as outgoing: every transfer of kind ``payment`` debiting the user's wallet, which
covers payments to account holders and escrow holds for people without an account (both are
posted by the confirmation as ``payment``). Top-ups credit the wallet and never count, nor do
escrow refunds or claims (kinds ``refund``/``claim``, credits). A refunded escrow hold still
counts within its window: the limit bounds what was sent, not what stayed away.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from handlers.money import Money
from storage.ledger import user_account_code
from storage.models import Account, Posting, Transfer

OUTGOING_KINDS = ("payment",)
DAY = dt.timedelta(hours=24)
MONTH = dt.timedelta(days=30)

_P = Posting.__table__
_T = Transfer.__table__
_A = Account.__table__


# Built once with bind parameters: this runs in every decision and every confirmation, and
# SQLAlchemy then reuses the compiled form instead of rebuilding the statement each time.
# The kind is read per posting by primary key (a correlated subquery, not a join): the plan
# must start from the user's own postings whatever the planner believes about the tables.
# As a join, PostgreSQL without fresh statistics scanned every payment in the ledger and
# probed the user's postings for each one (1.8 ms at 300 transfers, growing with the ledger).
_AMOUNT = -_P.c.amount_cents
_KIND = select(_T.c.kind).where(_T.c.id == _P.c.transfer_id).scalar_subquery()
WINDOWS = (
    select(
        func.coalesce(func.sum(case((_P.c.created_at >= bindparam("day"), _AMOUNT), else_=0)), 0),
        func.coalesce(func.sum(_AMOUNT), 0),
    )
    .select_from(_P)
    .where(and_(
        _P.c.account_id == select(_A.c.id).where(_A.c.code == bindparam("code"))
        .scalar_subquery(),
        _P.c.amount_cents < 0,
        _P.c.created_at >= bindparam("month"),
        # Not ``in_``: an IN list is re-rendered into the SQL at every execution.
        or_(*(_KIND == kind for kind in OUTGOING_KINDS)),  # noqa: SIM300 (a column, not a constant)
    ))
)


def window_params(x_user_id: int, day_since: dt.datetime,
                  month_since: dt.datetime) -> dict[str, object]:
    """The bind parameters of ``WINDOWS`` (also for callers that run it inside a larger
    statement, as the confirmation does on PostgreSQL)."""
    # The bind parameters take the column's type (UTCDateTime): aware UTC in, as stored.
    return {"code": user_account_code(x_user_id), "day": day_since, "month": month_since}


def _sums(conn: Connection | Session, x_user_id: int, day_since: dt.datetime,
          month_since: dt.datetime) -> tuple[Money, Money]:
    day, month = conn.execute(WINDOWS, window_params(x_user_id, day_since, month_since)).one()
    return Money(int(day)), Money(int(month))


def outgoing_windows(conn: Connection | Session, x_user_id: int,
                     now: dt.datetime) -> tuple[Money, Money]:
    """What the user's wallet sent in payments over the last 24 hours and 30 days, in one
    read of its own postings (the ``(account_id, id)`` index: the cost follows the user's
    activity, not the size of the ledger)."""
    return _sums(conn, x_user_id, now - DAY, now - MONTH)


def outgoing_since(conn: Connection | Session, x_user_id: int, since: dt.datetime) -> Money:
    """What the user's wallet sent in payments from ``since`` on."""
    return _sums(conn, x_user_id, since, since)[1]


@dataclass(frozen=True, slots=True)
class Headroom:
    """What the user may still send now, and which window binds."""

    remaining: Money  # never below 0
    window: str  # "24h" or "30d"
    limit: Money


def headroom(conn: Connection | Session, x_user_id: int, now: dt.datetime, *,
             limit_24h: Money, limit_30d: Money) -> Headroom:
    """The smaller of the two allowances left (the 24-hour one on a tie)."""
    sent_day, sent_month = outgoing_windows(conn, x_user_id, now)
    return room_left(sent_day, sent_month, limit_24h=limit_24h, limit_30d=limit_30d)


def room_left(sent_day: Money, sent_month: Money, *, limit_24h: Money,
              limit_30d: Money) -> Headroom:
    """``headroom`` from the sums already read (``WINDOWS`` at ``now - DAY``, ``now - MONTH``)."""
    left_day = limit_24h - sent_day
    left_month = limit_30d - sent_month
    if left_month < left_day:
        return Headroom(max(left_month, Money(0)), "30d", limit_30d)
    return Headroom(max(left_day, Money(0)), "24h", limit_24h)
