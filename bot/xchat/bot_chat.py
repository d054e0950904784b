"""The bot's side of X Chat: its keys, the senders it trusts, decrypting in, encrypting out.

Rules kept here (X's X Chat guides, and what they leave silent, decided):
- Signing keys enter the store only from ``GET /2/users/{id}/public_keys``, each row checked
  with ``verify_key_binding`` — never from an event. ``set_signing_keys`` replaces the whole
  store, so the full list is kept here. A sender whose message fails for want of a key is
  looked up again once (they may have rotated their keys).
- An event is accepted only if the XDK verified its signature, it is a text message, its
  signed sender is the envelope's sender and the bot is in its conversation. Anything else is
  a ``ChatRefused`` with a reason that never carries the content.
- Conversation keys are cached in the XDK; after a restart they are recovered from the
  conversation's key-change events (ciphertext wrapped to the bot's identity key).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from chat_xdk import Chat

from bot.logging import get_logger
from bot.xchat import envelope
from bot.xchat.api import ChatApi

log = get_logger(__name__)


class ChatRefused(Exception):
    """An inbound chat event the bot will not act on; ``reason`` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ChatMessage:
    message_id: str
    sender_id: int
    conversation_id: str
    text: str
    created_at_msec: int


def signing_entry(user_id: str, row: dict[str, Any]) -> dict[str, str]:
    return {"user_id": user_id, "public_key_version": str(row["public_key_version"]),
            "public_key": row["signing_public_key"], "identity_public_key": row["public_key"],
            "identity_public_key_signature": row["identity_public_key_signature"]}


class BotChat:
    def __init__(self, bot_user_id: int, key_blob: bytes, key_version: str, api: ChatApi) -> None:
        self.bot_user_id = bot_user_id
        self.key_version = key_version
        self._api = api
        self._lock = threading.RLock()
        self._chat = Chat()
        self._chat.import_keys(bytes(key_blob), key_version)
        self._chat.set_identity(str(bot_user_id), key_version)
        self._chat.set_cache_keys(True)
        self._trusted: dict[str, list[dict[str, str]]] = {}
        self._keyed: set[tuple[str, str]] = set()  # (conversation, key version) loaded

    # -- trust ------------------------------------------------------------------------------

    def trust(self, user_id: str, *, refresh: bool = False) -> bool:
        """Load ``user_id``'s verified signing keys; False when they have none that verify."""
        with self._lock:
            if user_id in self._trusted and not refresh:
                return bool(self._trusted[user_id])
            rows = self._api.public_keys(user_id)
            good = []
            for row in rows:
                try:
                    ok = self._chat.verify_key_binding(
                        row["public_key"], row["signing_public_key"],
                        row["identity_public_key_signature"])
                except (KeyError, TypeError, ValueError):
                    ok = False
                if ok:
                    good.append(signing_entry(user_id, row))
            if len(good) < len(rows):
                log.warning("xchat.key_binding_refused", user_id=user_id,
                            refused=len(rows) - len(good))
            self._trusted[user_id] = good
            self._chat.set_signing_keys([e for entries in self._trusted.values()
                                         for e in entries])
            return bool(good)

    # -- conversation keys --------------------------------------------------------------------

    def load_key_events(self, key_events: list[str]) -> None:
        """Verify and cache conversation key changes (the sender's keys must be trusted)."""
        with self._lock:
            for encoded in key_events:
                try:
                    head = envelope.read(encoded)
                except envelope.EnvelopeError:
                    continue
                if head.sender_id not in head.conversation_id.split(":"):
                    # A key change signed by someone outside the conversation: never cached.
                    log.warning("xchat.foreign_key_change", sender_id=head.sender_id)
                    continue
                self.trust(head.sender_id)
                result = self._chat.decrypt_events([encoded])
                for item in result.get("messages", []):
                    event = item.get("event", {})
                    if event.get("type") == "KeyChange" and event.get("verified"):
                        self._keyed.add((event["conversation_id"], str(event["key_version"])))

    def ensure_conversation_key(self, conversation_id: str) -> None:
        """After a restart: fetch the conversation's key changes once and cache them."""
        with self._lock:
            if any(c == conversation_id for c, _ in self._keyed):
                return
        page = self._api.events(conversation_id)
        self.load_key_events(list(page.get("meta", {}).get("conversation_key_events") or []))

    # -- in ---------------------------------------------------------------------------------

    def open(self, encoded_event: str, key_events: list[str] | None = None) -> ChatMessage:
        try:
            head = envelope.read(encoded_event)
        except envelope.EnvelopeError as exc:
            raise ChatRefused(f"malformed event: {exc}") from exc
        bot = str(self.bot_user_id)
        members = head.conversation_id.split(":")
        if bot not in members:
            raise ChatRefused("the bot is not in this conversation")
        if head.sender_id not in members or head.sender_id == bot:
            raise ChatRefused("the sender is not the other member of this conversation")
        with self._lock:
            if not self.trust(head.sender_id):
                raise ChatRefused("the sender has no verifiable X Chat keys")
            if key_events:
                self.load_key_events(key_events)
            event = self._decrypt(encoded_event)
            if event is None:  # their keys may have rotated since we looked
                self.trust(head.sender_id, refresh=True)
                if key_events:
                    self.load_key_events(key_events)
                event = self._decrypt(encoded_event)
        if event is None:
            raise ChatRefused("the event does not verify or its key cannot be unwrapped")
        if event.get("type") != "Message" or not event.get("verified"):
            raise ChatRefused(f"not a verified message ({event.get('type')})")
        content = event.get("content") or {}
        if content.get("content_type") != "Text" or not isinstance(content.get("text"), str):
            raise ChatRefused("not a text message")
        if (str(event.get("sender_id")) != head.sender_id
                or event.get("conversation_id") != head.conversation_id
                or event.get("id") != head.message_id):
            raise ChatRefused("the envelope does not match the signed event")
        return ChatMessage(head.message_id, int(head.sender_id), head.conversation_id,
                           content["text"], head.created_at_msec)

    def _decrypt(self, encoded_event: str) -> dict[str, Any] | None:
        try:
            return dict(self._chat.decrypt_event(encoded_event))
        except ValueError:
            return None

    # -- out --------------------------------------------------------------------------------

    def seal(self, conversation_id: str, text: str) -> dict[str, str]:
        """Encrypt and sign one message; persist the result before sending it (same id on retry)."""
        with self._lock:
            self.ensure_conversation_key(conversation_id)
            payload = self._chat.encrypt_message(conversation_id, text)
        return {"message_id": payload.message_id, "encrypted_content": payload.encrypted_content,
                "encoded_event_signature": payload.encoded_event_signature,
                "conversation_key_version": payload.conversation_key_version}

    def send(self, conversation_id: str, sealed: dict[str, str]) -> str:
        return self._api.send(conversation_id, sealed)
