"""What every page family (confirmation, sign-up and account) shares: the templates, the
page context, and the cross-site check on every POST."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from bot.web.i18n import page_context
from handlers.money import Lang

HERE = Path(__file__).resolve().parent


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

    def template_page(self, request: Request, template: str, *, lang: Lang, title: str,
                      status: int = 200, headers: dict[str, str] | None = None,
                      **context: Any) -> Response:
        """``template`` with the common context (``bot.web.i18n.page_context``) and ours."""
        ctx: dict[str, Any] = {
            **page_context(request, lang, title, self.settings.bot_handle), **context}
        return self.templates.TemplateResponse(request, template, ctx, status_code=status,
                                               headers=headers)

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
