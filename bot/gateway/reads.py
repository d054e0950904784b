"""The gateway's reads: who the bot is, its mentions, its DMs, user lookups."""

from __future__ import annotations

import re

from bot.gateway.core import GatewayCore
from bot.gateway.values import (
    DmEvent,
    Mention,
    MentionBatch,
    XUser,
    parse_dm,
    parse_mention,
    parse_user,
)

_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
_TWEET_FIELDS = [
    "author_id",
    "conversation_id",
    "created_at",
    "entities",
    "in_reply_to_user_id",
    "referenced_tweets",
]
_DM_FIELDS = ["id", "text", "event_type", "created_at", "dm_conversation_id", "sender_id"]


class Reads(GatewayCore):
    _me: XUser | None = None

    def me(self) -> XUser:
        if self._me is None:
            body = self._call("users_me", self._client.get_me, user_auth=True)
            self._me = self._remember(parse_user(body["data"]))
        return self._me

    def mentions(self, since_id: str | None, *, max_pages: int | None = None) -> MentionBatch:
        found: dict[str, Mention] = {}
        newest: str | None = None
        pages = self._pages(
            "mentions",
            self._client.get_users_mentions,
            max_pages,
            id=self._user_id,
            user_auth=True,
            since_id=since_id,
            max_results=100,
            expansions=["author_id"],
            tweet_fields=_TWEET_FIELDS,
            user_fields=["username"],
        )
        for body in pages:
            meta = body.get("meta", {})
            if newest is None and meta.get("newest_id"):
                newest = meta["newest_id"]
            handles = self._handles(body)
            for item in body.get("data", []):
                found[item["id"]] = parse_mention(item, handles)
        ordered = sorted(found.values(), key=lambda m: int(m.id))
        return MentionBatch(mentions=ordered, newest_id=newest)

    def dm_events(
        self, until_event_id: str | None, *, max_pages: int | None = None
    ) -> list[DmEvent]:
        floor = int(until_event_id) if until_event_id else None
        found: dict[str, DmEvent] = {}
        pages = self._pages(
            "dm_events",
            self._client.get_direct_message_events,
            max_pages,
            user_auth=True,
            max_results=100,
            event_types=["MessageCreate"],
            dm_event_fields=_DM_FIELDS,
            expansions=["sender_id"],
            user_fields=["username"],
        )
        for body in pages:
            handles = self._handles(body)
            reached = False
            for item in body.get("data", []):
                if floor is not None and int(item["id"]) <= floor:
                    reached = True  # X lists DMs newest first: the rest was seen before
                    break
                if item.get("event_type") != "MessageCreate" or "sender_id" not in item:
                    continue
                if int(item["sender_id"]) == self._user_id:
                    continue  # the bot's own messages
                found[item["id"]] = parse_dm(item, handles)
            if reached:
                break
        return sorted(found.values(), key=lambda e: int(e.id))

    def user_by_handle(self, handle: str) -> XUser | None:
        handle = handle.lstrip("@")
        if not _HANDLE.fullmatch(handle):
            return None
        cached = self._cached(f"handle:{handle.lower()}")
        if cached:
            return cached
        body = self._call(
            "user_by_username", self._client.get_user, username=handle, user_auth=True
        )
        return self._remember(parse_user(body["data"])) if "data" in body else None

    def user_by_id(self, user_id: int | str) -> XUser | None:
        cached = self._cached(f"id:{int(user_id)}")
        if cached:
            return cached
        body = self._call("user_by_id", self._client.get_user, id=str(user_id), user_auth=True)
        return self._remember(parse_user(body["data"])) if "data" in body else None
