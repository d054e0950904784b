"""What makes the tweetpay app installable: its manifest, its service worker (served from the
root, so that its scope is the whole app) and the offline page the worker shows."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.web.accounts import AccountWeb
from handlers.texts import translator

HERE = Path(__file__).resolve().parent


class Install:
    def __init__(self, web: AccountWeb) -> None:
        self.web = web

    async def manifest(self, request: Request) -> Response:
        lang = self.web.lang(request)
        t = translator(lang)
        icons = [{"src": f"/static/icons/icon-{n}.png", "sizes": f"{n}x{n}",
                  "type": "image/png", "purpose": "any maskable"} for n in (192, 512)]
        icons.append({"src": "/static/icons/icon.svg", "sizes": "any", "type": "image/svg+xml"})
        body = {"name": "tweetpay", "short_name": "tweetpay", "lang": lang,
                "description": t("app_description"), "start_url": "/", "scope": "/",
                "display": "standalone", "background_color": "#f2f4f7",
                "theme_color": "#1d9bf0", "icons": icons}
        return Response(json.dumps(body, ensure_ascii=False),
                        media_type="application/manifest+json")

    async def service_worker(self, request: Request) -> Response:
        # Served from the root so that its scope is the whole app.
        script = (HERE / "static" / "sw.js").read_text(encoding="utf-8")
        return Response(script, media_type="text/javascript",
                        headers={"Service-Worker-Allowed": "/"})

    async def offline(self, request: Request) -> Response:
        lang = self.web.lang(request)
        return self.web.render(request, "app_offline.html", lang=lang, title="app_offline_title")




def install_routes(web: AccountWeb) -> list[Route]:
    pages = Install(web)
    return [
        Route("/manifest.webmanifest", pages.manifest, methods=["GET"]),
        Route("/sw.js", pages.service_worker, methods=["GET"]),
        Route("/offline", pages.offline, methods=["GET"]),
    ]
