"""The emulator's world, in memory: users, tweets, DM events, credentials, faults, rate limits.

Every mutation goes through ``EmulatorState`` under one lock, and (when a state file is set)
is written through to that file atomically, so a sandbox survives a restart. Ids are
snowflake-like (milliseconds since X's epoch << 22 | sequence), strictly increasing, as strings;
times are epoch milliseconds, rendered as ISO 8601 with milliseconds (``...T12:00:00.000Z``).

Records live in ``records``, endpoint names and X's rate limits in ``endpoints``, faults and
rate-limit windows in ``limits``, the seeded sandbox in ``sandbox``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.emulator.activity import Activity
from bot.emulator.credentials import Credentials
from bot.emulator.endpoints import DEFAULT_RATE_LIMITS
from bot.emulator.entities import escape_text, extract_entities
from bot.emulator.limits import Limits
from bot.emulator.records import (
    TWITTER_EPOCH_MS,
    AccessToken,
    App,
    DmEvent,
    Fault,
    Refusal,
    Tweet,
    User,
    invalid_request,
)
from bot.x_meter import Meter


class EmulatorState(Limits, Credentials):
    """Thread-safe world of the emulator. The HTTP layer only calls these methods."""

    def __init__(self, state_file: str | os.PathLike[str] | None = None) -> None:
        self._lock = threading.RLock()
        self.state_file = Path(state_file) if state_file else None
        # Called as listener(kind, thing) after a tweet, a DM, a handle change or a revoked
        # authorisation: the X Activity API (``activity``) turns them into pushed events.
        self.listeners: list[Callable[[str, Any], None]] = []
        self._clear()
        self.activity = Activity(self)
        if self.state_file and self.state_file.exists():
            self._load(json.loads(self.state_file.read_text()))

    def _clear(self) -> None:
        self._last_id = 0
        self.meter = Meter(clock=self.now)  # what X would bill (``/_control/usage``)
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
        # X Chat: the server's world (ciphertext only) and the sandbox users' own apps.
        from bot.emulator.xchat_clients import ChatClients
        from bot.emulator.xchat_world import XChatWorld

        self.xchat = XChatWorld(self.now_ms)
        self.chat_clients = ChatClients(self.xchat)
        self.xchat.listeners.append(lambda kind, event, conv: self._emit("chat", (kind, event,
                                                                                  conv)))
        self.xchat_users: set[str] = set()  # users whose DMs X moved to X Chat

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
            before = user.username
            for key in ("username", "name", "accepts_dms", "description"):
                if key in changes and changes[key] is not None:
                    setattr(user, key, changes[key])
            self._save()
            if user.username != before:
                self._emit("handle", (user, before))
            return user

    def revoke(self, ref: str | int, consumer_key: str | None = None) -> str:
        """The user withdraws the app's access: their user tokens stop working."""
        with self._lock:
            user = self.require_user(ref)
            app = self.apps.get(consumer_key or "") or next(iter(self.apps.values()))
            self.bearer_tokens = {k: v for k, v in self.bearer_tokens.items() if v != user.id}
            self.refresh_tokens = {k: v for k, v in self.refresh_tokens.items() if v != user.id}
            self._save()
            self._emit("revoke", (user.id, app.client_id))
            return user.id

    def _emit(self, kind: str, thing: Any) -> None:
        for listener in list(self.listeners):
            listener(kind, thing)

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
        summoned_only: bool = False,
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
                if summoned_only and not self._summoned(author.id, parent):
                    # X (2026-02-23): an API reply needs the parent's author to have
                    # @mentioned or quoted the replying account in that post.
                    raise Refusal(
                        403,
                        "Forbidden",
                        "Reply to this conversation is not allowed because you have not been "
                        "mentioned or otherwise engaged by the author of the post you are "
                        "replying to.",
                    )
            if not text:
                raise invalid_request("text must not be empty", text=[text])
            if len(text) > 280 and not retweet_of:
                raise Refusal(
                    403,
                    "Forbidden",
                    "Your Tweet text is too long. For more information on "
                    "how X determines text length see https://github.com/twitter/twitter-text.",
                )
            if not retweet_of:
                text = escape_text(text)  # X serves it escaped (a retweet's already is)
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
            self._emit("tweet", tweet)
            return tweet

    def _summoned(self, user_id: str, parent: Tweet) -> bool:
        if parent.author_id == user_id:
            return True  # a thread of one's own
        if any(m.get("id") == user_id for m in parent.entities.get("mentions", [])):
            return True
        return any(ref["type"] == "quoted" and ref["id"] in self.tweets
                   and self.tweets[ref["id"]].author_id == user_id
                   for ref in parent.referenced_tweets)

    def tweets_by(self, user_id: str) -> list[Tweet]:
        """``user_id``'s own posts, newest first (X serves the latest 3,200)."""
        with self._lock:
            found = [t for t in self.tweets.values() if t.author_id == user_id]
        found.sort(key=lambda t: int(t.id), reverse=True)
        return found[:3200]

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
            self._emit("dm", event)
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

    # -- whole state -------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything except the state file location; the caller re-seeds."""
        with self._lock:
            self._clear()
            self.activity.clear()
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
