"""What every tweepy call shares: the budget check, error translation, JSON, the user cache."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests
import tweepy

from bot.gateway.budgets import Budgets
from bot.gateway.errors import translate, translate_transport
from bot.gateway.values import RateBudget, XUser, parse_user
from bot.x_meter import (
    MANAGE_ENDPOINTS,
    READ_ENDPOINTS,
    Meter,
    count_in_prometheus,
    post_operation,
    read_usage,
)
from handlers.errors import AnswerLost


class GatewayCore:
    def __init__(
        self,
        client: tweepy.Client,
        *,
        user_cache_ttl: float = 300.0,
        clock: Callable[[], float] = time.time,
        meter: Meter | None = None,
    ) -> None:
        self._client = client
        self.meter = meter or Meter(clock=clock, on_record=count_in_prometheus)
        self._user_id = int(str(client.access_token).partition("-")[0])
        self._ttl = user_cache_ttl
        self._lock = threading.Lock()
        self._budgets = Budgets(clock)
        self._users: dict[str, tuple[float, XUser]] = {}

    @property
    def session(self) -> requests.Session:
        """The HTTP session under tweepy (tests hook it to see every answer)."""
        return self._client.session

    def budget(self, endpoint: str) -> RateBudget | None:
        return self._budgets.get(endpoint)

    def _call(self, endpoint: str, method: Callable[..., Any], **params: Any) -> dict[str, Any]:
        self._budgets.check(endpoint)
        try:
            response: requests.Response = method(**params)
        except tweepy.HTTPException as exc:
            self._budgets.record(endpoint, exc.response,
                                 limited=isinstance(exc, tweepy.TooManyRequests))
            raise translate(endpoint, exc) from exc
        except requests.RequestException as exc:
            raise translate_transport(endpoint, exc) from exc
        self._budgets.record(endpoint, response)
        try:
            body = response.json()
        except ValueError as exc:
            raise AnswerLost(f"{endpoint}: malformed JSON from X") from exc
        if not isinstance(body, dict):
            raise AnswerLost(f"{endpoint}: unexpected JSON from X")
        self._meter_call(endpoint, params, body)
        return body

    def _meter_call(self, endpoint: str, params: dict[str, Any], body: dict[str, Any]) -> None:
        """Count what X bills for this answered call (the emulator counts the same way)."""
        if endpoint in READ_ENDPOINTS:
            # The bot reads only its own mentions: owned reads, if its account owns the app.
            for operation, ids, is_request in read_usage(endpoint, body, owned=True):
                self.meter.record(operation, ids, request=is_request)
        elif endpoint == "create_tweet":
            reply = params.get("in_reply_to_tweet_id") is not None
            self.meter.record(post_operation(str(params.get("text", "")), in_reply_to=reply))
        elif endpoint == "send_dm":
            self.meter.record("dm_create")
        elif endpoint in MANAGE_ENDPOINTS:
            self.meter.record(MANAGE_ENDPOINTS[endpoint])

    def _pages(
        self, endpoint: str, method: Callable[..., Any], max_pages: int | None, **params: Any
    ) -> Iterator[dict[str, Any]]:
        """Each page's body, following ``meta.next_token``; the caller may stop early."""
        token: str | None = None
        pages = 0
        while True:
            body = self._call(endpoint, method, pagination_token=token, **params)
            yield body
            pages += 1
            token = body.get("meta", {}).get("next_token")
            if not token or (max_pages is not None and pages >= max_pages):
                return

    def _remember(self, user: XUser) -> XUser:
        expires = time.monotonic() + self._ttl
        with self._lock:
            self._users[f"id:{user.id}"] = (expires, user)
            self._users[f"handle:{user.username.lower()}"] = (expires, user)
        return user

    def _cached(self, key: str) -> XUser | None:
        with self._lock:
            hit = self._users.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        return None

    def _handles(self, body: dict[str, Any]) -> dict[str, str]:
        """Usernames of the ``includes.users`` expansion by id (and cache those users)."""
        users = body.get("includes", {}).get("users", [])
        for item in users:
            self._remember(parse_user(item))
        return {u["id"]: u["username"] for u in users}
