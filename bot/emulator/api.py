"""The X API v2 endpoints the bot uses, in X's wire format (checked against X's OpenAPI file).

Each endpoint authenticates (``oauth.authenticate``), counts the call against the per-user
rate limit (``x-rate-limit-*`` headers on every answer, 429 when exhausted), then answers from
``EmulatorState``. Fields follow X: a tweet always has ``id``, ``text`` and
``edit_history_tweet_ids``; everything else only when asked for with ``tweet.fields`` /
``user.fields`` / ``dm_event.fields``; related objects go to ``includes`` per ``expansions``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.emulator.oauth import Principal, authenticate
from bot.emulator.records import DmEvent, Refusal, Tweet, invalid_request
from bot.emulator.render import _fields, _includes, render_dm, render_tweet, render_user
from bot.emulator.state import EmulatorState
from bot.emulator.usage import meter_call

_USER_CONTEXT_ONLY = {
    "users_me", "create_tweet", "dm_events", "send_dm", "conversation_events",
}
_NUMERIC_ID = re.compile(r"^[0-9]{1,19}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_DM_EVENT_TYPES = {"MessageCreate", "ParticipantsJoin", "ParticipantsLeave"}

Handler = Callable[[Request, EmulatorState, Principal], Awaitable[Response]]


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"


def problem(refusal: Refusal, headers: dict[str, str] | None = None) -> Response:
    return ProblemResponse(refusal.body, status_code=refusal.status, headers=headers)


def too_many_requests(headers: dict[str, str]) -> Response:
    refusal = Refusal(429, "Too Many Requests", "Too Many Requests")
    return problem(refusal, headers)


def endpoint(name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with authentication, rate limiting and X's error format."""

    async def run(request: Request) -> Response:
        state: EmulatorState = request.app.state.emulator
        try:
            principal = authenticate(state, request, user_context=name in _USER_CONTEXT_ONLY)
        except Refusal as refusal:
            return problem(refusal)
        allowed, limit, remaining, reset = state.hit(name, principal.subject)
        headers = {}
        if limit:
            headers = {
                "x-rate-limit-limit": str(limit),
                "x-rate-limit-remaining": str(remaining),
                "x-rate-limit-reset": str(reset),
            }
        if not allowed:
            return too_many_requests(headers)
        try:
            response = await handler(request, state, principal)
        except Refusal as refusal:
            response = problem(refusal)
        else:
            meter_call(state, name, principal, request, response)
        response.headers.update(headers)
        return response

    return run


def _not_found(parameter: str, value: str) -> dict:
    label = "username" if parameter == "username" else "id"
    return {
        "value": value,
        "detail": f"Could not find user with {label}: [{value}].",
        "title": "Not Found Error",
        "resource_type": "user",
        "parameter": parameter,
        "resource_id": value,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise invalid_request(
            f"The `{name}` query parameter value [{raw}] is not between {low} and {high}",
            **{name: [raw]},
        )
    return int(raw)


def _id_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not _NUMERIC_ID.match(raw):
        raise invalid_request(
            f"The `{name}` query parameter value [{raw}] does not match ^[0-9]{{1,19}}$",
            **{name: [raw]},
        )
    return int(raw)


def _encode_token(cursor: str, alphabet: str) -> str:
    if alphabet == "base32":
        return base64.b32encode(f"dm:{cursor}".encode()).decode().rstrip("=").lower()
    number, digits = int(cursor), ""
    while number:
        number, rest = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
    return "7140dibdnow9c7" + digits  # X's tokens are opaque base36; the prefix is decoration


def _decode_token(request: Request, alphabet: str) -> int | None:
    raw = request.query_params.get("pagination_token")
    if raw is None:
        return None
    try:
        if alphabet == "base32":
            padded = raw.upper() + "=" * (-len(raw) % 8)
            text = base64.b32decode(padded).decode()
            if not text.startswith("dm:"):
                raise ValueError(raw)
            return int(text[3:])
        if not raw.startswith("7140dibdnow9c7"):
            raise ValueError(raw)
        return int(raw[len("7140dibdnow9c7") :], 36)
    except ValueError:
        raise invalid_request(
            "The `pagination_token` query parameter value is invalid", pagination_token=[raw]
        ) from None


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Refusal(
            400,
            "Invalid Request",
            "One or more parameters to your request was invalid.",
            "https://api.twitter.com/2/problems/invalid-request",
            errors=[{"message": "Request body must be a JSON object"}],
        )
    return body


# -- endpoints ---------------------------------------------------------------------------------


async def users_me(request: Request, state: EmulatorState, who: Principal) -> Response:
    user = state.require_user(str(who.user_id))
    return JSONResponse({"data": render_user(user, _fields(request, "user.fields"), state, None)})


async def user_by_username(request: Request, state: EmulatorState, who: Principal) -> Response:
    username = request.path_params["username"]
    if not _USERNAME.match(username):
        raise invalid_request(
            f"The `username` query parameter value [{username}] does not match "
            "^[A-Za-z0-9_]{1,15}$",
            username=[username],
        )
    user = state.find_user(username)
    if user is None or user.id == username:
        return JSONResponse({"errors": [_not_found("username", username)]})
    fields = _fields(request, "user.fields")
    return JSONResponse({"data": render_user(user, fields, state, who.user_id)})


async def user_by_id(request: Request, state: EmulatorState, who: Principal) -> Response:
    user_id = request.path_params["id"]
    if not _NUMERIC_ID.match(user_id):
        raise invalid_request(
            f"The `id` query parameter value [{user_id}] does not match ^[0-9]{{1,19}}$",
            id=[user_id],
        )
    user = state.users.get(user_id)
    if user is None:
        return JSONResponse({"errors": [_not_found("id", user_id)]})
    fields = _fields(request, "user.fields")
    return JSONResponse({"data": render_user(user, fields, state, who.user_id)})


def timeline(request: Request, state: EmulatorState, who: Principal,
             tweets_of: Callable[[str], list[Tweet]], *, with_includes: bool) -> Response:
    """A user's tweets or mentions, newest first, paged as X pages them (``since_id``,
    ``until_id``, a base36 ``pagination_token``)."""
    user_id = request.path_params["id"]
    if not _NUMERIC_ID.match(user_id):
        raise invalid_request(f"The `id` value [{user_id}] is not a user id", id=[user_id])
    if user_id not in state.users:
        return JSONResponse({"errors": [_not_found("id", user_id)]})
    max_results = _int_param(request, "max_results", 10, 5, 100)
    since_id, until_id = _id_param(request, "since_id"), _id_param(request, "until_id")
    below = _decode_token(request, "base36")
    candidates = [
        t
        for t in tweets_of(user_id)
        if (since_id is None or int(t.id) > since_id)
        and (until_id is None or int(t.id) < until_id)
        and (below is None or int(t.id) < below)
    ]
    page, rest = candidates[:max_results], candidates[max_results:]
    if not page:
        return JSONResponse({"meta": {"result_count": 0}})
    fields = _fields(request, "tweet.fields")
    body: dict[str, Any] = {"data": [render_tweet(t, fields) for t in page]}
    includes = _includes(request, state, page, who.user_id) if with_includes else None
    if includes:
        body["includes"] = includes
    meta: dict[str, Any] = {
        "result_count": len(page),
        "newest_id": page[0].id,
        "oldest_id": page[-1].id,
    }
    if rest:
        meta["next_token"] = _encode_token(page[-1].id, "base36")
    body["meta"] = meta
    return JSONResponse(body)


async def mentions(request: Request, state: EmulatorState, who: Principal) -> Response:
    return timeline(request, state, who, state.mentions_of, with_includes=True)


async def create_tweet(request: Request, state: EmulatorState, who: Principal) -> Response:
    body = await _json_body(request)
    text = body.get("text")
    if not isinstance(text, str):
        raise invalid_request("text is required for a Tweet without media", text=[str(text)])
    reply = body.get("reply") or {}
    tweet = state.post_tweet(
        str(who.user_id),
        text,
        in_reply_to=reply.get("in_reply_to_tweet_id"),
        quote_of=body.get("quote_tweet_id"),
        summoned_only=True,
    )
    data = {"id": tweet.id, "text": tweet.text, "edit_history_tweet_ids": [tweet.id]}
    return JSONResponse({"data": data}, status_code=201)


def dm_page(request: Request, state: EmulatorState, who: Principal,
            keep: Callable[[DmEvent], bool] | None = None) -> Response:
    """The caller's DM events (those ``keep`` accepts), newest first, paged as X pages them
    (a base32 ``pagination_token``), with ``event_types`` and the ``sender_id`` expansion."""
    max_results = _int_param(request, "max_results", 100, 1, 100)
    below = _decode_token(request, "base32")
    wanted = set(request.query_params.get("event_types", "").split(",")) - {""}
    if wanted - _DM_EVENT_TYPES:
        bad = sorted(wanted - _DM_EVENT_TYPES)
        raise invalid_request(f"Invalid event_types: {', '.join(bad)}", event_types=bad)
    events = [
        e
        for e in state.dm_events_of(str(who.user_id))
        if (below is None or int(e.id) < below) and (not wanted or e.event_type in wanted)
        and (keep is None or keep(e))
    ]
    page, rest = events[:max_results], events[max_results:]
    if not page:
        return JSONResponse({"meta": {"result_count": 0}})
    fields = _fields(request, "dm_event.fields")
    body: dict[str, Any] = {"data": [render_dm(e, fields) for e in page]}
    if "sender_id" in _fields(request, "expansions"):
        user_fields = _fields(request, "user.fields")
        senders = dict.fromkeys(e.sender_id for e in page)
        body["includes"] = {
            "users": [render_user(state.users[i], user_fields, state, who.user_id) for i in senders]
        }
    meta: dict[str, Any] = {"result_count": len(page)}
    if rest:
        meta["next_token"] = _encode_token(page[-1].id, "base32")
    body["meta"] = meta
    return JSONResponse(body)


async def dm_events(request: Request, state: EmulatorState, who: Principal) -> Response:
    return dm_page(request, state, who)


async def send_dm(request: Request, state: EmulatorState, who: Principal) -> Response:
    participant = request.path_params["participant_id"]
    body = await _json_body(request)
    text = body.get("text")
    if not _NUMERIC_ID.match(participant) or participant not in state.users:
        raise invalid_request(
            f"The `participant_id` value [{participant}] is not a known user",
            participant_id=[participant],
        )
    if not isinstance(text, str) or not text:
        raise invalid_request("text is required for a message without attachments")
    event = state.send_dm(str(who.user_id), participant, text)
    data = {"dm_conversation_id": event.dm_conversation_id, "dm_event_id": event.id}
    return JSONResponse({"data": data}, status_code=201)


ROUTES = [
    Route("/2/users/me", endpoint("users_me", users_me), methods=["GET"]),
    Route(
        "/2/users/by/username/{username}",
        endpoint("user_by_username", user_by_username),
        methods=["GET"],
    ),
    Route("/2/users/{id}/mentions", endpoint("mentions", mentions), methods=["GET"]),
    Route("/2/users/{id}", endpoint("user_by_id", user_by_id), methods=["GET"]),
    Route("/2/tweets", endpoint("create_tweet", create_tweet), methods=["POST"]),
    Route("/2/dm_events", endpoint("dm_events", dm_events), methods=["GET"]),
    Route(
        "/2/dm_conversations/with/{participant_id}/messages",
        endpoint("send_dm", send_dm),
        methods=["POST"],
    ),
]
