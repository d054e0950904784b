"""What a handler decides to say: values the caller writes to the outbox.

Handlers return these; ``storage.outbox.enqueue`` persists them in the caller's transaction;
the outbox sender (``bot.outbox``) delivers them. A link is never put into the text: the text
holds a ``{link}`` placeholder and the link travels separately, so it can be sealed at rest.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

# Lower is sent first: a confirmation link is useless once its 10 minutes are gone.
PRIORITY_LINK = 10
PRIORITY_ALERT = 20
PRIORITY_REPLY = 30
PRIORITY_NOTICE = 50
PRIORITY_RECEIPT = 70

LINK_PLACEHOLDER = "{link}"


@dataclass(frozen=True, slots=True)
class PublicReply:
    """A reply in the thread of ``in_reply_to_tweet_id`` (never carries a link, but the DM
    fallback of a confirmation link, see docs/design.md)."""

    dedupe_key: str
    in_reply_to_tweet_id: str
    text: str
    priority: int = PRIORITY_REPLY
    link: str | None = None
    intent_id: int | None = None


@dataclass(frozen=True, slots=True)
class DirectMessage:
    dedupe_key: str
    recipient_x_user_id: int
    text: str
    priority: int = PRIORITY_NOTICE
    link: str | None = None
    intent_id: int | None = None
    # Where to fall back to when DMs are closed (a public reply in this thread), if allowed.
    fallback_tweet_id: str | None = None
    # Sent no sooner than this after the decision (the link that follows an unseen push).
    delay_seconds: int = 0


@dataclass(frozen=True, slots=True)
class PushNotice:
    """A Web Push to the recipient's app devices (``bot.push_sender``). It never carries a
    link token or a secret: it says what happened and opens the app."""

    dedupe_key: str
    recipient_x_user_id: int
    title: str
    body: str
    priority: int = PRIORITY_NOTICE
    intent_id: int | None = None
    about_new_intent: bool = False  # the intent being created now: its id is filled in then
    url: str = "/"
    link: None = None  # a push has no link, by construction

    @property
    def text(self) -> str:
        """The payload the service worker shows (encrypted for the device, RFC 8291)."""
        tag = f"intent-{self.intent_id}" if self.intent_id else self.dedupe_key
        return json.dumps({"title": self.title, "body": self.body, "url": self.url,
                           "tag": tag}, ensure_ascii=False, separators=(",", ":"))


Outgoing = PublicReply | DirectMessage | PushNotice


def event_code(tweet_id: str) -> str:
    """A short code of the mention a public reply answers (5 base32 characters).

    X refuses a post identical to an earlier one of the account's, so a fixed reply ("help",
    "not recognised", "DM only"…) would reach only the first person to ask. A reply that
    carries no reference of its own ends with this code: unique to its event, stable across
    retries, and it quotes nothing the user wrote."""
    digest = hashlib.sha256(f"tweet:{tweet_id}".encode()).digest()
    return base64.b32encode(digest).decode()[:5]


def unique_public_text(text: str, tweet_id: str) -> str:
    return f"{text} · {event_code(tweet_id)}"
