"""The X gateway: the only module that imports tweepy.

``XGateway`` is the port the rest of the bot codes against (plain dataclasses in and out, no
tweepy type leaks); ``TweepyGateway`` implements it with ``tweepy.Client`` in OAuth 1.0a user
context; ``make_gateway(settings, base_url=..., credentials=...)`` builds one.

How the host is redirected: tweepy 4.17 hard-codes ``https://api.twitter.com`` and offers no
setting. ``HostRedirect``, a requests transport adapter, is mounted on the client's session
for that origin; its ``send()`` swaps the origin for ``base_url`` on a copy of the prepared
request, after tweepy has signed it (OAuth 1.0a signs the ``api.twitter.com`` URL, which the
emulator knows). The same adapter imposes ``timeout`` on every request, because tweepy passes
none and a hung server must not hang the bot. Pointing the bot at X is then configuration:
``TWEETPAY_X_API_BASE_URL=https://api.twitter.com`` (no rewrite, timeouts still applied).

Errors (``handlers.errors``): 429 → ``RateLimited(reset_at)``, 403 → ``Forbidden``,
404 → ``NotFound``, 5xx / connection reset / malformed JSON → ``Transient``, no answer within
the timeout → ``TimedOut``; 400 and 401 are bugs or bad credentials: ``GatewayError``.
Rate-limit headers of every answer are kept per endpoint (``budget()``); a call whose budget is
known to be spent raises ``RateLimited`` without touching the network until the reset time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from handlers.errors import Forbidden, GatewayError, NotFound, RateLimited, TimedOut, Transient

TWEEPY_API_ORIGIN = "https://api.twitter.com"
TWEEPY_AUTHORIZE_URL = "https://twitter.com/i/oauth2/authorize"
_X_HOSTS = {"api.twitter.com", "api.x.com"}
_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")

_TWEET_FIELDS = [
    "author_id",
    "conversation_id",
    "created_at",
    "entities",
    "in_reply_to_user_id",
    "referenced_tweets",
]
_DM_FIELDS = ["id", "text", "event_type", "created_at", "dm_conversation_id", "sender_id"]


# -- values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class XUser:
    id: int
    username: str
    name: str


@dataclass(frozen=True)
class ReferencedTweet:
    type: str  # "retweeted", "quoted" or "replied_to"
    id: str


@dataclass(frozen=True)
class Mention:
    """A tweet that mentions the bot. ``text`` and ``entities`` are exactly X's."""

    id: str
    author_id: int
    author_handle: str | None
    text: str
    entities: dict[str, Any]
    conversation_id: str | None
    in_reply_to_user_id: int | None
    referenced_tweets: tuple[ReferencedTweet, ...]
    created_at: dt.datetime | None

    @property
    def is_retweet(self) -> bool:
        return any(ref.type == "retweeted" for ref in self.referenced_tweets)


@dataclass(frozen=True)
class MentionBatch:
    mentions: list[Mention]  # oldest first
    newest_id: str | None  # the cursor to save; None when nothing new arrived


@dataclass(frozen=True)
class DmEvent:
    """A direct message someone sent to the bot (``MessageCreate``)."""

    id: str
    sender_id: int
    sender_handle: str | None
    text: str
    dm_conversation_id: str | None
    created_at: dt.datetime | None


@dataclass(frozen=True)
class RateBudget:
    remaining: int
    limit: int
    reset_at: dt.datetime


class HasCredentials(Protocol):
    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str


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


# -- the port ----------------------------------------------------------------------------------


class XGateway(ABC):
    """What the bot needs from X. Fakes for unit tests subclass this."""

    @abstractmethod
    def me(self) -> XUser: ...

    @abstractmethod
    def mentions(self, since_id: str | None, *, max_pages: int | None = None) -> MentionBatch:
        """Every mention newer than ``since_id`` (all pages), oldest first."""

    @abstractmethod
    def dm_events(
        self, until_event_id: str | None, *, max_pages: int | None = None
    ) -> list[DmEvent]:
        """DMs sent to the bot newer than ``until_event_id``, oldest first."""

    @abstractmethod
    def reply(self, in_reply_to_tweet_id: str, text: str) -> str:
        """Post a reply; return the new tweet id."""

    @abstractmethod
    def post(self, text: str) -> str:
        """Post a tweet; return its id."""

    @abstractmethod
    def send_dm(self, recipient_id: int | str, text: str) -> str:
        """Send a direct message; return the DM event id."""

    @abstractmethod
    def user_by_handle(self, handle: str) -> XUser | None: ...

    @abstractmethod
    def user_by_id(self, user_id: int | str) -> XUser | None: ...

    @abstractmethod
    def recent_dm_texts(self, recipient_id: int | str) -> list[str]:
        """Texts of the DMs the bot itself sent to ``recipient_id`` lately (first page only):
        the outbox uses it after a crash to tell a sent DM from a lost one."""

    def budget(self, endpoint: str) -> RateBudget | None:
        """What X said is left for ``endpoint`` (e.g. ``send_dm``); None if not known yet."""
        return None


# -- transport ---------------------------------------------------------------------------------


class _RetryResetReads(Retry):
    """Retry a read once after a reset connection, never after a timeout: a hung server must
    cost one timeout, not two."""

    def increment(self, *args: Any, **kwargs: Any) -> Retry:
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


def _redirects(base_url: str) -> bool:
    return urlsplit(base_url).hostname not in _X_HOSTS


# -- the tweepy implementation -----------------------------------------------------------------


class TweepyGateway(XGateway):
    def __init__(
        self,
        client: tweepy.Client,
        *,
        user_cache_ttl: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._user_id = int(str(client.access_token).partition("-")[0])
        self._ttl = user_cache_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._budgets: dict[str, RateBudget] = {}
        self._users: dict[str, tuple[float, XUser]] = {}
        self._me: XUser | None = None

    # -- plumbing --

    @property
    def session(self) -> requests.Session:
        """The HTTP session under tweepy (tests hook it to see every answer)."""
        return self._client.session

    def budget(self, endpoint: str) -> RateBudget | None:
        with self._lock:
            return self._budgets.get(endpoint)

    def _record(self, endpoint: str, response: requests.Response | None) -> None:
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

    def _call(self, endpoint: str, method: Callable[..., Any], **params: Any) -> dict[str, Any]:
        spent = self.budget(endpoint)
        if spent and spent.remaining <= 0 and spent.reset_at.timestamp() > self._clock():
            raise RateLimited(f"{endpoint}: rate limit spent until the reset", spent.reset_at)
        try:
            response: requests.Response = method(**params)
        except tweepy.HTTPException as exc:
            self._record(endpoint, exc.response)
            raise _translate(endpoint, exc) from exc
        except requests.Timeout as exc:
            raise TimedOut(f"{endpoint}: no answer in time ({exc.__class__.__name__})") from exc
        except requests.RequestException as exc:
            raise Transient(f"{endpoint}: {exc.__class__.__name__}: {exc}") from exc
        self._record(endpoint, response)
        try:
            body = response.json()
        except ValueError as exc:
            raise Transient(f"{endpoint}: malformed JSON from X") from exc
        if not isinstance(body, dict):
            raise Transient(f"{endpoint}: unexpected JSON from X")
        return body

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

    # -- the port --

    def me(self) -> XUser:
        if self._me is None:
            body = self._call("users_me", self._client.get_me, user_auth=True)
            self._me = self._remember(_user(body["data"]))
        return self._me

    def mentions(self, since_id: str | None, *, max_pages: int | None = None) -> MentionBatch:
        found: dict[str, Mention] = {}
        newest: str | None = None
        token: str | None = None
        pages = 0
        while True:
            body = self._call(
                "mentions",
                self._client.get_users_mentions,
                id=self._user_id,
                user_auth=True,
                since_id=since_id,
                pagination_token=token,
                max_results=100,
                expansions=["author_id"],
                tweet_fields=_TWEET_FIELDS,
                user_fields=["username"],
            )
            meta = body.get("meta", {})
            if newest is None and meta.get("newest_id"):
                newest = meta["newest_id"]
            handles = self._handles(body)
            for item in body.get("data", []):
                found[item["id"]] = _mention(item, handles)
            pages += 1
            token = meta.get("next_token")
            if not token or (max_pages is not None and pages >= max_pages):
                break
        ordered = sorted(found.values(), key=lambda m: int(m.id))
        return MentionBatch(mentions=ordered, newest_id=newest)

    def dm_events(
        self, until_event_id: str | None, *, max_pages: int | None = None
    ) -> list[DmEvent]:
        floor = int(until_event_id) if until_event_id else None
        found: dict[str, DmEvent] = {}
        token: str | None = None
        pages = 0
        while True:
            body = self._call(
                "dm_events",
                self._client.get_direct_message_events,
                user_auth=True,
                pagination_token=token,
                max_results=100,
                event_types=["MessageCreate"],
                dm_event_fields=_DM_FIELDS,
                expansions=["sender_id"],
                user_fields=["username"],
            )
            handles = self._handles(body)
            reached = False
            for item in body.get("data", []):
                if floor is not None and int(item["id"]) <= floor:
                    reached = True
                    break
                if item.get("event_type") != "MessageCreate" or "sender_id" not in item:
                    continue
                if int(item["sender_id"]) == self._user_id:
                    continue  # the bot's own messages
                found[item["id"]] = _dm(item, handles)
            pages += 1
            token = body.get("meta", {}).get("next_token")
            if reached or not token or (max_pages is not None and pages >= max_pages):
                break
        return sorted(found.values(), key=lambda e: int(e.id))

    def recent_dm_texts(self, recipient_id: int | str) -> list[str]:
        body = self._call(
            "dm_events",
            self._client.get_direct_message_events,
            user_auth=True,
            max_results=100,
            event_types=["MessageCreate"],
            dm_event_fields=_DM_FIELDS,
        )
        pair = "-".join(str(i) for i in sorted((int(self._user_id), int(recipient_id))))
        return [
            item.get("text", "")
            for item in body.get("data", [])
            if str(item.get("sender_id")) == str(self._user_id)
            and item.get("dm_conversation_id") == pair
        ]

    def reply(self, in_reply_to_tweet_id: str, text: str) -> str:
        body = self._call(
            "create_tweet",
            self._client.create_tweet,
            text=text,
            in_reply_to_tweet_id=in_reply_to_tweet_id,
            user_auth=True,
        )
        return str(body["data"]["id"])

    def post(self, text: str) -> str:
        body = self._call("create_tweet", self._client.create_tweet, text=text, user_auth=True)
        return str(body["data"]["id"])

    def send_dm(self, recipient_id: int | str, text: str) -> str:
        body = self._call(
            "send_dm",
            self._client.create_direct_message,
            participant_id=str(recipient_id),
            text=text,
            user_auth=True,
        )
        return str(body["data"]["dm_event_id"])

    def user_by_handle(self, handle: str) -> XUser | None:
        handle = handle.lstrip("@")
        if not _HANDLE.fullmatch(handle):
            return None
        cached = self._cached(f"handle:{handle.lower()}")
        if cached:
            return cached
        body = self._call(
            "user_by_username", self._client.get_user, username=handle, user_auth=True
        )
        return self._remember(_user(body["data"])) if "data" in body else None

    def user_by_id(self, user_id: int | str) -> XUser | None:
        cached = self._cached(f"id:{int(user_id)}")
        if cached:
            return cached
        body = self._call("user_by_id", self._client.get_user, id=str(user_id), user_auth=True)
        return self._remember(_user(body["data"])) if "data" in body else None

    def _handles(self, body: dict[str, Any]) -> dict[str, str]:
        users = body.get("includes", {}).get("users", [])
        for item in users:
            self._remember(_user(item))
        return {u["id"]: u["username"] for u in users}


def _translate(endpoint: str, exc: tweepy.HTTPException) -> GatewayError:
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


def _parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _user(item: dict[str, Any]) -> XUser:
    return XUser(id=int(item["id"]), username=item["username"], name=item.get("name", ""))


def _mention(item: dict[str, Any], handles: dict[str, str]) -> Mention:
    reply_to = item.get("in_reply_to_user_id")
    return Mention(
        id=item["id"],
        author_id=int(item["author_id"]),
        author_handle=handles.get(item["author_id"]),
        text=item["text"],
        entities=item.get("entities", {}),
        conversation_id=item.get("conversation_id"),
        in_reply_to_user_id=int(reply_to) if reply_to else None,
        referenced_tweets=tuple(
            ReferencedTweet(type=ref["type"], id=ref["id"])
            for ref in item.get("referenced_tweets", [])
        ),
        created_at=_parse_time(item.get("created_at")),
    )


def _dm(item: dict[str, Any], handles: dict[str, str]) -> DmEvent:
    return DmEvent(
        id=item["id"],
        sender_id=int(item["sender_id"]),
        sender_handle=handles.get(item["sender_id"]),
        text=item.get("text", ""),
        dm_conversation_id=item.get("dm_conversation_id"),
        created_at=_parse_time(item.get("created_at")),
    )


# -- building ----------------------------------------------------------------------------------


def make_gateway(
    settings: Any,
    *,
    base_url: str | None = None,
    credentials: HasCredentials | None = None,
    timeout: float | None = None,
    user_cache_ttl: float = 300.0,
    clock: Callable[[], float] = time.time,
) -> TweepyGateway:
    """A gateway for ``base_url`` (default ``settings.x_api_base_url``) with the bot's keys.

    ``clock`` (epoch seconds) decides when a spent budget is over; pass the emulator's clock
    (``state.now``) in tests that move it forward.
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
    target = base_url if _redirects(base_url) else TWEEPY_API_ORIGIN
    adapter = HostRedirect(target, timeout or settings.x_timeout_seconds)
    client.session.mount(TWEEPY_API_ORIGIN, adapter)
    return TweepyGateway(client, user_cache_ttl=user_cache_ttl, clock=clock)


# -- account linking (OAuth 2.0 authorization code with PKCE) ------------------------------------


@dataclass(frozen=True)
class LinkStart:
    authorize_url: str  # send the user's browser here
    state: str  # keep both server-side until the callback
    code_verifier: str = field(repr=False)


class AccountLink:
    """Prove which X account a person holds: the PKCE flow, then ``GET /2/users/me``."""

    def __init__(
        self,
        settings: Any,
        *,
        redirect_uri: str,
        base_url: str | None = None,
        scopes: tuple[str, ...] = ("tweet.read", "users.read"),
        timeout: float | None = None,
    ) -> None:
        self._base_url = (base_url or settings.x_api_base_url).rstrip("/")
        self._client_id = settings.x_client_id
        self._client_secret = settings.x_client_secret.get_secret_value() or None
        self._redirect_uri = redirect_uri
        self._scopes = list(scopes)
        self._timeout = timeout or settings.x_timeout_seconds

    def _handler(self) -> tweepy.OAuth2UserHandler:
        handler = tweepy.OAuth2UserHandler(
            client_id=self._client_id,
            redirect_uri=self._redirect_uri,
            scope=self._scopes,
            client_secret=self._client_secret,
        )
        handler.mount(TWEEPY_API_ORIGIN, HostRedirect(self._base_url, self._timeout))
        return handler

    def start(self) -> LinkStart:
        handler = self._handler()
        url = handler.get_authorization_url()
        if _redirects(self._base_url):
            url = self._base_url + "/i/oauth2/authorize" + url[len(TWEEPY_AUTHORIZE_URL) :]
        return LinkStart(url, handler._state, handler._client.code_verifier)

    def finish(self, callback_url: str, state: str, code_verifier: str) -> XUser:
        """Exchange the code in ``callback_url`` and return the account that approved."""
        handler = self._handler()
        handler._state = state
        handler._client.code_verifier = code_verifier
        # oauthlib refuses a plain-http callback; only its query (code, state) is read here.
        secure = "https://" + callback_url.split("://", 1)[-1]
        try:
            token = handler.fetch_token(secure)
        except requests.Timeout as exc:
            raise TimedOut("oauth2_token: no answer in time") from exc
        except requests.RequestException as exc:
            raise Transient(f"oauth2_token: {exc}") from exc
        except Exception as exc:  # oauthlib: state mismatch, access_denied, invalid_grant
            raise Forbidden(f"oauth2_token: {exc.__class__.__name__}") from exc
        client = tweepy.Client(bearer_token=token["access_token"], return_type=requests.Response)
        client.session.mount(TWEEPY_API_ORIGIN, HostRedirect(self._base_url, self._timeout))
        try:
            response = client.get_me(user_auth=False)
        except tweepy.HTTPException as exc:
            raise _translate("users_me", exc) from exc
        except requests.Timeout as exc:
            raise TimedOut("users_me: no answer in time") from exc
        except requests.RequestException as exc:
            raise Transient(f"users_me: {exc}") from exc
        return _user(response.json()["data"])
