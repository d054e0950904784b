"""``GET /metrics``: the Prometheus text exposition of this process (``bot.metrics``).

The database collector is registered here, so the web process reports the queues and ledger
totals even when no worker runs. With ``TWEETPAY_METRICS_TOKEN`` set, a scrape must send
``Authorization: Bearer <token>`` (compared in constant time); without it the route is open,
which suits a web process that only a private network reaches (docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import metrics


def metrics_routes(settings: Any, session_factory: Any,
                   clock: Callable[[], dt.datetime]) -> list[Route]:
    engine = session_factory.kw.get("bind")
    if engine is not None:
        metrics.register_database(engine, clock)
    secret = getattr(settings, "metrics_token", None)
    token = secret.get_secret_value() if secret is not None else ""

    async def show(request: Request) -> Response:
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return Response("unauthorized\n", 401, media_type="text/plain",
                                headers={"WWW-Authenticate": "Bearer"})
        body = await run_in_threadpool(metrics.render)
        return Response(body, media_type=metrics.CONTENT_TYPE)

    return [Route("/metrics", show, methods=["GET"])]
