"""The emulator as one ASGI app: X API v2 routes, the OAuth 2.0 pages, the control API."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.emulator import (
    activity_api,
    activity_control,
    api,
    api_lookups,
    control,
    oauth,
    xchat_api,
    xchat_control,
)
from bot.emulator.faults import FaultInjector
from bot.emulator.records import Refusal
from bot.emulator.state import EmulatorState


async def _not_found(request: Request, exc: Exception) -> Response:
    refusal = Refusal(404, "Not Found", "Sorry, that page does not exist.")
    return api.problem(refusal)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    refusal = Refusal(405, "Method Not Allowed", "Method Not Allowed")
    return api.problem(refusal)


def create_app(state: EmulatorState) -> FaultInjector:
    routes = [
        *xchat_api.ROUTES,  # before api's /2/users/{id}
        *api.ROUTES,
        *activity_api.ROUTES,
        *api_lookups.ROUTES,
        Route("/i/oauth2/authorize", oauth.authorize_page, methods=["GET"]),
        Route("/i/oauth2/authorize", oauth.authorize_submit, methods=["POST"]),
        Route("/2/oauth2/token", oauth.token_endpoint, methods=["POST"]),
        *control.ROUTES,
        *[type(r)(r.path, control._guard(r.endpoint), methods=r.methods)
          for r in xchat_control.ROUTES],
        *activity_control.ROUTES,
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _method_not_allowed})
    app.state.emulator = state
    return FaultInjector(app, state)
