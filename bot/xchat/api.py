"""X Chat's HTTP routes as the bot uses them, through the X gateway (the only tweepy user)."""

from __future__ import annotations

from typing import Any, Protocol

from bot.xchat.envelope import path_conversation_id


class ChatTransport(Protocol):
    def chat_call(self, endpoint: str, method: str, route: str, *,
                  params: dict[str, Any] | None = None,
                  body: dict[str, Any] | None = None) -> dict[str, Any]: ...


KEY_FIELDS = "public_key_version,public_key,signing_public_key,identity_public_key_signature"


class ChatApi:
    def __init__(self, gateway: ChatTransport) -> None:
        self._gateway = gateway

    def public_keys(self, user_id: int | str) -> list[dict[str, Any]]:
        body = self._gateway.chat_call("chat_public_keys", "GET", f"/2/users/{user_id}/public_keys",
                                       params={"public_key.fields": KEY_FIELDS})
        data = body.get("data") or []
        return [r for r in data if isinstance(r, dict)]

    def register_keys(self, user_id: int | str, registration: Any) -> str:
        key = registration.public_key
        body = self._gateway.chat_call("chat_register_keys", "POST",
                                       f"/2/users/{user_id}/public_keys", body={
            "public_key": {
                "public_key": key.public_key,
                "signing_public_key": key.signing_public_key,
                "identity_public_key_signature": key.identity_public_key_signature,
                "signing_public_key_signature": key.signing_public_key_signature or "",
                "public_key_fingerprint": key.public_key_fingerprint or "",
                "registration_method": key.registration_method,
            },
            "version": registration.version,
            "generate_version": bool(registration.generate_version),
        })
        return str(body["data"]["public_key_version"])

    def conversations(self, pagination_token: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"max_results": 100}
        if pagination_token:
            params["pagination_token"] = pagination_token
        return self._gateway.chat_call("chat_conversations", "GET", "/2/chat/conversations",
                                       params=params)

    def events(self, conversation_id: str, pagination_token: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"max_results": 100}
        if pagination_token:
            params["pagination_token"] = pagination_token
        route = f"/2/chat/conversations/{path_conversation_id(conversation_id)}/events"
        return self._gateway.chat_call("chat_events", "GET", route, params=params)

    def send(self, conversation_id: str, sealed: dict[str, str]) -> str:
        """POST one encrypted message; ``sealed`` is the persisted payload (same id on retry)."""
        route = f"/2/chat/conversations/{path_conversation_id(conversation_id)}/messages"
        body: dict[str, Any] = {
            "message_id": sealed["message_id"],
            "encoded_message_create_event": sealed["encrypted_content"],
            "encoded_message_event_signature": sealed["encoded_event_signature"],
        }
        if sealed.get("conversation_token"):
            body["conversation_token"] = sealed["conversation_token"]
        self._gateway.chat_call("chat_send", "POST", route, body=body)
        return sealed["message_id"]
