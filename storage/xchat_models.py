"""X Chat's rows: the bot's sealed key pairs, each user's DM transport, encrypted sends.

Part of ``storage.models`` (imported at its end, same ``Base``), so that ``Base.metadata``
always holds the whole schema; import the classes from ``storage.models``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UTCDateTime


class XChatKey(Base):
    """The bot's X Chat key pairs: the private key blob Fernet-sealed with the data keys.

    The newest row without ``retired_at`` is the one in use; older rows are kept retired so a
    rotation can be traced (X holds the matching public keys, per version)."""

    __tablename__ = "xchat_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_key_version: Mapped[str] = mapped_column(String(24), unique=True)
    sealed_blob: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DmRoute(Base):
    """Which DM transport a user last wrote to the bot in: replies follow it.

    ``legacy`` (``/2/dm_events``) or ``xchat`` (end-to-end encrypted X Chat, with its
    conversation id). Only the newest inbound message moves it (``last_inbound_at``)."""

    __tablename__ = "dm_routes"
    __table_args__ = (CheckConstraint("transport IN ('legacy', 'xchat')", name="transport"),)

    x_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    transport: Mapped[str] = mapped_column(String(8))
    conversation_id: Mapped[str | None] = mapped_column(String(48))
    last_inbound_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ChatSend(Base):
    """An outbox DM going out by X Chat: the encrypted payload, persisted before the POST so
    a retry resends the same signed message (same ``message_id``), never a second one."""

    __tablename__ = "chat_sends"

    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(48))
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    sealed: Mapped[str] = mapped_column(Text)  # JSON of the XDK's SendPayload: ciphertext only
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
