"""What a decision reads and writes (``handlers.decide``): the inbound event, the facts
loaded for it, and the decision with the intent, link token and messages it makes. Frozen
values only; ``handlers.decide`` re-exports them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from handlers.money import Lang, Money
from handlers.outcomes import Outgoing
from handlers.times import DEFAULT_TIMEZONE

Source = Literal["mention", "dm"]
_NOTHING = Money(0)


@dataclass(frozen=True, slots=True)
class Event:
    """An inbound event, as ingest stored it."""

    source: Source
    event_id: str
    author_id: int
    author_handle: str
    tweet_id: str | None = None  # the mention itself, to reply in its thread

    @property
    def key(self) -> str:
        return f"{self.source}:{self.event_id}"


@dataclass(frozen=True, slots=True)
class Party:
    """What the decision needs to know of a user."""

    x_user_id: int
    handle: str
    kind: Literal["personal", "pro"] = "personal"
    status: str = "active"
    locked_until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class PendingIntent:
    """Something the author may still cancel: an intent awaiting confirmation, or an escrow
    hold. ``other``: the other party's handle; ``kind`` ``request`` when the author asked."""

    id: int
    reference: str
    amount: Money = _NOTHING
    other: str = ""
    kind: str = "send"


@dataclass(frozen=True, slots=True)
class Policy:
    cap_person: Money
    cap_pro: Money
    ttl: dt.timedelta
    public_link_fallback: bool = True
    claim_days: int = 14
    bot_handle: str = "Smoney"
    limit_24h: Money | None = None  # rolling totals sent (storage.limits); None: no limit
    limit_30d: Money | None = None
    timezone: str = DEFAULT_TIMEZONE  # how times are shown (settings timezone)
    # A payer with an app device is told by push; the link follows by DM once after this
    # long if the app has not shown the payment (nobody is stranded by an unseen push).
    app_fallback: dt.timedelta = dt.timedelta(minutes=3)


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything loaded for one decision."""

    now: dt.datetime
    policy: Policy
    author: Party | None  # None: no account
    counterparty: Party | None = None  # the recipient (or payer of a request), if known
    balance: Money | None = None
    history_lines: tuple[str, ...] = ()
    pending: tuple[PendingIntent, ...] = ()
    held: tuple[PendingIntent, ...] = ()  # escrow holds the author may still cancel
    # #annuler <ref> of a payment that can no longer be cancelled: "confirmed" (paid) or
    # "claimed" (the recipient took it from escrow); a lost race ends here too.
    settled: str | None = None
    outgoing_24h: Money | None = None  # what the author sent in the last 24 h / 30 days
    outgoing_30d: Money | None = None
    link: str = ""  # the one-time link prepared for a new intent (sealed at rest)
    token_hash: str = ""
    reference: str = ""
    author_app: bool = False  # the author is signed in on an app device
    counterparty_app: bool = False


@dataclass(frozen=True, slots=True)
class NewIntent:
    reference: str
    kind: Literal["send", "donate", "request"]
    channel: Literal["tweet", "dm"]
    lang: Lang
    initiator_x_user_id: int
    payer_x_user_id: int
    payee_x_user_id: int
    payee_handle: str
    amount: Money
    memo: str
    tweet_id: str | None
    expires_at: dt.datetime
    token_hash: str


@dataclass(frozen=True, slots=True)
class NewLinkToken:
    """A one-time sign-up or login link for the author (only the hash is kept)."""

    purpose: Literal["signup", "login"]
    x_user_id: int
    token_hash: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Decision:
    outgoing: tuple[Outgoing, ...] = ()
    new_intent: NewIntent | None = None
    new_token: NewLinkToken | None = None
    cancel_intent_ids: tuple[int, ...] = ()
    cancel_hold_ids: tuple[int, ...] = ()
    stop_contact: bool = False
    reason: str = ""  # short machine-readable summary for logs and metrics
    extra: dict[str, Any] = field(default_factory=dict)
