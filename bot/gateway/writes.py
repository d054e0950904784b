"""The gateway's writes: replies, posts, DMs. Never retried here (the outbox decides)."""

from __future__ import annotations

from typing import Any

from bot.gateway.core import GatewayCore


class Writes(GatewayCore):
    def reply(self, in_reply_to_tweet_id: str, text: str) -> str:
        body = self._call(
            "create_tweet",
            self._client.create_tweet,
            text=text,
            in_reply_to_tweet_id=in_reply_to_tweet_id,
            user_auth=True,
        )
        return str(body["data"]["id"])

    def post(self, text: str) -> str:
        body = self._call("create_tweet", self._client.create_tweet, text=text, user_auth=True)
        return str(body["data"]["id"])

    def chat_call(self, endpoint: str, method: str, route: str, *,
                  params: dict[str, Any] | None = None,
                  body: dict[str, Any] | None = None) -> dict[str, Any]:
        def request(**_: Any) -> Any:
            return self._client.request(method, route, params=params or {}, json=body,
                                        user_auth=True)

        return self._call(endpoint, request)

    def send_dm(self, recipient_id: int | str, text: str) -> str:
        body = self._call(
            "send_dm",
            self._client.create_direct_message,
            participant_id=str(recipient_id),
            text=text,
            user_auth=True,
        )
        return str(body["data"]["dm_event_id"])
