"""Prometheus metrics: every metric the bot exposes is defined here, in the default registry.

Two kinds:

- **Counters and histograms of this process** (messages sent, confirmations, job runs...):
  module-level objects below; code that counts imports them and calls ``.inc()`` /
  ``.observe()``. Add new ones in this module (one block per owner) so the names stay in one
  place and ``/metrics`` shows them all. Each process counts its own: the web process counts
  confirmations, the worker counts messages and jobs. Prometheus scrapes both
  (docs/operations.md) and sums across instances.
- **State read at scrape time** (queues, X budgets, totals in the ledger): collectors
  registered with ``register_database`` / ``register_budgets``, read from the database (the
  truth shared by every process) or from the gateway's last seen rate-limit headers. Their
  values are the same whichever process answers.

``render()`` gives the text exposition for ``/metrics``; ``serve(port)`` starts a bare HTTP
server for a worker that has no web app.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

PREFIX = "tweetpay"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# -- outbox sender (worker) ---------------------------------------------------------------------
MESSAGES_SENT = Counter(f"{PREFIX}_messages_sent", "Messages X accepted, by kind (dm, reply).",
                        ["kind"])
MESSAGES_REFUSED = Counter(
    f"{PREFIX}_messages_refused",
    "Messages X refused or that failed for good, by kind and reason (forbidden, not_found,"
    " gave_up, rate_limited).",
    ["kind", "reason"],
)
MESSAGES_WAITING_BUDGET = Counter(
    f"{PREFIX}_messages_budget_waits",
    "Times a message was held back because the bot's X budget for its kind was spent.",
    ["kind"],
)

# -- confirmations (web) -----------------------------------------------------------------------
CONFIRMATIONS = Counter(
    f"{PREFIX}_confirmations",
    "PIN confirmation attempts by outcome (confirmed, wrong_pin, locked, failed, refused...).",
    ["outcome"],
)

# -- scheduler (worker) ------------------------------------------------------------------------
JOB_LAST_RUN = Gauge(f"{PREFIX}_job_last_run_timestamp_seconds",
                     "When each scheduler job last finished (Unix time).", ["job"])
JOB_DURATION = Histogram(
    f"{PREFIX}_job_duration_seconds", "How long each scheduler job run took.", ["job"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
JOB_ERRORS = Counter(f"{PREFIX}_job_errors", "Scheduler job runs that raised, by job and kind.",
                     ["job", "error"])

# -- start-up ----------------------------------------------------------------------------------
X_STARTUP_RETRIES = Counter(f"{PREFIX}_x_startup_retries",
                            "Times the worker retried reaching X at start-up.")


# -- X usage (worker: calls; web: pushed events), counted by bot.x_meter ------------------------
X_REQUESTS = Counter(f"{PREFIX}_x_requests", "X API calls the bot made, by operation"
                     " (owned_read, user_read, dm_read, summoned_reply, dm_create...).",
                     ["operation"])
X_RESOURCES = Counter(f"{PREFIX}_x_resources",
                      "Resources (posts, users, DM events) X returned, by operation.",
                      ["operation"])
X_EVENTS = Counter(f"{PREFIX}_x_events", "X Activity API events received, by operation.",
                   ["operation"])
X_COST = Counter(f"{PREFIX}_x_cost_usd",
                 "What the bot's X usage costs by X's price table (bot/x_prices.json), USD.",
                 ["operation"])


# -- state read at scrape time ----------------------------------------------------------------


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class DatabaseCollector(Collector):
    """Queues and ledger totals, read from the database at each scrape (a few COUNTs)."""

    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return []  # values come from the database: nothing to read at registration

    def collect(self) -> Iterator[Metric]:
        from storage.models import Charge, InboxEvent, OutboxMessage, Transfer

        now = self._clock()
        inbox = GaugeMetricFamily(f"{PREFIX}_inbox_rows", "Inbox rows by status.",
                                  labels=["status"])
        outbox = GaugeMetricFamily(f"{PREFIX}_outbox_rows", "Outbox rows by kind and status.",
                                   labels=["kind", "status"])
        oldest = GaugeMetricFamily(f"{PREFIX}_outbox_oldest_pending_age_seconds",
                                   "Age of the oldest pending outbox row, by kind.",
                                   labels=["kind"])
        transfers = CounterMetricFamily(f"{PREFIX}_transfers", "Ledger transfers by kind.",
                                        labels=["kind"])
        topups = CounterMetricFamily(f"{PREFIX}_topups", "Card top-up charges by status.",
                                     labels=["status"])
        up = GaugeMetricFamily(f"{PREFIX}_database_up", "1 when the last scrape read the DB.")
        waiting = GaugeMetricFamily(f"{PREFIX}_outbox_budget_waiting",
                                    "Messages due but held back by an X budget, by kind and why.",
                                    labels=["kind", "reason"])
        free = GaugeMetricFamily(f"{PREFIX}_outbox_budget_free_timestamp_seconds",
                                 "When held-back messages may go (Unix time), by kind and why.",
                                 labels=["kind", "reason"])
        beats = GaugeMetricFamily(f"{PREFIX}_worker_heartbeat_age_seconds",
                                  "Seconds since each worker's last heartbeat.", labels=["worker"])
        try:
            self._scrape_status(now, waiting, free, beats)
            with self._engine.connect() as conn:
                for status, n in conn.execute(
                    select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
                ):
                    inbox.add_metric([status], n)
                for kind, status, n, first in conn.execute(
                    select(OutboxMessage.kind, OutboxMessage.status, func.count(),
                           func.min(OutboxMessage.created_at))
                    .where(OutboxMessage.status.in_(("pending", "sending", "failed")))
                    .group_by(OutboxMessage.kind, OutboxMessage.status)
                ):
                    outbox.add_metric([kind, status], n)
                    if status == "pending" and first is not None:
                        first = first if isinstance(first, dt.datetime) else \
                            dt.datetime.fromisoformat(str(first))
                        oldest.add_metric([kind], (now - _aware(first)).total_seconds())
                for kind, n in conn.execute(
                    select(Transfer.kind, func.count()).group_by(Transfer.kind)
                ):
                    transfers.add_metric([kind], n)
                for status, n in conn.execute(
                    select(Charge.status, func.count()).group_by(Charge.status)
                ):
                    topups.add_metric([status], n)
        except Exception:  # a scrape must not fail because the database is down
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (up, inbox, outbox, oldest, transfers, topups, waiting, free, beats)

    def _scrape_status(self, now: dt.datetime, waiting: GaugeMetricFamily,
                       free: GaugeMetricFamily, beats: GaugeMetricFamily) -> None:
        from sqlalchemy.orm import Session

        from bot.status import budget_waits
        from storage.models import WorkerHeartbeat

        with Session(self._engine) as session:
            for wait in budget_waits(session, now):
                waiting.add_metric([wait.kind, wait.reason], wait.waiting)
                if wait.until is not None:
                    free.add_metric([wait.kind, wait.reason], wait.until.timestamp())
            for worker, beat_at in session.execute(
                select(WorkerHeartbeat.worker, WorkerHeartbeat.beat_at)
            ):
                beats.add_metric([worker], (now - _aware(beat_at)).total_seconds())


class BudgetCollector(Collector):
    """X's rate-limit budget per endpoint, as its last answer reported it (this process)."""

    def __init__(self, budget: Callable[[str], Any], endpoints: Iterable[str]) -> None:
        self._budget = budget
        self._endpoints = tuple(endpoints)

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        left = GaugeMetricFamily(f"{PREFIX}_x_budget_remaining",
                                 "Calls left in X's current rate-limit window, by endpoint.",
                                 labels=["endpoint"])
        limit = GaugeMetricFamily(f"{PREFIX}_x_budget_limit",
                                  "X's rate limit for the window, by endpoint.",
                                  labels=["endpoint"])
        reset = GaugeMetricFamily(f"{PREFIX}_x_budget_reset_timestamp_seconds",
                                  "When X's window resets (Unix time), by endpoint.",
                                  labels=["endpoint"])
        for name in self._endpoints:
            seen = self._budget(name)
            if seen is None:
                continue
            left.add_metric([name], seen.remaining)
            limit.add_metric([name], seen.limit)
            reset.add_metric([name], seen.reset_at.timestamp())
        yield from (left, limit, reset)


_registered: dict[str, Collector] = {}
_lock = threading.Lock()


def _register(name: str, collector: Collector) -> None:
    """Register once per process (``tweetpay run`` builds web and worker in one process)."""
    with _lock:
        old = _registered.pop(name, None)
        if old is not None:
            REGISTRY.unregister(old)
        REGISTRY.register(collector)
        _registered[name] = collector


def register_database(engine: Engine, clock: Callable[[], dt.datetime]) -> None:
    _register("database", DatabaseCollector(engine, clock))


def register_budgets(budget: Callable[[str], Any], endpoints: Iterable[str]) -> None:
    _register("budgets", BudgetCollector(budget, endpoints))


def register(name: str, collector: Collector) -> None:
    """Another scrape-time collector (replaces an earlier one of the same name)."""
    _register(name, collector)


def render() -> bytes:
    """This process's metrics; with several web workers (``bot.web.server``: prometheus_client's
    multiprocess folder set), every worker's counters summed, beside the scrape-time ones."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    with _lock:
        for collector in _registered.values():
            registry.register(collector)
    return generate_latest(registry)


def serve(port: int, host: str = "127.0.0.1") -> Any:
    """A bare /metrics HTTP server in a daemon thread (the worker's)."""
    return start_http_server(port, addr=host)
