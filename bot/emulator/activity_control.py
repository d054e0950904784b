"""Control API for the X Activity API and the cost meter (127.0.0.1 only, no auth):

    GET    /_control/usage        X's bill so far, per operation (``bot.x_meter``), with
                                  the price table's source and date; DELETE: start afresh
    GET    /_control/activity     webhooks, subscriptions, delivery attempts, replay jobs
    POST   /_control/activity     {retry_delays?, timeout?, webhook_limit?, duplicate_every?}
    POST   /_control/revoke       {user}: the user revokes the app (``oauth.revoke`` pushed)
    POST   /_control/activity/wait  {timeout?}: returns once no delivery is queued or in flight
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.emulator.control import _body, _guard, _need
from bot.emulator.state import EmulatorState
from bot.x_meter import usd


def usage_json(state: EmulatorState) -> dict[str, Any]:
    totals = state.meter.totals()
    table = state.meter.table
    cost = sum(u.micro_usd for u in totals.values())
    return {"source": table.source, "as_of": table.as_of,
            "operations": {op: u.as_dict() for op, u in totals.items()},
            "total": {"cost_micro_usd": cost, "cost_usd": usd(cost)}}


async def get_usage(request: Request, state: EmulatorState) -> Response:
    return JSONResponse(usage_json(state))


async def reset_usage(request: Request, state: EmulatorState) -> Response:
    state.meter.reset()
    return JSONResponse(usage_json(state))


async def get_activity(request: Request, state: EmulatorState) -> Response:
    activity = state.activity
    return JSONResponse({
        "settings": vars(activity.settings),
        "webhooks": [vars(w) for w in activity.webhooks.values()],
        "subscriptions": [s.as_json() for s in activity.subscriptions.values()],
        "attempts": [a.as_json() for a in activity.deliverer.attempts],
        "logged_events": len(activity.log),
        "replay_jobs": dict(activity.replay_jobs),
    })


async def set_activity(request: Request, state: EmulatorState) -> Response:
    body = await _body(request)
    settings = state.activity.settings
    if "retry_delays" in body:
        settings.retry_delays = [float(d) for d in body["retry_delays"]]
    for key, cast in (("timeout", float), ("webhook_limit", int), ("duplicate_every", int)):
        if key in body:
            setattr(settings, key, cast(body[key]))
    return JSONResponse({"settings": vars(settings)})


async def wait_idle(request: Request, state: EmulatorState) -> Response:
    body = await _body(request)
    idle = await run_in_threadpool(state.activity.deliverer.wait_idle,
                                   float(body.get("timeout", 10)))
    return JSONResponse({"idle": idle})


async def revoke(request: Request, state: EmulatorState) -> Response:
    body = await _body(request)
    user_id = state.revoke(str(_need(body, "user")))
    return JSONResponse({"revoked": user_id})



ROUTES = [
    Route("/_control/usage", _guard(get_usage), methods=["GET"]),
    Route("/_control/usage", _guard(reset_usage), methods=["DELETE"]),
    Route("/_control/activity", _guard(get_activity), methods=["GET"]),
    Route("/_control/activity", _guard(set_activity), methods=["POST"]),
    Route("/_control/activity/wait", _guard(wait_idle), methods=["POST"]),
    Route("/_control/revoke", _guard(revoke), methods=["POST"]),
]
