"""The control API under ``/_control/``: what tests and the sandbox use to play the world.

No authentication (it listens on 127.0.0.1 only). JSON in, JSON out; users may be named by
id or by username (with or without ``@``). See the package docstring for curl examples.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.emulator.endpoints import ENDPOINTS
from bot.emulator.records import DmEvent, Refusal, Tweet, User, iso_ms
from bot.emulator.sandbox import seed_sandbox
from bot.emulator.state import EmulatorState
from bot.emulator.xchat_control import send_chat


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def user_json(user: User) -> dict[str, Any]:
    data = dataclasses.asdict(user)
    data["created_at"] = iso_ms(user.created_at)
    return data


def tweet_json(tweet: Tweet) -> dict[str, Any]:
    data = dataclasses.asdict(tweet)
    data["created_at"] = iso_ms(tweet.created_at)
    return data


def dm_json(event: DmEvent) -> dict[str, Any]:
    data = dataclasses.asdict(event)
    data["created_at"] = iso_ms(event.created_at)
    return data


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _need(body: dict[str, Any], key: str) -> Any:
    if key not in body:
        raise ValueError(f"missing field: {key}")
    return body[key]


def _guard(handler: Any) -> Any:
    """Map the state's refusals to readable JSON errors instead of tracebacks."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request, request.app.state.emulator)
        except Refusal as refusal:
            return JSONResponse(refusal.body, status_code=refusal.status)
        except KeyError as exc:
            return _error(404, str(exc.args[0]) if exc.args else "not found")
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))

    return run


async def get_credentials(request: Request, state: EmulatorState) -> Response:
    if state.bot_user_id is None:
        return _error(404, 'no bot yet: POST /_control/reset with {"seed": true}')
    bot = state.users[state.bot_user_id]
    token = next(t for t in state.tokens.values() if t.user_id == bot.id)
    app = next(iter(state.apps.values()))
    return JSONResponse(
        {
            "consumer_key": app.consumer_key,
            "consumer_secret": app.consumer_secret,
            "access_token": token.token,
            "access_token_secret": token.secret,
            "user_id": bot.id,
            "username": bot.username,
            "bearer_token": app.bearer_token,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        }
    )


async def list_users(request: Request, state: EmulatorState) -> Response:
    return JSONResponse({"users": [user_json(u) for u in state.users.values()]})


async def create_user(request: Request, state: EmulatorState) -> Response:
    body = await _body(request)
    user = state.add_user(
        str(_need(body, "username")),
        body.get("name"),
        accepts_dms=bool(body.get("accepts_dms", True)),
        description=str(body.get("description", "")),
        user_id=body.get("id"),
    )
    return JSONResponse(user_json(user), status_code=201)


async def patch_user(request: Request, state: EmulatorState) -> Response:
    body = await _body(request)
    xchat = body.pop("xchat", None)
    user = state.update_user(request.path_params["ref"], **body)
    if xchat is not None:
        (state.xchat_users.add if xchat else state.xchat_users.discard)(user.id)
    return JSONResponse({**user_json(user), "xchat": user.id in state.xchat_users})


async def create_tweet(request: Request, state: EmulatorState) -> Response:
    body = await _body(request)
    author = state.require_user(_need(body, "author"))
    tweet = state.post_tweet(
        author.id,
        str(body.get("text", "")),
        in_reply_to=body.get("in_reply_to"),
        quote_of=body.get("quote_of"),
        retweet_of=body.get("retweet_of"),
        check_duplicate=bool(body.get("check_duplicate", True)),
    )
    return JSONResponse(tweet_json(tweet), status_code=201)


async def list_tweets(request: Request, state: EmulatorState) -> Response:
    tweets = sorted(state.tweets.values(), key=lambda t: int(t.id))
    return JSONResponse({"tweets": [tweet_json(t) for t in tweets]})


async def create_dm(request: Request, state: EmulatorState) -> Response:
    body = await _body(request)
    sender = state.require_user(_need(body, "sender"))
    recipient = state.require_user(body.get("recipient") or state.bot_user_id or "")
    if sender.id in state.xchat_users:  # X moved this user to X Chat: the DM is a chat
        sent = send_chat(state, sender.id, str(body.get("text", "")), recipient.id)
        return JSONResponse({**sent, "transport": "xchat"}, status_code=201)
    event = state.send_dm(
        sender.id, recipient.id, str(body.get("text", "")), enforce=bool(body.get("enforce", False))
    )
    return JSONResponse(dm_json(event), status_code=201)


async def list_dms(request: Request, state: EmulatorState) -> Response:
    events = sorted(state.dms.values(), key=lambda e: int(e.id))
    return JSONResponse({"dms": [dm_json(e) for e in events]})


async def bot_posts(request: Request, state: EmulatorState) -> Response:
    posts = state.bot_posts()
    return JSONResponse(
        {
            "tweets": [tweet_json(t) for t in posts["tweets"]],
            "dms": [dm_json(e) for e in posts["dms"]],
        }
    )


async def add_fault(request: Request, state: EmulatorState) -> Response:
    body = await _body(request)
    fault = state.add_fault(
        str(_need(body, "endpoint")),
        str(_need(body, "kind")),
        int(body.get("count", 1)),
        float(body.get("delay", 5.0)),
    )
    return JSONResponse(dataclasses.asdict(fault), status_code=201)


async def list_faults(request: Request, state: EmulatorState) -> Response:
    return JSONResponse(
        {"faults": [dataclasses.asdict(f) for f in state.faults], "endpoints": ENDPOINTS}
    )


async def clear_faults(request: Request, state: EmulatorState) -> Response:
    state.faults.clear()
    return Response(status_code=204)


async def set_rate_limit(request: Request, state: EmulatorState) -> Response:
    body = await _body(request)
    state.set_rate_limit(
        str(_need(body, "endpoint")), int(_need(body, "limit")), int(body.get("window", 900))
    )
    return JSONResponse({"rate_limits": state.rate_limits})


async def advance_clock(request: Request, state: EmulatorState) -> Response:
    body = await _body(request)
    state.advance_clock(float(_need(body, "seconds")))
    return JSONResponse({"now": iso_ms(state.now_ms())})


async def reset(request: Request, state: EmulatorState) -> Response:
    try:
        body = await _body(request)
    except ValueError:
        body = {}
    state.reset()
    if body.get("seed", True):
        seed_sandbox(state)
    return JSONResponse({"users": len(state.users)})


ROUTES = [
    Route("/_control/credentials", _guard(get_credentials), methods=["GET"]),
    Route("/_control/users", _guard(list_users), methods=["GET"]),
    Route("/_control/users", _guard(create_user), methods=["POST"]),
    Route("/_control/users/{ref}", _guard(patch_user), methods=["PATCH"]),
    Route("/_control/tweets", _guard(list_tweets), methods=["GET"]),
    Route("/_control/tweets", _guard(create_tweet), methods=["POST"]),
    Route("/_control/dms", _guard(list_dms), methods=["GET"]),
    Route("/_control/dms", _guard(create_dm), methods=["POST"]),
    Route("/_control/bot/posts", _guard(bot_posts), methods=["GET"]),
    Route("/_control/faults", _guard(list_faults), methods=["GET"]),
    Route("/_control/faults", _guard(add_fault), methods=["POST"]),
    Route("/_control/faults", _guard(clear_faults), methods=["DELETE"]),
    Route("/_control/rate_limits", _guard(set_rate_limit), methods=["POST"]),
    Route("/_control/clock", _guard(advance_clock), methods=["POST"]),
    Route("/_control/reset", _guard(reset), methods=["POST"]),
]
