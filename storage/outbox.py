"""The outbox: messages to send on X, written in the caller's transaction.

``enqueue`` is idempotent on ``dedupe_key`` (one reply per event, whatever the retries): the
unique key decides, in one multi-row ``INSERT … ON CONFLICT DO NOTHING`` (no ORM on this hot
path: it runs in every decision and every confirmation). Any one-time link is sealed with the
data key so the database never holds it in clear.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from handlers.outcomes import Outgoing, PublicReply
from storage.models import OutboxMessage
from storage.sealing import Sealer

_TABLE = OutboxMessage.__table__


def _row(item: Outgoing, sealer: Sealer, now: dt.datetime) -> dict[str, Any]:
    public = isinstance(item, PublicReply)
    return {
        "dedupe_key": item.dedupe_key,
        "kind": "reply" if public else "dm",
        "priority": item.priority,
        "recipient_x_user_id": None if public else item.recipient_x_user_id,  # type: ignore[union-attr]
        # A DM's thread is where its public fallback goes (DESIGN.md: links only by DM).
        "in_reply_to_tweet_id": (item.in_reply_to_tweet_id if public  # type: ignore[union-attr]
                                 else item.fallback_tweet_id),  # type: ignore[union-attr]
        "text": item.text,
        "sealed_link": sealer.seal(item.link) if item.link else None,
        "intent_id": item.intent_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def enqueue(session: Session, sealer: Sealer, items: Iterable[Outgoing], now: dt.datetime) -> int:
    """Add the messages not already queued under their dedupe key; return how many were new."""
    rows = [_row(item, sealer, now) for item in items]
    if not rows:
        return 0
    session.flush()  # rows the caller added through the ORM (an intent) must exist first
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(_TABLE).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = session.connection().execute(stmt, rows)
    return max(0, result.rowcount)
