"""The confirmation pages as a Starlette app.

    GET  /c/<token>   shows amount, payee, memo, expiry and the PIN form; reads only
                      (link-preview crawlers fetch URLs), whatever the link's state
    POST /c/<token>   checks the link and the PIN, then confirms in one transaction
                      (``bot.services.confirm.ConfirmationService``)
    GET  /healthz     the database and the workers' liveness (``bot.web.health``)
    GET  /webhooks/x  X's CRC challenge; POST: signed event deliveries into the inbox
                      (``bot.webhook``, the legacy Account Activity API)
    GET  /webhooks/xaa  the same for the X Activity API (``bot.activity.ingest``)

Every response carries ``Cache-Control: no-store``, ``Referrer-Policy: no-referrer`` and a CSP
that allows only our own script file (``/static/passkeys.js``: no inline script, no other
origin), no framing (``frame-ancestors 'none'``) and form posts only to ourselves. The pages
work without JavaScript; with it, a payer who has a passkey may confirm with it instead of
the PIN (the form then carries ``assertion``, checked by ``bot.services.passkeys`` under the
confirmation's row locks).

CSRF: the POST carries no session or cookie; the unguessable token in the URL is the
capability, and the PIN is needed on top of it. We still refuse a POST a browser marks as
cross-site (``Sec-Fetch-Site`` other than ``same-origin``/``none``) or whose ``Origin`` is
another site's (``Origin: null`` is accepted: ``Referrer-Policy: no-referrer`` makes browsers
send it on same-origin posts). The form also sends back the amount and payee it showed, which
must equal the intent's: the PIN authorises exactly what the page displayed.

Neither the token, the URL nor the PIN is ever logged (uvicorn's access log is off in
``bot.web.server`` for that reason).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.activity.ingest import activity_routes
from bot.logging import get_logger
from bot.metrics import CONFIRMATIONS
from bot.passkeys import AssertionVerifier, RelyingParty
from bot.security import PinHasher
from bot.services.confirm import ConfirmationService, Outcome, PinGate
from bot.services.passkeys import Passkeys
from bot.web.account_routes import account_routes
from bot.web.accounts import account_web
from bot.web.app_pages import APP_PATHS, AppPages, app_routes
from bot.web.confirm_pages import ConfirmPages
from bot.web.headers import APP_HEADERS, SECURITY_HEADERS
from bot.web.health import health_routes
from bot.web.metrics_route import metrics_routes
from bot.web.ops import ops_routes
from bot.web.payout_pages import payout_routes
from bot.web.playground import Playground, playground_routes
from bot.webhook import webhook_routes
from handlers.confirmation import (
    PinPolicy,
    Refusal,
    Refused,
    Shown,
)
from handlers.pins import PIN_LENGTH
from storage.sealing import Sealer

Clock = Callable[[], dt.datetime]
HERE = Path(__file__).resolve().parent
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,128}")
PIN_SHAPE = re.compile(f"[0-9]{{{PIN_LENGTH}}}")  # ASCII digits only, as handlers.pins sets them
MAX_FORM_BYTES = 8192  # the form is a PIN (or a passkey assertion, < 2 KB) and two numbers


log = get_logger("bot.web")


class SecurityHeaders:
    """Pure ASGI middleware: the docs/design.md headers on every HTTP response, errors included."""

    def __init__(self, app: ASGIApp, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        self.app = app
        self.headers = SECURITY_HEADERS + list(extra)
        self.app_headers = APP_HEADERS + list(extra)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        path = scope.get("path", "")
        app_page = path in APP_PATHS or path.startswith("/app/")
        headers = self.app_headers if app_page else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in headers}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Pages(ConfirmPages):
    """The route handlers, closed over the service and the settings they need."""

    async def show(self, request: Request) -> Response:
        token = request.path_params["token"]
        if not TOKEN_SHAPE.fullmatch(token):
            return self.refusal(request, Refused(Refusal.UNKNOWN), None)
        view = await run_in_threadpool(self.service.look, token)
        if view.refusal is not None:
            return self.refusal(request, view.refusal, view.facts)
        assert view.facts is not None
        options = await run_in_threadpool(self.passkey_options, token)
        return self.form(request, view.facts, passkey=options)

    async def confirm(self, request: Request) -> Response:
        token = request.path_params["token"]
        if not TOKEN_SHAPE.fullmatch(token):
            return self.refusal(request, Refused(Refusal.UNKNOWN), None)
        if self.cross_site(request):
            log.warning("confirmation_refused", reason="cross_site")
            return self.message(request, title="title_error", body="forbidden_body", status=403)
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > MAX_FORM_BYTES:
            return self.message(request, title="title_error", body="bad_form_body", status=413)
        async with request.form(max_files=0, max_fields=8) as form:
            pin = str(form.get("pin") or "").strip()
            assertion = str(form.get("assertion") or "")
            amount_field, payee_field = form.get("amount_cents"), form.get("payee")
        try:
            shown = Shown(int(str(amount_field)), int(str(payee_field)))
        except ValueError:
            return self.message(request, title="title_error", body="bad_form_body", status=400)
        if assertion and self.passkeys is not None:
            result = await run_in_threadpool(
                self.service.confirm_with_passkey, token, assertion, shown)
        elif not PIN_SHAPE.fullmatch(pin):
            # Not a PIN at all (empty, letters, wrong length): ask again, count nothing; it
            # can never match, so it tells nobody anything and costs no Argon2id.
            view = await run_in_threadpool(self.service.look, token)
            if view.refusal is not None or view.facts is None:
                return self.refusal(request, view.refusal or Refused(Refusal.UNKNOWN), view.facts)
            options = await run_in_threadpool(self.passkey_options, token)
            return self.form(request, view.facts, status=400, error="enter_code",
                             passkey=options)
        else:
            result = await run_in_threadpool(self.service.confirm, token, pin, shown)
        CONFIRMATIONS.labels(result.outcome.value).inc()
        log.info(
            "confirmation",
            outcome=result.outcome.value,
            reference=result.facts.reference if result.facts else None,
            refusal=result.refusal.reason.value if result.refusal else None,
            proof="passkey" if assertion else "pin",
        )
        options = None
        if result.outcome is Outcome.WRONG_PIN:
            options = await run_in_threadpool(self.passkey_options, token)
        return self.result_page(request, result, passkey=options,
                                wrong="passkey_wrong" if assertion else "wrong_code")

    async def favicon(self, request: Request) -> Response:
        return Response(status_code=204)

    async def http_error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        body = "not_found_body" if status == 404 else ""
        return self.message(request, title="title_error", body=body, status=status)


def create_app(
    settings: Any,
    session_factory: Any,
    *,
    clock: Clock | None = None,
    pin_hasher: PinHasher | None = None,
    sealer: Sealer | None = None,
    service: ConfirmationService | None = None,
    payment_provider: Any = None,
    x_api_base_url: str | None = None,
    bot_user_id: int | None = None,
    passkey_verifier: AssertionVerifier | None = None,
    payout_provider: Any = None,
    pin_threads: int | None = None,
    pin_gate: PinGate | None = None,
) -> Starlette:
    """The web app over ``session_factory`` (a SQLAlchemy ``sessionmaker``).

    ``clock`` returns aware UTC datetimes (tests pass a fake); ``pin_hasher`` and ``sealer``
    default to the settings' pepper and data keys. ``payment_provider`` and
    ``x_api_base_url`` serve the account pages (``bot.web.accounts.account_web``).
    ``bot_user_id``, when given, is the only account whose webhook deliveries are accepted.
    ``passkey_verifier`` replaces the WebAuthn signature check (``benchmarks.confirm`` only).
    ``payout_provider`` serves money out (``bot.web.payout_pages``; default: the sandbox's).
    ``pin_threads``: this process's Argon2id threads (default one per core); ``pin_gate``:
    the permits the web workers of one machine share, one per core (``bot.web.server``).
    """
    clock = clock or (lambda: dt.datetime.now(dt.UTC))
    pin_hasher = pin_hasher or PinHasher(settings.pin_pepper.get_secret_value())
    sealer = sealer or Sealer([k.get_secret_value() for k in settings.data_keys])
    passkeys = Passkeys(
        session_factory, rp=RelyingParty(settings.public_base_url, settings.bot_handle),
        sealer=sealer, clock=clock, verifier=passkey_verifier,
    )
    if service is None:
        service = ConfirmationService(
            session_factory,
            pin_hasher=pin_hasher,
            sealer=sealer,
            policy=PinPolicy.from_settings(settings),
            clock=clock,
            claim_period=dt.timedelta(days=settings.claim_period_days),
            pin_concurrency=pin_threads,
            pin_gate=pin_gate,
            passkeys=passkeys,
        )
    pages = Pages(service, settings, clock, passkeys)
    web = account_web(
        settings, session_factory, clock=clock, pin_hasher=pin_hasher, sealer=sealer,
        provider=payment_provider, x_api_base_url=x_api_base_url, passkeys=passkeys,
    )
    routes = [
        Route("/c/{token}", pages.show, methods=["GET"]),
        Route("/c/{token}", pages.confirm, methods=["POST"]),
        *health_routes(settings, session_factory, clock),
        Route("/favicon.ico", pages.favicon, methods=["GET"]),
        *metrics_routes(settings, session_factory, clock),
        *ops_routes(settings, session_factory, clock),
        *webhook_routes(settings, session_factory, clock, bot_user_id=bot_user_id),
        *activity_routes(settings, session_factory, clock, bot_user_id=bot_user_id),
        *account_routes(web),
        *payout_routes(web, payout_provider),
        *app_routes(AppPages(web, service)),
        *playground_routes(Playground(web, x_api_base_url or settings.x_api_base_url
                                      or f"http://127.0.0.1:{settings.emulator_port}")),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: pages.http_error, 500: pages.http_error},
    )
    # Production is https only (config refuses an http:// public URL): browsers must not
    # even try plain http for the next two years.
    hsts = ((b"strict-transport-security", b"max-age=63072000; includeSubDomains"),)
    app.add_middleware(SecurityHeaders, extra=hsts if settings.env == "production" else ())
    app.state.service = service
    return app
