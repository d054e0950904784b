"""X Chat's routes in X's wire format: public keys, conversations, events, keys, messages.

Shapes follow X's OpenAPI description (v2.167) and its X Chat guides; what those leave silent
(page order, rate limits, duplicate message ids) is chosen here and written down:
events come newest first like ``dm_events``; no rate limit; a second POST with a known
``message_id`` is a 409, so a sender's retry of the same persisted payload is recognisable.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.emulator.api import endpoint
from bot.emulator.oauth import Principal
from bot.emulator.records import Refusal, invalid_request, iso_ms
from bot.emulator.state import EmulatorState
from bot.emulator.xchat_world import ChatEvent, Conversation

_NUMERIC_ID = re.compile(r"^[0-9]{1,19}$")
_MAX_BODY = 1 << 20


async def _body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise Refusal(413, "Payload Too Large", "Request body too large.")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise invalid_request("Request body is not valid JSON.") from exc


def _viewer(who: Principal) -> str:
    if who.user_id is None:
        raise Refusal(403, "Forbidden", "This route needs a user context.")
    return str(who.user_id)


def _page(request: Request, items: list[Any], default: int) -> tuple[list[Any], str | None]:
    try:
        size = min(100, max(1, int(request.query_params.get("max_results", default))))
        start = int(request.query_params.get("pagination_token", "0") or 0)
    except ValueError as exc:
        raise invalid_request("max_results and pagination_token must be numbers") from exc
    page = items[start:start + size]
    return page, (str(start + size) if start + size < len(items) else None)


def render_event(event: ChatEvent, previous: ChatEvent | None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": event.sequence_id, "conversation_id": event.conversation_id,
                            "sender_id": event.sender_id,
                            "created_at": iso_ms(event.created_at_msec),
                            "encoded_event": event.encoded_event}
    if previous is not None:
        data["previous_id"] = previous.sequence_id
    return data


def _render_conversation(conversation: Conversation) -> dict[str, Any]:
    return {"id": conversation.conversation_id.replace(":", "-"), "type": "direct",
            "created_at": iso_ms(conversation.created_at_msec),
            "updated_at": iso_ms(conversation.updated_at_msec), "is_muted": False}


async def get_public_keys(request: Request, state: EmulatorState, who: Principal) -> Response:
    user_id = request.path_params["id"]
    if not _NUMERIC_ID.match(user_id) or user_id not in state.users:
        raise Refusal(404, "Not Found Error", f"Could not find user with id: [{user_id}].")
    keys = state.xchat.public_keys(user_id)
    if not keys:  # X's schema has no empty list: a partial error instead
        return JSONResponse({"errors": [{
            "title": "Not Found Error", "detail": f"User [{user_id}] has no public keys.",
            "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    return JSONResponse({"data": keys})


async def get_many_public_keys(request: Request, state: EmulatorState,
                               who: Principal) -> Response:
    ids = [i for i in request.query_params.get("ids", "").split(",") if i]
    if not 1 <= len(ids) <= 100 or not all(_NUMERIC_ID.match(i) for i in ids):
        raise invalid_request("ids must be 1 to 100 numeric user ids")
    data = [{"user_id": i, **r} for i in ids for r in state.xchat.public_keys(i)]
    if not data:
        return JSONResponse({"errors": [{
            "title": "Not Found Error", "detail": "None of these users has public keys.",
            "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    return JSONResponse({"data": data})


async def post_public_keys(request: Request, state: EmulatorState, who: Principal) -> Response:
    user_id = request.path_params["id"]
    if user_id != _viewer(who):
        raise Refusal(403, "Forbidden", "You can only register your own public keys.")
    return JSONResponse({"data": state.xchat.register_keys(user_id, await _body(request))})


async def list_conversations(request: Request, state: EmulatorState,
                             who: Principal) -> Response:
    conversations = state.xchat.conversations_of(_viewer(who))
    page, next_token = _page(request, conversations, 10)
    meta: dict[str, Any] = {"result_count": len(page), "has_more": next_token is not None,
                            "has_message_requests": False}
    if next_token:
        meta["next_token"] = next_token
    return JSONResponse({"data": [_render_conversation(c) for c in page], "meta": meta})


async def conversation_events(request: Request, state: EmulatorState,
                              who: Principal) -> Response:
    conversation_id = state.xchat.resolve(request.path_params["id"], _viewer(who))
    conversation = state.xchat.events_of(conversation_id)
    events = list(conversation.events) if conversation else []
    previous = {e.sequence_id: events[i - 1] if i else None for i, e in enumerate(events)}
    newest_first = list(reversed(events))
    page, next_token = _page(request, newest_first, 100)
    meta: dict[str, Any] = {"result_count": len(page), "has_more": next_token is not None,
                            "conversation_key_events": list(conversation.key_events)
                            if conversation else []}
    if next_token:
        meta["next_token"] = next_token
    data = [render_event(e, previous[e.sequence_id]) for e in page]
    return JSONResponse({"data": data, "meta": meta})


async def post_keys(request: Request, state: EmulatorState, who: Principal) -> Response:
    viewer = _viewer(who)
    conversation_id = state.xchat.resolve(request.path_params["id"], viewer)
    event = state.xchat.set_keys(conversation_id, viewer, await _body(request))
    return JSONResponse({"data": {"conversation_id": conversation_id.replace(":", "-"),
                                  "sequence_id": event.sequence_id}})


async def post_message(request: Request, state: EmulatorState, who: Principal) -> Response:
    viewer = _viewer(who)
    conversation_id = state.xchat.resolve(request.path_params["id"], viewer)
    event = state.xchat.post_message(conversation_id, viewer, await _body(request))
    return JSONResponse({"data": {"encoded_message_event": event.encoded_event}},
                        status_code=201)


ROUTES = [
    Route("/2/users/public_keys", endpoint("chat_public_keys", get_many_public_keys),
          methods=["GET"]),
    Route("/2/users/{id}/public_keys", endpoint("chat_public_keys", get_public_keys),
          methods=["GET"]),
    Route("/2/users/{id}/public_keys", endpoint("chat_register_keys", post_public_keys),
          methods=["POST"]),
    Route("/2/chat/conversations", endpoint("chat_conversations", list_conversations),
          methods=["GET"]),
    Route("/2/chat/conversations/{id}/events", endpoint("chat_events", conversation_events),
          methods=["GET"]),
    Route("/2/chat/conversations/{id}/keys", endpoint("chat_keys", post_keys), methods=["POST"]),
    Route("/2/chat/conversations/{id}/messages", endpoint("chat_send", post_message),
          methods=["POST"]),
]
