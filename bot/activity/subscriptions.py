"""The bot's X Activity API subscriptions, made idempotent (``tweetpay x subscribe``).

What the bot needs: its webhook (our ``/webhooks/xaa``), ``post.mention.create`` and
``dm.received`` filtered on the bot's user id (private events: the bot's own user token), and
``profile.update.handle`` for each account holder, so the handle we show follows theirs.
Running ``subscribe`` again creates only what is missing: X would deliver an event once per
matching subscription, so a doubled subscription is a doubled bill.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.gateway.activity import SubscriptionInfo, WebhookInfo

BOT_EVENTS = ("post.mention.create", "dm.received", "chat.received")
HOLDER_EVENTS = ("profile.update.handle",)
TAGS = {"post.mention.create": "tweetpay-mentions", "dm.received": "tweetpay-dm-in",
        "chat.received": "tweetpay-chat-in",
        "profile.update.handle": "tweetpay-handles"}


class ActivityPort(Protocol):
    def webhooks(self) -> list[WebhookInfo]: ...
    def create_webhook(self, url: str) -> WebhookInfo: ...
    def revalidate_webhook(self, webhook_id: str) -> bool: ...
    def delete_webhook(self, webhook_id: str) -> None: ...
    def subscriptions(self) -> list[SubscriptionInfo]: ...
    def subscribe(self, event_type: str, user_id: int | str, *, webhook_id: str | None,
                  tag: str | None = None) -> SubscriptionInfo: ...
    def unsubscribe(self, subscription_id: str) -> None: ...
    def replay(self, webhook_id: str, start: dt.datetime, end: dt.datetime) -> str: ...


@dataclass
class Report:
    webhook: WebhookInfo | None
    created: list[SubscriptionInfo] = field(default_factory=list)
    kept: list[SubscriptionInfo] = field(default_factory=list)
    removed: list[SubscriptionInfo] = field(default_factory=list)
    webhook_created: bool = False


def our_webhook(x: ActivityPort, url: str) -> WebhookInfo | None:
    return next((w for w in x.webhooks() if w.url == url), None)


def wanted(bot_user_id: int, holders: Iterable[int]) -> list[tuple[str, str]]:
    pairs = [(event, str(bot_user_id)) for event in BOT_EVENTS]
    pairs += [(event, str(uid)) for uid in sorted(set(holders)) for event in HOLDER_EVENTS
              if uid != bot_user_id]
    return pairs


def subscribe(x: ActivityPort, *, url: str, bot_user_id: int,
              holders: Iterable[int] = ()) -> Report:
    """Our webhook (created, or revalidated if X marked it invalid) and every subscription
    in ``wanted`` on it; nothing that exists already is created again."""
    hook = our_webhook(x, url)
    report = Report(webhook=hook)
    if hook is None:
        hook = report.webhook = x.create_webhook(url)
        report.webhook_created = True
    elif not hook.valid:
        x.revalidate_webhook(hook.id)
    existing = {(s.event_type, s.user_id): s for s in x.subscriptions()
                if s.webhook_id == hook.id}
    for event_type, user_id in wanted(bot_user_id, holders):
        found = existing.get((event_type, user_id))
        if found is not None:
            report.kept.append(found)
            continue
        report.created.append(x.subscribe(event_type, user_id, webhook_id=hook.id,
                                          tag=TAGS.get(event_type)))
    return report


def unsubscribe(x: ActivityPort, *, url: str) -> Report:
    """Every subscription on our webhook, then the webhook itself; nothing else is touched."""
    hook = our_webhook(x, url)
    report = Report(webhook=hook)
    if hook is None:
        return report
    for sub in x.subscriptions():
        if sub.webhook_id == hook.id:
            x.unsubscribe(sub.id)
            report.removed.append(sub)
    x.delete_webhook(hook.id)
    return report
