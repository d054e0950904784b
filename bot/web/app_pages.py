"""The tweetpay app: an installable web app at ``/`` where payments are confirmed and received.

    GET  /                        the app: to confirm (PIN in place), balance, history,
                                  requests received, escrow sent, cancel; a welcome without
                                  a session
    GET  /app/live                the live parts alone (the script swaps them in)
    GET  /app/events              Server-Sent Events: ``change`` when what the app shows changes
    POST /app/confirm/<intent>    confirm in place with the PIN or a passkey (the link
                                  page's service; what it says: ``bot.web.app_outcomes``)
    POST /app/cancel/<reference>  cancel a pending payment, request or escrow hold
    POST /app/push, /app/push/off this device's Web Push subscription (JSON), or none
    POST /account/devices/<id>/revoke, /account/devices/revoke   end one / every device session
    GET  /manifest.webmanifest, /sw.js, /offline                 what makes it installable
                                  (``bot.web.app_install``)

Confirming reuses ``bot.services.confirm.ConfirmationService`` through the intent's token row
(``confirm_hash``): the same dynamic linking (the form sends back the amount and payee it
showed), 3 wrong codes per intent, 5 in a row lock the account; a GET never confirms
anything. Without JavaScript the page works by reloads; with it, the live parts follow
``/app/events``. The session is the device session opened at sign-in
(``storage.sessions``); every POST needs its CSRF token.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from bot.logging import get_logger
from bot.push import application_server_key
from bot.services.confirm import ConfirmationService, Outcome
from bot.web.account_pages import AccountPages
from bot.web.accounts import AccountWeb
from bot.web.app_install import install_routes
from bot.web.app_outcomes import outcome_text, retry_after
from handlers.confirmation import Shown
from handlers.money import Lang
from handlers.pins import PIN_LENGTH
from handlers.texts import translator
from handlers.times import date_text
from storage import app_views, devices
from storage import sessions as web_sessions
from storage.sessions import Holder
from storage.uow import UnitOfWork

log = get_logger("bot.web.app")

PIN_SHAPE = re.compile(f"[0-9]{{{PIN_LENGTH}}}")
REF_SHAPE = re.compile(r"[A-Z0-9]{4,16}")
MAX_SUBSCRIPTION = 4096
STREAM_SECONDS = 300  # then the browser's EventSource reconnects by itself
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15
P = ParamSpec("P")
APP_PATHS = ("/", "/app", "/sw.js", "/manifest.webmanifest", "/offline", "/playground",
             "/playground/feed")


def user_agent_label(ua: str) -> str:
    """A device's name as a person recognises it: browser and system, no version numbers."""
    browser = next((name for key, name in (("Edg/", "Edge"), ("Firefox/", "Firefox"),
                                           ("Chrome/", "Chrome"), ("Safari/", "Safari"))
                    if key in ua), "Web")
    systems = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
               ("Windows", "Windows"), ("Mac OS", "macOS"), ("Linux", "Linux"))
    system = next((name for key, name in systems if key in ua), "")
    return f"{browser} · {system}" if system else browser


class AppPages:
    def __init__(self, web: AccountWeb, service: ConfirmationService) -> None:
        self.web = web
        self.service = service
        self.account = AccountPages(web)
        self.public_key = application_server_key(
            web.settings.vapid_private_key.get_secret_value())

    # -- session ------------------------------------------------------------------------

    def _holder(self, cookie: str | None, label: str) -> Holder | None:
        holder = self.account._holder(cookie)
        if holder is not None:
            self._write(devices.touch, holder.session_id, label, self.web.clock())
        return holder

    def _write(self, change: Callable[Concatenate[Session, P], object], *args: P.args,
               **kwargs: P.kwargs) -> None:
        """One device row's change (seen, subscribed, dropped) in its own transaction."""
        with UnitOfWork(self.web.sessions) as uow:
            change(uow.session, *args, **kwargs)
            uow.commit()

    async def _session(self, request: Request) -> tuple[Holder, str, Lang] | None:
        cookie = self.web.cookie(request)
        label = user_agent_label(request.headers.get("user-agent", ""))
        holder = await self.web.db(self._holder, cookie, label)
        if holder is None or cookie is None:
            return None
        return holder, cookie, self.web.lang(request, holder.lang)

    async def _posted(self, request: Request, *names: str
                      ) -> tuple[Holder, str, Lang, dict[str, str]] | Response:
        """A same-site POST of our own form by the holder of a live device session."""
        found = await self._session(request)
        if found is None:
            return self.account.no_session(request, self.web.lang(request))
        holder, cookie, lang = found
        if self.web.cross_site(request):
            return self.web.message(request, lang=lang, title="title_error",
                                    body="forbidden_body", status=403)
        fields = await self.web.fields(request, "csrf", *names)
        if not self.web.csrf_ok(cookie, fields["csrf"]):
            return self.web.message(request, lang=lang, title="title_error", body="csrf_body",
                                    status=403, link=("/", "app_open"))
        return holder, cookie, lang, fields

    # -- what the app shows ---------------------------------------------------------------

    def _view(self, holder: Holder, lang: Lang) -> dict[str, Any]:
        now = self.web.clock()
        with UnitOfWork(self.web.sessions) as uow:
            view = app_views.view(uow.session, holder.x_user_id, now)
            # The payer has seen these: the link that would follow by DM is not needed.
            devices.mark_seen(uow.session, [p.id for p in view.to_confirm], now)
            version = app_views.version(uow.session, holder.x_user_id, now)
            uow.commit()
        data = self.account._data(holder, lang)
        t = translator(lang)
        lines = [{"date": ln.date, "amount": ln.amount, "incoming": ln.incoming, "memo": ln.memo,
                  "label": t(ln.label) if ln.label.startswith("cp_")
                  else (ln.label or t("cp_unknown"))} for ln in data.lines[:10]]

        passkey = (self.web.passkeys.options_for_intents(
            holder.user_id, [p.id for p in view.to_confirm]) if self.web.passkeys else {})

        def shown(p: app_views.Pending) -> dict[str, Any]:
            minutes = max(0, math.ceil((p.expires_at - now).total_seconds() / 60))
            return {"p": p, "amount": p.amount.format(lang), "minutes": minutes,
                    "passkey": passkey.get(p.id)}

        return {
            "to_confirm": [shown(p) for p in view.to_confirm if p.kind != "request"],
            "requests": [shown(p) for p in view.to_confirm if p.kind == "request"],
            "waiting": [shown(p) for p in view.waiting_on_others],
            "held": [{"h": h, "amount": h.amount.format(lang),
                      "deadline": date_text(h.claim_deadline, lang, self.web.settings.timezone)}
                     for h in view.held],
            "balance": data.balance.format(lang), "lines": lines, "version": version,
        }

    async def _page(self, request: Request, holder: Holder, cookie: str, lang: Lang, *,
                    template: str = "app.html", status: int = 200, notice: str | None = None,
                    error: str | None = None, tone: str = "neutral") -> Response:
        view = await self.web.db(self._view, holder, lang)
        return self.web.render(
            request, template, lang=lang, title="app_title", status=status, tone=tone,
            holder=holder, csrf=self.web.csrf_for(cookie), notice=notice, error=error,
            vapid_key=self.public_key, **view,
        )

    async def home(self, request: Request) -> Response:
        found = await self._session(request)
        if found is None:
            lang = self.web.lang(request)
            return self.web.render(request, "app_welcome.html", lang=lang, title="app_title",
                                   bot=self.web.settings.bot_handle)
        return await self._page(request, *found)

    async def live(self, request: Request) -> Response:
        found = await self._session(request)
        if found is None:
            return Response(status_code=401)
        return await self._page(request, *found, template="_app_live.html")

    async def events(self, request: Request) -> Response:
        found = await self._session(request)
        if found is None:
            return Response(status_code=401)
        holder = found[0]

        def version() -> str:
            with self.web.sessions() as session:
                return app_views.version(session, holder.x_user_id, self.web.clock())

        async def stream() -> Any:
            last, quiet = None, 0.0
            loop = asyncio.get_running_loop()
            deadline = loop.time() + STREAM_SECONDS
            yield "retry: 2000\n\n"
            while loop.time() < deadline and not await request.is_disconnected():
                current = await self.web.db(version)
                if current != last:
                    yield f"event: change\ndata: {current}\n\n"
                    last, quiet = current, 0.0
                elif quiet >= HEARTBEAT_SECONDS:
                    yield ": still here\n\n"  # keeps proxies from closing an idle stream
                    quiet = 0.0
                await asyncio.sleep(POLL_SECONDS)
                quiet += POLL_SECONDS

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"X-Accel-Buffering": "no"})

    # -- confirm and cancel ---------------------------------------------------------------

    async def confirm(self, request: Request) -> Response:
        posted = await self._posted(request, "pin", "amount_cents", "payee", "assertion")
        if isinstance(posted, Response):
            return posted
        holder, cookie, lang, f = posted
        t = translator(lang)
        try:
            intent_id = int(request.path_params["intent"])
            shown = Shown(int(f["amount_cents"]), int(f["payee"]))
        except ValueError:
            return await self._page(request, holder, cookie, lang, status=400,
                                    error=t("bad_form_body"))
        if not f["assertion"] and not PIN_SHAPE.fullmatch(f["pin"]):
            # Never a PIN: nothing counted, no Argon2id.
            return await self._page(request, holder, cookie, lang, status=400,
                                    error=t("enter_code"))
        token_hash = await self.web.db(self._token_hash, intent_id, holder.x_user_id)
        if token_hash is None:
            return await self._page(request, holder, cookie, lang, status=404,
                                    error=t("unknown_body"))
        if f["assertion"]:  # a passkey, checked under the confirmation's row locks
            result = await self.web.db(self.service.confirm_hash_with_passkey, token_hash,
                                       f["assertion"], shown)
        else:
            result = await self.web.db(self.service.confirm_hash, token_hash, f["pin"], shown)
        log.info("app_confirmation", outcome=result.outcome.value,
                 reference=result.facts.reference if result.facts else None,
                 proof="passkey" if f["assertion"] else "pin")
        status, tone, text = outcome_text(result, lang, self.web.settings,
                                          passkey=bool(f["assertion"]))
        if result.outcome is Outcome.LOCKED:
            response = await self._page(request, holder, cookie, lang, status=status,
                                        error=text)
            response.headers["Retry-After"] = retry_after(result, self.web.clock())
            return response
        if tone == "ok":
            return await self._page(request, holder, cookie, lang, notice=text, tone="ok")
        return await self._page(request, holder, cookie, lang, status=status, error=text)

    def _token_hash(self, intent_id: int, x_user_id: int) -> str | None:
        with self.web.sessions() as session:
            return devices.confirm_token_hash(session, intent_id, x_user_id)

    async def cancel(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        holder, cookie, lang, _ = posted
        t = translator(lang)
        reference = request.path_params["reference"].upper()
        if not REF_SHAPE.fullmatch(reference):
            return await self._page(request, holder, cookie, lang, status=400,
                                    error=t("unknown_body"))
        done = await self.web.db(self._cancel, holder, reference)
        if not done:
            return await self._page(request, holder, cookie, lang, status=409,
                                    error=t("app_cancel_nothing", reference=reference))
        return await self._page(request, holder, cookie, lang, tone="ok",
                                notice=t("app_cancel_done", reference=reference))

    def _cancel(self, holder: Holder, reference: str) -> bool:
        with UnitOfWork(self.web.sessions) as uow:
            done = app_views.cancel(uow, holder.x_user_id, reference, self.web.clock())
            uow.commit()
            return done

    # -- push subscriptions and device sessions -------------------------------------------

    async def _script_call(self, request: Request) -> Holder | Response:
        """A same-site call of app.js, with the session's CSRF token in ``X-CSRF``."""
        found = await self._session(request)
        if found is None:
            return JSONResponse({"error": "session"}, 401)
        holder, cookie, _ = found
        if (self.web.cross_site(request)
                or not self.web.csrf_ok(cookie, request.headers.get("x-csrf", ""))):
            return JSONResponse({"error": "forbidden"}, 403)
        return holder

    async def push_on(self, request: Request) -> Response:
        holder = await self._script_call(request)
        if isinstance(holder, Response):
            return holder
        body = await request.body()
        try:
            sub: Any = json.loads(body) if len(body) <= MAX_SUBSCRIPTION else None
            endpoint, keys = str(sub["endpoint"]), sub["keys"]
            clean = {"endpoint": endpoint,
                     "keys": {"p256dh": str(keys["p256dh"]), "auth": str(keys["auth"])}}
        except (TypeError, KeyError, ValueError):
            return JSONResponse({"error": "subscription"}, 400)
        plain_http_ok = self.web.settings.env != "production"  # the sandbox's push stand-in
        if not (endpoint.startswith("https://") or (plain_http_ok
                                                    and endpoint.startswith("http://"))):
            return JSONResponse({"error": "endpoint"}, 400)
        await self.web.db(self._write, devices.subscribe, self.web.sealer,
                          session_id=holder.session_id, x_user_id=holder.x_user_id,
                          subscription=clean, now=self.web.clock())
        log.info("push_subscribed", user_id=holder.user_id, device=holder.session_id)
        return JSONResponse({"ok": True})

    async def push_off(self, request: Request) -> Response:
        holder = await self._script_call(request)
        if isinstance(holder, Response):
            return holder
        await self.web.db(self._write, devices.unsubscribe, holder.session_id)
        return JSONResponse({"ok": True})

    async def revoke(self, request: Request) -> Response:
        posted = await self._posted(request, "pin", "assertion")
        if isinstance(posted, Response):
            return posted
        holder, cookie, lang, f = posted
        target = request.path_params.get("device")
        if target is None:  # every device at once: the PIN or a passkey, now
            refused = await self.account.stepped_up(request, holder, cookie, lang, f,
                                                    "revoke_devices")
            if refused is not None:
                return refused
        now = self.web.clock()

        def work() -> None:
            with UnitOfWork(self.web.sessions) as uow:
                if target is None:
                    web_sessions.revoke_all(uow.session, holder.user_id, now)
                    for device in devices.live_devices(uow.session, holder.user_id, 0, now):
                        devices.revoke(uow.session, holder.user_id, device.id, now)
                elif target.isdigit():
                    devices.revoke(uow.session, holder.user_id, int(target), now)
                uow.commit()

        await self.web.db(work)
        log.info("device_revoked", user_id=holder.user_id, all=target is None)
        if target is None or (target.isdigit() and int(target) == holder.session_id):
            response = RedirectResponse("/", status_code=303)
            self.web.clear_session_cookie(response)
            return response
        return RedirectResponse("/account?done=device_revoked#devices", status_code=303)

def app_routes(pages: AppPages) -> list[Route]:
    return [
        Route("/", pages.home, methods=["GET"]),
        Route("/app/live", pages.live, methods=["GET"]),
        Route("/app/events", pages.events, methods=["GET"]),
        Route("/app/confirm/{intent}", pages.confirm, methods=["POST"]),
        Route("/app/cancel/{reference}", pages.cancel, methods=["POST"]),
        Route("/app/push", pages.push_on, methods=["POST"]),
        Route("/app/push/off", pages.push_off, methods=["POST"]),
        Route("/account/devices/revoke", pages.revoke, methods=["POST"]),
        Route("/account/devices/{device}/revoke", pages.revoke, methods=["POST"]),
        *install_routes(pages.web),
    ]
