"""What the browser tests share: Debian's Chromium, its flags for this closed network, a phone
viewport, and the real web server on a free port in a thread (``conftest.py`` holds the
``chromium_path`` fixture, skipped only when no Chromium binary exists).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine

from bot.security import PinHasher
from bot.web.server import build_server
from config import load_settings

CHROMIUM = os.environ.get("TWEETPAY_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this
# machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
# A French phone: what every page is tried on (``browser.new_context(**PHONE_CONTEXT)``).
PHONE_CONTEXT: dict[str, Any] = {"viewport": PHONE, "device_scale_factor": 2,
                                 "is_mobile": True, "has_touch": True, "locale": "fr-FR"}

Live = tuple[str, Engine, PinHasher]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_live(sqlite_url: str, engine: Engine, *, public_host: str = "127.0.0.1",
               settings_overrides: dict[str, Any] | None = None, port: int | None = None,
               **app_kwargs: Any) -> Iterator[Live]:
    """The real server (bot.web.server) on a free port (or ``port``), in a thread, until the
    test ends. ``public_host="localhost"``: the public URL names a host, as WebAuthn
    requires."""
    port = port or free_port()
    settings = load_settings(
        database_url=sqlite_url, web_host="127.0.0.1", web_port=port,
        public_base_url=f"http://{public_host}:{port}", **(settings_overrides or {}),
    )
    hasher = PinHasher(settings.pin_pepper.get_secret_value())
    server = build_server(settings, pin_hasher=hasher, **app_kwargs)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://{public_host}:{port}", engine, hasher
    finally:
        server.should_exit = True
        thread.join(timeout=10)
