"""The webhook end to end, on SQLite and PostgreSQL: X's signed deliveries through Starlette's
test client into the inbox, handled by the worker's processor, deduplicated with the poller.

The deliveries are built from the emulator's own tweets and DMs (as X's Account Activity API
would render them in v1.1), so the poller sees the very same events.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from bot.sandbox import sandbox_users, seed_accounts
from bot.web.app import create_app
from bot.webhook import MAX_BODY_BYTES, SIGNATURE_HEADER, sign
from bot.worker import Runtime, build_runtime
from config import load_settings
from storage.models import InboxEvent, OutboxMessage, PaymentIntent

SECRET = load_settings().x_consumer_secret.get_secret_value()
URL = "/webhooks/x"


@dataclass
class Hook:
    runtime: Runtime
    emulator: Any
    web: TestClient

    @property
    def bot_id(self) -> str:
        return str(self.emulator.bot_id)

    def _user(self, user_id: str) -> dict[str, Any]:
        user = self.emulator.state.users[user_id]
        return {"id": int(user.id), "id_str": user.id, "screen_name": user.username,
                "name": user.name}

    def v1_tweet(self, tweet_id: str) -> dict[str, Any]:
        """The emulator's tweet as X's Account Activity API renders it (v1.1)."""
        t = self.emulator.state.tweets[tweet_id]
        ents = t.entities
        reply = next((r["id"] for r in t.referenced_tweets if r["type"] == "replied_to"), None)
        tweet: dict[str, Any] = {
            "id": int(t.id), "id_str": t.id, "text": t.text, "truncated": False,
            "timestamp_ms": str(t.created_at), "user": self._user(t.author_id),
            "in_reply_to_status_id_str": reply, "in_reply_to_user_id_str": t.in_reply_to_user_id,
            "entities": {
                "hashtags": [{"text": h["tag"], "indices": [h["start"], h["end"]]}
                             for h in ents.get("hashtags", [])],
                "user_mentions": [{"screen_name": m["username"], "id_str": m["id"],
                                   "indices": [m["start"], m["end"]]}
                                  for m in ents.get("mentions", []) if "id" in m],
            },
        }
        for ref in t.referenced_tweets:
            if ref["type"] == "retweeted":
                tweet["retweeted_status"] = self.v1_tweet(ref["id"])
            if ref["type"] == "quoted":
                tweet["quoted_status_id_str"] = ref["id"]
        return tweet

    def v1_dm(self, event_id: str) -> dict[str, Any]:
        e = self.emulator.state.dms[event_id]
        return {"type": "message_create", "id": e.id, "created_timestamp": str(e.created_at),
                "message_create": {"target": {"recipient_id": e.recipient_id},
                                   "sender_id": e.sender_id,
                                   "message_data": {"text": e.text, "entities": {}}}}

    def deliver(self, *, tweets: tuple[str, ...] = (), dms: tuple[str, ...] = (),
                secret: str = SECRET) -> Any:
        body: dict[str, Any] = {"for_user_id": self.bot_id}
        if tweets:
            body["tweet_create_events"] = [self.v1_tweet(t) for t in tweets]
        if dms:
            body["direct_message_events"] = [self.v1_dm(d) for d in dms]
            body["users"] = {uid: self._user(uid) for uid in self.emulator.state.users}
        raw = json.dumps(body).encode()
        return self.post(raw, sign(secret, raw))

    def post(self, raw: bytes, signature: str | None) -> Any:
        headers = {"content-type": "application/json"}
        if signature is not None:
            headers[SIGNATURE_HEADER] = signature
        return self.web.post(URL, content=raw, headers=headers)

    def count(self, model: type) -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def hook(engine: Engine, emulator: Any) -> Iterator[Hook]:
    settings = load_settings(public_base_url="http://testserver")
    emulator.state.set_rate_limit("dm_events", 10_000)
    runtime = build_runtime(settings, base_url=emulator.base_url,
                            credentials=emulator.credentials, engine=engine)
    seed_accounts(runtime.sessions, settings, sandbox_users(emulator.state),
                  dt.datetime.now(dt.UTC))
    app = create_app(settings, runtime.sessions, sealer=runtime.sealer,
                     bot_user_id=int(emulator.bot_id))
    with TestClient(app, base_url="http://testserver") as web:
        yield Hook(runtime, emulator, web)


def test_crc_challenge(hook: Hook) -> None:
    response = hook.web.get(URL, params={"crc_token": "challenge"})
    assert response.status_code == 200
    assert response.json()["response_token"].startswith("sha256=")
    assert response.headers["cache-control"] == "no-store"
    assert hook.web.get(URL).status_code == 400


def test_a_signed_mention_is_handled_like_a_polled_one(hook: Hook) -> None:
    tweet_id = str(hook.emulator.control.tweet("alice", "@Smoney #envoyer 12,99€ @bob resto")["id"])
    response = hook.deliver(tweets=(tweet_id,))
    assert response.status_code == 200 and response.json() == {"received": 1}
    with hook.runtime.sessions() as session:
        (row,) = session.scalars(select(InboxEvent))
        assert (row.source, row.event_id, row.status) == ("mention", tweet_id, "pending")
    assert hook.runtime.processor.process_pending() == 1
    with hook.runtime.sessions() as session:
        (intent,) = session.scalars(select(PaymentIntent))
        assert intent.amount_cents == 1299 and intent.status == "awaiting_confirmation"
    assert hook.count(OutboxMessage) >= 1
    # The poller brings the same tweet: still one event, one intent.
    hook.runtime.tick()
    assert hook.count(InboxEvent) == 1 and hook.count(PaymentIntent) == 1


def test_the_same_event_twice_and_polled_is_one_event(hook: Hook) -> None:
    tweet_id = str(hook.emulator.control.tweet("alice", "@Smoney #envoyer 5€ @bob")["id"])
    dm_id = str(hook.emulator.control.dm("alice", "#envoyer 2€ @bob")["id"])
    hook.runtime.ingest.poll_mentions()  # the poller first, this time
    assert hook.count(InboxEvent) == 1
    for _ in range(2):
        assert hook.deliver(tweets=(tweet_id,), dms=(dm_id,)).json() == {"received": 2}
        assert hook.count(InboxEvent) == 2
    hook.runtime.tick()
    assert hook.count(InboxEvent) == 2 and hook.count(PaymentIntent) == 2
    with hook.runtime.sessions() as session:
        assert {r.status for r in session.scalars(select(InboxEvent))} == {"done"}


def test_a_delivery_is_recorded_in_one_transaction(hook: Hook) -> None:
    first = str(hook.emulator.control.tweet("alice", "@Smoney #solde")["id"])
    second = str(hook.emulator.control.tweet("bob", "@Smoney #aide")["id"])
    body = {"for_user_id": hook.bot_id,
            "tweet_create_events": [hook.v1_tweet(first), hook.v1_tweet(second),
                                    {"id_str": "1"}]}
    raw = json.dumps(body).encode()
    assert hook.post(raw, sign(SECRET, raw)).status_code == 400  # the last one is malformed
    assert hook.count(InboxEvent) == 0  # and nothing of the batch was written


def test_retweets_and_the_bots_own_posts_are_not_recorded(hook: Hook) -> None:
    original = str(hook.emulator.control.tweet("bob", "@Smoney #envoyer 5€ @alice")["id"])
    retweet = str(hook.emulator.control.tweet("alice", "", retweet_of=original)["id"])
    reply = hook.emulator.state.post_tweet(hook.bot_id, "@bob c'est noté", in_reply_to=original)
    response = hook.deliver(tweets=(retweet, reply.id))
    assert response.json() == {"received": 0} and hook.count(InboxEvent) == 0


@pytest.mark.parametrize(
    ("signature", "status"),
    [
        pytest.param(None, 401, id="missing"),
        pytest.param("wrong-secret", 401, id="wrong secret"),
        pytest.param("sha256=@@@", 401, id="not base64"),
    ],
)
def test_unsigned_deliveries_are_refused(hook: Hook, signature: str | None, status: int) -> None:
    tweet_id = str(hook.emulator.control.tweet("alice", "@Smoney #envoyer 5€ @bob")["id"])
    raw = json.dumps({"for_user_id": hook.bot_id,
                      "tweet_create_events": [hook.v1_tweet(tweet_id)]}).encode()
    if signature == "wrong-secret":
        signature = sign("not-the-secret", raw)
    assert hook.post(raw, signature).status_code == status
    assert hook.post(raw + b" ", sign(SECRET, raw)).status_code == 401  # tampered
    assert hook.count(InboxEvent) == 0


def test_malformed_json_and_oversized_bodies(hook: Hook) -> None:
    raw = b'{"for_user_id": '
    assert hook.post(raw, sign(SECRET, raw)).status_code == 400
    big = b" " * (MAX_BODY_BYTES + 1)
    assert hook.post(big, sign(SECRET, big)).status_code == 413


def test_nothing_secret_is_logged(hook: Hook, capsys: pytest.CaptureFixture[str],
                                  caplog: pytest.LogCaptureFixture) -> None:
    text = "@Smoney #envoyer 5€ @bob secret-memo-zz"
    tweet_id = str(hook.emulator.control.tweet("alice", text)["id"])
    raw = json.dumps({"for_user_id": hook.bot_id,
                      "tweet_create_events": [hook.v1_tweet(tweet_id)]}).encode()
    signature = sign(SECRET, raw)
    assert hook.post(raw, signature).status_code == 200
    assert hook.post(raw, sign("nope", raw)).status_code == 401
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "webhook.received" in logged and "bad_signature" in logged
    for secret in ("secret-memo-zz", signature[7:], SECRET):
        assert secret not in logged
