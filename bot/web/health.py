"""``GET /healthz``: the database and the workers' liveness, as JSON.

200 while the database answers, with ``worker`` = ``alive`` (a heartbeat within three
intervals), ``dead`` (heartbeats stopped) or ``none`` (no worker ever ran on this database):
the web process itself is healthy without a worker, so a load balancer keeps it, and the
field tells the monitoring what is wrong. 503 when the database does not answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.heartbeat import workers
from bot.logging import get_logger

log = get_logger("bot.web")


def health_routes(settings: Any, session_factory: Any,
                  clock: Callable[[], dt.datetime]) -> list[Route]:
    interval = float(getattr(settings, "heartbeat_seconds", 10.0))

    def check() -> dict[str, Any]:
        with session_factory() as session:
            session.execute(select(1)).scalar_one()
            now = clock()
            seen = workers(session, now, interval)
        alive = [w for w in seen if w.alive]
        state = "alive" if alive else ("dead" if seen else "none")
        body: dict[str, Any] = {"status": "ok", "database": "ok", "worker": state}
        if seen:
            body["worker_last_beat"] = max(w.beat_at for w in seen).isoformat(timespec="seconds")
            body["workers_alive"] = len(alive)
        return body

    async def healthz(request: Request) -> Response:
        try:
            body = await run_in_threadpool(check)
        except Exception as exc:  # any failure means "not healthy"; say which kind
            log.error("healthz_failed", error=type(exc).__name__)
            return JSONResponse({"status": "unavailable", "database": "error"}, 503)
        return JSONResponse(body)

    return [Route("/healthz", healthz, methods=["GET"])]
