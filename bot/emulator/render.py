"""X's wire shapes for users, tweets and DM events: only the fields asked for
(``user.fields``, ``tweet.fields``, ``dm_event.fields``), related objects in ``includes``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from bot.emulator.records import DmEvent, Tweet, User, iso_ms
from bot.emulator.state import EmulatorState


def _fields(request: Request, name: str) -> set[str]:
    return {f for f in request.query_params.get(name, "").split(",") if f}


def render_user(user: User, fields: set[str], state: EmulatorState, viewer: str | None) -> dict:
    data: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
    if "created_at" in fields:
        data["created_at"] = iso_ms(user.created_at)
    if "description" in fields:
        data["description"] = user.description
    if "protected" in fields:
        data["protected"] = False
    if "verified" in fields:
        data["verified"] = False
    if "receives_your_dm" in fields:
        data["receives_your_dm"] = bool(viewer) and (
            viewer == user.id or state.can_dm(str(viewer), user.id)
        )
    return data


def render_tweet(tweet: Tweet, fields: set[str]) -> dict:
    data: dict[str, Any] = {
        "id": tweet.id,
        "text": tweet.text,
        "edit_history_tweet_ids": [tweet.id],
    }
    if "author_id" in fields:
        data["author_id"] = tweet.author_id
    if "conversation_id" in fields:
        data["conversation_id"] = tweet.conversation_id
    if "created_at" in fields:
        data["created_at"] = iso_ms(tweet.created_at)
    if "entities" in fields and tweet.entities:
        data["entities"] = tweet.entities
    if "in_reply_to_user_id" in fields and tweet.in_reply_to_user_id:
        data["in_reply_to_user_id"] = tweet.in_reply_to_user_id
    if "referenced_tweets" in fields and tweet.referenced_tweets:
        data["referenced_tweets"] = tweet.referenced_tweets
    if "reply_settings" in fields:
        data["reply_settings"] = "everyone"
    if "lang" in fields:
        data["lang"] = "und"
    return data


def render_dm(event: DmEvent, fields: set[str]) -> dict:
    data: dict[str, Any] = {"id": event.id, "event_type": event.event_type, "text": event.text}
    if "created_at" in fields:
        data["created_at"] = iso_ms(event.created_at)
    if "dm_conversation_id" in fields:
        data["dm_conversation_id"] = event.dm_conversation_id
    if "sender_id" in fields:
        data["sender_id"] = event.sender_id
    return data


def _includes(
    request: Request, state: EmulatorState, tweets: list[Tweet], viewer: str | None
) -> dict:
    expansions = _fields(request, "expansions")
    user_fields = _fields(request, "user.fields")
    tweet_fields = _fields(request, "tweet.fields")
    user_ids: list[str] = []
    referenced: list[Tweet] = []
    for tweet in tweets:
        if "author_id" in expansions:
            user_ids.append(tweet.author_id)
        if "in_reply_to_user_id" in expansions and tweet.in_reply_to_user_id:
            user_ids.append(tweet.in_reply_to_user_id)
        if "entities.mentions.username" in expansions:
            user_ids += [m["id"] for m in tweet.entities.get("mentions", []) if "id" in m]
        if "referenced_tweets.id" in expansions:
            for ref in tweet.referenced_tweets:
                if ref["id"] in state.tweets and ref["id"] not in {t.id for t in referenced}:
                    referenced.append(state.tweets[ref["id"]])
    if "referenced_tweets.id.author_id" in expansions:
        user_ids += [t.author_id for t in referenced]
    includes: dict[str, Any] = {}
    users = [state.users[i] for i in dict.fromkeys(user_ids) if i in state.users]
    if users:
        includes["users"] = [render_user(u, user_fields, state, viewer) for u in users]
    if referenced:
        includes["tweets"] = [render_tweet(t, tweet_fields) for t in referenced]
    return includes
