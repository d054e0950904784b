"""What every page family (confirmation, sign-up and account) shares: the templates, the
page context, and the cross-site check on every POST."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from bot.web.i18n import LANG_COOKIE, LANG_COOKIE_SECONDS, chosen_lang, page_context
from handlers.money import Lang
from handlers.times import datetime_text

HERE = Path(__file__).resolve().parent


def retry_after(until: dt.datetime, now: dt.datetime) -> str:
    """``Retry-After`` until ``until`` (a lock's end): whole seconds, rounded up, at least 1."""
    return str(max(math.ceil((until - now).total_seconds()), 1))


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class PageBase:
    """Templates from ``bot/web/templates`` (autoescaped) and the site's own origin."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        # auto_reload off: the templates never change under a running process, and checking
        # would cost a stat() per template (three) on every page.
        env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                          auto_reload=False)
        self.templates = Jinja2Templates(env=env)
        self.allowed_origins = {origin_of(settings.public_base_url)}
        # Cookies (the session's, bot.web.accounts; the language's) are Secure unless the
        # sandbox runs on plain http.
        self.secure_cookies = (settings.env != "sandbox"
                               or urlsplit(settings.public_base_url).scheme == "https")

    def template_page(self, request: Request, template: str, *, lang: Lang, title: str,
                      status: int = 200, headers: dict[str, str] | None = None,
                      **context: Any) -> Response:
        """``template`` with the common context (``bot.web.i18n.page_context``) and ours."""
        ctx: dict[str, Any] = {
            **page_context(request, lang, title, self.settings.bot_handle), **context}
        response = self.templates.TemplateResponse(request, template, ctx, status_code=status,
                                                   headers=headers)
        chosen = chosen_lang(request)
        if chosen is not None and request.cookies.get(LANG_COOKIE) != chosen:
            response.set_cookie(LANG_COOKIE, chosen, max_age=LANG_COOKIE_SECONDS, path="/",
                                secure=self.secure_cookies, httponly=True, samesite="lax")
        return response

    def when(self, moment: dt.datetime, lang: Lang) -> str:
        """A date and time in the users' time zone (settings timezone), in ``lang``."""
        return datetime_text(moment, lang, self.settings.timezone)

    def cross_site(self, request: Request) -> bool:
        """A POST from another site (Fetch metadata, else the Origin header): refused."""
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return True
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return False
        origin = origin.lower()
        if origin in self.allowed_origins:  # the usual case: no URL to build
            return False
        return origin != f"{request.url.scheme}://{request.url.netloc}".lower()
