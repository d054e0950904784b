"""Serve the web app with uvicorn (the Procfile's ``web`` process).

uvicorn's access log is off: its lines carry the request path, and ``/c/<token>`` is a
one-time capability that must never reach a log. ``bot.web.app`` logs each confirmation's
outcome and reference instead.

``TWEETPAY_WEB_WORKERS`` processes serve the one port (0: one per core on PostgreSQL, one on
SQLite; ``worker_count``): uvicorn's supervisor binds it once, spawns the workers and
restarts one that dies. One Python process runs Python on one core at a time, so a
confirmation's HTTP, page and transaction work (2-4 ms of CPU) caps one process at a few
hundred per second while the PIN's Argon2id checks already use every core; one worker per
core lifts that cap. Each worker builds its own app and connection pool (``AppFactory``)
from the same settings. Nothing the pages keep lives in a process (sessions, challenges,
counts and the live streams' versions are rows), so any worker answers any request. The
web process's own counters (``bot.metrics``) then go to files shared by the workers
(prometheus_client's multiprocess mode), so ``/metrics`` sums every worker.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from sqlalchemy.engine import make_url
from uvicorn.supervisors import Multiprocess

from bot.web.app import create_app
from storage.db import make_engine, make_session_factory

# prometheus_client reads this at import, in each spawned worker (bot.metrics).
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True)
class AppFactory:
    """Builds the app in the process that serves it: picklable (settings and keyword
    arguments cross to spawned workers), so no engine or pool is shared between processes.
    ``configure``: the worker is a fresh interpreter, so it sets up logging as the CLI does."""

    settings: Any
    app_kwargs: dict[str, Any] = field(default_factory=dict)
    configure: bool = False

    def __call__(self) -> Any:
        if self.configure:
            from bot.logging import configure_logging

            s = self.settings
            configure_logging(s.log_level, s.log_format, s.env == "production")
        engine = make_engine(self.settings.sqlalchemy_url)
        return create_app(self.settings, make_session_factory(engine), **self.app_kwargs)


def _config(settings: Any, app: Any, **kwargs: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.web_host,
        port=settings.web_port,
        access_log=False,
        log_config=None,  # keep the process's logging (bot.logging), no uvicorn handlers
        proxy_headers=True,
        server_header=False,
        # The app's live streams (/app/events) end on their own; do not wait for them.
        timeout_graceful_shutdown=3,
        **kwargs,
    )


def build_server(settings: Any, **app_kwargs: Any) -> uvicorn.Server:
    """One process serving the app (tests, and ``serve`` with one worker)."""
    return uvicorn.Server(_config(settings, AppFactory(settings, app_kwargs)()))


def worker_count(settings: Any) -> int:
    """``web_workers``, 0 resolved: one per core on PostgreSQL; one on SQLite, whose single
    writer lock more processes would only queue for (a waiting SQLite connection polls, it is
    not woken: two processes confirmed no more payments per second than one, within the
    noise, even with writers queued in turn across processes)."""
    workers = int(getattr(settings, "web_workers", 1))
    if workers:
        return workers
    postgres = make_url(settings.sqlalchemy_url).get_backend_name() == "postgresql"
    return (os.cpu_count() or 1) if postgres else 1


def worker_app_kwargs(app_kwargs: dict[str, Any], workers: int) -> dict[str, Any]:
    """``create_app``'s arguments in every worker of one server: its PIN-check threads, and
    the ``cores`` permits all the workers share (see ``serve``).

    Each worker gets twice its share of the cores, up to all of them. A process keeps the
    19 MiB of as many checks as it has run at once (their malloc arenas, kept warm on
    purpose: bot.services.confirm; 1, 2, 4 and 8 at once left 19, 38, 76 and 152 MiB), so
    a thread per core in every worker could hold workers x cores x 19 MiB (1.2 GiB on 8
    cores with 8 workers); twice the share holds at most 2 x cores x 19 MiB, and a worker
    that took most of the connections still checks on twice its share of the cores."""
    cores = os.cpu_count() or 1
    share = max(1, cores // max(1, workers))
    gate = multiprocessing.get_context("spawn").Semaphore(cores)
    return {"pin_threads": min(cores, 2 * share), "pin_gate": gate, **app_kwargs}


def serve(settings: Any, **app_kwargs: Any) -> None:
    """Run the web app with ``worker_count(settings)`` processes until interrupted."""
    workers = worker_count(settings)
    if workers <= 1:
        build_server(settings, **app_kwargs).run()
        return
    # Argon2id checks (19 MiB each, memory-bound) on all workers together: one per core.
    # More at once run no faster and evict each other, and every request's work, from the
    # shared cache (benchmarks.confirm, 2 cores: 28-37 ms of CPU per PIN confirmation with
    # 2 workers x 2 threads, 27-29 ms with 2 x 1). A fixed share per worker is not enough:
    # the kernel hands each connection to whichever worker accepts first (8 opened at once
    # landed 6/2 and 4/4 on 2 workers), and a worker with one thread and most of the
    # keep-alive connections then checks PINs on one core while the other idles (PIN rate
    # 0.51x the Argon2id ceiling instead of 0.69x, benchmarks.confirm). So each worker has
    # more threads than its share (worker_app_kwargs), and a check takes one of ``cores``
    # permits all the workers share (a semaphore the spawned workers inherit).
    factory = AppFactory(settings, worker_app_kwargs(app_kwargs, workers), configure=True)
    config = _config(settings, factory, factory=True, workers=workers)
    with tempfile.TemporaryDirectory(prefix="tweetpay-metrics-") as metrics_dir:
        # Set before the workers start, so each one's counters go to files in this folder.
        os.environ.setdefault(METRICS_DIR_ENV, metrics_dir)
        socket = config.bind_socket()
        try:
            Multiprocess(config, sockets=[socket]).run()
        finally:
            socket.close()
