"""What the gateway hands out: plain frozen dataclasses, and their parsing from X's JSON."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class XUser:
    id: int
    username: str
    name: str


@dataclass(frozen=True)
class ReferencedTweet:
    type: str  # "retweeted", "quoted" or "replied_to"
    id: str


@dataclass(frozen=True)
class Mention:
    """A tweet that mentions the bot. ``text`` and ``entities`` are exactly X's."""

    id: str
    author_id: int
    author_handle: str | None
    text: str
    entities: dict[str, Any]
    conversation_id: str | None
    in_reply_to_user_id: int | None
    referenced_tweets: tuple[ReferencedTweet, ...]
    created_at: dt.datetime | None

    @property
    def is_retweet(self) -> bool:
        return any(ref.type == "retweeted" for ref in self.referenced_tweets)


@dataclass(frozen=True)
class MentionBatch:
    mentions: list[Mention]  # oldest first
    newest_id: str | None  # the cursor to save; None when nothing new arrived


@dataclass(frozen=True)
class DmEvent:
    """A direct message someone sent to the bot (``MessageCreate``)."""

    id: str
    sender_id: int
    sender_handle: str | None
    text: str
    dm_conversation_id: str | None
    created_at: dt.datetime | None


@dataclass(frozen=True)
class SentMessage:
    """A DM or reply the bot itself sent, as X lists it (for crash and timeout recovery)."""

    id: str
    text: str
    created_at: dt.datetime | None
    in_reply_to: str | None = None  # a reply's parent tweet id


@dataclass(frozen=True)
class RateBudget:
    remaining: int
    limit: int
    reset_at: dt.datetime


def parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def parse_user(item: dict[str, Any]) -> XUser:
    return XUser(id=int(item["id"]), username=item["username"], name=item.get("name", ""))


def parse_mention(item: dict[str, Any], handles: dict[str, str]) -> Mention:
    reply_to = item.get("in_reply_to_user_id")
    return Mention(
        id=item["id"],
        author_id=int(item["author_id"]),
        author_handle=handles.get(item["author_id"]),
        text=item["text"],
        entities=item.get("entities", {}),
        conversation_id=item.get("conversation_id"),
        in_reply_to_user_id=int(reply_to) if reply_to else None,
        referenced_tweets=tuple(
            ReferencedTweet(type=ref["type"], id=ref["id"])
            for ref in item.get("referenced_tweets", [])
        ),
        created_at=parse_time(item.get("created_at")),
    )


def parse_dm(item: dict[str, Any], handles: dict[str, str]) -> DmEvent:
    return DmEvent(
        id=item["id"],
        sender_id=int(item["sender_id"]),
        sender_handle=handles.get(item["sender_id"]),
        text=item.get("text", ""),
        dm_conversation_id=item.get("dm_conversation_id"),
        created_at=parse_time(item.get("created_at")),
    )
