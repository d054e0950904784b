"""The sandbox users' own X Chat apps: each simulated user's device keys and Chat XDK instance.

This is the *client* side, kept apart from the server (``xchat_world``): what a person's X app
does when they chat with the bot — make keys, register the public half, set up or rotate the
conversation key, encrypt, decrypt what the bot answered. Private keys live only in memory
here, never in the emulator's state file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from chat_xdk import Chat

from bot.emulator.xchat_world import XChatWorld
from bot.xchat import envelope


def signing_entry(user_id: str, record: dict[str, Any]) -> dict[str, str]:
    """A public-key row as the XDK's signing store wants it (identity and signing swapped)."""
    return {"user_id": user_id, "public_key_version": record["public_key_version"],
            "public_key": record["signing_public_key"],
            "identity_public_key": record["public_key"],
            "identity_public_key_signature": record["identity_public_key_signature"]}


@dataclass
class Device:
    user_id: str
    chat: Chat
    version: str


class ChatClients:
    def __init__(self, world: XChatWorld) -> None:
        self.world = world
        self._devices: dict[str, Device] = {}
        self._lock = threading.RLock()

    def reset(self) -> None:
        with self._lock:
            self._devices.clear()

    def enabled(self, user_id: str) -> bool:
        return user_id in self._devices

    def enable(self, user_id: str) -> Device:
        """New keys for the user (first use, or a rotation), registered with the server."""
        with self._lock:
            chat = Chat()
            registration = chat.generate_keypairs()
            key = registration.public_key
            answer = self.world.register_keys(user_id, {
                "public_key": {"public_key": key.public_key,
                               "signing_public_key": key.signing_public_key,
                               "identity_public_key_signature": key.identity_public_key_signature},
                "version": registration.version})
            version = answer["public_key_version"]
            chat.set_identity(user_id, version)
            chat.set_cache_keys(True)
            device = Device(user_id, chat, version)
            self._devices[user_id] = device
            return device

    def _device(self, user_id: str) -> Device:
        return self._devices.get(user_id) or self.enable(user_id)

    def _trust(self, device: Device, peer_id: str) -> None:
        entries = [signing_entry(uid, record) for uid in (device.user_id, peer_id)
                   for record in self.world.public_keys(uid)]
        device.chat.set_signing_keys(entries)

    def _latest(self, user_id: str) -> dict[str, Any]:
        records = self.world.public_keys(user_id)
        if not records:
            raise LookupError(f"user {user_id} has no X Chat keys")
        return max(records, key=lambda r: int(r["public_key_version"]))

    def _ensure_key(self, device: Device, peer_id: str, conversation_id: str) -> None:
        """Load the conversation key, or make a new one when the latest key change is not
        addressed to both participants' current keys (a first message, or a rotation)."""
        mine, theirs = self._latest(device.user_id), self._latest(peer_id)
        wanted = {device.user_id: mine["public_key_version"],
                  peer_id: theirs["public_key_version"]}
        conversation = self.world.events_of(conversation_id)
        if conversation is not None and conversation.key_events:
            result = device.chat.decrypt_events([conversation.key_events[-1]])
            for item in result.get("messages", []):
                event = item.get("event", {})
                versions = {str(k["user_id"]): str(k["public_key_version"])
                            for k in event.get("participant_keys", [])}
                if event.get("type") == "KeyChange" and versions == wanted:
                    return
        prepared = device.chat.prepare_conversation_key_change([
            {"user_id": device.user_id, "public_key": mine["public_key"],
             "key_version": mine["public_key_version"]},
            {"user_id": peer_id, "public_key": theirs["public_key"],
             "key_version": theirs["public_key_version"]}])
        action = prepared["action_signatures"][0]
        self.world.set_keys(conversation_id, device.user_id, {
            "conversation_key_version": prepared["conversation_key_version"],
            "conversation_participant_keys": [
                {"user_id": k["user_id"], "encrypted_conversation_key": k["encrypted_key"],
                 "public_key_version": k["public_key_version"]}
                for k in prepared["participant_keys"]],
            "action_signatures": [{
                "message_id": action["message_id"],
                "encoded_message_event_detail": action["encoded_message_event_detail"],
                "message_event_signature": {
                    "signature": action["signature"],
                    "public_key_version": action["public_key_version"],
                    "signature_version": action["signature_version"]}}]})
        device.chat.decrypt_events([self.world.conversations[conversation_id].key_events[-1]])

    def send(self, user_id: str, peer_id: str, text: str) -> dict[str, str]:
        """The user writes to ``peer_id`` in X Chat, as their X app would."""
        with self._lock:
            device = self._device(user_id)
            self._trust(device, peer_id)
            conversation_id = envelope.canonical_conversation_id(user_id, peer_id)
            self._ensure_key(device, peer_id, conversation_id)
            payload = device.chat.encrypt_message(conversation_id, text)
            event = self.world.post_message(conversation_id, user_id, {
                "message_id": payload.message_id,
                "encoded_message_create_event": payload.encrypted_content,
                "encoded_message_event_signature": payload.encoded_event_signature})
            return {"message_id": payload.message_id, "sequence_id": event.sequence_id,
                    "conversation_id": conversation_id}

    def read(self, user_id: str, peer_id: str) -> list[dict[str, Any]]:
        """What the user's app shows of the conversation: every message it can verify."""
        with self._lock:
            conversation_id = envelope.canonical_conversation_id(user_id, peer_id)
            conversation = self.world.events_of(conversation_id)
            device = self._devices.get(user_id)
            if conversation is None or device is None:
                return []
            self._trust(device, peer_id)
            result = device.chat.decrypt_events([e.encoded_event for e in conversation.events])
            shown = []
            for item in result.get("messages", []):
                event = item["event"]
                if event.get("type") != "Message":
                    continue
                shown.append({"sender_id": event["sender_id"], "message_id": event["id"],
                              "text": event.get("content", {}).get("text", ""),
                              "created_at_msec": event["created_at_msec"],
                              "verified": event.get("verified", False)})
            return shown
