"""Serve the web app with uvicorn (the Procfile's ``web`` process).

uvicorn's access log is off: its lines carry the request path, and ``/c/<token>`` is a
one-time capability that must never reach a log. ``bot.web.app`` logs each confirmation's
outcome and reference instead.
"""

from __future__ import annotations

from typing import Any

import uvicorn

from bot.web.app import create_app
from storage.db import make_engine, make_session_factory


def build_server(settings: Any, **app_kwargs: Any) -> uvicorn.Server:
    engine = make_engine(settings.sqlalchemy_url)
    app = create_app(settings, make_session_factory(engine), **app_kwargs)
    config = uvicorn.Config(
        app,
        host=settings.web_host,
        port=settings.web_port,
        access_log=False,
        log_config=None,  # keep the process's logging (bot.logging), no uvicorn handlers
        proxy_headers=True,
        server_header=False,
        # The app's live streams (/app/events) end on their own; do not wait for them.
        timeout_graceful_shutdown=3,
    )
    return uvicorn.Server(config)


def serve(settings: Any) -> None:
    """Run the web app until interrupted."""
    build_server(settings).run()
