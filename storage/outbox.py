"""The outbox: messages to send on X, written in the caller's transaction.

``enqueue`` is idempotent on ``dedupe_key`` (one reply per event, whatever the retries), and
seals any one-time link with the data key so the database never holds it in clear.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.outcomes import DirectMessage, Outgoing, PublicReply
from storage.models import OutboxMessage
from storage.sealing import Sealer


def enqueue(session: Session, sealer: Sealer, items: Iterable[Outgoing], now: dt.datetime) -> int:
    """Add the messages not already queued under their dedupe key; return how many were new."""
    items = list(items)
    if not items:
        return 0
    keys = [item.dedupe_key for item in items]
    existing = set(
        session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys)))
    )
    added = 0
    for item in items:
        if item.dedupe_key in existing:
            continue
        existing.add(item.dedupe_key)
        row = OutboxMessage(
            dedupe_key=item.dedupe_key,
            priority=item.priority,
            text=item.text,
            sealed_link=sealer.seal(item.link) if item.link else None,
            intent_id=item.intent_id,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        if isinstance(item, PublicReply):
            row.kind = "reply"
            row.in_reply_to_tweet_id = item.in_reply_to_tweet_id
        elif isinstance(item, DirectMessage):
            row.kind = "dm"
            row.recipient_x_user_id = item.recipient_x_user_id
            row.in_reply_to_tweet_id = item.fallback_tweet_id
        session.add(row)
        added += 1
    session.flush()
    return added
