"""Webhook ingest: X's Account Activity deliveries turned into the poller's inbox payloads.

Legacy: X deprecated the Account Activity API (end of life 2027-01-01). New set-ups receive
pushed events through the X Activity API (``bot.activity.ingest``, ``/webhooks/xaa``,
docs/x-activity-api.md); this door stays for an app still subscribed the old way.

X calls us two ways (``docs/x-platform.md``, "Webhooks"):

    GET  ?crc_token=T   the challenge; we answer ``crc_response(secret, T)``
    POST (JSON body)    events, signed: ``x-twitter-webhooks-signature: sha256=<base64
                        HMAC-SHA256(consumer_secret, raw body)>``, checked by
                        ``signature_ok`` in constant time before the body is even parsed

The body is v1.1-shaped: ``tweet_create_events`` and ``direct_message_events`` for
``for_user_id`` (the bot). ``tweet_payload`` and ``dm_payload`` turn one event into exactly the
dict ``bot.ingest.mention_payload`` / ``dm_payload`` build from the v2 API, so the processor
cannot tell which door an event came through, and the inbox's unique (source, event id) makes
a tweet delivered by the webhook, again by the webhook and once more by the poller one event.

Only what the author wrote counts (docs/design.md): a retweet is skipped, a quote tweet keeps the
quoting text and entities only (the quoted tweet sits in ``quoted_status``, never read). Our
own tweets and DMs come back through the webhook too; they are skipped, as the poller does.

Differences with the v2 payload that v1.1 cannot fill: ``conversation_id`` is the tweet id
for a tweet that replies to nothing (as X defines it) and ``None`` for a reply (v1.1 does not
say; nothing downstream reads it). DM entities are left empty, as the poller leaves them: the
grammar extracts them from the text.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.logging import get_logger
from handlers.x_text import unescape_tweet
from storage import inbox
from storage.uow import UnitOfWork

log = get_logger(__name__)
Clock = Callable[[], dt.datetime]

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
_PREFIX = "sha256="
_V1_TIME = "%a %b %d %H:%M:%S %z %Y"  # "Wed Oct 10 20:19:24 +0000 2018"


class MalformedEvent(ValueError):
    """A signed delivery whose shape we do not understand (a field missing or mistyped)."""


MAX_X_ID = 2**63 - 1  # X ids are 64-bit signed snowflakes; our columns are BIGINT


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses to infinity
        raise MalformedEvent("a number out of range")
    return value


def _no_constant(name: str) -> Any:
    raise MalformedEvent(f"{name} is not JSON X sends")


def strict_json(raw: bytes) -> Any:
    """JSON as X sends it: no NaN/Infinity, no number that overflows to infinity. Raises
    ``ValueError`` (or ``RecursionError`` on absurd nesting)."""
    return json.loads(raw, parse_float=_finite, parse_constant=_no_constant)


@dataclass(frozen=True)
class InboxItem:
    """One event to store: the arguments of ``storage.inbox.record`` but the clock."""

    source: str  # "mention" or "dm", as the poller records them
    event_id: str
    author_id: int
    payload: dict[str, Any]


# -- authentication ---------------------------------------------------------------------------


def _digest(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def crc_response(secret: str, crc_token: str) -> dict[str, str]:
    """The body that answers X's challenge-response check."""
    digest = _digest(secret, crc_token.encode())
    return {"response_token": _PREFIX + base64.b64encode(digest).decode()}


def sign(secret: str, body: bytes) -> str:
    """The signature header X sends with ``body`` (tests and the emulator use it)."""
    return _PREFIX + base64.b64encode(_digest(secret, body)).decode()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """True if ``header`` is X's signature of ``body``; compared in constant time."""
    if not header or not header.startswith(_PREFIX):
        return False
    try:
        given = base64.b64decode(header[len(_PREFIX):].encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        return False
    return hmac.compare_digest(given, _digest(secret, body))


# -- conversion -------------------------------------------------------------------------------


def _v2_entities(entities: Mapping[str, Any] | None) -> dict[str, Any]:
    """v1.1 ``user_mentions``/``hashtags`` with ``indices`` as v2 ``mentions``/``hashtags``.

    Both count code points, so the offsets carry over unchanged. Empty lists are omitted, as
    X does in v2.
    """
    entities = entities or {}
    out: dict[str, Any] = {}
    hashtags = [
        {"start": int(h["indices"][0]), "end": int(h["indices"][1]), "tag": str(h["text"])}
        for h in entities.get("hashtags") or ()
    ]
    mentions = [
        {"start": int(m["indices"][0]), "end": int(m["indices"][1]),
         "username": str(m["screen_name"]), "id": str(m["id_str"])}
        for m in entities.get("user_mentions") or ()
    ]
    if hashtags:
        out["hashtags"] = hashtags
    if mentions:
        out["mentions"] = mentions
    return out


def _ms_time(value: Any) -> str | None:
    """Epoch milliseconds (v1.1 ``timestamp_ms``, DM ``created_timestamp``) as ISO 8601."""
    if value in (None, ""):
        return None
    ms = int(value)
    stamp = dt.datetime.fromtimestamp(ms // 1000, dt.UTC)
    return stamp.replace(microsecond=(ms % 1000) * 1000).isoformat()


def _tweet_time(tweet: Mapping[str, Any]) -> str | None:
    if tweet.get("timestamp_ms"):
        return _ms_time(tweet["timestamp_ms"])
    if tweet.get("created_at"):
        return dt.datetime.strptime(tweet["created_at"], _V1_TIME).astimezone(dt.UTC).isoformat()
    return None


def tweet_payload(tweet: Mapping[str, Any], bot_user_id: str) -> dict[str, Any] | None:
    """The poller's mention payload for a ``tweet_create_events`` item, or None to skip it.

    Skipped: retweets, the bot's own tweets, tweets whose own text does not mention the bot,
    and a truncated tweet without its ``extended_tweet`` (the poller will bring it whole).
    """
    user = tweet["user"]
    author_id = str(user["id_str"])
    if "retweeted_status" in tweet or author_id == bot_user_id:
        return None
    extended = tweet.get("extended_tweet")
    if extended:
        text, raw_entities = extended["full_text"], extended.get("entities")
    elif tweet.get("truncated"):
        return None
    else:
        text, raw_entities = tweet.get("full_text") or tweet["text"], tweet.get("entities")
    # Escaped by X (``&amp;``) like the v2 text: unescaped as the poller does, offsets moved.
    text, entities = unescape_tweet(str(text), _v2_entities(raw_entities))
    if not any(m["id"] == bot_user_id for m in entities.get("mentions", ())):
        return None
    tweet_id = str(tweet["id_str"])
    reply_to = tweet.get("in_reply_to_status_id_str")
    reply_to_user = tweet.get("in_reply_to_user_id_str")
    referenced = []
    if tweet.get("quoted_status_id_str"):
        referenced.append({"type": "quoted", "id": str(tweet["quoted_status_id_str"])})
    if reply_to:
        referenced.append({"type": "replied_to", "id": str(reply_to)})
    return {
        "tweet_id": tweet_id,
        "author_id": int(author_id),
        "author_handle": str(user.get("screen_name") or ""),
        "text": text,
        "entities": entities,
        "conversation_id": None if reply_to else tweet_id,
        "in_reply_to_user_id": int(reply_to_user) if reply_to_user else None,
        "referenced_tweets": referenced,
        "created_at": _tweet_time(tweet),
    }


def dm_payload(event: Mapping[str, Any], users: Mapping[str, Any],
               bot_user_id: str) -> dict[str, Any] | None:
    """The poller's DM payload for a ``direct_message_events`` item, or None to skip it.

    Only ``message_create`` events sent to the bot by someone else are kept.
    """
    if event.get("type") != "message_create":
        return None
    create = event["message_create"]
    sender = str(create["sender_id"])
    recipient = str((create.get("target") or {}).get("recipient_id") or bot_user_id)
    if sender == bot_user_id or recipient != bot_user_id:
        return None
    handle = (users.get(sender) or {}).get("screen_name") or ""
    return {
        "event_id": str(event["id"]),
        "author_id": int(sender),
        "author_handle": str(handle),
        "text": str(create["message_data"]["text"]),
        # As the poller: DM entities are not trusted, the grammar reads the text.
        "entities": {},
        "dm_conversation_id": "-".join(sorted((sender, bot_user_id), key=int)),
        "created_at": _ms_time(event.get("created_timestamp")),
    }


def inbox_items(body: Any, bot_user_id: int | None = None) -> list[InboxItem]:
    """Every event of one delivery that belongs in the inbox.

    ``bot_user_id``, when known, must equal the delivery's ``for_user_id`` (a delivery for
    another account is ignored). Raises ``MalformedEvent`` if the shape is not X's.
    """
    if not isinstance(body, dict):
        raise MalformedEvent("body is not a JSON object")
    try:
        for_user = body.get("for_user_id")
        if for_user is None:
            return []
        for_user = str(for_user)
        if bot_user_id is not None and for_user != str(bot_user_id):
            return []
        items: list[InboxItem] = []
        for tweet in body.get("tweet_create_events") or ():
            payload = tweet_payload(tweet, for_user)
            if payload is not None:
                items.append(InboxItem("mention", payload["tweet_id"], payload["author_id"],
                                       payload))
        users = body.get("users") or {}
        for event in body.get("direct_message_events") or ():
            payload = dm_payload(event, users, for_user)
            if payload is not None:
                items.append(InboxItem("dm", payload["event_id"], payload["author_id"],
                                       payload))
        for item in items:  # ids go into BIGINT columns and String(64) keys
            if not 0 < item.author_id <= MAX_X_ID or not item.event_id.isdigit() \
                    or len(item.event_id) > 19:
                raise MalformedEvent("an id out of range")
        return items
    except (KeyError, TypeError, ValueError, AttributeError, IndexError,
            OverflowError) as exc:
        raise MalformedEvent(type(exc).__name__) from exc


# -- routes -----------------------------------------------------------------------------------

MAX_BODY_BYTES = 1024 * 1024  # X's deliveries are a few KiB; anything near this is not X


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused past ``limit`` bytes (declared or actually sent)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class Webhook:
    """``GET``/``POST /webhooks/x``: the CRC challenge and signed event deliveries."""

    def __init__(self, settings: Any, session_factory: sessionmaker[Session], clock: Clock,
                 *, bot_user_id: int | None = None, max_body: int = MAX_BODY_BYTES) -> None:
        self._secret = settings.x_consumer_secret
        self._sessions = session_factory
        self._clock = clock
        self._bot_user_id = bot_user_id
        self._max_body = max_body

    async def crc(self, request: Request) -> Response:
        token = request.query_params.get("crc_token")
        if not token:
            return JSONResponse({"error": "crc_token is required"}, 400)
        return JSONResponse(crc_response(self._secret.get_secret_value(), token))

    async def signed_body(self, request: Request, event: str) -> bytes | Response:
        """The raw body if X signed it, else the refusal to answer (logged as ``event``)."""
        try:
            body = await read_body(request, self._max_body)
        except BodyTooLarge:
            log.warning(event, reason="too_large")
            return JSONResponse({"error": "body too large"}, 413)
        if not signature_ok(self._secret.get_secret_value(), body,
                            request.headers.get(SIGNATURE_HEADER)):
            log.warning(event, reason="bad_signature")
            return JSONResponse({"error": "invalid signature"}, 401)
        return body

    async def events(self, request: Request) -> Response:
        body = await self.signed_body(request, "webhook.refused")
        if isinstance(body, Response):
            return body
        try:
            items = inbox_items(strict_json(body), self._bot_user_id)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and MalformedEvent
            log.warning("webhook.refused", reason="malformed", error=type(exc).__name__)
            return JSONResponse({"error": "malformed body"}, 400)
        await run_in_threadpool(self._record, items)
        log.info("webhook.received", events=len(items))
        return JSONResponse({"received": len(items)})

    def _record(self, items: list[InboxItem]) -> None:
        """All of a delivery in one transaction; an event already there is a no-op."""
        if not items:
            return
        now = self._clock()
        with UnitOfWork(self._sessions, self._clock) as uow:
            for item in items:
                inbox.record(uow.session, source=item.source, event_id=item.event_id,
                             author_id=item.author_id, payload=item.payload, now=now)
            uow.commit()


def webhook_routes(settings: Any, session_factory: sessionmaker[Session], clock: Clock,
                   *, bot_user_id: int | None = None) -> list[Route]:
    hook = Webhook(settings, session_factory, clock, bot_user_id=bot_user_id)
    return [
        Route("/webhooks/x", hook.crc, methods=["GET"]),
        Route("/webhooks/x", hook.events, methods=["POST"]),
    ]
