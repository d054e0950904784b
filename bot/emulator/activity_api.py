"""The X Activity API routes: ``/2/webhooks`` (CRC on create and PUT, replay),
``/2/activity/subscriptions`` and ``/2/activity/stream`` (``activity_stream``), in the shapes
of X's OpenAPI description (``docs/x-api/``).

Webhooks and subscriptions belong to the calling app (OAuth 1.0a user context or the app's
Bearer token); private event types need the monitored user's own user-context token.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bot.emulator.activity import Webhook, webhook_refusal
from bot.emulator.activity_stream import Item
from bot.emulator.api import _json_body, endpoint
from bot.emulator.oauth import Principal, unsupported_authentication
from bot.emulator.records import Refusal, invalid_request, iso_ms
from bot.emulator.state import EmulatorState
from bot.x_meter import MANAGE_ENDPOINTS

KEEP_ALIVE_SECONDS = 20.0  # X's streams send "\r\n" at least this often


def _webhook_json(hook: Webhook) -> dict[str, Any]:
    return {"id": hook.id, "url": hook.url, "valid": hook.valid,
            "created_at": iso_ms(hook.created_at)}


def _bill(state: EmulatorState, kind: str) -> None:
    state.meter.record(MANAGE_ENDPOINTS[kind])


async def create_webhook(request: Request, state: EmulatorState, who: Principal) -> Response:
    body = await _json_body(request)
    hook = await run_in_threadpool(state.activity.add_webhook, body.get("url"), who.app_key)
    _bill(state, "webhooks")
    # X's OpenAPI (2.166) answers flat; its prose wraps it in ``data``: the client reads both.
    return JSONResponse(_webhook_json(hook))


async def list_webhooks(request: Request, state: EmulatorState, who: Principal) -> Response:
    hooks = [_webhook_json(w) for w in state.activity.webhooks.values()
             if w.app_key == who.app_key]
    _bill(state, "webhooks")
    # X's OpenAPI wants a non-empty ``data``: none at all is ``{"meta": {...}}``, as elsewhere.
    body: dict[str, Any] = {"data": hooks} if hooks else {}
    return JSONResponse({**body, "meta": {"result_count": len(hooks)}})


async def revalidate_webhook(request: Request, state: EmulatorState,
                             who: Principal) -> Response:
    valid = await run_in_threadpool(state.activity.revalidate,
                                    request.path_params["webhook_id"], who.app_key)
    _bill(state, "webhooks")
    # ``attempted`` in the OpenAPI file, ``valid`` in X's prose: both.
    return JSONResponse({"data": {"attempted": True, "valid": valid}})


async def delete_webhook(request: Request, state: EmulatorState, who: Principal) -> Response:
    state.activity.delete_webhook(request.path_params["webhook_id"], who.app_key)
    _bill(state, "webhooks")
    return JSONResponse({"data": {"deleted": True}})


def _minute(value: Any, name: str) -> int:
    """``yyyymmddhhmm`` (UTC) as epoch milliseconds."""
    try:
        moment = dt.datetime.strptime(str(value), "%Y%m%d%H%M").replace(tzinfo=dt.UTC)
    except ValueError:
        raise webhook_refusal("QueryParamInvalid", f"{name} must be yyyymmddhhmm") from None
    return int(moment.timestamp() * 1000)


async def replay(request: Request, state: EmulatorState, who: Principal) -> Response:
    body = await _json_body(request)
    start = _minute(body.get("from_date"), "from_date")
    end = _minute(body.get("to_date"), "to_date") + 59_999  # the last minute is included
    job = state.activity.replay(str(body.get("webhook_id")), start, end, who.app_key)
    _bill(state, "replay")
    return JSONResponse({"job_id": job, "created_at": iso_ms(state.now_ms())})


async def create_subscription(request: Request, state: EmulatorState,
                              who: Principal) -> Response:
    body = await _json_body(request)
    sub = state.activity.add_subscription(body, who.app_key, who.user_id)
    _bill(state, "subscriptions")
    return JSONResponse({"data": {"subscription": sub.as_json()}})


async def list_subscriptions(request: Request, state: EmulatorState,
                             who: Principal) -> Response:
    subs = [s.as_json() for s in state.activity.mine(who.app_key)]
    _bill(state, "subscriptions")
    body: dict[str, Any] = {"data": subs} if subs else {}
    return JSONResponse({**body, "meta": {"result_count": len(subs),
                                          "total_subscriptions": len(subs)}})


async def delete_subscription(request: Request, state: EmulatorState,
                              who: Principal) -> Response:
    sub_id = request.path_params["subscription_id"]
    if not state.activity.delete_subscription(sub_id, who.app_key):
        raise Refusal(404, "Not Found Error", f"Could not find subscription {sub_id}")
    _bill(state, "subscriptions")
    return JSONResponse({"data": {"deleted": True}})


async def delete_subscriptions(request: Request, state: EmulatorState,
                               who: Principal) -> Response:
    """Bulk delete (``?ids=a,b``): a bad id does not stop the others."""
    ids = [i for i in request.query_params.get("ids", "").split(",") if i][:100]
    done, errors = [], []
    for sub_id in ids:
        if state.activity.delete_subscription(sub_id, who.app_key):
            done.append({"subscription_id": sub_id, "deleted": True})
        else:
            errors.append({"subscription_id": sub_id, "reason": "NotFound",
                           "message": f"Could not find subscription {sub_id}"})
    _bill(state, "subscriptions")
    body: dict[str, Any] = {"data": done,
                            "meta": {"total_subscriptions": len(state.activity.mine(who.app_key))}}
    if errors:
        body["errors"] = errors
    return JSONResponse(body)


async def stream(request: Request, state: Any, who: Principal) -> Response:
    """One JSON envelope per line, ``\r\n`` keep-alives, backfill first (``activity_stream``)."""
    if who.user_id is not None:
        raise unsupported_authentication()  # X: the app's Bearer token only
    raw = request.query_params.get("backfill_minutes", "0")
    if not raw.isdigit() or int(raw) > 5:
        raise invalid_request("backfill_minutes must be 0 to 5", backfill_minutes=[raw])
    streams = state.activity.streams
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Item] = asyncio.Queue()
    handle = streams.open(who.app_key, lambda item: loop.call_soon_threadsafe(
        queue.put_nowait, item))
    backfill = streams.since(who.app_key, state.now_ms() - int(raw) * 60_000) if int(raw) else []

    def line(item: Item) -> bytes:
        body, resource_id = item
        state.meter.record(f"event.{body['data']['event_type']}", [resource_id])
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() + b"\r\n"

    async def lines() -> AsyncIterator[bytes]:
        try:
            for item in backfill:
                yield line(item)
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), KEEP_ALIVE_SECONDS)
                except TimeoutError:
                    yield b"\r\n"
                    continue
                yield line(item)
        finally:
            streams.close(handle)

    return StreamingResponse(lines(), media_type="application/json",
                             headers={"x-twitter-streaming": "true"})


ROUTES = [
    Route("/2/activity/stream", endpoint("activity_stream", stream), methods=["GET"]),
    Route("/2/webhooks/replay", endpoint("replay", replay), methods=["POST"]),
    Route("/2/webhooks", endpoint("create_webhook", create_webhook), methods=["POST"]),
    Route("/2/webhooks", endpoint("list_webhooks", list_webhooks), methods=["GET"]),
    Route("/2/webhooks/{webhook_id}", endpoint("revalidate_webhook", revalidate_webhook),
          methods=["PUT"]),
    Route("/2/webhooks/{webhook_id}", endpoint("delete_webhook", delete_webhook),
          methods=["DELETE"]),
    Route("/2/activity/subscriptions",
          endpoint("create_subscription", create_subscription), methods=["POST"]),
    Route("/2/activity/subscriptions",
          endpoint("list_subscriptions", list_subscriptions), methods=["GET"]),
    Route("/2/activity/subscriptions",
          endpoint("delete_subscription", delete_subscriptions), methods=["DELETE"]),
    Route("/2/activity/subscriptions/{subscription_id}",
          endpoint("delete_subscription", delete_subscription), methods=["DELETE"]),
]
