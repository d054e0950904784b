"""Ingest: fetch mentions and DM events through the gateway into the inbox, exactly once.

Each poll writes the new inbox rows and the advanced cursor in ONE transaction: a crash
before the commit re-fetches the same events (the inbox's unique key makes that a no-op), a
crash after it resumes from the cursor. After an outage the gateway pages back all the way
to the saved cursor, so nothing is skipped.

Only what the author wrote counts (docs/design.md): a retweet is never a command of the
retweeter; a quote tweet is handled on the quoting text only (X's ``text`` is exactly that).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.logging import get_logger
from handlers.x_text import unescape_tweet
from storage import inbox
from storage.uow import UnitOfWork

log = get_logger(__name__)

MENTIONS_CURSOR = "mentions_since_id"
DMS_CURSOR = "dm_events_seen_id"


class Source(Protocol):
    """The part of the X gateway ingest needs (see bot.gateway)."""

    def mentions(self, since_id: str | None) -> Any: ...
    def dm_events(self, until_event_id: str | None) -> list[Any]: ...


def _later(a: str | None, b: str | None) -> str | None:
    """The larger of two snowflake ids (numeric order, not string order)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if int(a) >= int(b) else b


def mention_payload(tweet: Any) -> dict[str, Any]:
    # X sends tweet text HTML-escaped (``R&amp;D``): the inbox keeps what the author wrote.
    text, entities = unescape_tweet(tweet.text, tweet.entities or {})
    return {
        "tweet_id": str(tweet.id),
        "author_id": int(tweet.author_id),
        "author_handle": tweet.author_handle or "",
        "text": text,
        "entities": entities,
        "conversation_id": tweet.conversation_id,
        "in_reply_to_user_id": tweet.in_reply_to_user_id,
        "referenced_tweets": [{"type": ref.type, "id": ref.id}
                              for ref in tweet.referenced_tweets or ()],
        "created_at": tweet.created_at.isoformat() if tweet.created_at else None,
    }


def dm_payload(event: Any) -> dict[str, Any]:
    return {
        "event_id": str(event.id),
        "author_id": int(event.sender_id),
        "author_handle": getattr(event, "sender_handle", "") or "",
        "text": event.text,
        # DM events carry no entities we can trust: the grammar computes them from the text.
        "entities": getattr(event, "entities", None) or {},
        "dm_conversation_id": event.dm_conversation_id,
        "created_at": event.created_at.isoformat() if event.created_at else None,
    }


def is_retweet(payload: dict[str, Any]) -> bool:
    return any(ref.get("type") == "retweeted" for ref in payload.get("referenced_tweets", []))


class Ingest:
    def __init__(self, session_factory: sessionmaker[Session], gateway: Source,
                 clock: Callable[[], dt.datetime], bot_user_id: int) -> None:
        self._sessions = session_factory
        self._gateway = gateway
        self._clock = clock
        self._bot_user_id = bot_user_id

    def poll_mentions(self) -> int:
        with self._sessions() as session:
            since = inbox.get_cursor(session, MENTIONS_CURSOR)
        batch = self._gateway.mentions(since_id=since)
        now = self._clock()
        new = 0
        with UnitOfWork(self._sessions, self._clock) as uow:
            session = uow.session
            newest = since
            for tweet in batch.mentions:
                newest = _later(newest, str(tweet.id))
                payload = mention_payload(tweet)
                if payload["author_id"] == self._bot_user_id or is_retweet(payload):
                    continue
                new += inbox.record(session, source="mention", event_id=payload["tweet_id"],
                                    author_id=payload["author_id"], payload=payload, now=now)
            newest = _later(newest, batch.newest_id)
            if newest and newest != since:
                inbox.set_cursor(session, MENTIONS_CURSOR, newest, now)
            uow.commit()
        if new:
            log.info("ingest.mentions", new=new)
        return new

    def poll_dms(self) -> int:
        with self._sessions() as session:
            seen = inbox.get_cursor(session, DMS_CURSOR)
        events = self._gateway.dm_events(until_event_id=seen)
        now = self._clock()
        new = 0
        with UnitOfWork(self._sessions, self._clock) as uow:
            session = uow.session
            newest = seen
            for event in events:
                newest = _later(newest, str(event.id))
                payload = dm_payload(event)
                if payload["author_id"] == self._bot_user_id:
                    continue  # our own messages appear in the conversation too
                new += inbox.record(session, source="dm", event_id=payload["event_id"],
                                    author_id=payload["author_id"], payload=payload, now=now)
            if newest and newest != seen:
                inbox.set_cursor(session, DMS_CURSOR, newest, now)
            uow.commit()
        if new:
            log.info("ingest.dms", new=new)
        return new
