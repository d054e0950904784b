"""Process entry points: the worker, the web app, or both (with the embedded emulator when no
X API base URL is configured: the sandbox)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from bot.logging import get_logger
from bot.startup import check_ports, retry_until_x_answers
from bot.worker import Runtime, build_runtime, make_scheduler, utcnow
from config import Settings
from storage.migrate import upgrade

log = get_logger(__name__)


@contextlib.contextmanager
def x_api(settings: Settings, emulator_url: str | None = None
          ) -> Iterator[tuple[str, Any, Any]]:
    """The X API to talk to: X itself, an emulator already running at ``emulator_url``
    (``tweetpay emulator``, the Procfile's), or the embedded emulator (started here).

    Yields ``(base_url, credentials, emulator_state_or_None)``.
    """
    if emulator_url:
        from bot.emulator.client import ControlClient

        control = ControlClient(emulator_url, timeout=settings.x_timeout_seconds)
        # The emulator may still be starting (honcho starts every process at once).
        yield emulator_url, retry_until_x_answers(control.credentials), None
        return
    if not settings.uses_emulator:
        yield settings.x_api_base_url, None, None
        return
    from bot.emulator.server import EmulatorServer

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server = EmulatorServer(settings.emulator_port,
                            state_file=settings.data_dir / "emulator-state.json")
    server.start()
    try:
        yield server.base_url, server.credentials, server.state
    finally:
        server.stop()


# The sandbox answers within seconds: poll mentions every 3 s (X's limit of 300 per 15 min
# allows one call every 3 s). X lets the bot read DMs only 15 times per 15 min; the sandbox's
# emulator is told to allow 300 so that sign-up and DM payments can be tried without waiting
# a minute for each message. On X the settings' default (60 s) applies.
SANDBOX_OVERRIDES = {"poll_mentions_seconds": 3.0, "poll_dms_seconds": 3.0,
                     "poll_chats_seconds": 3.0, "outbox_seconds": 1.0, "expiry_seconds": 10.0,
                     # A new IBAN's security delay is a minute here (24 h on X): long enough
                     # to be seen, short enough to try a withdrawal; payouts checked often.
                     "payout_cooling_off_hours": 1 / 60, "payouts_seconds": 2.0}
# The sandbox also receives by X Activity API push: the worker subscribes our webhook at start
# (once the web process answers X's CRC). Polling stays as fast as above beside it, so a
# worker started without its web process still answers in seconds; TWEETPAY_POLLING=false
# shows push alone.
SANDBOX_PUSH = {"x_push": True, "x_push_subscribe_at_start": True, "x_push_check_seconds": 5.0,
                "poll_mentions_push_seconds": 3.0, "poll_dms_push_seconds": 3.0}
SANDBOX_DM_POLLS_PER_15_MIN = 300


def sandbox_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={**SANDBOX_OVERRIDES, **SANDBOX_PUSH})


def _prepare(settings: Settings, base_url: str, credentials: Any) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url)
    runtime = retry_until_x_answers(
        lambda: build_runtime(settings, base_url=base_url, credentials=credentials,
                              clock=utcnow))
    _observe(runtime)
    return runtime


def _observe(runtime: Runtime) -> None:
    """Scrape-time metrics of the worker: queues (database) and X budgets (gateway)."""
    from bot import metrics
    from bot.gateway.budgets import ENDPOINTS

    metrics.register_database(runtime.engine, runtime.clock)
    metrics.register_budgets(runtime.gateway.budget, ENDPOINTS)


def _serve_worker_metrics(settings: Settings) -> None:
    from bot import metrics

    if settings.worker_metrics_port:
        metrics.serve(settings.worker_metrics_port, settings.web_host)
        log.info("worker.metrics", port=settings.worker_metrics_port)


def _seed(runtime: Runtime, state: Any, base_url: str) -> None:
    from bot.sandbox import RemoteEmulator, instructions, sandbox_users, seed_accounts

    if state is None:  # an emulator in another process: reach it through its control API
        state = RemoteEmulator(base_url)
    state.set_rate_limit("dm_events", SANDBOX_DM_POLLS_PER_15_MIN)

    users = sandbox_users(state)
    seed_accounts(runtime.sessions, runtime.settings, users, utcnow())
    web = runtime.settings.public_base_url
    print(instructions(base_url, web, users), flush=True)


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def run_worker(settings: Settings, *, sandbox: bool = False,
               emulator_url: str | None = None) -> None:
    settings = sandbox_settings(settings) if sandbox else settings
    check_ports(settings, emulator=not emulator_url, web=False, metrics=True)
    with x_api(settings, emulator_url) as (base_url, credentials, state):
        runtime = _prepare(settings, base_url, credentials)
        if sandbox and (state is not None or emulator_url):
            _seed(runtime, state, base_url)
        scheduler = make_scheduler(runtime)
        _serve_worker_metrics(settings)
        scheduler.start()
        log.info("worker.started", x_api=base_url)
        try:
            _wait_for_signal()
        finally:
            scheduler.shutdown(wait=True)


def run_web(settings: Settings) -> None:
    from bot.web.server import serve

    check_ports(settings, emulator=False, web=True, metrics=False)
    upgrade(settings.sqlalchemy_url)
    serve(settings)


def run_all(settings: Settings, *, sandbox: bool = False) -> None:
    """Worker and web app in one process (the README's run command)."""
    from bot.web.server import serve

    settings = sandbox_settings(settings) if sandbox else settings
    # Several web workers are other processes: this one's counters (the worker's) then get
    # their own /metrics port, as a worker of its own has.
    split = settings.web_workers > 1
    check_ports(settings, emulator=True, web=True, metrics=split)
    with x_api(settings) as (base_url, credentials, state):
        runtime = _prepare(settings, base_url, credentials)
        if sandbox and state is not None:
            _seed(runtime, state, base_url)
        scheduler = make_scheduler(runtime)
        if split:
            _serve_worker_metrics(settings)
        scheduler.start()
        try:
            serve(settings)  # returns on Ctrl-C / SIGTERM
        finally:
            scheduler.shutdown(wait=True)
