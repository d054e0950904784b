"""``TweepyGateway``: the port implemented with ``tweepy.Client``; ``make_gateway`` builds one."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
import tweepy

from bot.gateway.activity import ActivityCalls
from bot.gateway.lookups import Lookups
from bot.gateway.port import XGateway
from bot.gateway.reads import Reads
from bot.gateway.transport import TWEEPY_API_ORIGIN, HostRedirect, redirects
from bot.gateway.writes import Writes
from bot.x_meter import Meter


class HasCredentials(Protocol):
    @property
    def consumer_key(self) -> str: ...
    @property
    def consumer_secret(self) -> str: ...
    @property
    def access_token(self) -> str: ...
    @property
    def access_token_secret(self) -> str: ...


@dataclass(frozen=True)
class Credentials:
    """OAuth 1.0a user-context credentials of the bot account."""

    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str = field(repr=False)

    @classmethod
    def from_settings(cls, settings: Any) -> Credentials:
        return cls(
            consumer_key=settings.x_consumer_key.get_secret_value(),
            consumer_secret=settings.x_consumer_secret.get_secret_value(),
            access_token=settings.x_access_token.get_secret_value(),
            access_token_secret=settings.x_access_token_secret.get_secret_value(),
        )


class TweepyGateway(Reads, Writes, ActivityCalls, Lookups, XGateway):
    """Reads and writes over one ``tweepy.Client`` (OAuth 1.0a user context)."""


def make_gateway(
    settings: Any,
    *,
    base_url: str | None = None,
    credentials: HasCredentials | None = None,
    timeout: float | None = None,
    user_cache_ttl: float = 300.0,
    clock: Callable[[], float] = time.time,
    meter: Meter | None = None,
) -> TweepyGateway:
    """A gateway for ``base_url`` (default ``settings.x_api_base_url``) with the bot's keys.

    ``clock`` (epoch seconds) decides when a spent budget is over; pass the emulator's clock
    (``state.now``) in tests that move it forward. ``meter`` counts the bot's X usage
    (default: a fresh one that also feeds the Prometheus counters).
    """
    base_url = base_url or settings.x_api_base_url
    if not base_url:
        raise ValueError("no X API base URL: start the emulator or set TWEETPAY_X_API_BASE_URL")
    creds = credentials or Credentials.from_settings(settings)
    client = tweepy.Client(
        consumer_key=creds.consumer_key,
        consumer_secret=creds.consumer_secret,
        access_token=creds.access_token,
        access_token_secret=creds.access_token_secret,
        return_type=requests.Response,
        wait_on_rate_limit=False,  # the outbox paces itself from budget(); never sleep here
    )
    # X itself is reached as tweepy addresses it: signatures cover https://api.twitter.com.
    target = base_url if redirects(base_url) else TWEEPY_API_ORIGIN
    adapter = HostRedirect(target, timeout or settings.x_timeout_seconds)
    client.session.mount(TWEEPY_API_ORIGIN, adapter)
    return TweepyGateway(client, user_cache_ttl=user_cache_ttl, clock=clock, meter=meter)
