"""Where tweepy's requests go: ``HostRedirect`` swaps X's origin for ours, with a timeout."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

TWEEPY_API_ORIGIN = "https://api.twitter.com"
TWEEPY_AUTHORIZE_URL = "https://twitter.com/i/oauth2/authorize"
_X_HOSTS = {"api.twitter.com", "api.x.com"}


class _RetryResetReads(Retry):
    """Retry a read once after a reset connection, never after a timeout: a hung server must
    cost one timeout, not two."""

    # urllib3 types the keyword arguments one by one; this override only forwards them.
    def increment(self, *args: Any, **kwargs: Any) -> Retry:  # type: ignore[override]
        error = kwargs.get("error")
        if isinstance(error, ReadTimeoutError):
            raise error
        return super().increment(*args, **kwargs)


class HostRedirect(HTTPAdapter):
    """Send what tweepy addressed to ``https://api.twitter.com`` to ``base_url``, with a timeout."""

    def __init__(self, base_url: str, timeout: float, origin: str = TWEEPY_API_ORIGIN) -> None:
        # A server closes idle keep-alive connections; the next request on such a socket gets
        # a reset before anything was processed. Reads are retried once on that; posts never
        # (a DM or tweet must not go twice: the outbox decides what to do after an error).
        super().__init__(max_retries=_RetryResetReads(
            total=1, connect=1, read=1, status=0, redirect=0,
            allowed_methods=frozenset({"GET"}), raise_on_status=False,
        ))
        self.origin = origin
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, timeout: Any = None, **kwargs: Any
    ) -> requests.Response:
        url = request.url or ""
        if self.base_url != self.origin and url.startswith(self.origin):
            request = request.copy()
            request.url = self.base_url + url[len(self.origin) :]
        return super().send(request, timeout=self.timeout if timeout is None else timeout, **kwargs)


def redirects(base_url: str) -> bool:
    """True when ``base_url`` is not X itself (the emulator, a proxy): rewrite the origin."""
    return urlsplit(base_url).hostname not in _X_HOSTS
