"""``GET /2/activity/stream``: the X Activity API's alternative to webhooks.

Every event of every subscription of the app (with or without a ``webhook_id``) is written to
each open stream as one JSON envelope per line, the same envelope a webhook receives. X's
rules as the emulator keeps them: the app's Bearer token only, at most two connections per
app (a third is a 429), ``backfill_minutes`` (0-5) first re-sends what the app's streams
carried in that many minutes, and a ``\\r\\n`` keep-alive every 20 seconds of silence (X's
streams document one; the bot would reconnect after longer silence). Events written to a
stream are billed like pushed ones (once per event and UTC day). The bot itself receives by
webhook (docs/x-activity-api.md); the stream is here for completeness and tests. The route
is ``activity_api.stream``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from bot.emulator.records import Refusal

MAX_CONNECTIONS = 2
Item = tuple[dict[str, Any], str]  # (envelope, the resource it bills)
Listener = Callable[[Item], None]


class Streams:
    def __init__(self, now_ms: Callable[[], int]) -> None:
        self._now_ms = now_ms
        self._lock = threading.Lock()
        self._listeners: list[tuple[str, Listener]] = []
        self.backlog: deque[tuple[int, str, Item]] = deque(maxlen=10_000)

    def publish(self, app_key: str, body: dict[str, Any], resource_id: str) -> None:
        with self._lock:
            self.backlog.append((self._now_ms(), app_key, (body, resource_id)))
            listeners = [fn for app, fn in self._listeners if app == app_key]
        for fn in listeners:
            fn((body, resource_id))

    def open(self, app_key: str, fn: Listener) -> tuple[str, Listener]:
        with self._lock:
            if sum(app == app_key for app, _ in self._listeners) >= MAX_CONNECTIONS:
                raise Refusal(429, "Too Many Requests",
                              "This stream has reached its connection limit.",
                              "https://api.twitter.com/2/problems/streaming-connection")
            handle = (app_key, fn)
            self._listeners.append(handle)
            return handle

    def close(self, handle: tuple[str, Listener]) -> None:
        with self._lock:
            if handle in self._listeners:
                self._listeners.remove(handle)

    def since(self, app_key: str, start_ms: int) -> list[Item]:
        with self._lock:
            return [item for at, app, item in self.backlog if app == app_key and at >= start_ms]

    def clear(self) -> None:
        with self._lock:
            self.backlog.clear()
