"""tweepy's and requests' exceptions, translated into ``handlers.errors``."""

from __future__ import annotations

import contextlib
import datetime as dt

import requests
import tweepy

from handlers.errors import (
    AnswerLost,
    Forbidden,
    GatewayError,
    NotFound,
    RateLimited,
    TimedOut,
    Transient,
)


def translate(endpoint: str, exc: tweepy.HTTPException) -> GatewayError:
    response = exc.response
    status = getattr(response, "status_code", 0)
    detail = ""
    with contextlib.suppress(ValueError, AttributeError):
        detail = response.json().get("detail", "")
    message = f"{endpoint}: {status} {detail or '; '.join(exc.api_messages)}".strip()
    if isinstance(exc, tweepy.TooManyRequests):
        reset = getattr(exc, "reset_time", None)
        reset_at = dt.datetime.fromtimestamp(reset, dt.UTC) if reset else None
        return RateLimited(message, reset_at)
    if isinstance(exc, tweepy.Forbidden):
        return Forbidden(message)
    if isinstance(exc, tweepy.NotFound):
        return NotFound(message)
    if status >= 500:
        return Transient(message)
    return GatewayError(message)


def translate_transport(endpoint: str, exc: requests.RequestException) -> GatewayError:
    """No answer in time → ``TimedOut``; a connection lost after it was made →
    ``AnswerLost`` (both: X may have acted); no connection at all → ``Transient``."""
    if isinstance(exc, requests.Timeout):
        return TimedOut(f"{endpoint}: no answer in time ({exc.__class__.__name__})")
    message = f"{endpoint}: {exc.__class__.__name__}: {exc}"
    if isinstance(exc, requests.ConnectionError) and "new connection" not in str(exc):
        # Connected, then lost (reset, aborted): the request may have been acted on.
        return AnswerLost(message)
    return Transient(message)  # never connected (refused, DNS): X did nothing
