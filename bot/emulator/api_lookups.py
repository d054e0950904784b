"""Look-ups the outbox needs after a crash or a timeout, served as X serves them:

- ``GET /2/dm_conversations/with/:participant_id/dm_events``: the events of the one-to-one
  conversation between the caller and the participant (both directions), newest first,
  paged with ``pagination_token``; X's 15 per 15 minutes per user.
- ``GET /2/users/:id/tweets``: a user's own posts (their replies included), newest first,
  ``since_id``/``until_id``/``max_results`` 5–100 and paging, as the mentions timeline.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.emulator.api import (
    _DM_EVENT_TYPES,
    _NUMERIC_ID,
    _decode_token,
    _encode_token,
    _int_param,
    endpoint,
    timeline,
)
from bot.emulator.oauth import Principal
from bot.emulator.records import invalid_request
from bot.emulator.render import _fields, render_dm, render_user
from bot.emulator.state import EmulatorState


async def conversation_events(request: Request, state: EmulatorState, who: Principal) -> Response:
    participant = request.path_params["participant_id"]
    if not _NUMERIC_ID.match(participant) or participant not in state.users:
        raise invalid_request(
            f"The `participant_id` value [{participant}] is not a known user",
            participant_id=[participant],
        )
    me = str(who.user_id)
    max_results = _int_param(request, "max_results", 100, 1, 100)
    below = _decode_token(request, "base32")
    wanted = set(request.query_params.get("event_types", "").split(",")) - {""}
    if wanted - _DM_EVENT_TYPES:
        bad = sorted(wanted - _DM_EVENT_TYPES)
        raise invalid_request(f"Invalid event_types: {', '.join(bad)}", event_types=bad)
    events = [
        e
        for e in state.dm_events_of(me)
        if {e.sender_id, e.recipient_id} == {me, participant}
        and (below is None or int(e.id) < below)
        and (not wanted or e.event_type in wanted)
    ]
    page, rest = events[:max_results], events[max_results:]
    if not page:
        return JSONResponse({"meta": {"result_count": 0}})
    body: dict[str, Any] = {"data": [render_dm(e, _fields(request, "dm_event.fields"))
                                     for e in page]}
    if "sender_id" in _fields(request, "expansions"):
        user_fields = _fields(request, "user.fields")
        senders = dict.fromkeys(e.sender_id for e in page)
        body["includes"] = {
            "users": [render_user(state.users[i], user_fields, state, me) for i in senders]
        }
    meta: dict[str, Any] = {"result_count": len(page)}
    if rest:
        meta["next_token"] = _encode_token(page[-1].id, "base32")
    body["meta"] = meta
    return JSONResponse(body)


async def user_tweets(request: Request, state: EmulatorState, who: Principal) -> Response:
    return timeline(request, state, who, state.tweets_by, with_includes=False)


ROUTES = [
    Route(
        "/2/dm_conversations/with/{participant_id}/dm_events",
        endpoint("conversation_events", conversation_events),
        methods=["GET"],
    ),
    Route("/2/users/{id}/tweets", endpoint("user_tweets", user_tweets), methods=["GET"]),
]
