"""X Chat messages into the inbox, by push (XAA ``chat.received``) or by polling — one row each.

The inbox row keeps what X delivered — the framed event and the conversation's key changes,
all ciphertext — never the text: the worker decrypts when it handles the row
(``bot.xchat.inbound``). The row's id is the signed ``message_id`` read from the clear
envelope, so the same message pushed and polled, or pushed twice, is one row (the inbox's
unique key decides, as for tweets and legacy DMs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.logging import get_logger
from bot.xchat import envelope
from bot.xchat.api import ChatApi
from storage import inbox
from storage.uow import UnitOfWork

log = get_logger(__name__)

SOURCE = "chat"
CURSOR = "xchat_seen_msec"
MAX_KEY_EVENTS = 64


def chat_payload(encoded_event: str, key_events: list[str],
                 conversation_token: str | None = None) -> tuple[envelope.Envelope, dict[str, Any]]:
    """The inbox payload of one delivered chat event; raises EnvelopeError when malformed."""
    head = envelope.read(encoded_event)
    if head.kind != envelope.MESSAGE_CREATE:
        raise envelope.EnvelopeError("not a message")
    keys = [k for k in key_events if isinstance(k, str)][-MAX_KEY_EVENTS:]
    payload = {"event_id": head.message_id, "author_id": int(head.sender_id),
               "author_handle": "", "conversation_id": head.conversation_id,
               "encoded_event": encoded_event, "key_events": keys,
               "created_at": dt.datetime.fromtimestamp(head.created_at_msec / 1000,
                                                       dt.UTC).isoformat()}
    if conversation_token:
        payload["conversation_token"] = conversation_token
    return head, payload


def record(session: Session, encoded_event: str, key_events: list[str], *, bot_user_id: int,
           now: dt.datetime, conversation_token: str | None = None) -> bool:
    """Store one delivered chat message unless already there; False for ours or a duplicate."""
    head, payload = chat_payload(encoded_event, key_events, conversation_token)
    if int(head.sender_id) == bot_user_id:
        return False
    return inbox.record(session, source=SOURCE, event_id=head.message_id,
                        author_id=int(head.sender_id), payload=payload, now=now)


class ChatIngest:
    """Polling, the safety net beside push: conversations changed since the cursor, then their
    newest events down to the cursor. Costs 1 call plus 1 per changed conversation."""

    def __init__(self, sessions: sessionmaker[Session], api: ChatApi,
                 clock: Callable[[], dt.datetime], bot_user_id: int) -> None:
        self._sessions = sessions
        self._api = api
        self._clock = clock
        self._bot_user_id = bot_user_id

    def poll(self) -> int:
        with self._sessions() as session:
            seen = int(inbox.get_cursor(session, CURSOR) or 0)
        newest = seen
        found: list[tuple[str, list[str], str | None]] = []
        for conversation in self._changed_since(seen):
            page = self._api.events(conversation)
            key_events = list(page.get("meta", {}).get("conversation_key_events") or [])
            for item in page.get("data") or []:
                encoded = item.get("encoded_event")
                try:
                    head = envelope.read(encoded)
                except envelope.EnvelopeError:
                    log.warning("xchat.poll_malformed", conversation=conversation)
                    continue
                if head.created_at_msec < seen:
                    break  # newest first: the rest was seen (same ms re-read: a no-op)
                newest = max(newest, head.created_at_msec)
                if head.kind == envelope.MESSAGE_CREATE:
                    found.append((encoded, key_events, item.get("conversation_token")))
        now = self._clock()
        new = 0
        with UnitOfWork(self._sessions, self._clock) as uow:
            for encoded, key_events, token in found:
                new += record(uow.session, encoded, key_events, bot_user_id=self._bot_user_id,
                              now=now, conversation_token=token)
            if newest != seen:
                inbox.set_cursor(uow.session, CURSOR, str(newest), now)
            uow.commit()
        if new:
            log.info("ingest.chats", new=new)
        return new

    def _changed_since(self, seen_msec: int) -> list[str]:
        changed: list[str] = []
        token: str | None = None
        while True:
            page = self._api.conversations(token)
            for conversation in page.get("data") or []:
                updated = conversation.get("updated_at")
                at = (dt.datetime.fromisoformat(updated.replace("Z", "+00:00"))
                      if isinstance(updated, str) else None)
                if at is None or at.timestamp() * 1000 >= seen_msec:
                    changed.append(str(conversation["id"]))
            token = page.get("meta", {}).get("next_token")
            if not token:
                return changed
