"""Repositories for X Chat: the bot's sealed key blobs and each user's DM transport."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import ChatSend, DmRoute, OutboxMessage, XChatKey


def active_key(session: Session) -> XChatKey | None:
    return session.scalars(
        select(XChatKey).where(XChatKey.retired_at.is_(None))
        .order_by(XChatKey.id.desc()).limit(1)).first()


def add_key(session: Session, version: str, sealed_blob: str, now: dt.datetime) -> XChatKey:
    """Store a new key pair as the one in use; the previous one is retired (rotation)."""
    session.execute(update(XChatKey).where(XChatKey.retired_at.is_(None)).values(retired_at=now))
    key = XChatKey(public_key_version=version, sealed_blob=sealed_blob, created_at=now)
    session.add(key)
    session.flush()
    return key


def all_keys(session: Session) -> list[XChatKey]:
    return list(session.scalars(select(XChatKey).order_by(XChatKey.id)))


def note_inbound(session: Session, user_id: int, transport: str, conversation_id: str | None,
                 at: dt.datetime) -> None:
    """Record the transport of a message from ``user_id``; only a newer message moves it.

    An upsert (both engines): two deliveries racing from one new user both go through.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(DmRoute).values(x_user_id=user_id, transport=transport,
                                       conversation_id=conversation_id, last_inbound_at=at)
    session.execute(statement.on_conflict_do_update(
        index_elements=[DmRoute.x_user_id],
        set_={"transport": statement.excluded.transport,
              "conversation_id": statement.excluded.conversation_id,
              "last_inbound_at": statement.excluded.last_inbound_at},
        where=DmRoute.last_inbound_at < statement.excluded.last_inbound_at))


def route_of(session: Session, user_id: int) -> DmRoute | None:
    return session.get(DmRoute, user_id)


def pending_send(session: Session, outbox_id: int) -> ChatSend | None:
    return session.get(ChatSend, outbox_id)


ERASED = "[X Chat: encrypted]"


def save_send(session: Session, outbox_id: int, conversation_id: str, message_id: str,
              sealed: str, now: dt.datetime) -> None:
    """Keep the encrypted payload and erase the clear text (and any sealed link) of the row:
    from now on only the ciphertext is resent."""
    session.add(ChatSend(outbox_id=outbox_id, conversation_id=conversation_id,
                         message_id=message_id, sealed=sealed, created_at=now))
    session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id)
                    .values(text=ERASED, sealed_link=None))
    session.flush()
