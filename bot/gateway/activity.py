"""The gateway's X Activity API calls: webhooks, subscriptions, replay.

tweepy 4.17 has no method for them; ``tweepy.Client.request`` (its generic call, OAuth 1.0a
user context) goes through the same session, host redirect, budgets, error translation and
meter as every other call. X's pages disagree on the shape of a created subscription
(``data.subscription``, a flat ``data`` or a one-item ``data`` list), and of a created
webhook or replay job (flat, or in ``data``): every shape is read.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from bot.gateway.core import GatewayCore


@dataclass(frozen=True)
class WebhookInfo:
    id: str
    url: str
    valid: bool


@dataclass(frozen=True)
class SubscriptionInfo:
    id: str
    event_type: str
    user_id: str | None
    webhook_id: str | None
    tag: str | None


def _subscription(item: dict[str, Any]) -> SubscriptionInfo:
    flt = item.get("filter") or {}
    return SubscriptionInfo(
        id=str(item["subscription_id"]), event_type=str(item["event_type"]),
        user_id=str(flt["user_id"]) if flt.get("user_id") else None,
        webhook_id=str(item["webhook_id"]) if item.get("webhook_id") else None,
        tag=item.get("tag"),
    )


def _minute(moment: dt.datetime) -> str:
    """X's replay window format: ``yyyymmddhhmm`` in UTC."""
    return moment.astimezone(dt.UTC).strftime("%Y%m%d%H%M")


class ActivityCalls(GatewayCore):
    def _request(self, endpoint: str, method: str, route: str, *,
                 body: dict[str, Any] | None = None,
                 params: dict[str, Any] | None = None) -> dict[str, Any]:
        call = functools.partial(self._client.request, method, route)
        return self._call(endpoint, call, params=params, json=body, user_auth=True)

    def webhooks(self) -> list[WebhookInfo]:
        body = self._request("webhooks", "GET", "/2/webhooks",
                             params={"webhook_config.fields": "created_at,id,url,valid"})
        return [WebhookInfo(str(w["id"]), str(w["url"]), bool(w.get("valid", True)))
                for w in body.get("data") or []]

    def create_webhook(self, url: str) -> WebhookInfo:
        body = self._request("webhooks", "POST", "/2/webhooks", body={"url": url})
        data = body.get("data", body)
        return WebhookInfo(str(data["id"]), str(data["url"]), bool(data.get("valid", True)))

    def revalidate_webhook(self, webhook_id: str) -> bool:
        data = self._request("webhooks", "PUT", f"/2/webhooks/{webhook_id}").get("data") or {}
        return bool(data.get("valid", data.get("attempted")))

    def delete_webhook(self, webhook_id: str) -> None:
        self._request("webhooks", "DELETE", f"/2/webhooks/{webhook_id}")

    def subscriptions(self) -> list[SubscriptionInfo]:
        body = self._request("subscriptions", "GET", "/2/activity/subscriptions",
                             params={"max_results": 1000})
        return [_subscription(item) for item in body.get("data") or []]

    def subscribe(self, event_type: str, user_id: int | str, *, webhook_id: str | None,
                  tag: str | None = None) -> SubscriptionInfo:
        request: dict[str, Any] = {"event_type": event_type, "filter": {"user_id": str(user_id)}}
        if tag:
            request["tag"] = tag
        if webhook_id:
            request["webhook_id"] = webhook_id
        data = self._request("subscriptions", "POST", "/2/activity/subscriptions",
                             body=request)["data"]
        if isinstance(data, list):
            data = data[0]
        return _subscription(data.get("subscription", data))

    def unsubscribe(self, subscription_id: str) -> None:
        self._request("subscriptions", "DELETE", f"/2/activity/subscriptions/{subscription_id}")

    def replay(self, webhook_id: str, start: dt.datetime, end: dt.datetime) -> str:
        """Ask X to re-send what it delivered (or tried to) between ``start`` and ``end``
        (minute granularity, both included, within the last 24 h); return the job id."""
        body = self._request("replay", "POST", "/2/webhooks/replay", body={
            "webhook_id": webhook_id, "from_date": _minute(start), "to_date": _minute(end)})
        return str(body.get("data", body)["job_id"])
