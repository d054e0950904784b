"""The port: what the bot needs from X. Fakes for unit tests subclass ``XGateway``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from bot.gateway.values import DmEvent, MentionBatch, RateBudget, SentMessage, XUser


class XGateway(ABC):
    """What the bot needs from X. Fakes for unit tests subclass this."""

    @abstractmethod
    def me(self) -> XUser: ...

    @abstractmethod
    def mentions(self, since_id: str | None, *, max_pages: int | None = None) -> MentionBatch:
        """Every mention newer than ``since_id`` (all pages), oldest first."""

    @abstractmethod
    def dm_events(
        self, until_event_id: str | None, *, max_pages: int | None = None
    ) -> list[DmEvent]:
        """DMs sent to the bot newer than ``until_event_id``, oldest first."""

    @abstractmethod
    def reply(self, in_reply_to_tweet_id: str, text: str) -> str:
        """Post a reply; return the new tweet id."""

    @abstractmethod
    def post(self, text: str) -> str:
        """Post a tweet; return its id."""

    @abstractmethod
    def send_dm(self, recipient_id: int | str, text: str) -> str:
        """Send a direct message; return the DM event id."""

    @abstractmethod
    def user_by_handle(self, handle: str) -> XUser | None: ...

    @abstractmethod
    def user_by_id(self, user_id: int | str) -> XUser | None: ...

    @abstractmethod
    def sent_dms(self, recipient_id: int | str) -> list[SentMessage]:
        """The bot's latest DMs in its conversation with ``recipient_id``, newest first: the
        outbox reads them after a crash or a timeout to tell a sent DM from a lost one."""

    @abstractmethod
    def sent_replies(self) -> list[SentMessage]:
        """The bot's latest replies (its own timeline), newest first, with their parents."""

    def chat_call(self, endpoint: str, method: str, route: str, *,
                  params: dict[str, Any] | None = None,
                  body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One X Chat or public-key route (tweepy has no methods for them): JSON in and out."""
        raise NotImplementedError("this gateway does not speak X Chat")

    def budget(self, endpoint: str) -> RateBudget | None:
        """What X said is left for ``endpoint`` (e.g. ``send_dm``); None if not known yet."""
        return None
