"""/metrics on SQLite and PostgreSQL: a payment through the emulator and the confirmation page
moves the counters, the queues are read from the database, X's budgets from the gateway."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from starlette.testclient import TestClient

from bot import metrics
from bot.gateway.budgets import ENDPOINTS
from bot.sandbox import sandbox_users, seed_accounts
from bot.web.app import create_app
from bot.worker import Runtime, build_runtime
from config import load_settings
from storage.models import InboxEvent, OutboxMessage

LINK = re.compile(r"/c/([A-Za-z0-9_\-]+)")


def scrape(web: TestClient, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = web.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def bot(engine: Engine, emulator: object) -> Iterator[tuple[Runtime, TestClient]]:
    settings = load_settings(public_base_url="http://testserver")
    emulator.state.set_rate_limit("dm_events", 10_000)  # type: ignore[attr-defined]
    runtime = build_runtime(settings, base_url=emulator.base_url,  # type: ignore[attr-defined]
                            credentials=emulator.credentials,  # type: ignore[attr-defined]
                            engine=engine)
    seed_accounts(runtime.sessions, settings, sandbox_users(emulator.state),  # type: ignore[attr-defined]
                  dt.datetime.now(dt.UTC))
    metrics.register_budgets(runtime.gateway.budget, ENDPOINTS)
    app = create_app(settings, runtime.sessions, sealer=runtime.sealer)
    with TestClient(app, base_url="http://testserver") as web:
        yield runtime, web


def test_a_payment_moves_the_counters(bot: tuple[Runtime, TestClient], emulator: object) -> None:
    runtime, web = bot
    before = scrape(web)
    emulator.control.tweet("alice", "@Smoney #envoyer 3€ @bob merci")  # type: ignore[attr-defined]
    runtime.tick()
    link = [d["text"] for d in emulator.control.bot_posts()["dms"]  # type: ignore[attr-defined]
            if LINK.search(str(d["text"]))][-1]
    token = LINK.search(str(link)).group(1)  # type: ignore[union-attr]
    page = web.get(f"/c/{token}")
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    web.post(f"/c/{token}", data={**fields, "pin": "000000"},
             headers={"Origin": "http://testserver"})
    web.post(f"/c/{token}", data={**fields, "pin": "482916"},
             headers={"Origin": "http://testserver"})
    runtime.tick()
    after = scrape(web)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("tweetpay_confirmations_total", outcome="wrong_pin") == 1
    assert delta("tweetpay_confirmations_total", outcome="confirmed") == 1
    transfers = sum(v for (n, _), v in after.items() if n == "tweetpay_transfers_total") - \
        sum(v for (n, _), v in before.items() if n == "tweetpay_transfers_total")
    assert transfers == 1
    assert delta("tweetpay_messages_sent_total", kind="dm") == 2  # the link, bob's notice
    assert delta("tweetpay_messages_sent_total", kind="reply") == 1  # one per summons
    assert value(after, "tweetpay_database_up") == 1
    assert value(after, "tweetpay_inbox_rows", status="done") >= 1
    # X's budget as the emulator's last rate-limit headers said.
    seen = runtime.gateway.budget("send_dm")
    assert seen is not None
    assert value(after, "tweetpay_x_budget_remaining", endpoint="send_dm") == seen.remaining
    assert value(after, "tweetpay_x_budget_reset_timestamp_seconds", endpoint="send_dm") == \
        seen.reset_at.timestamp()


def test_queues_by_kind_and_oldest_age(bot: tuple[Runtime, TestClient]) -> None:
    runtime, web = bot
    now = dt.datetime.now(dt.UTC)
    with runtime.sessions.begin() as session:
        session.add(InboxEvent(source="mention", event_id="e1", author_x_user_id=1, payload="{}",
                               status="failed", error="boom", received_at=now))
        for i, age in enumerate((600, 60)):
            session.add(OutboxMessage(dedupe_key=f"k{i}", kind="dm", priority=10,
                                      recipient_x_user_id=5, text="hello", status="pending",
                                      attempts=0, next_attempt_at=now,
                                      created_at=now - dt.timedelta(seconds=age)))
        # The bot's 15 DMs per 15 minutes are spent: both pending DMs wait for the budget.
        for i in range(15):
            session.add(OutboxMessage(dedupe_key=f"s{i}", kind="dm", priority=10,
                                      recipient_x_user_id=5, text="hi", status="sent",
                                      attempts=1, remote_id=f"r{i}", next_attempt_at=now,
                                      created_at=now - dt.timedelta(minutes=5),
                                      sent_at=now - dt.timedelta(minutes=5, seconds=i)))
    samples = scrape(web)
    assert value(samples, "tweetpay_outbox_budget_waiting", kind="dm", reason="bot budget") == 2
    free_at = value(samples, "tweetpay_outbox_budget_free_timestamp_seconds", kind="dm",
                    reason="bot budget")
    # The oldest of the 15 sends leaves the window 15 minutes after it went out.
    expected = now - dt.timedelta(minutes=5, seconds=14) + dt.timedelta(minutes=15)
    assert abs(free_at - expected.timestamp()) < 1
    assert value(samples, "tweetpay_inbox_rows", status="failed") == 1
    assert value(samples, "tweetpay_outbox_rows", kind="dm", status="pending") == 2
    age = value(samples, "tweetpay_outbox_oldest_pending_age_seconds", kind="dm")
    assert 600 <= age < 700


def test_a_metrics_token_is_required_when_set(engine: Engine) -> None:
    from storage.db import make_session_factory

    settings = load_settings(metrics_token="scrape-secret")
    app = create_app(settings, make_session_factory(engine))
    with TestClient(app) as web:
        assert web.get("/metrics").status_code == 401
        assert web.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert value(scrape(web, Authorization="Bearer scrape-secret"),
                     "tweetpay_database_up") == 1
