"""What a handler decides to say: values the caller writes to the outbox.

Handlers return these; ``storage.outbox.enqueue`` persists them in the caller's transaction;
the outbox sender (``bot.outbox``) delivers them. A link is never put into the text: the text
holds a ``{link}`` placeholder and the link travels separately, so it can be sealed at rest.
"""

from __future__ import annotations

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


Outgoing = PublicReply | DirectMessage
