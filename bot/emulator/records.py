"""The emulator's records (users, tweets, DM events, credentials, faults) and X's refusals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

TWITTER_EPOCH_MS = 1288834974657


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
