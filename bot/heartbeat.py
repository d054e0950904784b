"""The worker's heartbeat: one row per worker process in ``worker_heartbeats``.

Each scheduler job reports how its run went (``record``); the heartbeat job writes the time
and those reports to the worker's row (``beat``). /healthz and ``tweetpay status`` read the
rows: a worker is alive when its row was written within ``ALIVE_BEATS`` heartbeat intervals.
Rows of workers gone for a day are deleted by the next beat of any worker.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import WorkerHeartbeat
from storage.uow import UnitOfWork

Clock = Callable[[], dt.datetime]
ALIVE_BEATS = 3  # a worker missing three beats in a row is reported dead
FORGET_AFTER = dt.timedelta(days=1)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


class Heartbeat:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock,
                 worker: str | None = None) -> None:
        self._sessions = sessions
        self._clock = clock
        self.worker = worker or worker_id()
        self._started = clock()
        self._lock = threading.Lock()
        self._jobs: dict[str, dict[str, Any]] = {}

    def record(self, job: str, finished: dt.datetime, seconds: float,
               error: str | None) -> None:
        with self._lock:
            self._jobs[job] = {"last_run": finished.isoformat(), "seconds": round(seconds, 3),
                               "error": error}

    def beat(self) -> None:
        now = self._clock()
        with self._lock:
            jobs = json.dumps(self._jobs, sort_keys=True)
        with UnitOfWork(self._sessions, self._clock) as uow:
            session = uow.session
            row = session.get(WorkerHeartbeat, self.worker)
            if row is None:
                session.add(WorkerHeartbeat(worker=self.worker, started_at=self._started,
                                            beat_at=now, jobs=jobs))
            else:
                row.beat_at, row.jobs = now, jobs
            session.execute(delete(WorkerHeartbeat).where(
                WorkerHeartbeat.beat_at < now - FORGET_AFTER))
            uow.commit()


@dataclass(frozen=True, slots=True)
class WorkerState:
    worker: str
    started_at: dt.datetime
    beat_at: dt.datetime
    alive: bool
    jobs: dict[str, dict[str, Any]]


def workers(session: Session, now: dt.datetime, interval_seconds: float) -> list[WorkerState]:
    """Every known worker, newest beat first, with whether it is alive."""
    limit = dt.timedelta(seconds=interval_seconds * ALIVE_BEATS)
    rows = session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.beat_at.desc()))
    return [WorkerState(r.worker, r.started_at, r.beat_at, now - r.beat_at <= limit,
                        json.loads(r.jobs or "{}")) for r in rows]
