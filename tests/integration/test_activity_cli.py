"""``tweetpay x subscribe | subscriptions | unsubscribe`` against the emulator, with the real
web app answering X's CRC: run twice, nothing doubles; the emulator's answers are X's shapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from bot.activity.subscriptions import BOT_EVENTS, HOLDER_EVENTS, subscribe, unsubscribe
from bot.cli import main
from bot.sandbox import sandbox_users, seed_accounts
from bot.web.app import create_app
from config import load_settings
from storage.db import make_session_factory

try:
    from tests.integration.activity_world import LiveApp
except ImportError:  # tests/ itself on sys.path (pytest's rootdir-less import mode)
    from integration.activity_world import LiveApp


@pytest.fixture
def env(database_url: str, engine: Engine, emulator: Any) -> Iterator[dict[str, str]]:
    settings = load_settings(database_url=database_url)
    sessions = make_session_factory(engine)
    seed_accounts(sessions, settings, sandbox_users(emulator.state), __import__(
        "datetime").datetime.now(__import__("datetime").UTC))
    with LiveApp(create_app(settings, sessions)) as live:
        yield {
            "TWEETPAY_DATABASE_URL": database_url,
            "TWEETPAY_X_API_BASE_URL": emulator.base_url,
            "TWEETPAY_X_ACCESS_TOKEN": emulator.credentials.access_token,
            "TWEETPAY_X_ACCESS_TOKEN_SECRET": emulator.credentials.access_token_secret,
            "TWEETPAY_X_WEBHOOK_URL": f"{live.url}/webhooks/xaa",
        }


def _run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, ["x", *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_subscribe_twice_creates_nothing_the_second_time(env: dict[str, str],
                                                         emulator: Any) -> None:
    # The bot's own events, and a handle watch on each of the 3 sandbox account holders.
    n = len(BOT_EVENTS) + 3 * len(HOLDER_EVENTS)
    first = _run(env, "subscribe")
    assert "(created)" in first and f"{n} created, 0 already there" in first
    second = _run(env, "subscribe")
    assert "(kept)" in second and f"0 created, {n} already there" in second
    activity = emulator.control.activity()
    assert len(activity["webhooks"]) == 1 and len(activity["subscriptions"]) == n
    listing = _run(env, "subscriptions")
    assert "valid=true" in listing and f"{n} subscription(s)" in listing
    assert listing.count("post.mention.create") == 1 and listing.count("dm.received") == 1
    assert f"removed {n} subscription(s)" in _run(env, "unsubscribe")
    assert "nothing to remove" in _run(env, "unsubscribe")
    assert emulator.control.activity()["subscriptions"] == []


def test_the_emulators_activity_answers_follow_xs_openapi(gateway: Any, emulator: Any,
                                                          engine: Engine) -> None:
    # The ``gateway`` fixture checks every answer against X's OpenAPI description.
    with LiveApp(create_app(load_settings(), make_session_factory(engine))) as live:
        url = f"{live.url}/webhooks/xaa"
        report = subscribe(gateway, url=url, bot_user_id=int(emulator.bot_id), holders=[])
        assert len(report.created) == len(BOT_EVENTS) and report.webhook_created
        assert report.webhook is not None and gateway.revalidate_webhook(report.webhook.id)
        assert len(unsubscribe(gateway, url=url).removed) == len(BOT_EVENTS)


def test_the_stream_carries_the_apps_events_and_keeps_xs_connection_limit(
        gateway: Any, emulator: Any) -> None:
    import json

    import requests

    gateway.subscribe("post.mention.create", emulator.bot_id, webhook_id=None)  # no webhook
    url = f"{emulator.base_url}/2/activity/stream"
    bearer = {"Authorization": f"Bearer {emulator.credentials.bearer_token}"}
    first = requests.get(url, headers=bearer, stream=True, timeout=5)
    second = requests.get(url, headers=bearer, stream=True, timeout=5)
    try:
        assert first.status_code == 200 and first.headers["x-twitter-streaming"] == "true"
        assert requests.get(url, headers=bearer, timeout=5).status_code == 429
        tweet = emulator.control.tweet("alice", "@Smoney #solde")
        line = next(line for line in first.iter_lines() if line.strip())
        event = json.loads(line)["data"]
        assert event["event_type"] == "post.mention.create"
        assert event["payload"]["id"] == tweet["id"]
    finally:
        first.close()
        second.close()
    usage = emulator.control.usage()["operations"]
    assert usage["event.post.mention.create"]["billed"] == 1
    late = requests.get(url, params={"backfill_minutes": "5"}, headers=bearer, stream=True,
                        timeout=5)
    try:
        line = next(line for line in late.iter_lines() if line.strip())
        assert json.loads(line)["data"]["payload"]["id"] == tweet["id"]  # backfilled
    finally:
        late.close()
    assert emulator.control.usage()["operations"]["event.post.mention.create"]["billed"] == 1
