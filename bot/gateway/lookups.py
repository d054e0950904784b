"""What the bot itself sent, read back from X: the outbox asks before it resends something a
crash or a timeout left in doubt (did X act?)."""

from __future__ import annotations

from bot.gateway.core import GatewayCore
from bot.gateway.values import SentMessage, parse_time


class Lookups(GatewayCore):
    def sent_dms(self, recipient_id: int | str) -> list[SentMessage]:
        """The bot's latest DMs to ``recipient_id`` (one page, newest first), read in the
        one-to-one conversation itself (``/2/dm_conversations/with/:id/dm_events``): a busy
        bot's other conversations cannot push them out of sight."""
        body = self._call(
            "conversation_events",
            self._client.get_direct_message_events,
            participant_id=str(recipient_id),
            user_auth=True,
            max_results=100,
            event_types=["MessageCreate"],
            dm_event_fields=["id", "text", "event_type", "created_at", "sender_id"],
        )
        return [
            SentMessage(id=str(item["id"]), text=item.get("text", ""),
                        created_at=parse_time(item.get("created_at")))
            for item in body.get("data", [])
            if str(item.get("sender_id")) == str(self._user_id)
        ]

    def sent_replies(self) -> list[SentMessage]:
        """The bot's latest replies (one page of its own timeline, newest first): an owned
        read, the cheapest of X's reads."""
        body = self._call(
            "user_tweets",
            self._client.get_users_tweets,
            id=self._user_id,
            user_auth=True,
            max_results=100,
            tweet_fields=["created_at", "referenced_tweets"],
        )
        found = []
        for item in body.get("data", []):
            parent = next((ref["id"] for ref in item.get("referenced_tweets", [])
                           if ref.get("type") == "replied_to"), None)
            if parent is not None:
                found.append(SentMessage(id=str(item["id"]), text=item.get("text", ""),
                                         created_at=parse_time(item.get("created_at")),
                                         in_reply_to=str(parent)))
        return found
