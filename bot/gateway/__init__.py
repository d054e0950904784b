"""The X gateway: the only package that imports tweepy.

``XGateway`` (``port``) is what the rest of the bot codes against (plain dataclasses in and
out, ``values``; no tweepy type leaks); ``TweepyGateway`` (``client``) implements it with
``tweepy.Client`` in OAuth 1.0a user context, its reads in ``reads`` and its writes in
``writes``; ``make_gateway(settings, base_url=..., credentials=...)`` builds one.

How the host is redirected (``transport``): tweepy 4.17 hard-codes ``https://api.twitter.com``
and offers no setting. ``HostRedirect``, a requests transport adapter, is mounted on the
client's session for that origin; its ``send()`` swaps the origin for ``base_url`` on a copy of
the prepared request, after tweepy has signed it (OAuth 1.0a signs the ``api.twitter.com``
URL, which the emulator knows). The same adapter imposes ``timeout`` on every request, because
tweepy passes none and a hung server must not hang the bot. Pointing the bot at X is then
configuration: ``TWEETPAY_X_API_BASE_URL=https://api.twitter.com`` (no rewrite, timeouts
still applied).

Errors (``errors``, into ``handlers.errors``): 429 → ``RateLimited(reset_at)``,
403 → ``Forbidden``, 404 → ``NotFound``, 5xx / connection reset / malformed JSON →
``Transient``, no answer within the timeout → ``TimedOut``; 400 and 401 are bugs or bad
credentials: ``GatewayError``. Rate-limit headers of every answer are kept per endpoint
(``budgets``, read with ``budget()``); a call whose budget is known to be spent raises
``RateLimited`` without touching the network until the reset time.

``AccountLink`` (``account_link``) proves which X account a person holds (OAuth 2.0 PKCE).
"""

from bot.gateway.account_link import AccountLink, LinkStart
from bot.gateway.client import Credentials, HasCredentials, TweepyGateway, make_gateway
from bot.gateway.port import XGateway
from bot.gateway.transport import TWEEPY_API_ORIGIN, TWEEPY_AUTHORIZE_URL, HostRedirect
from bot.gateway.values import (
    DmEvent,
    Mention,
    MentionBatch,
    RateBudget,
    ReferencedTweet,
    SentMessage,
    XUser,
)

__all__ = [
    "TWEEPY_API_ORIGIN",
    "TWEEPY_AUTHORIZE_URL",
    "AccountLink",
    "Credentials",
    "DmEvent",
    "HasCredentials",
    "HostRedirect",
    "LinkStart",
    "Mention",
    "MentionBatch",
    "RateBudget",
    "ReferencedTweet",
    "SentMessage",
    "TweepyGateway",
    "XGateway",
    "XUser",
    "make_gateway",
]
