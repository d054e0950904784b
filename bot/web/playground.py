"""The sandbox playground (sandbox only): a fake X in the browser, so nobody needs curl.

    GET  /playground?as=alice        the timeline, alice's DMs with the bot, and forms to
                                     tweet or DM as alice; links in the bot's DMs open here
    GET  /playground/feed?as=alice   the timeline and DMs alone (the page's script refreshes
                                     them every two seconds; without it, reload)
    POST /playground/tweet|dm|chat   post as that user, through the emulator's control API
                                     (chat: by X Chat, encrypted by the user's own app)
    POST /playground/app             open the tweetpay app as that user: a device session
                                     opened without a login link (the sandbox's shortcut)

Everything goes through the embedded emulator over HTTP, as a real user's tweets would reach
X; the worker then polls it as usual. Off (404) unless ``env`` is ``sandbox`` and the X API
is the emulator.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import requests
from markupsafe import Markup, escape
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.emulator.client import ControlClient
from bot.security import new_token
from bot.web.accounts import AccountWeb
from storage import sessions as web_sessions
from storage.models import User
from storage.uow import UnitOfWork

URL = re.compile(r"https?://[^\s<>\"']+")
HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
MAX_TEXT = 1000
FEED_ITEMS = 40


def linkify(text: str) -> Markup:
    """The text, escaped, with its URLs as links (the bot's one-time links, in the sandbox)."""
    out, last = [], 0
    for match in URL.finditer(text):
        out.append(escape(text[last:match.start()]))
        url = match.group(0)
        out.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


class Playground:
    def __init__(self, web: AccountWeb, emulator_url: str) -> None:
        self.web = web
        self.control = ControlClient(emulator_url, timeout=5.0)
        self.enabled = web.settings.env == "sandbox" and web.settings.uses_emulator

    # -- reading the fake X ---------------------------------------------------------------

    def _world(self, handle: str) -> dict[str, Any]:
        users = {u["id"]: u for u in self.control.users()}
        bot = self.web.settings.bot_handle.lower()
        people = sorted((u for u in users.values() if u["username"].lower() != bot),
                        key=lambda u: u["username"].lower())
        me = next((u for u in people if u["username"].lower() == handle.lower()), None)

        def name(uid: str) -> str:
            return "@" + users[uid]["username"] if uid in users else uid

        tweets = sorted(self.control.tweets(), key=lambda t: int(t["id"]), reverse=True)
        timeline = [{"who": name(t["author_id"]), "text": linkify(html.unescape(t["text"])),
                     "reply": bool(t.get("in_reply_to_user_id")),
                     "bot": users.get(t["author_id"], {}).get("username", "").lower() == bot,
                     "at": _time(t["created_at"])} for t in tweets[:FEED_ITEMS]]
        dms = []
        if me is not None:
            mine = [d for d in self.control.dms()
                    if me["id"] in (d["sender_id"], d["recipient_id"])]
            mine.sort(key=lambda d: int(d["id"]), reverse=True)
            dms = [{"from_bot": d["sender_id"] != me["id"], "chat": False,
                    "text": linkify(html.unescape(d["text"])), "at": _time(d["created_at"]),
                    "order": _epoch_ms(d["created_at"])}
                   for d in mine[:FEED_ITEMS]]
            # X Chat, as the user's own app decrypts it (the emulator's server holds ciphertext).
            dms += [{"from_bot": m["sender_id"] != me["id"], "chat": True,
                     "text": linkify(m["text"]), "at": _time(m["created_at_msec"]),
                     "order": int(m["created_at_msec"])}
                    for m in self.control.chats(me["username"])[-FEED_ITEMS:]]
            dms.sort(key=lambda d: d["order"], reverse=True)
            dms = dms[:FEED_ITEMS]
        return {"people": people, "me": me, "timeline": timeline, "dms": dms}

    async def _render(self, request: Request, template: str) -> Response:
        if not self.enabled:
            return Response(status_code=404)
        handle = request.query_params.get("as", "alice")
        handle = handle if HANDLE.fullmatch(handle) else "alice"
        lang = self.web.lang(request)
        try:
            world = await self.web.db(self._world, handle)
        except (requests.RequestException, RuntimeError):
            return self.unreachable(request)
        return self.web.render(request, template, lang=lang, title="play_title",
                               handle=handle, bot=self.web.settings.bot_handle, **world)

    async def page(self, request: Request) -> Response:
        return await self._render(request, "playground.html")

    async def feed(self, request: Request) -> Response:
        return await self._render(request, "_playground_feed.html")

    def unreachable(self, request: Request) -> Response:
        """The emulator is down (``tweetpay web`` alone, without the worker's emulator)."""
        return self.web.message(request, lang=self.web.lang(request), title="play_title",
                                body="play_unreachable", status=502)

    # -- acting as someone ----------------------------------------------------------------

    async def _form(self, request: Request) -> tuple[str, str] | Response:
        if not self.enabled:
            return Response(status_code=404)
        if self.web.cross_site(request):
            return Response(status_code=403)
        async with request.form(max_files=0, max_fields=4) as form:
            handle = str(form.get("as") or "")
            text = str(form.get("text") or "")[:MAX_TEXT]
        if not HANDLE.fullmatch(handle):
            return Response(status_code=400)
        return handle, text

    async def _post_as(self, request: Request, send: Any) -> Response:
        got = await self._form(request)
        if isinstance(got, Response):
            return got
        handle, text = got
        if text.strip():
            try:
                await self.web.db(send, handle, text)
            except (requests.RequestException, RuntimeError):
                return self.unreachable(request)
        return RedirectResponse(f"/playground?as={handle}", status_code=303)

    async def tweet(self, request: Request) -> Response:
        return await self._post_as(request, self.control.tweet)

    async def dm(self, request: Request) -> Response:
        return await self._post_as(request, self.control.dm)

    async def chat(self, request: Request) -> Response:
        """The same text, written in X Chat: the user's app encrypts it to the bot."""
        return await self._post_as(request, self.control.chat)

    async def open_app(self, request: Request) -> Response:
        got = await self._form(request)
        if isinstance(got, Response):
            return got
        handle, _ = got
        cookie, cookie_hash = new_token()
        try:
            opened = await self.web.db(self._open_session, handle, cookie_hash)
        except (requests.RequestException, RuntimeError):
            return self.unreachable(request)
        if not opened:
            return RedirectResponse(f"/playground?as={handle}&no_account=1", status_code=303)
        response = RedirectResponse("/", status_code=303)
        self.web.set_session_cookie(response, cookie)
        return response

    def _open_session(self, handle: str, cookie_hash: str) -> bool:
        match = next((u for u in self.control.users()
                      if u["username"].lower() == handle.lower()), None)
        if match is None:
            return False
        with UnitOfWork(self.web.sessions) as uow:
            user = uow.session.scalars(select(User).where(
                User.x_user_id == int(match["id"]), User.status != "unlinked")).first()
            if user is None:
                return False  # nothing was written
            web_sessions.open_session(uow.session, user_id=user.id, session_hash=cookie_hash,
                                      now=self.web.clock(), ttl=self.web.session_ttl)
            uow.commit()
        return True


def _epoch_ms(created_at: Any) -> int:
    if isinstance(created_at, int | float):
        return int(created_at)
    stamp = dt.datetime.fromisoformat(str(created_at).replace("Z", "+00:00"))
    return int(stamp.timestamp() * 1000)


def _time(created_at: Any) -> str:
    if isinstance(created_at, int | float):
        stamp = dt.datetime.fromtimestamp(created_at / 1000, dt.UTC)
    else:
        stamp = dt.datetime.fromisoformat(str(created_at).replace("Z", "+00:00"))
    return stamp.strftime("%H:%M:%S")


def playground_routes(pages: Playground) -> list[Route]:
    return [
        Route("/playground", pages.page, methods=["GET"]),
        Route("/playground/feed", pages.feed, methods=["GET"]),
        Route("/playground/tweet", pages.tweet, methods=["POST"]),
        Route("/playground/dm", pages.dm, methods=["POST"]),
        Route("/playground/chat", pages.chat, methods=["POST"]),
        Route("/playground/app", pages.open_app, methods=["POST"]),
    ]
