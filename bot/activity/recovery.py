"""Keeping the push path whole: subscribe at start (sandbox), notice an outage, replay it.

X retries a failed delivery a few times and then drops it (its old Account Activity page
says so; nothing is promised for v2), so events pushed while the web process is down are
lost unless we ask for them again. The worker checks, every ``x_push_check_seconds``, that
our webhook answers a CRC challenge as X would send it. The first failed check records when
the webhook was last seen answering (``xaa_down_since``); the first check that passes again
asks X to replay ``[that time - 1 min, now]`` (``POST /2/webhooks/replay``, minute
granularity, last 24 h), and clears the mark only once X accepted the job. Replayed events
land in the inbox like any delivery: already-known ones are no-ops.

Polling stays on beside push as the safety net (slower, ``poll_*_push_seconds``): it also
covers what the replay cannot (an outage longer than 24 h, an event X never pushed).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable, Iterable
from typing import Any

import requests
from sqlalchemy.orm import Session, sessionmaker

from bot.activity.subscriptions import ActivityPort, our_webhook, subscribe
from bot.logging import get_logger
from bot.webhook import crc_response
from storage import inbox
from storage.uow import UnitOfWork

log = get_logger(__name__)
Clock = Callable[[], dt.datetime]
DOWN_SINCE = "xaa_down_since"
LAST_OK = "xaa_last_ok"
REPLAY_MARGIN = dt.timedelta(minutes=1)


def webhook_answers(url: str, secret: str, timeout: float) -> bool:
    """Our webhook answers a CRC challenge correctly (what X checks before delivering)."""
    token = secrets.token_urlsafe(24)
    try:
        answer = requests.get(url, params={"crc_token": token}, timeout=timeout)
        got = answer.json().get("response_token") if answer.status_code == 200 else None
    except (requests.RequestException, ValueError, AttributeError):
        return False
    expected = crc_response(secret, token)["response_token"]
    return isinstance(got, str) and hmac.compare_digest(got, expected)


class PushWatch:
    def __init__(self, sessions: sessionmaker[Session], x: ActivityPort, settings: Any,
                 clock: Clock,
                 *, bot_user_id: int, holders: Callable[[], Iterable[int]] = tuple) -> None:
        self._sessions = sessions
        self._x = x
        self._settings = settings
        self._clock = clock
        self._bot = bot_user_id
        self._holders = holders
        self._subscribed = not settings.x_push_subscribe_at_start
        self.url = settings.activity_webhook_url

    def run(self) -> str:
        """One check; returns what happened (``subscribed``, ``down``, ``replayed``, ``ok``)."""
        if not self._subscribed:
            if not self._answers():
                return "waiting"  # the web process is not up yet: X's CRC would fail
            report = subscribe(self._x, url=self.url, bot_user_id=self._bot,
                               holders=self._holders())
            self._subscribed = True
            log.info("xaa.subscribed", created=len(report.created), kept=len(report.kept))
        now = self._clock()
        with self._sessions() as session:
            down = inbox.get_cursor(session, DOWN_SINCE) or None
            last_ok = inbox.get_cursor(session, LAST_OK) or None
        if not self._answers():
            if down is None:
                self._set(DOWN_SINCE, last_ok or now.isoformat(), now)
                log.warning("xaa.webhook_down", since=last_ok or now.isoformat())
            return "down"
        outcome = "ok"
        if down is not None:
            hook = our_webhook(self._x, self.url)
            if hook is not None:
                start = dt.datetime.fromisoformat(down) - REPLAY_MARGIN
                job = self._x.replay(hook.id, start, now)
                log.info("xaa.replay_requested", job=job, since=start.isoformat())
            self._set(DOWN_SINCE, "", now)
            outcome = "replayed"
        self._set(LAST_OK, now.isoformat(), now)
        return outcome

    def _answers(self) -> bool:
        return webhook_answers(self.url, self._settings.x_consumer_secret.get_secret_value(),
                               self._settings.x_timeout_seconds)

    def _set(self, name: str, value: str, now: dt.datetime) -> None:
        with UnitOfWork(self._sessions, self._clock) as uow:
            inbox.set_cursor(uow.session, name, value, now)
            uow.commit()
