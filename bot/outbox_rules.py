"""The outbox's small rules: X's budgets for the bot, the send statistics, the backoff, how
a row is marked done with and the re-wording of a text X refused as a duplicate."""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import OutboxMessage

WINDOW_15 = dt.timedelta(minutes=15)
WINDOW_24H = dt.timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Budgets:
    """X's per-user limits for the bot account (docs/x-platform.md); configurable for tests."""

    dm_per_15min: int = 15
    dm_per_24h: int = 1440
    posts_per_15min: int = 100
    link_reserve: int = 3  # DMs of each window only one-time links may use


@dataclass
class SendStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    recovered: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def _refusal(reason: str) -> str:
    """The metric label of a final failure (its reason text starts with one of these)."""
    for prefix, label in (("forbidden", "forbidden"), ("not found", "not_found"),
                          ("gave up", "gave_up"), ("duplicate", "duplicate")):
        if reason.startswith(prefix):
            return label
    return "other"


def mark(row: OutboxMessage, status: str, reason: str | None, *, in_doubt: bool = False) -> None:
    """A row done with (cancelled, failed): the reason kept, the link no longer at rest."""
    row.status, row.last_error = status, reason[:500] if reason else None
    row.sealed_link = None
    # Given up while X may hold it: the record keeps saying so (never "unsent").
    row.delivery_state = "in_doubt" if in_doubt else "unsent"


def backoff(attempts: int, rng: random.Random, base: float = 2.0, cap: float = 900.0) -> float:
    """Full-jitter exponential backoff (seconds) for the attempt just failed."""
    return rng.uniform(0, min(cap, base * 2 ** max(0, attempts - 1)))


_COUNTER = re.compile(r" \((\d+)\)$")


def reworded(text: str) -> str:
    """X refused the text as a duplicate of an older post: the same words, marked as another
    message by a counter at the end (``… (2)``, then ``… (3)``); the reference stays."""
    match = _COUNTER.search(text)
    if match is None:
        return f"{text} (2)"
    return f"{text[:match.start()]} ({int(match[1]) + 1})"


def _sent_since(session: Session, kind: str, since: dt.datetime) -> int:
    return session.scalar(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == kind, OutboxMessage.sent_at >= since,
            OutboxMessage.remote_id.is_not(None),
        )
    ) or 0


def available(session: Session, now: dt.datetime, b: Budgets) -> dict[str, int]:
    """Messages of each kind the bot may still send now, counted from the outbox."""
    dms = min(b.dm_per_15min - _sent_since(session, "dm", now - WINDOW_15),
              b.dm_per_24h - _sent_since(session, "dm", now - WINDOW_24H))
    posts = b.posts_per_15min - _sent_since(session, "reply", now - WINDOW_15)
    return {"dm": max(0, dms), "reply": max(0, posts)}


def free_at(session: Session, kind: str, now: dt.datetime, b: Budgets) -> dt.datetime:
    """When the next message of ``kind`` fits in the bot's budgets again (now if it does)."""
    windows = ([(WINDOW_15, b.dm_per_15min), (WINDOW_24H, b.dm_per_24h)] if kind == "dm"
               else [(WINDOW_15, b.posts_per_15min)])
    when = now
    for window, limit in windows:
        sent = [at for at in session.scalars(
            select(OutboxMessage.sent_at).where(
                OutboxMessage.kind == kind, OutboxMessage.sent_at >= now - window,
                OutboxMessage.remote_id.is_not(None),
            ).order_by(OutboxMessage.sent_at)
        ) if at is not None]
        # Rows claimed and being sent (this very pass, or another worker's) count as sent now.
        sent += [now] * (session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == kind, OutboxMessage.status == "sending")) or 0)
        if sent and len(sent) >= limit:
            # The window is full: a slot frees when enough of its sends have left it.
            when = max(when, sent[len(sent) - limit] + window)
    return when


def dms_sent_by_recipient(session: Session, recipients: list[int | None],
                          now: dt.datetime) -> dict[int | None, int]:
    """DMs each of ``recipients`` got from the bot in the last hour."""
    wanted = sorted({r for r in recipients if r is not None})
    if not wanted:
        return {}
    rows = session.execute(
        select(OutboxMessage.recipient_x_user_id, func.count()).where(
            OutboxMessage.kind == "dm", OutboxMessage.recipient_x_user_id.in_(wanted),
            OutboxMessage.sent_at >= now - dt.timedelta(hours=1),
        ).group_by(OutboxMessage.recipient_x_user_id))
    return {recipient: int(n) for recipient, n in rows}
