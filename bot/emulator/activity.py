"""The X Activity API (XAA) in the emulator: webhooks, subscriptions, signed pushed events.

``Activity`` listens to the world (``EmulatorState.listeners``): a post that explicitly
@mentions a user, a direct reply to a user's post, a DM to a user, a handle change, an
authorisation revoked. Each becomes an event in X's envelope
``{"data": {event_uuid, filter, event_type, tag, payload, includes?}}`` (``activity_events``),
sent to every valid webhook whose subscription matches (event type and ``filter.user_id``).

Delivery (``delivery.Deliverer``, a background thread): a POST signed with
``x-twitter-webhooks-signature`` (HMAC-SHA256 of the raw body with the app's consumer
secret), retried on failure or timeout after ``retry_delays`` seconds, then given up, as
X's old Account Activity page described (X says nothing for v2). Every delivered or
attempted event stays in a log for ``POST /2/webhooks/replay`` (last 24 h, one job per webhook,
closed by a ``replay_job_status`` message). A successful delivery is billed once per event
and UTC day (``bot.x_meter``).

What X leaves silent, decided here: ``oauth.revoke`` is not in the subscription enum, so it
goes to every valid webhook of the app that carries at least one subscription; a webhook URL
may be plain ``http://127.0.0.1:port`` (X wants HTTPS without a port); a webhook limit of one
per app (X's pay-per-use table for AAA).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.activity_events import envelope, events_for
from bot.emulator.activity_stream import Streams
from bot.emulator.delivery import Deliverer, Outgoing
from bot.emulator.records import Refusal, invalid_request, iso_ms

SUBSCRIPTION_CAP = 1_500
REPLAY_WINDOW_MS = 24 * 3600 * 1000
PRIVATE_EVENTS = ("post.mention.create", "post.reply.create", "post.quote.create",
                  "dm.received", "dm.sent", "chat.received", "chat.sent")
EVENT_TYPES = (*PRIVATE_EVENTS, "post.create", "profile.update.handle",
               "profile.update.screenname", "profile.update.bio")


@dataclass
class Webhook:
    id: str
    url: str
    app_key: str
    created_at: int
    valid: bool = True


@dataclass
class Subscription:
    id: str
    event_type: str
    filter: dict[str, str]
    app_key: str
    created_at: int
    tag: str | None = None
    webhook_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"subscription_id": self.id, "event_type": self.event_type,
                                "filter": dict(self.filter), "created_at": iso_ms(self.created_at),
                                "updated_at": iso_ms(self.created_at)}
        if self.tag:
            data["tag"] = self.tag
        if self.webhook_id:
            data["webhook_id"] = self.webhook_id
        return data


@dataclass
class LoggedEvent:
    at_ms: int
    webhook_id: str
    event_type: str
    resource_id: str
    body: dict[str, Any]


@dataclass
class Settings:
    """Knobs for tests (``POST /_control/activity``)."""

    retry_delays: list[float] = field(default_factory=lambda: [3.0, 27.0, 242.0])
    timeout: float = 3.0
    webhook_limit: int = 1
    duplicate_every: int = 0  # every Nth event is sent again (same uuid) and again (new uuid)


class Activity:
    def __init__(self, state: Any) -> None:
        self._state = state
        self._lock = threading.RLock()
        self.settings = Settings()
        self.webhooks: dict[str, Webhook] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.log: list[LoggedEvent] = []
        self.replay_jobs: dict[str, str] = {}  # webhook id -> running job id
        self._count = 0
        self._random = random.Random()
        self.deliverer = Deliverer(self._delivered, self._replay_done)
        self.streams = Streams(state.now_ms)
        state.listeners.append(self._on_world)

    # -- registration ----------------------------------------------------------------------

    def secret(self, app_key: str) -> str:
        return str(self._state.apps[app_key].consumer_secret)

    def add_webhook(self, url: object, app_key: str) -> Webhook:
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise webhook_refusal("UrlValidationFailed", "The url must be an https:// URL")
        if len(url) > 200:
            raise webhook_refusal("UrlValidationFailed", "The url is longer than 200")
        with self._lock:
            mine = [w for w in self.webhooks.values() if w.app_key == app_key]
            if any(w.url == url for w in mine):
                raise webhook_refusal("DuplicateUrlFailed", "This URL is already registered")
            if len(mine) >= self.settings.webhook_limit:
                raise webhook_refusal("WebhookLimitExceeded", "Too many webhooks")
        if not self.deliverer.crc_passes(url, self.secret(app_key), self.settings.timeout):
            raise webhook_refusal("CrcValidationFailed", "The CRC check of the URL failed")
        with self._lock:
            hook = Webhook(self._state.next_id(), url, app_key, self._state.now_ms())
            self.webhooks[hook.id] = hook
            return hook

    def revalidate(self, webhook_id: str, app_key: str) -> bool:
        hook = self.webhook(webhook_id, app_key)
        hook.valid = self.deliverer.crc_passes(hook.url, self.secret(app_key),
                                               self.settings.timeout)
        return hook.valid

    def webhook(self, webhook_id: str, app_key: str) -> Webhook:
        hook = self.webhooks.get(webhook_id)
        if hook is None or hook.app_key != app_key:
            raise webhook_refusal("WebhookIdInvalid", f"No webhook {webhook_id}", status=404)
        return hook

    def delete_webhook(self, webhook_id: str, app_key: str) -> None:
        with self._lock:
            self.webhook(webhook_id, app_key)
            del self.webhooks[webhook_id]
            for sub in self.subscriptions.values():
                if sub.webhook_id == webhook_id:
                    sub.webhook_id = None

    def add_subscription(self, body: dict[str, Any], app_key: str,
                         user_id: str | None) -> Subscription:
        event_type, flt = body.get("event_type"), body.get("filter")
        if event_type not in EVENT_TYPES:
            raise invalid_request(f"event_type must be one of {', '.join(EVENT_TYPES)}",
                                  event_type=[str(event_type)])
        if not isinstance(flt, dict) or not str(flt.get("user_id", "")).isdigit():
            raise invalid_request("filter.user_id is required", filter=[str(flt)])
        target = str(flt["user_id"])
        if target not in self._state.users:
            raise invalid_request(f"filter.user_id {target} is not a user", filter=[target])
        if event_type in PRIVATE_EVENTS and user_id != target:
            raise Refusal(403, "Forbidden", "Private events need the user's own token")
        tag, webhook_id = body.get("tag"), body.get("webhook_id")
        with self._lock:
            if webhook_id is not None:
                self.webhook(str(webhook_id), app_key)
            if len(self.subscriptions) >= SUBSCRIPTION_CAP:
                raise Refusal(429, "Too Many Requests", "Subscription cap reached")
            sub = Subscription(self._state.next_id(), event_type, {"user_id": target}, app_key,
                               self._state.now_ms(), tag=str(tag) if tag else None,
                               webhook_id=str(webhook_id) if webhook_id else None)
            self.subscriptions[sub.id] = sub
            return sub

    def delete_subscription(self, subscription_id: str, app_key: str) -> bool:
        with self._lock:
            sub = self.subscriptions.get(subscription_id)
            if sub is None or sub.app_key != app_key:
                return False
            del self.subscriptions[subscription_id]
            return True

    def mine(self, app_key: str) -> list[Subscription]:
        with self._lock:
            return [s for s in self.subscriptions.values() if s.app_key == app_key]

    # -- events ----------------------------------------------------------------------------

    def _on_world(self, kind: str, thing: Any) -> None:
        """A change in the world (called under the state's lock): fan it out as events."""
        for event_type, user_id, resource_id, payload, includes in events_for(
            self._state, kind, thing
        ):
            self.emit(event_type, user_id, resource_id, payload, includes)

    def _targets(self, event_type: str, user_id: str | None) -> list[tuple[Webhook, Any]]:
        with self._lock:
            if event_type == "oauth.revoke":
                apps = {s.app_key for s in self.subscriptions.values()}
                return [(w, None) for w in self.webhooks.values()
                        if w.valid and w.app_key in apps]
            out = []
            for sub in self.subscriptions.values():
                hook = self.webhooks.get(sub.webhook_id or "")
                if (sub.event_type == event_type and sub.filter.get("user_id") == user_id
                        and hook is not None and hook.valid):
                    out.append((hook, sub))
            return out

    def _stream_targets(self, event_type: str, user_id: str | None) -> list[Subscription]:
        with self._lock:
            return [s for s in self.subscriptions.values() if s.event_type == event_type
                    and s.filter.get("user_id") == user_id]

    def emit(self, event_type: str, user_id: str | None, resource_id: str,
             payload: dict[str, Any], includes: dict[str, Any] | None = None) -> int:
        # The stream carries every subscription's events, webhook or not (revocations: once
        # per app that has subscriptions).
        if event_type == "oauth.revoke":
            apps = {s.app_key for s in self.subscriptions.values()}
            for app in apps:
                self.streams.publish(app, envelope(self._uuid(), event_type, None, payload,
                                                   includes), resource_id)
        for sub in self._stream_targets(event_type, user_id):
            self.streams.publish(sub.app_key, envelope(self._uuid(), event_type, sub, payload,
                                                       includes), resource_id)
        sent = 0
        for hook, sub in self._targets(event_type, user_id):
            body = envelope(self._uuid(), event_type, sub, payload, includes)
            with self._lock:
                self.log.append(LoggedEvent(self._state.now_ms(), hook.id, event_type,
                                            resource_id, body))
                self._count += 1
                duplicate = bool(self.settings.duplicate_every
                                 and self._count % self.settings.duplicate_every == 0)
            self._send(hook, event_type, resource_id, body)
            if duplicate:
                self._send(hook, event_type, resource_id, body)
                again = {"data": {**body["data"], "event_uuid": self._uuid()}}
                self._send(hook, event_type, resource_id, again)
            sent += 1
        return sent

    def _uuid(self) -> str:
        # X's event_uuid is a signed 64-bit decimal, sometimes negative.
        return str(self._random.randrange(-(2**63), 2**63))

    def _send(self, hook: Webhook, event_type: str, resource_id: str, body: dict[str, Any],
              job: str | None = None) -> None:
        self.deliverer.submit(Outgoing(
            webhook_id=hook.id, url=hook.url, secret=self.secret(hook.app_key), body=body,
            operation=f"event.{event_type}", resource_id=resource_id,
            delays=list(self.settings.retry_delays), timeout=self.settings.timeout, job=job))

    def _delivered(self, item: Outgoing) -> None:
        if item.operation:
            self._state.meter.record(item.operation, [item.resource_id])

    # -- replay ----------------------------------------------------------------------------

    def replay(self, webhook_id: str, from_ms: int, to_ms: int, app_key: str) -> str:
        hook = self.webhook(webhook_id, app_key)
        now = self._state.now_ms()
        if from_ms < now - REPLAY_WINDOW_MS or to_ms < from_ms or from_ms > now:
            raise webhook_refusal("QueryParamInvalid",
                                   "from_date and to_date must lie in the last 24 hours")
        with self._lock:
            if webhook_id in self.replay_jobs:
                raise webhook_refusal("ReplayConflictError", "A replay job is running",
                                       status=409)
            job = self._state.next_id()
            self.replay_jobs[webhook_id] = job
            logged = [e for e in self.log
                      if e.webhook_id == webhook_id and from_ms <= e.at_ms <= to_ms]
        for event in logged:
            self._send(hook, event.event_type, event.resource_id, event.body, job=job)
        status = {"replay_job_status": {"webhook_id": webhook_id, "job_state": "Complete",
                                        "job_state_description": f"{len(logged)} events",
                                        "job_id": job}}
        self.deliverer.submit(Outgoing(webhook_id=hook.id, url=hook.url,
                                       secret=self.secret(hook.app_key), body=status,
                                       operation="", resource_id="", delays=[],
                                       timeout=self.settings.timeout, job=job, closes_job=True))
        return job

    def _replay_done(self, item: Outgoing) -> None:
        with self._lock:
            if self.replay_jobs.get(item.webhook_id) == item.job:
                del self.replay_jobs[item.webhook_id]

    def clear(self) -> None:
        with self._lock:
            self.webhooks.clear()
            self.subscriptions.clear()
            self.log.clear()
            self.replay_jobs.clear()
            self.deliverer.attempts.clear()
            self.streams.clear()
            self.settings = Settings()

    def close(self) -> None:
        self.deliverer.close()


def webhook_refusal(reason: str, message: str, status: int = 400) -> Refusal:
    return Refusal(status, "Invalid Request", message,
                   "https://api.twitter.com/2/problems/invalid-request",
                   errors=[{"message": message, "reason": reason}])
