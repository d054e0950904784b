"""Rate-limit bookkeeping: what X's ``x-rate-limit-*`` headers said is left, per endpoint."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import requests

from bot.gateway.values import RateBudget
from handlers.errors import RateLimited

# The endpoint names budgets are kept under (``budget(name)``; /metrics lists each of them).
ENDPOINTS = ("users_me", "mentions", "dm_events", "create_tweet", "send_dm",
             "user_by_username", "user_by_id")


class Budgets:
    """The last budget X announced for each endpoint; refuses calls X would refuse anyway."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._budgets: dict[str, RateBudget] = {}

    def get(self, endpoint: str) -> RateBudget | None:
        with self._lock:
            return self._budgets.get(endpoint)

    def check(self, endpoint: str) -> None:
        """Raise ``RateLimited`` without calling X while a spent budget is not yet reset."""
        spent = self.get(endpoint)
        if spent and spent.remaining <= 0 and spent.reset_at.timestamp() > self._clock():
            raise RateLimited(f"{endpoint}: rate limit spent until the reset", spent.reset_at)

    def record(self, endpoint: str, response: requests.Response | None) -> None:
        headers = getattr(response, "headers", None) or {}
        try:
            budget = RateBudget(
                remaining=int(headers["x-rate-limit-remaining"]),
                limit=int(headers["x-rate-limit-limit"]),
                reset_at=dt.datetime.fromtimestamp(int(headers["x-rate-limit-reset"]), dt.UTC),
            )
        except (KeyError, ValueError):
            return
        with self._lock:
            self._budgets[endpoint] = budget
