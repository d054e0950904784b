"""X Activity API deliveries, validated: strict shapes in, inbox items out.

A delivery is one JSON envelope ``{"data": {event_uuid, filter, event_type, tag?, payload,
includes?}}`` (docs/x-activity-api.md). Its signature proves it came from X, not that its
content is sane, so everything we read is checked before any of it is used:

- JSON numbers must be finite (``1e400`` parses to infinity in Python: refused), and
  ``NaN``/``Infinity`` literals are refused;
- ids are decimal strings below 2⁶³ (they go into BIGINT columns), never numbers;
- every list we read has a bound (entities, users, DM events), strings have a length;
- a wrong type is never coerced (pydantic strict mode).

Anything else is ``MalformedDelivery`` (the route answers 400 and logs it). Fields we do not
read are ignored. The items built here are exactly the poller's inbox payloads
(``bot.ingest``), so a post seen by push and by polling is one inbox row.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.gateway.values import parse_mention
from bot.ingest import mention_payload
from bot.webhook import MAX_X_ID, InboxItem, strict_json
from bot.webhook import _ms_time as ms_time
from bot.xchat.envelope import EnvelopeError
from bot.xchat.ingest import chat_payload


class MalformedDelivery(ValueError):
    """A signed delivery whose content is not what X sends."""


def _id(value: str) -> str:
    if int(value) > MAX_X_ID:
        raise ValueError("id does not fit in 63 bits")
    return value


XId = Annotated[str, Field(pattern=r"^[0-9]{1,19}$")]
Handle = Annotated[str, Field(pattern=r"^@?[A-Za-z0-9_]{1,15}$")]
Offset = Annotated[int, Field(ge=0, le=100_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Ids(_Strict):
    """Checks every ``*id`` field below 2⁶³ (the pattern already made it digits)."""

    @field_validator("*", mode="after")
    @classmethod
    def _fits(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str) and info.field_name.endswith("id") and value.isdigit():
            return _id(value)
        return value


class MentionEntity(_Ids):
    start: Offset
    end: Offset
    username: Handle
    id: XId


class HashtagEntity(_Strict):
    start: Offset
    end: Offset
    tag: Annotated[str, Field(max_length=280)]


class Entities(_Strict):
    mentions: Annotated[list[MentionEntity], Field(max_length=50)] = []
    hashtags: Annotated[list[HashtagEntity], Field(max_length=50)] = []


class Reference(_Ids):
    type: Literal["retweeted", "quoted", "replied_to"]
    id: XId


class Post(_Ids):
    id: XId
    text: Annotated[str, Field(max_length=25_000)]
    author_id: XId
    created_at: Annotated[str, Field(max_length=40)] | None = None
    conversation_id: XId | None = None
    in_reply_to_user_id: XId | None = None
    entities: Entities | None = None
    referenced_tweets: Annotated[list[Reference], Field(max_length=10)] = []

    @field_validator("created_at")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None:
            dt.datetime.fromisoformat(value)  # ValueError: refused as malformed
        return value


class UserRef(_Ids):
    id: XId
    username: Handle
    name: Annotated[str, Field(max_length=100)] = ""


class Includes(_Strict):
    users: Annotated[list[UserRef], Field(max_length=100)] = []


class Filter(_Ids):
    user_id: XId | None = None


class _Envelope(_Strict):
    event_uuid: Annotated[str, Field(min_length=1, max_length=64)]
    filter: Filter = Filter()
    tag: Annotated[str, Field(max_length=200)] | None = None


class PostEvent(_Envelope):
    event_type: Literal["post.mention.create", "post.reply.create"]
    payload: Post
    includes: Includes = Includes()


class MessageData(_Strict):
    text: Annotated[str, Field(max_length=10_000)]


class Target(_Ids):
    recipient_id: XId


class MessageCreate(_Ids):
    target: Target
    sender_id: XId
    message_data: MessageData


class DirectMessage(_Ids):
    type: Annotated[str, Field(max_length=40)]
    id: XId
    created_timestamp: Annotated[str, Field(pattern=r"^[0-9]{1,15}$")] | None = None
    message_create: MessageCreate | None = None


class UserWrap(_Strict):
    data: UserRef


class DmPayload(_Strict):
    direct_message_events: Annotated[list[DirectMessage], Field(min_length=1, max_length=100)]
    users: Annotated[dict[XId, UserWrap], Field(max_length=100)] = {}


class DmEvent(_Envelope):
    event_type: Literal["dm.received"]
    payload: DmPayload


class RevokePayload(_Ids):
    user_id: XId
    app_id: Annotated[str, Field(max_length=64)] = ""
    date_time: Annotated[str, Field(max_length=40)] = ""


class RevokeEvent(_Envelope):
    event_type: Literal["oauth.revoke"]
    payload: RevokePayload


class HandlePayload(_Strict):
    before: Handle
    after: Handle


class UserFilter(Filter):
    user_id: XId  # required here


class HandleEvent(_Envelope):
    event_type: Literal["profile.update.handle"]
    filter: UserFilter
    payload: HandlePayload


ChatId = Annotated[str, Field(pattern=r"^[0-9]{1,19}:[0-9]{1,19}$")]
Frame = Annotated[str, Field(min_length=8, max_length=350_000)]  # base64 of a framed event


class ChatPayload(_Ids):
    """``chat.received`` (XChat): the framed event, ciphertext; X reads none of it, nor do we
    here — the worker decrypts it (``bot.xchat``)."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    sender_id: XId
    conversation_id: ChatId
    created_at_msec: Annotated[str, Field(pattern=r"^[0-9]{1,16}$")]
    encoded_event: Frame
    conversation_key_change_event: Frame | None = None
    conversation_key_version: Annotated[str, Field(max_length=24)] = ""
    conversation_token: Annotated[str, Field(max_length=4096)] | None = None


class ChatEvent(_Envelope):
    event_type: Literal["chat.received"]
    payload: ChatPayload


Event = PostEvent | DmEvent | RevokeEvent | HandleEvent | ChatEvent
_MODELS: dict[str, type[BaseModel]] = {
    "post.mention.create": PostEvent, "post.reply.create": PostEvent, "dm.received": DmEvent,
    "chat.received": ChatEvent,
    "oauth.revoke": RevokeEvent, "profile.update.handle": HandleEvent,
}


def parse(raw: bytes) -> dict[str, Any]:
    """The delivery as a JSON object, refusing non-finite numbers and absurd nesting."""
    try:
        body = strict_json(raw)
    except (ValueError, RecursionError) as exc:
        raise MalformedDelivery(type(exc).__name__) from exc
    if not isinstance(body, dict):
        raise MalformedDelivery("the body is not a JSON object")
    return body


def event_of(body: dict[str, Any]) -> Event | None:
    """The validated event, or None for an event type we do not subscribe to."""
    data = body.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("event_type"), str):
        raise MalformedDelivery("no data.event_type")
    model = _MODELS.get(data["event_type"])
    if model is None:
        return None
    try:
        return model.model_validate(data)  # type: ignore[return-value]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MalformedDelivery(f"{where}: {first['type']}") from exc


def post_item(event: PostEvent, bot_user_id: str | None) -> InboxItem | None:
    """The mention to handle, or None: a retweet, the bot's own post, a post whose own text
    does not @mention the bot (a reply that names it only implicitly), another account's."""
    post = event.payload
    watched = event.filter.user_id
    if bot_user_id is not None and watched not in (None, bot_user_id):
        return None
    bot = bot_user_id or watched
    if post.author_id == bot or any(r.type == "retweeted" for r in post.referenced_tweets):
        return None
    entities = post.entities.model_dump(exclude_defaults=True) if post.entities else {}
    if not any(m["id"] == bot for m in entities.get("mentions", [])):
        return None
    item = post.model_dump(exclude_none=True)
    item["entities"] = entities
    item["referenced_tweets"] = [r.model_dump() for r in post.referenced_tweets]
    handles = {u.id: u.username for u in event.includes.users}
    payload = mention_payload(parse_mention(item, handles))
    return InboxItem("mention", payload["tweet_id"], payload["author_id"], payload)


def dm_items(event: DmEvent, bot_user_id: str | None) -> list[InboxItem]:
    """The DMs sent to the bot by someone else, as the DM poller records them."""
    users = event.payload.users
    out = []
    for dm in event.payload.direct_message_events:
        create = dm.message_create
        if dm.type != "message_create" or create is None:
            continue
        bot = bot_user_id or event.filter.user_id or create.target.recipient_id
        if create.target.recipient_id != bot or create.sender_id == bot:
            continue
        sender = users.get(create.sender_id)
        payload = {
            "event_id": dm.id,
            "author_id": int(create.sender_id),
            "author_handle": sender.data.username if sender else "",
            "text": create.message_data.text,
            "entities": {},  # as the poller: the grammar reads the text
            "dm_conversation_id": "-".join(sorted((create.sender_id, bot), key=int)),
            "created_at": ms_time(dm.created_timestamp),
        }
        out.append(InboxItem("dm", dm.id, int(create.sender_id), payload))
    return out


def chat_items(event: ChatEvent, bot_user_id: str | None) -> list[InboxItem]:
    """The chat message to handle, as the chat poller records it (keyed by the signed
    message id read from the clear envelope, so push and poll are one row)."""
    chat = event.payload
    keys = [chat.conversation_key_change_event] if chat.conversation_key_change_event else []
    try:
        head, payload = chat_payload(chat.encoded_event, keys, chat.conversation_token)
    except EnvelopeError as exc:
        raise MalformedDelivery(f"payload.encoded_event: {exc}") from exc
    if head.sender_id != chat.sender_id or head.conversation_id != chat.conversation_id:
        raise MalformedDelivery("payload: sender or conversation differ from the frame")
    bot = bot_user_id or event.filter.user_id
    if head.sender_id == bot or (bot and bot not in head.conversation_id.split(":")):
        return []
    return [InboxItem("chat", head.message_id, int(head.sender_id), payload)]
