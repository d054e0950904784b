"""Pushing signed deliveries to webhooks, with retries, on one background thread.

Each ``Outgoing`` is POSTed as compact JSON with ``x-twitter-webhooks-signature:
sha256=<base64 HMAC-SHA256(consumer secret, raw body)>``; a 2xx answer within ``timeout``
is a delivery, anything else is retried after the next of ``delays`` seconds (real time, not
the emulator's clock), and dropped when they run out. Every attempt is recorded in
``attempts`` (tests and ``/_control/deliveries`` read it).
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

SIGNATURE_HEADER = "x-twitter-webhooks-signature"


def signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


@dataclass
class Outgoing:
    webhook_id: str
    url: str
    secret: str
    body: dict[str, Any]
    operation: str  # what a successful delivery bills ("" for job status messages)
    resource_id: str
    delays: list[float]
    timeout: float
    job: str | None = None
    closes_job: bool = False
    attempt: int = 0


@dataclass
class Attempt:
    webhook_id: str
    event_uuid: str | None
    event_type: str | None
    attempt: int
    status: int | None  # None: no answer (refused connection, timeout)
    job: str | None
    at: float = field(default_factory=time.time)

    def as_json(self) -> dict[str, Any]:
        return dict(vars(self))


class Deliverer:
    def __init__(self, on_delivered: Callable[[Outgoing], None],
                 on_job_closed: Callable[[Outgoing], None]) -> None:
        self._on_delivered = on_delivered
        self._on_job_closed = on_job_closed
        self._queue: list[tuple[float, int, Outgoing]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._busy = 0
        self.attempts: list[Attempt] = []
        self._http = requests.Session()

    def submit(self, item: Outgoing, delay: float = 0.0) -> None:
        with self._wake:
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._order), item))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="x-emulator-delivery")
                self._thread.start()
            self._wake.notify()

    def idle(self) -> bool:
        """Nothing queued or in flight (retries still waiting count as queued)."""
        with self._wake:
            return not self._queue and not self._busy

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.02)
        return self.idle()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        self._http.close()

    def crc_passes(self, url: str, secret: str, timeout: float) -> bool:
        token = secrets.token_urlsafe(24)
        try:
            answer = self._http.get(url, params={"crc_token": token}, timeout=timeout)
            got = answer.json().get("response_token") if answer.status_code == 200 else None
        except (requests.RequestException, ValueError, AttributeError):
            return False
        expected = signature(secret, token.encode())
        return isinstance(got, str) and hmac.compare_digest(got, expected)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closed and (not self._queue
                                            or self._queue[0][0] > time.monotonic()):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._wake.wait(wait)
                if self._closed:
                    return
                _, _, item = heapq.heappop(self._queue)
                self._busy += 1
            try:
                self._attempt(item)
            finally:
                with self._wake:
                    self._busy -= 1

    def _attempt(self, item: Outgoing) -> None:
        raw = json.dumps(item.body, separators=(",", ":"), ensure_ascii=False).encode()
        status: int | None = None
        try:
            answer = self._http.post(item.url, data=raw, timeout=item.timeout, headers={
                "content-type": "application/json",
                SIGNATURE_HEADER: signature(item.secret, raw),
            })
            status = answer.status_code
        except requests.RequestException:
            status = None
        data = item.body.get("data") or {}
        self.attempts.append(Attempt(item.webhook_id, data.get("event_uuid"),
                                     data.get("event_type"), item.attempt, status, item.job))
        if status is not None and 200 <= status < 300:
            self._on_delivered(item)
        elif item.attempt < len(item.delays):
            delay = item.delays[item.attempt]
            item.attempt += 1
            self.submit(item, delay)
            return
        if item.closes_job:
            self._on_job_closed(item)
