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
             "user_by_username", "user_by_id", "conversation_events", "user_tweets")


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

    def record(self, endpoint: str, response: requests.Response | None, *,
               limited: bool = False) -> None:
        """Keep what the headers say. ``limited`` (X answered 429): nothing is left until the
        reset, whatever ``x-rate-limit-remaining`` claims (X has been seen to send 429s with
        budget "left"); without a reset header, one minute is assumed."""
        headers = getattr(response, "headers", None) or {}
        try:
            remaining = int(headers["x-rate-limit-remaining"])
            limit = int(headers["x-rate-limit-limit"])
        except (KeyError, ValueError):
            remaining = limit = 0
            if not limited:
                return
        try:
            reset_at = dt.datetime.fromtimestamp(int(headers["x-rate-limit-reset"]), dt.UTC)
        except (KeyError, ValueError):
            if not limited:
                return
            reset_at = dt.datetime.fromtimestamp(self._clock() + 60, dt.UTC)
        if limited:
            remaining = 0
        budget = RateBudget(remaining=remaining, limit=limit, reset_at=reset_at)
        with self._lock:
            self._budgets[endpoint] = budget
