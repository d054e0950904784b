"""The emulated endpoints by name, and X's per-user rate limits for them.

Names (``mentions``, ``send_dm``...) are shared by faults, rate limits, the usage meter and the
gateway's budgets.
"""

from __future__ import annotations

import re

FIFTEEN_MINUTES = 15 * 60
ONE_DAY = 24 * 60 * 60

# Endpoint names used by faults, rate limits and the gateway's budgets.
ENDPOINTS: dict[str, tuple[str, str]] = {
    "users_me": ("GET", "/2/users/me"),
    "user_by_username": ("GET", "/2/users/by/username/:username"),
    "user_by_id": ("GET", "/2/users/:id"),
    "mentions": ("GET", "/2/users/:id/mentions"),
    "create_tweet": ("POST", "/2/tweets"),
    "dm_events": ("GET", "/2/dm_events"),
    "send_dm": ("POST", "/2/dm_conversations/with/:participant_id/messages"),
    "conversation_events": ("GET", "/2/dm_conversations/with/:participant_id/dm_events"),
    "user_tweets": ("GET", "/2/users/:id/tweets"),
    "oauth2_token": ("POST", "/2/oauth2/token"),
    "chat_public_keys": ("GET", "/2/users/:id/public_keys"),
    "chat_register_keys": ("POST", "/2/users/:id/public_keys"),
    "chat_conversations": ("GET", "/2/chat/conversations"),
    "chat_events": ("GET", "/2/chat/conversations/:id/events"),
    "chat_keys": ("POST", "/2/chat/conversations/:id/keys"),
    "chat_send": ("POST", "/2/chat/conversations/:id/messages"),
    # The X Activity API (``activity_api``).
    "activity_stream": ("GET", "/2/activity/stream"),
    "create_webhook": ("POST", "/2/webhooks"),
    "list_webhooks": ("GET", "/2/webhooks"),
    "revalidate_webhook": ("PUT", "/2/webhooks/:webhook_id"),
    "delete_webhook": ("DELETE", "/2/webhooks/:webhook_id"),
    "replay": ("POST", "/2/webhooks/replay"),
    "create_subscription": ("POST", "/2/activity/subscriptions"),
    "list_subscriptions": ("GET", "/2/activity/subscriptions"),
    "delete_subscription": ("DELETE", "/2/activity/subscriptions/:subscription_id"),
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
    "activity_stream": [(450, FIFTEEN_MINUTES)],
    "create_webhook": [(450, FIFTEEN_MINUTES)],
    "list_webhooks": [(450, FIFTEEN_MINUTES)],
    "revalidate_webhook": [(450, FIFTEEN_MINUTES)],
    "delete_webhook": [(450, FIFTEEN_MINUTES)],
    "replay": [(100, FIFTEEN_MINUTES)],
    "create_subscription": [(500, FIFTEEN_MINUTES)],
    "list_subscriptions": [(500, FIFTEEN_MINUTES)],
    "delete_subscription": [(500, FIFTEEN_MINUTES)],
    "conversation_events": [(15, FIFTEEN_MINUTES)],
    "user_tweets": [(900, FIFTEEN_MINUTES)],
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
