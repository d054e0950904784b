"""What the operator sees, on SQLite and PostgreSQL: the worker's heartbeat, /healthz, and
`tweetpay status` with a message waiting for X's DM budget (and until when, logged once) and a
failed row. The bot's budget is made small (2 DMs per 15 minutes) so two payments fill it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
import structlog
from click.testing import CliRunner
from sqlalchemy import Engine, select, update
from starlette.testclient import TestClient

from bot.cli import main
from bot.heartbeat import Heartbeat
from bot.outbox_sender import Budgets, OutboxSender
from bot.sandbox import sandbox_users, seed_accounts
from bot.status import read_status, render
from bot.web.app import create_app
from bot.worker import Runtime, build_runtime, make_scheduler
from config import load_settings
from storage.models import InboxEvent, OutboxMessage

try:
    from tests.integration.bot_world import FakeClock
except ImportError:  # tests/ itself on sys.path
    from bot_world import FakeClock  # type: ignore[no-redef]


@pytest.fixture
def bot(engine: Engine, emulator: object) -> Iterator[tuple[Runtime, FakeClock]]:
    settings = load_settings(public_base_url="http://testserver")
    clock = FakeClock()
    emulator.state.set_rate_limit("dm_events", 10_000)  # type: ignore[attr-defined]
    runtime = build_runtime(settings, base_url=emulator.base_url,  # type: ignore[attr-defined]
                            credentials=emulator.credentials,  # type: ignore[attr-defined]
                            clock=clock, engine=engine)
    runtime.sender = OutboxSender(runtime.sessions, runtime.gateway, runtime.sealer, clock,
                                  budgets=Budgets(dm_per_15min=2))
    seed_accounts(runtime.sessions, settings, sandbox_users(emulator.state), clock())  # type: ignore[attr-defined]
    yield runtime, clock


def test_heartbeat_makes_the_worker_alive_then_dead(bot: tuple[Runtime, FakeClock],
                                                    engine: Engine) -> None:
    runtime, clock = bot
    settings = runtime.settings
    app = create_app(settings, runtime.sessions, clock=clock, sealer=runtime.sealer)
    with TestClient(app) as web:
        assert web.get("/healthz").json()["worker"] == "none"
        heartbeat = Heartbeat(runtime.sessions, clock, worker="host-a:1")
        heartbeat.record("poll_mentions", clock(), 0.25, None)
        heartbeat.beat()
        body = web.get("/healthz").json()
        assert body["worker"] == "alive" and body["workers_alive"] == 1
        clock.advance(seconds=settings.heartbeat_seconds * 3 + 1)
        response = web.get("/healthz")
        assert response.status_code == 200 and response.json()["worker"] == "dead"
        heartbeat.beat()
        assert web.get("/healthz").json()["worker"] == "alive"


def test_the_scheduler_runs_a_heartbeat_job(bot: tuple[Runtime, FakeClock]) -> None:
    runtime, _ = bot
    scheduler = make_scheduler(runtime)
    assert "heartbeat" in {job.id for job in scheduler.get_jobs()}


def test_status_shows_the_budget_wait_a_failed_row_and_the_last_polls(
    bot: tuple[Runtime, FakeClock], emulator: object, database_url: str
) -> None:
    runtime, clock = bot
    control = emulator.control  # type: ignore[attr-defined]
    for amount in ("1", "2", "3"):
        control.tweet("alice", f"@Smoney #envoyer {amount}€ @bob merci")
    with structlog.testing.capture_logs() as logs:
        runtime.poll_mentions()
        first = clock()
        runtime.send_outbox()  # two links go out; the third waits for the DM budget
        clock.advance(seconds=5)
        runtime.send_outbox()  # still waiting: not logged again
    waits = [entry for entry in logs if entry["event"] == "outbox.waiting_for_budget"]
    assert len(waits) == 1 and waits[0]["kind"] == "dm"
    until = dt.datetime.fromisoformat(waits[0]["until"])
    assert first + dt.timedelta(minutes=15) - dt.timedelta(seconds=2) <= until
    assert until <= first + dt.timedelta(minutes=15, seconds=2)

    with runtime.sessions.begin() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.kind == "reply")
                        .values(status="failed", last_error="forbidden: reply not allowed"))
        row = session.scalars(select(InboxEvent)).first()
        assert row is not None
        session.add(InboxEvent(source="dm", event_id="broken-1", author_x_user_id=7,
                               payload="{}", status="failed", error="KeyError: 'author_id'",
                               received_at=clock()))
    heartbeat = Heartbeat(runtime.sessions, clock, worker="host-a:1")
    heartbeat.record("poll_mentions", clock(), 0.1, None)
    heartbeat.beat()

    with runtime.sessions() as session:
        status = read_status(session, clock(), heartbeat_seconds=10,
                             budgets=Budgets(dm_per_15min=2))
    (wait,) = [w for w in status.waits if w.kind == "dm"]
    assert wait.waiting == 1 and wait.reason == "bot budget"
    assert abs((wait.until - until).total_seconds()) < 1  # type: ignore[operator]
    assert {f.table for f in status.failed} == {"inbox", "outbox"}
    assert status.worker_alive and status.last_polls["poll_mentions"] is not None
    text = render(status)
    assert "1 dm message(s) (bot budget) until" in text
    assert "KeyError: 'author_id'" in text and "forbidden: reply not allowed" in text
    assert "worker host-a:1: alive" in text and "last poll_dms: never" in text

    # The command reads the same database (real time: the fake clock's heartbeat is recent).
    result = CliRunner().invoke(main, ["status"], env={"TWEETPAY_DATABASE_URL": database_url,
                                                       "TWEETPAY_LOG_FORMAT": "json"})
    assert result.exit_code == 0, result.output
    assert "failed rows: " in result.output and "inbox #" in result.output
    assert "dm pending 1" in result.output


def test_heartbeat_row_holds_the_jobs_as_json(bot: tuple[Runtime, FakeClock]) -> None:
    runtime, clock = bot
    heartbeat = Heartbeat(runtime.sessions, clock, worker="w:2")
    heartbeat.record("outbox", clock(), 1.5, "Transient")
    heartbeat.beat()
    with runtime.sessions() as session:
        (state,) = read_status(session, clock(), heartbeat_seconds=10).workers
    assert state.jobs["outbox"]["error"] == "Transient"
    assert json.dumps(state.jobs)  # plain JSON values


def test_a_429_from_x_is_logged_once_with_xs_reset_time(bot: tuple[Runtime, FakeClock],
                                                        emulator: object) -> None:
    runtime, clock = bot
    runtime.sender = OutboxSender(runtime.sessions, runtime.gateway, runtime.sealer, clock)
    control = emulator.control  # type: ignore[attr-defined]
    control.rate_limit("send_dm", 1)  # X lets one more DM through in this window
    control.tweet("alice", "@Smoney #envoyer 1€ @bob un")
    control.tweet("alice", "@Smoney #envoyer 2€ @bob deux")
    with structlog.testing.capture_logs() as logs:
        runtime.poll_mentions()
        runtime.send_outbox()
        runtime.send_outbox()
    waits = [e for e in logs if e["event"] == "outbox.waiting_for_budget"]
    assert len(waits) == 1 and waits[0]["why"] == "X answered 429"
    seen = runtime.gateway.budget("send_dm")
    assert seen is not None and seen.remaining == 0
    # X's reset time (whole seconds; the emulator's 200 and 429 answers may round apart by 1 s).
    until = dt.datetime.fromisoformat(waits[0]["until"])
    assert abs((until - seen.reset_at).total_seconds()) <= 1
    assert until > clock() + dt.timedelta(minutes=10)
    with runtime.sessions() as session:
        (wait,) = [w for w in read_status(session, clock(), heartbeat_seconds=10).waits
                   if w.reason == "X said 429"]
    assert wait.kind == "dm" and wait.until is not None
    assert abs((wait.until - until).total_seconds()) <= 1
