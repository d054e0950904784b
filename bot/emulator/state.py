"""The emulator's world, in memory: users, tweets, DM events, credentials, faults, rate limits.

Every mutation goes through ``EmulatorState`` under one lock, and (when a state file is set)
is written through to that file atomically, so a sandbox survives a restart. Ids are
snowflake-like (milliseconds since X's epoch << 22 | sequence), strictly increasing, as strings;
times are epoch milliseconds, rendered as ISO 8601 with milliseconds (``...T12:00:00.000Z``).

``seed_sandbox(state)`` creates the bot @Smoney and @alice, @bob, @carol, @ACF with fixed ids
and credentials that match the settings defaults (``config.settings``), so a sandbox bot
finds the emulator with no configuration at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.emulator.entities import extract_entities

TWITTER_EPOCH_MS = 1288834974657
FIFTEEN_MINUTES = 15 * 60
ONE_DAY = 24 * 60 * 60
FAULT_KINDS = ("429", "500", "503", "slow", "malformed", "reset")

# Endpoint names used by faults, rate limits and the gateway's budgets.
ENDPOINTS: dict[str, tuple[str, str]] = {
    "users_me": ("GET", "/2/users/me"),
    "user_by_username": ("GET", "/2/users/by/username/:username"),
    "user_by_id": ("GET", "/2/users/:id"),
    "mentions": ("GET", "/2/users/:id/mentions"),
    "create_tweet": ("POST", "/2/tweets"),
    "dm_events": ("GET", "/2/dm_events"),
    "send_dm": ("POST", "/2/dm_conversations/with/:participant_id/messages"),
    "oauth2_token": ("POST", "/2/oauth2/token"),
}
_ENDPOINT_PATTERNS = [
    (name, method, re.compile("^" + re.sub(r":\w+", r"[^/]+", path) + "$"))
    for name, (method, path) in ENDPOINTS.items()
]

# X's published per-user limits (docs/x-platform.md): (requests, window seconds), all apply.
DEFAULT_RATE_LIMITS: dict[str, list[tuple[int, int]]] = {
    "users_me": [(75, FIFTEEN_MINUTES)],
    "user_by_username": [(900, FIFTEEN_MINUTES)],
    "user_by_id": [(900, FIFTEEN_MINUTES)],
    "mentions": [(300, FIFTEEN_MINUTES)],
    "create_tweet": [(100, FIFTEEN_MINUTES), (10_000, ONE_DAY)],
    "dm_events": [(15, FIFTEEN_MINUTES)],
    "send_dm": [(15, FIFTEEN_MINUTES), (1_440, ONE_DAY)],
}


def endpoint_name(method: str, path: str) -> str | None:
    """Name of the emulated endpoint for a request line, e.g. ``mentions``; None if unknown."""
    for name, endpoint_method, pattern in _ENDPOINT_PATTERNS:
        if method == endpoint_method and pattern.match(path):
            return name
    return None


def resolve_endpoint(ref: str) -> str:
    """Accept ``mentions``, ``GET /2/users/:id/mentions`` or ``*``; return the name."""
    if ref == "*" or ref in ENDPOINTS:
        return ref
    for name, (method, path) in ENDPOINTS.items():
        if ref.strip() == f"{method} {path}":
            return name
    raise ValueError(f"unknown endpoint {ref!r}; one of {', '.join(ENDPOINTS)} or '*'")


def iso_ms(epoch_ms: int) -> str:
    """``2026-01-01T00:00:00.000Z``: the only timestamp shape tweepy parses."""
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


class Refusal(Exception):
    """An X API refusal: becomes an RFC 7807 problem body with this status."""

    def __init__(
        self, status: int, title: str, detail: str, problem_type: str = "about:blank", **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.body: dict[str, Any] = {
            "title": title,
            "detail": detail,
            "type": problem_type,
            "status": status,
            **extra,
        }


def invalid_request(message: str, **parameters: list[str]) -> Refusal:
    return Refusal(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        "https://api.twitter.com/2/problems/invalid-request",
        errors=[{"parameters": parameters, "message": message}],
    )


@dataclass
class User:
    id: str
    username: str
    name: str
    accepts_dms: bool = True
    description: str = ""
    created_at: int = 0


@dataclass
class Tweet:
    id: str
    author_id: str
    text: str
    created_at: int
    conversation_id: str
    entities: dict[str, Any] = field(default_factory=dict)
    in_reply_to_user_id: str | None = None
    referenced_tweets: list[dict[str, str]] = field(default_factory=list)


@dataclass
class DmEvent:
    id: str
    sender_id: str
    recipient_id: str
    text: str
    created_at: int
    dm_conversation_id: str
    event_type: str = "MessageCreate"


@dataclass
class Fault:
    endpoint: str  # an ENDPOINTS name or "*"
    kind: str  # one of FAULT_KINDS
    count: int = 1
    delay: float = 5.0  # seconds, for "slow"


@dataclass
class AccessToken:
    token: str
    secret: str
    user_id: str


@dataclass
class App:
    consumer_key: str
    consumer_secret: str
    client_id: str
    client_secret: str
    bearer_token: str


class EmulatorState:
    """Thread-safe world of the emulator. The HTTP layer only calls these methods."""

    def __init__(self, state_file: str | os.PathLike[str] | None = None) -> None:
        self._lock = threading.RLock()
        self.state_file = Path(state_file) if state_file else None
        self._clear()
        if self.state_file and self.state_file.exists():
            self._load(json.loads(self.state_file.read_text()))

    def _clear(self) -> None:
        self._last_id = 0
        self.clock_offset = 0.0  # seconds added to the wall clock (POST /_control/clock)
        self.users: dict[str, User] = {}
        self.tweets: dict[str, Tweet] = {}
        self.dms: dict[str, DmEvent] = {}
        self.apps: dict[str, App] = {}
        self.tokens: dict[str, AccessToken] = {}  # OAuth 1.0a access tokens
        self.bearer_tokens: dict[str, str] = {}  # OAuth 2.0 user tokens -> user id
        self.refresh_tokens: dict[str, str] = {}
        self.auth_codes: dict[str, dict[str, Any]] = {}
        self.bot_user_id: str | None = None
        self.faults: list[Fault] = []
        self.rate_limits: dict[str, list[tuple[int, int]]] = {
            k: list(v) for k, v in DEFAULT_RATE_LIMITS.items()
        }
        # (endpoint, subject, window) -> [window start, count]; not persisted.
        self._windows: dict[tuple[str, str, int], list[float]] = {}

    # -- time and ids ------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.clock_offset

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def advance_clock(self, seconds: float) -> None:
        with self._lock:
            self.clock_offset += seconds
            self._save()

    def next_id(self) -> str:
        with self._lock:
            candidate = (self.now_ms() - TWITTER_EPOCH_MS) << 22
            self._last_id = max(candidate, self._last_id + 1)
            return str(self._last_id)

    # -- users -------------------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        name: str | None = None,
        *,
        accepts_dms: bool = True,
        description: str = "",
        user_id: str | None = None,
    ) -> User:
        if not re.fullmatch(r"[A-Za-z0-9_]{1,15}", username):
            raise ValueError(f"not an X username: {username!r}")
        with self._lock:
            if self.find_user(username):
                raise ValueError(f"username taken: {username}")
            user = User(
                id=user_id or self.next_id(),
                username=username,
                name=name or username,
                accepts_dms=accepts_dms,
                description=description,
                created_at=self.now_ms(),
            )
            self.users[user.id] = user
            self._save()
            return user

    def find_user(self, ref: str | int) -> User | None:
        """By id, by username (case-insensitive, with or without ``@``)."""
        ref = str(ref)
        with self._lock:
            if ref in self.users:
                return self.users[ref]
            wanted = ref.lstrip("@").lower()
            return next((u for u in self.users.values() if u.username.lower() == wanted), None)

    def require_user(self, ref: str | int) -> User:
        user = self.find_user(ref)
        if user is None:
            raise KeyError(f"no such user: {ref}")
        return user

    def update_user(self, ref: str | int, **changes: Any) -> User:
        with self._lock:
            user = self.require_user(ref)
            new_name = changes.get("username")
            if new_name and new_name.lower() != user.username.lower() and self.find_user(new_name):
                raise ValueError(f"username taken: {new_name}")
            for key in ("username", "name", "accepts_dms", "description"):
                if key in changes and changes[key] is not None:
                    setattr(user, key, changes[key])
            self._save()
            return user

    # -- tweets ------------------------------------------------------------------------------

    def _resolve_username(self, name: str) -> str | None:
        user = self.find_user(name)
        return user.id if user else None

    def post_tweet(
        self,
        author_id: str,
        text: str,
        *,
        in_reply_to: str | None = None,
        quote_of: str | None = None,
        retweet_of: str | None = None,
        check_duplicate: bool = True,
    ) -> Tweet:
        with self._lock:
            author = self.require_user(author_id)
            referenced: list[dict[str, str]] = []
            in_reply_to_user_id = None
            if retweet_of:
                original = self._tweet(retweet_of, "retweet_of")
                original_author = self.users[original.author_id]
                text = f"RT @{original_author.username}: {original.text}"
                referenced.append({"type": "retweeted", "id": original.id})
            if quote_of:
                referenced.append({"type": "quoted", "id": self._tweet(quote_of, "quote").id})
            conversation_id = None
            if in_reply_to:
                parent = self._tweet(in_reply_to, "reply.in_reply_to_tweet_id")
                referenced.append({"type": "replied_to", "id": parent.id})
                in_reply_to_user_id = parent.author_id
                conversation_id = parent.conversation_id
            if not text:
                raise invalid_request("text must not be empty", text=[text])
            if len(text) > 280 and not retweet_of:
                raise Refusal(
                    403,
                    "Forbidden",
                    "Your Tweet text is too long. For more information on "
                    "how X determines text length see https://github.com/twitter/twitter-text.",
                )
            if check_duplicate and any(
                t.author_id == author.id and t.text == text and not retweet_of
                for t in self.tweets.values()
            ):
                raise Refusal(
                    403,
                    "Forbidden",
                    "You are not allowed to create a Tweet with duplicate content.",
                )
            tweet_id = self.next_id()
            tweet = Tweet(
                id=tweet_id,
                author_id=author.id,
                text=text,
                created_at=self.now_ms(),
                conversation_id=conversation_id or tweet_id,
                entities=extract_entities(text, self._resolve_username),
                in_reply_to_user_id=in_reply_to_user_id,
                referenced_tweets=referenced,
            )
            self.tweets[tweet.id] = tweet
            self._save()
            return tweet

    def _tweet(self, tweet_id: str, parameter: str) -> Tweet:
        tweet = self.tweets.get(str(tweet_id))
        if tweet is None:
            raise invalid_request(
                f"The tweet {tweet_id} does not exist.", **{parameter: [tweet_id]}
            )
        return tweet

    def mentions_of(self, user_id: str) -> list[Tweet]:
        """Tweets mentioning ``user_id``, newest first, capped at X's 800 reachable."""
        with self._lock:
            found = [
                t
                for t in self.tweets.values()
                if any(m.get("id") == user_id for m in t.entities.get("mentions", []))
            ]
        found.sort(key=lambda t: int(t.id), reverse=True)
        return found[:800]

    # -- direct messages ---------------------------------------------------------------------

    def send_dm(
        self, sender_id: str, recipient_id: str, text: str, *, enforce: bool = True
    ) -> DmEvent:
        with self._lock:
            sender = self.require_user(sender_id)
            recipient = self.require_user(recipient_id)
            if sender.id == recipient.id:
                raise Refusal(403, "Forbidden", "You cannot send a Direct Message to yourself.")
            if not text:
                raise invalid_request("text must not be empty", text=[text])
            if enforce and not self.can_dm(sender.id, recipient.id):
                raise Refusal(403, "Forbidden", "You cannot send messages to this user.")
            event = DmEvent(
                id=self.next_id(),
                sender_id=sender.id,
                recipient_id=recipient.id,
                text=text,
                created_at=self.now_ms(),
                dm_conversation_id="-".join(sorted((sender.id, recipient.id), key=int)),
            )
            self.dms[event.id] = event
            self._save()
            return event

    def can_dm(self, sender_id: str, recipient_id: str) -> bool:
        """X lets you DM someone whose DMs are open, or who has written to you."""
        recipient = self.users[recipient_id]
        return recipient.accepts_dms or any(
            e.sender_id == recipient_id and e.recipient_id == sender_id for e in self.dms.values()
        )

    def dm_events_of(self, user_id: str) -> list[DmEvent]:
        with self._lock:
            found = [e for e in self.dms.values() if user_id in (e.sender_id, e.recipient_id)]
        found.sort(key=lambda e: int(e.id), reverse=True)
        return found

    # -- credentials -------------------------------------------------------------------------

    def add_app(self, app: App) -> App:
        with self._lock:
            self.apps[app.consumer_key] = app
            self._save()
            return app

    def app_by_client_id(self, client_id: str) -> App | None:
        return next((a for a in self.apps.values() if a.client_id == client_id), None)

    def add_access_token(self, user_id: str, token: str, secret: str) -> AccessToken:
        if not token.startswith(f"{user_id}-"):
            raise ValueError("X access tokens start with '<user id>-'")
        with self._lock:
            self.tokens[token] = AccessToken(token=token, secret=secret, user_id=user_id)
            self._save()
            return self.tokens[token]

    def issue_bearer(self, user_id: str, token: str, refresh: str | None) -> None:
        with self._lock:
            self.bearer_tokens[token] = user_id
            if refresh:
                self.refresh_tokens[refresh] = user_id
            self._save()

    # -- faults and rate limits --------------------------------------------------------------

    def add_fault(self, endpoint: str, kind: str, count: int = 1, delay: float = 5.0) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = Fault(endpoint=resolve_endpoint(endpoint), kind=kind, count=count, delay=delay)
        with self._lock:
            self.faults.append(fault)
            return fault

    def take_fault(self, endpoint: str) -> Fault | None:
        """Consume one occurrence of the first fault aimed at ``endpoint`` (or ``*``)."""
        with self._lock:
            for fault in self.faults:
                if fault.endpoint in (endpoint, "*"):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return dataclasses.replace(fault)
            return None

    def set_rate_limit(self, endpoint: str, limit: int, window: int = FIFTEEN_MINUTES) -> None:
        name = resolve_endpoint(endpoint)
        with self._lock:
            self.rate_limits[name] = [(limit, window)]
            self._windows = {k: v for k, v in self._windows.items() if k[0] != name}

    def hit(self, endpoint: str, subject: str) -> tuple[bool, int, int, int]:
        """Count one call; return (allowed, limit, remaining, reset epoch seconds).

        Every window of the endpoint must have room; the headers describe the first window,
        unless another one is the one refusing.
        """
        with self._lock:
            now = self.now()
            limits = self.rate_limits.get(endpoint, [])
            if not limits:
                return True, 0, 0, 0
            states = []
            for limit, window in limits:
                slot = self._windows.setdefault((endpoint, subject, window), [now, 0])
                if now >= slot[0] + window:
                    slot[0], slot[1] = now, 0
                states.append((limit, window, slot))
            blocked = [s for s in states if s[2][1] >= s[0]]
            if blocked:
                limit, window, slot = blocked[0]
                return False, limit, 0, int(slot[0] + window)
            for _, _, slot in states:
                slot[1] += 1
            limit, window, slot = states[0]
            return True, limit, limit - int(slot[1]), int(slot[0] + window)

    # -- whole state -------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything except the state file location; the caller re-seeds."""
        with self._lock:
            self._clear()
            self._save()

    def bot_posts(self) -> dict[str, list[Any]]:
        """What the bot wrote: tweets and DMs, oldest first."""
        with self._lock:
            bot = self.bot_user_id
            tweets = sorted(
                (t for t in self.tweets.values() if t.author_id == bot), key=lambda t: int(t.id)
            )
            dms = sorted(
                (e for e in self.dms.values() if e.sender_id == bot), key=lambda e: int(e.id)
            )
            return {"tweets": tweets, "dms": dms}

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "last_id": self._last_id,
                "clock_offset": self.clock_offset,
                "bot_user_id": self.bot_user_id,
                "users": [dataclasses.asdict(u) for u in self.users.values()],
                "tweets": [dataclasses.asdict(t) for t in self.tweets.values()],
                "dms": [dataclasses.asdict(e) for e in self.dms.values()],
                "apps": [dataclasses.asdict(a) for a in self.apps.values()],
                "tokens": [dataclasses.asdict(t) for t in self.tokens.values()],
                "bearer_tokens": self.bearer_tokens,
                "refresh_tokens": self.refresh_tokens,
                "rate_limits": self.rate_limits,
            }

    def _load(self, data: dict[str, Any]) -> None:
        self._last_id = data.get("last_id", 0)
        self.clock_offset = data.get("clock_offset", 0.0)
        self.bot_user_id = data.get("bot_user_id")
        self.users = {u["id"]: User(**u) for u in data.get("users", [])}
        self.tweets = {t["id"]: Tweet(**t) for t in data.get("tweets", [])}
        self.dms = {e["id"]: DmEvent(**e) for e in data.get("dms", [])}
        self.apps = {a["consumer_key"]: App(**a) for a in data.get("apps", [])}
        self.tokens = {t["token"]: AccessToken(**t) for t in data.get("tokens", [])}
        self.bearer_tokens = dict(data.get("bearer_tokens", {}))
        self.refresh_tokens = dict(data.get("refresh_tokens", {}))
        limits = data.get("rate_limits") or {}
        self.rate_limits.update({k: [tuple(w) for w in v] for k, v in limits.items()})

    def _save(self) -> None:
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        os.replace(tmp, self.state_file)


# -- the sandbox -----------------------------------------------------------------------------

SANDBOX_BOT_ID = "1790000000000000001"
SANDBOX_USERS = (
    # (id, username, name, accepts DMs from the bot, description)
    ("1790000000000000002", "alice", "Alice", True, "Sandbox user"),
    ("1790000000000000003", "bob", "Bob", True, "Sandbox user"),
    ("1790000000000000004", "carol", "Carol", False, "Sandbox user whose DMs are closed"),
    ("1790000000000000005", "ACF", "Action contre la faim", True, "NGO (Pro account)"),
)


@dataclass(frozen=True)
class BotCredentials:
    """What the bot needs to talk to the emulator (or to X): OAuth 1.0a user context."""

    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str
    user_id: str = ""
    username: str = ""
    bearer_token: str = ""
    client_id: str = ""
    client_secret: str = ""

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def seed_sandbox(
    state: EmulatorState,
    *,
    consumer_key: str = "sandbox-consumer-key",
    consumer_secret: str = "sandbox-consumer-secret",
    client_id: str = "sandbox-client-id",
    client_secret: str = "sandbox-client-secret",
    bot_handle: str = "Smoney",
) -> BotCredentials:
    """Create the bot and the sandbox users (idempotent); return the bot's credentials.

    Ids and secrets are fixed and the consumer key/secret match the settings defaults, so a
    sandbox bot needs no configuration and a persisted sandbox keeps working after a restart.
    """
    with state._lock:
        if state.find_user(bot_handle) is None:
            state.add_user(bot_handle, "S-Money", user_id=SANDBOX_BOT_ID, description="The bot")
        bot = state.require_user(bot_handle)
        state.bot_user_id = bot.id
        for user_id, username, name, accepts_dms, description in SANDBOX_USERS:
            if state.find_user(username) is None and user_id not in state.users:
                state.add_user(
                    username,
                    name,
                    accepts_dms=accepts_dms,
                    description=description,
                    user_id=user_id,
                )
        app = state.apps.get(consumer_key) or state.add_app(
            App(
                consumer_key=consumer_key,
                consumer_secret=consumer_secret,
                client_id=client_id,
                client_secret=client_secret,
                bearer_token="sandbox-app-bearer-token",
            )
        )
        token = f"{bot.id}-sandbox-access-token"
        access = state.tokens.get(token) or state.add_access_token(
            bot.id, token, "sandbox-access-token-secret"
        )
        state._save()
        return BotCredentials(
            consumer_key=app.consumer_key,
            consumer_secret=app.consumer_secret,
            access_token=access.token,
            access_token_secret=access.secret,
            user_id=bot.id,
            username=bot.username,
            bearer_token=app.bearer_token,
            client_id=app.client_id,
            client_secret=app.client_secret,
        )
