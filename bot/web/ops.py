"""The operator page ``/ops``: failed rows with their errors (retry or cancel one), messages
waiting for X's budget, a user's recent events, lock or unlock an account.

Access: HTTP Basic with user ``ops`` and ``TWEETPAY_OPS_TOKEN`` as password, both compared in
constant time; the page does not exist (404) while the setting is empty. A user's session
cookie is never looked at: being logged in to the account page gives nothing here. Posts
carry a CSRF token derived from the operator credential (a browser re-sends Basic
credentials to any page that asks, so the credential alone does not prove intent) and are
refused when the browser marks them cross-site. Every action is written to ``ops_audit`` in
the transaction that carries it out (``storage.ops``), refused ones included.

The operator sees ids, states and errors, not what users wrote: tweet and DM texts stay out
of this page.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bot.logging import get_logger
from bot.status import read_status
from storage import ops
from storage.models import InboxEvent, OutboxMessage
from storage.uow import UnitOfWork

HERE = Path(__file__).resolve().parent
USER = "ops"
REALM = 'Basic realm="tweetpay operator", charset="UTF-8"'
SHOWN = 50
log = get_logger("bot.web.ops")

Clock = Callable[[], dt.datetime]


class OpsPage:
    def __init__(self, settings: Any, session_factory: Any, clock: Clock) -> None:
        self._token = settings.ops_token.get_secret_value()
        self._sessions = session_factory
        self._clock = clock
        self._heartbeat = float(settings.heartbeat_seconds)
        env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
        self._templates = Jinja2Templates(env=env)
        self._csrf = hmac.new(self._token.encode(), b"tweetpay-ops-csrf", hashlib.sha256
                              ).hexdigest()

    # -- access ----------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        # Both compared, always, in constant time: the answer's timing says nothing.
        user_ok = hmac.compare_digest(user.encode(), USER.encode())
        password_ok = hmac.compare_digest(password.encode(), self._token.encode())
        return user_ok and password_ok

    def _gate(self, request: Request) -> Response | None:
        if not self._token:
            return Response("Not Found", 404)
        if not self._authorised(request):
            return Response("operator credential needed\n", 401, media_type="text/plain",
                            headers={"WWW-Authenticate": REALM})
        return None

    def _actor(self, request: Request) -> str:
        host = request.client.host if request.client else "?"
        return f"{USER}@{host}"

    # -- pages -----------------------------------------------------------------------------

    def _render(self, request: Request, template: str, **context: Any) -> Response:
        now = self._clock()
        ctx = {"csrf": self._csrf, "now": now.strftime("%Y-%m-%d %H:%M:%S UTC"), "now_dt": now,
               "notice": request.query_params.get("notice", ""),
               "notice_ok": request.query_params.get("ok") == "1", **context}
        return self._templates.TemplateResponse(request, template, ctx)

    def _overview(self) -> dict[str, Any]:
        now = self._clock()
        with self._sessions() as session:
            status = read_status(session, now, heartbeat_seconds=self._heartbeat)
            failed_inbox = list(session.scalars(
                select(InboxEvent).where(InboxEvent.status == "failed")
                .order_by(InboxEvent.id.desc()).limit(SHOWN)))
            failed_outbox = list(session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == "failed")
                .order_by(OutboxMessage.id.desc()).limit(SHOWN)))
            audit = ops.recent_audit(session)
        return {"status": status, "failed_inbox": failed_inbox, "failed_outbox": failed_outbox,
                "audit": audit}

    async def overview(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        return self._render(request, "ops.html", **await run_in_threadpool(self._overview))

    async def user(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        query = request.query_params.get("q", "")

        def load() -> ops.UserEvents | None:
            with self._sessions() as session:
                x_user_id = ops.find_x_user_id(session, query)
                return None if x_user_id is None else ops.user_events(session, x_user_id)

        events = await run_in_threadpool(load)
        if events is None:
            return self._back(f"no account holder is called {query[:40]}", ok=False)
        return self._render(request, "ops_user.html", events=events,
                            **await run_in_threadpool(self._overview))

    # -- actions ---------------------------------------------------------------------------

    def _back(self, notice: str, *, ok: bool, to: str = "/ops") -> Response:
        sep = "&" if "?" in to else "?"
        return RedirectResponse(f"{to}{sep}ok={int(ok)}&notice={quote(notice)}", 303)

    async def act(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return Response("cross-site request refused\n", 403, media_type="text/plain")
        async with request.form(max_files=0, max_fields=4) as form:
            csrf = str(form.get("csrf") or "")
        if not hmac.compare_digest(csrf.encode(), self._csrf.encode()):
            return Response("bad or missing CSRF token\n", 403, media_type="text/plain")
        table, target_id, verb = (request.path_params["table"], request.path_params["id"],
                                  request.path_params["verb"])
        action = f"{verb}_{table}"
        if action not in ops.RUN:
            return Response("Not Found", 404)
        actor = self._actor(request)
        target = f"{table}:{target_id}"

        def run() -> ops.Done:
            now = self._clock()
            with UnitOfWork(self._sessions, self._clock) as uow:
                done = ops.RUN[action](uow.session, int(target_id), now)
                ops.audit(uow.session, actor=actor, action=action, target=target, done=done,
                          now=now)
                uow.commit()
            return done

        done = await run_in_threadpool(run)
        log.info("ops.action", action=action, target=target, ok=done.ok, actor=actor)
        to = f"/ops/user?q={target_id}" if table == "user" else "/ops"
        return self._back(f"{action.replace('_', ' ')} {target}: {done.detail}", ok=done.ok,
                          to=to)


def ops_routes(settings: Any, session_factory: Any, clock: Clock) -> list[Route]:
    page = OpsPage(settings, session_factory, clock)
    return [
        Route("/ops", page.overview, methods=["GET"]),
        Route("/ops/user", page.user, methods=["GET"]),
        Route("/ops/{table:str}/{id:int}/{verb:str}", page.act, methods=["POST"]),
    ]
