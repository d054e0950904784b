"""XAA event payloads in X's shapes (X's activity event-payload samples, 2026-08).

- ``post.mention.create``: a v2 Post (with ``edit_history_tweet_ids``, ``*_str`` twins of
  entity offsets) and ``includes.users``/``includes.tweets``; only for an explicit @mention in
  the body, never for the author's own post;
- ``post.reply.create``: the same for a direct reply to one of the user's posts;
- ``dm.received``: v1.1-style ``direct_message_events`` with a v2 ``users`` map
  (``{"<id>": {"data": <v2 user>}}``), ``created_timestamp`` in epoch ms as a string;
- ``profile.update.handle``: ``{"before", "after"}``; ``oauth.revoke``: ``{date_time, user_id,
  app_id}`` with an empty filter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from bot.emulator.records import DmEvent, Tweet, User, iso_ms

Event = tuple[str, str | None, str, dict[str, Any], dict[str, Any] | None]


def v2_user(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "name": user.name, "protected": False,
            "verified": False, "verified_type": "none", "created_at": iso_ms(user.created_at)}


def _with_str(entities: dict[str, Any]) -> dict[str, Any]:
    """X's pushed posts carry ``start_str``/``end_str`` twins of every offset."""
    out: dict[str, Any] = {}
    for kind, items in entities.items():
        out[kind] = [{**item, "start_str": str(item["start"]), "end_str": str(item["end"])}
                     if "start" in item else dict(item) for item in items]
    return out


def v2_post(tweet: Tweet) -> dict[str, Any]:
    post: dict[str, Any] = {
        "id": tweet.id, "text": tweet.text, "author_id": tweet.author_id,
        "created_at": iso_ms(tweet.created_at), "conversation_id": tweet.conversation_id,
        "lang": "fr", "edit_history_tweet_ids": [tweet.id],
        "display_text_range": [0, len(tweet.text)], "reply_settings": "everyone",
        "possibly_sensitive": False,
        "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0,
                           "quote_count": 0, "bookmark_count": 0, "impression_count": 0},
    }
    if tweet.entities:
        post["entities"] = _with_str(tweet.entities)
    if tweet.in_reply_to_user_id:
        post["in_reply_to_user_id"] = tweet.in_reply_to_user_id
    if tweet.referenced_tweets:
        post["referenced_tweets"] = [dict(r) for r in tweet.referenced_tweets]
    return post


def _post_includes(state: Any, tweet: Tweet) -> dict[str, Any]:
    ids = [tweet.author_id] + [m["id"] for m in tweet.entities.get("mentions", []) if "id" in m]
    users = [v2_user(state.users[i]) for i in dict.fromkeys(ids) if i in state.users]
    return {"users": users, "tweets": [{"id": tweet.id, "text": tweet.text,
                                        "author_id": tweet.author_id}]}


def _tweet_events(state: Any, tweet: Tweet) -> Iterator[Event]:
    if any(r.get("type") == "retweeted" for r in tweet.referenced_tweets):
        return
    mentioned = {m["id"] for m in tweet.entities.get("mentions", []) if "id" in m}
    payload, includes = v2_post(tweet), _post_includes(state, tweet)
    for user_id in mentioned - {tweet.author_id}:
        yield "post.mention.create", user_id, tweet.id, payload, includes
    replied = tweet.in_reply_to_user_id
    if replied and replied != tweet.author_id and replied not in mentioned:
        yield "post.reply.create", replied, tweet.id, payload, includes


def _chat_events(thing: Any) -> Iterator[Event]:
    """``chat.received`` to the other participant, ``chat.sent`` to the sender (XChat). The
    payload carries the framed event and the conversation's latest key change: ciphertext."""
    kind, event, conversation = thing
    if kind != "chat.received":
        return
    payload: dict[str, Any] = {
        "id": event.message_id, "created_at_msec": str(event.created_at_msec),
        "sender_id": event.sender_id, "conversation_id": event.conversation_id,
        "conversation_key_version": event.key_version or "",
        "encoded_event": event.encoded_event,
    }
    if conversation.key_events:
        payload["conversation_key_change_event"] = conversation.key_events[-1]
    for user_id in conversation.participants:
        if user_id != event.sender_id:
            yield ("chat.received", user_id, event.message_id, payload, None)
    yield ("chat.sent", event.sender_id, event.message_id, payload, None)


def _dm_events(state: Any, event: DmEvent) -> Iterator[Event]:
    sender, recipient = state.users[event.sender_id], state.users[event.recipient_id]
    payload = {
        "direct_message_events": [{
            "type": "message_create", "id": event.id,
            "created_timestamp": str(event.created_at),
            "message_create": {
                "target": {"recipient_id": recipient.id}, "sender_id": sender.id,
                "message_data": {"text": event.text, "entities": {
                    "hashtags": [], "symbols": [], "user_mentions": [], "urls": []}},
            },
        }],
        "users": {u.id: {"data": v2_user(u)} for u in (sender, recipient)},
    }
    yield "dm.received", recipient.id, event.id, payload, None
    yield "dm.sent", sender.id, event.id, payload, None


def events_for(state: Any, kind: str, thing: Any) -> Iterator[Event]:
    """The events one change of the world produces: (type, filtered user, resource id,
    payload, includes)."""
    if kind == "tweet":
        yield from _tweet_events(state, thing)
    elif kind == "dm":
        yield from _dm_events(state, thing)
    elif kind == "chat":
        yield from _chat_events(thing)
    elif kind == "handle":
        user, before = thing
        yield ("profile.update.handle", user.id, f"{user.id}:{user.username}",
               {"before": before, "after": user.username}, None)
    elif kind == "revoke":
        user_id, app_id = thing
        stamp = dt.datetime.fromtimestamp(state.now(), dt.UTC).replace(microsecond=0)
        yield ("oauth.revoke", None, f"revoke:{user_id}:{int(state.now())}",
               {"date_time": stamp.isoformat(), "user_id": user_id, "app_id": app_id}, None)


def envelope(uuid: str, event_type: str, sub: Any, payload: dict[str, Any],
             includes: dict[str, Any] | None) -> dict[str, Any]:
    data: dict[str, Any] = {"event_uuid": uuid,
                            "filter": dict(sub.filter) if sub is not None else {},
                            "event_type": event_type}
    if sub is not None and sub.tag:
        data["tag"] = sub.tag
    data["payload"] = payload
    if includes:
        data["includes"] = includes
    return {"data": data}
