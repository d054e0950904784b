"""Web Push over real HTTP, on SQLite and PostgreSQL: pywebpush's requests reach a local
push-service stand-in (``tests.push_service``) that decrypts them with the subscription's
private key, as a browser would; 404/410 remove the subscription; an outage is retried and
nothing is lost or doubled."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.push import WebPushService, application_server_key
from bot.push_sender import PushSender
from bot.security import new_token
from config import load_settings
from handlers.outcomes import PushNotice
from storage import devices, outbox
from storage.accounts import open_user
from storage.db import make_session_factory
from storage.models import OutboxMessage, PushSubscription, User, WebSession
from storage.sealing import Sealer
from storage.sessions import open_session
from storage.uow import UnitOfWork

try:
    from tests.fakes import FakeClock as Clock
except ImportError:  # tests/ itself on sys.path
    from fakes import FakeClock as Clock  # type: ignore[no-redef]

try:
    from tests.push_service import PushServiceStandIn
except ImportError:  # tests/ itself on sys.path (rootdir-less import mode)
    from push_service import PushServiceStandIn  # type: ignore[no-redef]

ALICE = 1001




@pytest.fixture
def world(engine: Engine) -> tuple[sessionmaker[Session], Sealer, Clock]:
    settings = load_settings()
    sessions = make_session_factory(engine)
    sealer = Sealer([k.get_secret_value() for k in settings.data_keys])
    clock = Clock(dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC))
    with UnitOfWork(sessions) as uow:
        user = open_user(uow, x_user_id=ALICE, handle="alice", now=clock())
        uow.commit()
        assert user is not None
    return sessions, sealer, clock


def _device(sessions: sessionmaker[Session], sealer: Sealer, clock: Clock,
            subscription: dict[str, object]) -> None:
    with sessions.begin() as session:
        uid = session.scalars(select(User.id).where(User.x_user_id == ALICE)).one()
        _, cookie_hash = new_token()
        open_session(session, user_id=uid, session_hash=cookie_hash, now=clock(),
                     ttl=dt.timedelta(days=30))
        sid = session.scalars(select(WebSession.id).where(
            WebSession.session_hash == cookie_hash)).one()
        devices.subscribe(session, sealer, session_id=sid, x_user_id=ALICE,
                          subscription=subscription, now=clock())  # type: ignore[arg-type]


def _notice(sessions: sessionmaker[Session], sealer: Sealer, clock: Clock, key: str) -> None:
    with sessions.begin() as session:
        outbox.enqueue(session, sealer, [PushNotice(
            key, ALICE, "Paiement reçu", "Vous avez reçu 12,99 € de @bob")], clock())


def _has_app(sessions: sessionmaker[Session], clock: Clock) -> bool:
    with sessions() as session:
        return devices.has_app(session, ALICE, clock())


def _sender(sessions: sessionmaker[Session], sealer: Sealer, clock: Clock) -> PushSender:
    settings = load_settings()
    service = WebPushService(settings.vapid_private_key.get_secret_value(),
                             settings.vapid_subject, timeout=2)
    return PushSender(sessions, service, sealer, clock, max_attempts=5, rng=random.Random(1))


def _row(sessions: sessionmaker[Session], key: str) -> OutboxMessage:
    with sessions() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == key)).one()
        session.expunge(row)
        return row


def test_a_push_is_encrypted_for_the_device_and_decrypts_to_the_notice(
        world: tuple[sessionmaker[Session], Sealer, Clock],
        stand_in: PushServiceStandIn) -> None:
    sessions, sealer, clock = world
    subscription = stand_in.subscribe()
    _device(sessions, sealer, clock, subscription)
    assert _has_app(sessions, clock)
    _notice(sessions, sealer, clock, "intent:1:received-push")
    stats = _sender(sessions, sealer, clock).run_once()
    assert (stats.sent, stats.devices) == (1, 1)
    (got,) = stand_in.received
    assert got.payload["body"] == "Vous avez reçu 12,99 € de @bob"
    assert got.payload["url"] == "/" and "http" not in json.dumps(got.payload)
    settings = load_settings()
    assert got.vapid_key == application_server_key(settings.vapid_private_key.get_secret_value())
    assert got.audience == stand_in.base_url
    assert got.headers["ttl"] == "600" and got.headers["topic"].startswith("tp-")
    row = _row(sessions, "intent:1:received-push")
    assert row.status == "sent" and row.remote_id == "push:1"
    # The subscription's endpoint and keys are not readable at rest.
    with sessions() as session:
        sealed = session.scalars(select(PushSubscription.sealed)).one()
    assert str(subscription["endpoint"]) not in sealed


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_removed(
        world: tuple[sessionmaker[Session], Sealer, Clock], stand_in: PushServiceStandIn,
        status: int) -> None:
    sessions, sealer, clock = world
    subscription = stand_in.subscribe()
    _device(sessions, sealer, clock, subscription)
    stand_in.answer(subscription, status)
    _notice(sessions, sealer, clock, "intent:2:received-push")
    stats = _sender(sessions, sealer, clock).run_once()
    assert (stats.sent, stats.removed, stats.retried) == (1, 1, 0)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0
    assert not _has_app(sessions, clock)
    assert stand_in.received == []


def test_an_outage_is_retried_and_nothing_is_lost_or_doubled(
        world: tuple[sessionmaker[Session], Sealer, Clock],
        stand_in: PushServiceStandIn) -> None:
    sessions, sealer, clock = world
    phone, laptop = stand_in.subscribe(), stand_in.subscribe()
    _device(sessions, sealer, clock, phone)
    _device(sessions, sealer, clock, laptop)
    stand_in.answer(laptop, 503, 500, 429)  # the laptop's push service is down for a while
    _notice(sessions, sealer, clock, "intent:3:received-push")
    sender = _sender(sessions, sealer, clock)
    runs = 0
    while _row(sessions, "intent:3:received-push").status != "sent":
        runs += 1
        assert runs < 10
        sender.run_once()
        clock.now += dt.timedelta(minutes=20)  # past any backoff
    assert runs == 4  # three refusals, then the laptop's delivery
    assert len(stand_in.for_(phone)) == 1 and len(stand_in.for_(laptop)) == 1
    assert stand_in.posts == 5  # phone once, laptop four times: the phone was never resent


def test_a_push_service_that_does_not_answer_at_all_is_retried(
        world: tuple[sessionmaker[Session], Sealer, Clock]) -> None:
    sessions, sealer, clock = world
    down = PushServiceStandIn()
    subscription = down.subscribe()
    down.close()  # connection refused
    _device(sessions, sealer, clock, subscription)
    _notice(sessions, sealer, clock, "intent:4:received-push")
    stats = _sender(sessions, sealer, clock).run_once()
    assert (stats.sent, stats.retried) == (0, 1)
    row = _row(sessions, "intent:4:received-push")
    assert row.status == "pending" and "unavailable" in (row.last_error or "")
