"""Wiring: build the runtime (engine, gateway, ingest, processor, outbox sender) and the
APScheduler jobs that drive it. ``tweetpay worker`` runs the jobs; ``tweetpay run`` runs them
beside the web app; the sandbox adds the emulator.

Jobs: poll mentions, poll DMs (each followed by handling the new inbox rows), send the
outbox, expire stale intents, remind and refund unclaimed escrow. Each job runs at most
once at a time and coalesces missed runs; every job also runs at start, so deadlines that
passed while the worker was down are caught up at once (``expire_due`` takes every intent
past its TTL, not just the recent ones; ``escrow.process_due`` every hold past its deadline).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.activity.recovery import PushWatch
from bot.gateway import XGateway, make_gateway
from bot.heartbeat import Heartbeat
from bot.ingest import Ingest
from bot.logging import get_logger
from bot.metrics import JOB_DURATION, JOB_ERRORS, JOB_LAST_RUN
from bot.outbox_sender import Budgets, OutboxSender
from bot.processor import Processor
from bot.push import PushService, WebPushService
from bot.push_sender import PushSender
from bot.services import escrow as escrow_service
from bot.services import expire as expire_service
from bot.x_meter import Meter, persisting
from bot.xchat.api import ChatApi
from bot.xchat.bot_chat import BotChat
from bot.xchat.ingest import ChatIngest
from bot.xchat.keys import init_keys, load_bot_chat
from bot.xchat.outbound import ChatOutbound
from config import Settings
from handlers.errors import GatewayError
from storage import accounts, leases
from storage.db import make_engine, make_session_factory
from storage.sealing import Sealer

log = get_logger(__name__)

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    sealer: Sealer
    gateway: XGateway
    ingest: Ingest
    processor: Processor
    sender: OutboxSender
    clock: Clock
    chat_ingest: ChatIngest | None = None
    heartbeat: Heartbeat | None = None
    push: PushWatch | None = None  # the X Activity API watch, when push is on
    push_sender: PushSender | None = None

    def poll_chats(self) -> int:
        if self.chat_ingest is not None:
            with leases.exclusive(self.engine, "poll_chats") as mine:
                if mine:
                    self.chat_ingest.poll()
        return self.processor.process_pending()
    _payouts: Any = None  # money out's collaborators, built on first use

    def expire(self) -> int:
        return expire_service.expire_due(self.sessions, self.sealer, self.clock)

    def escrow_due(self) -> tuple[int, int]:
        """Claim-period reminders and refunds (all deadlines passed, after any outage)."""
        period = dt.timedelta(days=self.settings.claim_period_days)
        return escrow_service.process_due(self.sessions, self.sealer, self.clock, period)

    def poll_mentions(self) -> int:
        with leases.exclusive(self.engine, "poll_mentions") as mine:
            if mine:
                self.ingest.poll_mentions()
        return self.processor.process_pending()

    def poll_dms(self) -> int:
        with leases.exclusive(self.engine, "poll_dms") as mine:
            if mine:
                self.ingest.poll_dms()
        return self.processor.process_pending()

    def send_outbox(self) -> int:
        return self.sender.run_once().sent

    # -- money out (bot/services/withdraw*.py, reconcile.py, wind_down.py) -------------------

    def payout_deps(self) -> Any:
        if self._payouts is None:
            from bot.services.payout_common import deps_from_settings

            self._payouts = deps_from_settings(self.settings, self.sessions, self.sealer,
                                               self.clock)
        return self._payouts

    def payouts(self) -> int:
        """Expire unconfirmed withdrawals, send the due ones, ask about the unresolved."""
        from bot.services import withdraw, withdraw_provider

        deps = self.payout_deps()
        with leases.exclusive(self.engine, "payouts") as mine:
            if not mine:
                return 0
            withdraw.expire_due(deps)
            return withdraw_provider.submit_due(deps) + withdraw_provider.recover(deps)

    def reconcile(self) -> int:
        from bot.payments.sandbox import make_provider
        from bot.services import reconcile

        deps = self.payout_deps()
        found = reconcile.run(self.sessions, make_provider(self.settings, self.clock),
                              deps.provider, self.clock())
        for mismatch in found:
            log.error("reconcile.mismatch", source=mismatch.source, kind=mismatch.kind,
                      reference=mismatch.reference)
        return len(found)

    def wind_down_notices(self) -> int:
        from bot.services import wind_down

        return wind_down.notify_due(self.sessions, self.sealer, self.clock,
                                    self.settings.wind_down_dms_per_hour)

    def send_pushes(self) -> int:
        """The outbox's push rows, to app devices (its own budget, no X call)."""
        return self.push_sender.run_once().sent if self.push_sender is not None else 0

    def tick(self) -> None:
        """One pass of every job, in data-flow order (tests and benchmarks drive this)."""
        self.poll_mentions()
        self.poll_dms()
        self.poll_chats()
        self.expire()
        self.escrow_due()
        self.payouts()
        self.wind_down_notices()
        while self.send_outbox():
            pass
        while self.send_pushes():
            pass


def build_push_sender(settings: Settings, sessions: sessionmaker[Session], sealer: Sealer,
                      clock: Clock, service: PushService | None = None) -> PushSender:
    service = service or WebPushService(settings.vapid_private_key.get_secret_value(),
                                        settings.vapid_subject)
    return PushSender(sessions, service, sealer, clock, per_minute=settings.push_per_minute,
                      ttl_seconds=settings.push_ttl_seconds,
                      max_attempts=settings.outbox_max_attempts)


def build_runtime(settings: Settings, *, base_url: str, credentials: Any,
                  clock: Clock = utcnow, engine: Engine | None = None,
                  gateway: XGateway | None = None,
                  push_service: PushService | None = None) -> Runtime:
    engine = engine or make_engine(settings.sqlalchemy_url)
    sessions = make_session_factory(engine)
    sealer = Sealer([key.get_secret_value() for key in settings.data_keys])
    gateway = gateway or make_gateway(settings, base_url=base_url, credentials=credentials,
                                      meter=Meter(on_record=persisting(sessions)))
    me = gateway.me()

    def resolve(handle: str) -> tuple[int, str] | None:
        user = gateway.user_by_handle(handle)
        return (int(user.id), user.username) if user else None

    chat = start_chat(settings, sessions, sealer, gateway, int(me.id), clock)
    processor = Processor(sessions, sealer, clock, settings, bot_user_id=int(me.id),
                          bot_handle=me.username, resolve=resolve, chat=chat)
    sender = OutboxSender(sessions, gateway, sealer, clock,
                          budgets=Budgets(dm_per_15min=settings.x_dms_per_15_minutes,
                                          posts_per_15min=settings.x_posts_per_15_minutes),
                          max_attempts=settings.outbox_max_attempts,
                          public_link_fallback=settings.public_link_fallback,
                          chat=ChatOutbound(sessions, chat, ChatApi(gateway), clock)
                          if chat else None,
                          bot_user_id=int(me.id))
    ingest = Ingest(sessions, gateway, clock, int(me.id))
    chat_ingest = ChatIngest(sessions, ChatApi(gateway), clock, int(me.id)) if chat else None
    push = None
    if settings.x_push:
        push = PushWatch(sessions, gateway, settings, clock,  # type: ignore[arg-type]
                         bot_user_id=int(me.id), holders=lambda: _holders(sessions))
    pushes = build_push_sender(settings, sessions, sealer, clock, push_service)
    return Runtime(settings, engine, sessions, sealer, gateway, ingest, processor, sender,
                   clock, chat_ingest, Heartbeat(sessions, clock), push, pushes)


def _holders(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return accounts.holder_ids(session)


def start_chat(settings: Settings, sessions: sessionmaker[Session], sealer: Sealer,
               gateway: XGateway, bot_user_id: int, clock: Clock) -> BotChat | None:
    """The bot's X Chat client: its keys loaded (made and registered first in the sandbox)."""
    if not settings.xchat_enabled:
        return None
    api = ChatApi(gateway)
    try:
        if settings.env == "sandbox":
            init_keys(sessions, sealer, api, bot_user_id, clock)
        chat = load_bot_chat(sessions, sealer, api, bot_user_id)
    except (GatewayError, NotImplementedError) as exc:
        log.warning("xchat.unavailable", error=type(exc).__name__)
        return None
    if chat is None:
        log.warning("xchat.no_keys", hint="tweetpay x chat-keys init")
    return chat


Record = Callable[[str, dt.datetime, float, "str | None"], None]


def _guarded(name: str, job: Callable[[], Any], record: Record | None = None
             ) -> Callable[[], None]:
    def run() -> None:
        started = time.monotonic()
        error: str | None = None
        try:
            job()
        except GatewayError as exc:
            # X unavailable or rate limited: the next run tries again; nothing is lost.
            error = type(exc).__name__
            log.warning("job.gateway_error", job=name, error=error)
        except Exception as exc:
            error = type(exc).__name__
            log.exception("job.failed", job=name)
        finally:
            seconds = time.monotonic() - started
            if error:
                JOB_ERRORS.labels(name, error).inc()
            JOB_DURATION.labels(name).observe(seconds)
            JOB_LAST_RUN.labels(name).set(time.time())
            if record is not None:
                record(name, utcnow(), seconds, error)

    return run


def make_scheduler(runtime: Runtime) -> BackgroundScheduler:
    s = runtime.settings
    scheduler = BackgroundScheduler(timezone=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    jobs: list[tuple[str, Callable[[], object], float]] = []
    if s.polling:
        # With push on, polling is the safety net: slower, for what push missed.
        jobs += [
            ("poll_mentions", runtime.poll_mentions,
             s.poll_mentions_push_seconds if s.x_push else s.poll_mentions_seconds),
            ("poll_dms", runtime.poll_dms,
             s.poll_dms_push_seconds if s.x_push else s.poll_dms_seconds),
            ("poll_chats", runtime.poll_chats, s.poll_chats_seconds),
        ]
    if runtime.push is not None:
        jobs.append(("x_push", runtime.push.run, s.x_push_check_seconds))
    jobs += [
        ("outbox", runtime.send_outbox, s.outbox_seconds),
        ("push", runtime.send_pushes, s.outbox_seconds),
        # Rows recorded by the webhook (or left pending by a crash) need no poll to be handled.
        ("inbox", runtime.processor.process_pending, s.outbox_seconds),
        ("expire", runtime.expire, s.expiry_seconds),
        ("escrow", runtime.escrow_due, s.expiry_seconds),
    ]
    record = runtime.heartbeat.record if runtime.heartbeat else None
    if runtime.heartbeat is not None:
        jobs.append(("heartbeat", runtime.heartbeat.beat, s.heartbeat_seconds))
    jobs += [
        ("payouts", runtime.payouts, s.payouts_seconds),
        ("wind_down", runtime.wind_down_notices, 60.0),
    ]
    for name, fn, seconds in jobs:
        scheduler.add_job(_guarded(name, fn, record), "interval", seconds=seconds, id=name,
                          max_instances=1, coalesce=True, next_run_time=now)
    # Reconciliation with the providers: once a day (and /metrics shows what it found).
    scheduler.add_job(_guarded("reconcile", runtime.reconcile, record), "cron",
                      hour=s.reconcile_hour_utc, minute=0, id="reconcile", max_instances=1,
                      coalesce=True)
    _register_reconcile_metric(runtime)
    return scheduler


def _register_reconcile_metric(runtime: Runtime) -> None:
    from bot import metrics
    from bot.services.reconcile import ReconcileCollector

    metrics.register("reconcile", ReconcileCollector(runtime.sessions))
