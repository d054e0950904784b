"""Start-up: ports checked before anything starts, and X waited for instead of exiting.

A busy port gives one line naming the port and the setting that moves it (``PortBusy``,
printed by the CLI), not a traceback half-way through start-up. A worker whose first calls to
X fail (``users/me`` answering 5xx, a timeout, a refused connection) logs it and tries again
with exponential backoff, for as long as it takes: it never exits because X is down.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from bot.logging import get_logger
from bot.metrics import X_STARTUP_RETRIES
from bot.ports import check_free
from config import Settings
from handlers.errors import GatewayError

log = get_logger(__name__)
T = TypeVar("T")

STARTUP_BACKOFF_BASE = 1.0  # seconds; doubles per failure up to the cap
STARTUP_BACKOFF_CAP = 60.0


def retry_until_x_answers(call: Callable[[], T], *,
                          sleep: Callable[[float], None] = time.sleep) -> T:
    """``call()``, again and again with backoff while X (or the emulator) cannot be reached.

    ``RuntimeError`` covers the emulator's control API answering an error while it starts."""
    attempt = 0
    while True:
        try:
            return call()
        except (GatewayError, OSError, RuntimeError) as exc:
            attempt += 1
            delay = min(STARTUP_BACKOFF_CAP, STARTUP_BACKOFF_BASE * 2 ** (attempt - 1))
            delay *= random.uniform(0.8, 1.2)  # several workers do not retry in step
            X_STARTUP_RETRIES.inc()
            log.warning("worker.x_unavailable", error=type(exc).__name__,
                        detail=str(exc)[:200], attempt=attempt, retry_in_seconds=round(delay, 1))
            sleep(delay)


def check_ports(settings: Settings, *, emulator: bool, web: bool, metrics: bool) -> None:
    if emulator and settings.uses_emulator:
        check_free("127.0.0.1", settings.emulator_port, "emulator_port", "the X emulator")
    if web:
        check_free(settings.web_host, settings.web_port, "web_port", "the web pages")
    if metrics and settings.worker_metrics_port:
        check_free(settings.web_host, settings.worker_metrics_port, "worker_metrics_port",
                   "the worker's metrics")


