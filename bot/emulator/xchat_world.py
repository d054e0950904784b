"""X Chat as X's server keeps it: registered public keys, conversations, framed events.

The server never holds a private key and never sees a message in clear: it stores what
senders POST (ciphertext, wrapped conversation keys, signatures) and frames it into
``MessageEvent`` s (``bot.xchat.envelope``). Listeners are told of each new event, which is
how the X Activity API's ``chat.received`` / ``chat.sent`` deliveries are fed.
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.records import Refusal, invalid_request
from bot.xchat import envelope

KEY_FIELDS = ("public_key", "signing_public_key", "identity_public_key_signature")


@dataclass
class ChatEvent:
    sequence_id: str
    message_id: str
    sender_id: str
    conversation_id: str  # canonical colon form
    created_at_msec: int
    encoded_event: str
    kind: int
    key_version: str | None = None


@dataclass
class Conversation:
    conversation_id: str
    participants: tuple[str, str]
    created_at_msec: int
    events: list[ChatEvent] = field(default_factory=list)
    key_events: list[str] = field(default_factory=list)  # framed key changes, oldest first
    key_version: str | None = None

    @property
    def updated_at_msec(self) -> int:
        return self.events[-1].created_at_msec if self.events else self.created_at_msec


Listener = Callable[[str, ChatEvent, Conversation], None]  # (event type, event, conversation)


class XChatWorld:
    def __init__(self, now_ms: Callable[[], int]) -> None:
        self._now_ms = now_ms
        self._lock = threading.RLock()
        self.keys: dict[str, list[dict[str, Any]]] = {}
        self.conversations: dict[str, Conversation] = {}
        self.message_ids: set[str] = set()
        self.listeners: list[Listener] = []
        self._sequence = 0

    def reset(self) -> None:
        with self._lock:
            self.keys.clear()
            self.conversations.clear()
            self.message_ids.clear()
            self._sequence = 0

    # -- public keys ---------------------------------------------------------------------------

    def register_keys(self, user_id: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("public_key"), dict):
            raise invalid_request("public_key is required")
        key = body["public_key"]
        if not all(isinstance(key.get(name), str) and key.get(name) for name in KEY_FIELDS):
            raise invalid_request("public_key needs " + ", ".join(KEY_FIELDS))
        version = body.get("version")
        if not isinstance(version, str) or not version.isdigit():
            version = str(self._now_ms())
        record = {"public_key_version": version, "juicebox_config": {},
                  **{name: key[name] for name in KEY_FIELDS}}
        with self._lock:
            records = self.keys.setdefault(user_id, [])
            records[:] = [r for r in records if r["public_key_version"] != version]
            records.append(record)
        return {"public_key_version": version, "juicebox_config": {}}

    def public_keys(self, user_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.keys.get(user_id, [])]

    # -- conversations -------------------------------------------------------------------------

    def resolve(self, path_id: str, viewer: str) -> str:
        """A route's ``{id}`` (peer id or ``A-B``) as the canonical colon id of the viewer's."""
        if path_id.startswith("g"):
            raise Refusal(404, "Not Found Error", "Group conversations are not emulated.")
        parts = path_id.split("-")
        if len(parts) == 1 and parts[0].isdigit():
            parts = [viewer, parts[0]]
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or viewer not in parts:
            raise Refusal(403, "Forbidden", "You are not a participant of this conversation.")
        return envelope.canonical_conversation_id(*parts)

    def _conversation(self, conversation_id: str) -> Conversation:
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            low, high = conversation_id.split(":")
            conversation = Conversation(conversation_id, (low, high), self._now_ms())
            self.conversations[conversation_id] = conversation
        return conversation

    def conversations_of(self, user_id: str) -> list[Conversation]:
        with self._lock:
            mine = [c for c in self.conversations.values() if user_id in c.participants]
        return sorted(mine, key=lambda c: c.updated_at_msec, reverse=True)

    def events_of(self, conversation_id: str) -> Conversation | None:
        return self.conversations.get(conversation_id)

    def _append(self, conversation: Conversation, *, message_id: str, sender_id: str,
                detail: bytes, signature: bytes, kind: int,
                key_version: str | None) -> ChatEvent:
        self._sequence += 1
        now = self._now_ms()
        encoded = envelope.frame(
            sequence_id=str(self._sequence), message_id=message_id, sender_id=sender_id,
            conversation_id=conversation.conversation_id, created_at_msec=now,
            detail=detail, signature=signature)
        event = ChatEvent(str(self._sequence), message_id, sender_id,
                          conversation.conversation_id, now, encoded, kind, key_version)
        conversation.events.append(event)
        self.message_ids.add(message_id)
        return event

    def set_keys(self, conversation_id: str, sender_id: str, body: Any) -> ChatEvent:
        if not isinstance(body, dict):
            raise invalid_request("a JSON object is required")
        signatures = body.get("action_signatures")
        if not isinstance(signatures, list) or not signatures:
            raise invalid_request("action_signatures is required")
        version = body.get("conversation_key_version")
        participant_keys = body.get("conversation_participant_keys")
        if not isinstance(version, str) or not isinstance(participant_keys, list):
            raise invalid_request("conversation_key_version and conversation_participant_keys "
                                  "are required")
        action = signatures[0]
        try:
            detail = base64.b64decode(action["encoded_message_event_detail"], validate=True)
            sig = action["message_event_signature"]
            signature = envelope.signature_struct(
                sig["signature"], sig["public_key_version"], sig["signature_version"])
            message_id = str(action["message_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise invalid_request("malformed action signature") from exc
        with self._lock:
            conversation = self._conversation(conversation_id)
            event = self._append(conversation, message_id=message_id, sender_id=sender_id,
                                 detail=detail, signature=signature,
                                 kind=envelope.KEY_CHANGE, key_version=version)
            conversation.key_events.append(event.encoded_event)
            conversation.key_version = version
        self._tell("chat.conversation.key_change", event, conversation)
        return event

    def post_message(self, conversation_id: str, sender_id: str, body: Any) -> ChatEvent:
        if not isinstance(body, dict):
            raise invalid_request("a JSON object is required")
        message_id = body.get("message_id")
        create = body.get("encoded_message_create_event")
        signature = body.get("encoded_message_event_signature")
        if not all(isinstance(v, str) and v for v in (message_id, create, signature)):
            raise invalid_request("message_id, encoded_message_create_event and "
                                  "encoded_message_event_signature are required")
        assert isinstance(message_id, str) and isinstance(create, str)
        assert isinstance(signature, str)
        try:
            uuid.UUID(message_id)
            detail = envelope.union(envelope.MESSAGE_CREATE,
                                    base64.b64decode(create, validate=True))
            signature_bytes = base64.b64decode(signature, validate=True)
        except ValueError as exc:
            raise invalid_request("message_id must be a UUID and the payload base64") from exc
        with self._lock:
            if message_id in self.message_ids:
                raise Refusal(409, "Conflict", "A message with this message_id already exists.")
            conversation = self._conversation(conversation_id)
            if conversation.key_version is None:
                raise Refusal(400, "Invalid Request",
                              "The conversation has no key: POST its keys first.")
            event = self._append(conversation, message_id=message_id, sender_id=sender_id,
                                 detail=detail, signature=signature_bytes,
                                 kind=envelope.MESSAGE_CREATE,
                                 key_version=conversation.key_version)
        self._tell("chat.received", event, conversation)
        return event

    def latest_key_event(self, conversation: Conversation) -> str | None:
        return conversation.key_events[-1] if conversation.key_events else None

    def _tell(self, kind: str, event: ChatEvent, conversation: Conversation) -> None:
        for listener in list(self.listeners):
            listener(kind, event, conversation)

    def to_dict(self) -> dict[str, Any]:
        """Only what X's server holds: public keys and ciphertext frames (no private key)."""
        with self._lock:
            return {
                "keys": self.keys,
                "conversations": [
                    {"conversation_id": c.conversation_id, "created_at_msec": c.created_at_msec,
                     "key_version": c.key_version, "key_events": c.key_events,
                     "events": [e.__dict__ for e in c.events]}
                    for c in self.conversations.values()],
                "sequence": self._sequence,
            }
