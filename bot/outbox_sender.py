"""The outbox sender: delivers pending outbox rows to X, within X's budgets.

Order: most urgent first (``priority``, then age): a confirmation link before a receipt.
Pacing: the bot's budgets (DMs: 15 per 15 min and 1,440 per 24 h; posts: 100 per 15 min;
docs/x-platform.md) are counted from the outbox itself (rows sent in the window), so they hold
across restarts and processes; a row that does not fit waits, unclaimed, instead of meeting a 429.
Errors: rate limited → wait for the reset; transient → exponential backoff with full jitter;
after ``outbox_max_attempts`` the row fails with the reason recorded.

Crash safety (no message lost, none doubled): a row is claimed (status ``sending``, attempts
+1) and committed *before* the call to X, and marked ``sent`` with the remote id right after.
The only window left is a crash between X accepting the message and our commit. A row found
in ``sending`` after its lease is recovered, not blindly resent: a reply is sent again and X's
duplicate-content refusal (403) tells us it went out; a DM is first looked for among the bot's
own recent DM events (same recipient, same text) and only resent if it is not there.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.logging import get_logger
from bot.metrics import MESSAGES_REFUSED, MESSAGES_SENT, MESSAGES_WAITING_BUDGET
from bot.xchat.outbound import ChatOutbound
from handlers.errors import Forbidden, GatewayError, NotFound, RateLimited
from handlers.outcomes import LINK_PLACEHOLDER
from handlers.texts import render
from storage import consent
from storage.models import Contact, OutboxMessage, PaymentIntent
from storage.sealing import Sealer

log = get_logger(__name__)

Clock = Callable[[], dt.datetime]
LEASE = dt.timedelta(minutes=2)
WINDOW_15 = dt.timedelta(minutes=15)
WINDOW_24H = dt.timedelta(hours=24)
NO_RESET_PAUSE = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Budgets:
    """X's per-user limits for the bot account (docs/x-platform.md); configurable for tests."""

    dm_per_15min: int = 15
    dm_per_24h: int = 1440
    posts_per_15min: int = 100


class Sender(Protocol):
    """The part of the X gateway the outbox needs."""

    def reply(self, in_reply_to_tweet_id: str, text: str) -> str: ...
    def send_dm(self, recipient_id: int, text: str) -> str: ...
    def recent_dm_texts(self, recipient_id: int) -> list[str]: ...


@dataclass
class SendStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    deferred: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def _refusal(reason: str) -> str:
    """The metric label of a final failure (its reason text starts with one of these)."""
    for prefix, label in (("forbidden", "forbidden"), ("not found", "not_found"),
                          ("gave up", "gave_up")):
        if reason.startswith(prefix):
            return label
    return "other"


def backoff(attempts: int, rng: random.Random, base: float = 2.0, cap: float = 900.0) -> float:
    """Full-jitter exponential backoff (seconds) for the attempt just failed."""
    return rng.uniform(0, min(cap, base * 2 ** max(0, attempts - 1)))


def _sent_since(session: Session, kind: str, since: dt.datetime) -> int:
    return session.scalar(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == kind, OutboxMessage.sent_at >= since,
            OutboxMessage.remote_id.is_not(None),
        )
    ) or 0


def available(session: Session, now: dt.datetime, b: Budgets) -> dict[str, int]:
    """Messages of each kind the bot may still send now, counted from the outbox."""
    dms = min(b.dm_per_15min - _sent_since(session, "dm", now - WINDOW_15),
              b.dm_per_24h - _sent_since(session, "dm", now - WINDOW_24H))
    posts = b.posts_per_15min - _sent_since(session, "reply", now - WINDOW_15)
    return {"dm": max(0, dms), "reply": max(0, posts)}


def free_at(session: Session, kind: str, now: dt.datetime, b: Budgets) -> dt.datetime:
    """When the next message of ``kind`` fits in the bot's budgets again (now if it does)."""
    windows = ([(WINDOW_15, b.dm_per_15min), (WINDOW_24H, b.dm_per_24h)] if kind == "dm"
               else [(WINDOW_15, b.posts_per_15min)])
    when = now
    for window, limit in windows:
        sent = [at for at in session.scalars(
            select(OutboxMessage.sent_at).where(
                OutboxMessage.kind == kind, OutboxMessage.sent_at >= now - window,
                OutboxMessage.remote_id.is_not(None),
            ).order_by(OutboxMessage.sent_at)
        ) if at is not None]
        # Rows claimed and being sent (this very pass, or another worker's) count as sent now.
        sent += [now] * (session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == kind, OutboxMessage.status == "sending")) or 0)
        if sent and len(sent) >= limit:
            # The window is full: a slot frees when enough of its sends have left it.
            when = max(when, sent[len(sent) - limit] + window)
    return when


class OutboxSender:
    def __init__(self, session_factory: sessionmaker[Session], gateway: Sender, sealer: Sealer,
                 clock: Clock, *, budgets: Budgets | None = None, max_attempts: int = 8,
                 public_link_fallback: bool = True, rng: random.Random | None = None,
                 chat: ChatOutbound | None = None) -> None:
        self._sessions = session_factory
        self._chat = chat  # DMs to users who wrote in X Chat go back by X Chat
        self._gateway = gateway
        self._sealer = sealer
        self._clock = clock
        self._budgets = budgets or Budgets()
        self._max_attempts = max_attempts
        self._fallback = public_link_fallback
        self._rng = rng or random.Random()
        self._announced: set[int] = set()  # rows whose wait for a budget was logged

    # -- budgets -------------------------------------------------------------------------

    def available(self, session: Session, now: dt.datetime) -> dict[str, int]:
        return available(session, now, self._budgets)

    def free_at(self, session: Session, kind: str, now: dt.datetime) -> dt.datetime:
        return free_at(session, kind, now, self._budgets)

    def _announce_wait(self, row_id: int, kind: str, until: dt.datetime, why: str) -> None:
        """Say once per message that it waits for X's budget, and until when."""
        if row_id in self._announced:
            return
        if len(self._announced) > 10_000:
            self._announced.clear()
        self._announced.add(row_id)
        MESSAGES_WAITING_BUDGET.labels(kind).inc()
        log.info("outbox.waiting_for_budget", outbox_id=row_id, kind=kind, why=why,
                 until=until.astimezone(dt.UTC).isoformat(timespec="seconds"))

    # -- claim ---------------------------------------------------------------------------

    def _claim(self, limit: int) -> list[int]:
        now = self._clock()
        with self._sessions.begin() as session:
            room = self.available(session, now)
            stmt = (
                select(OutboxMessage)
                .where(or_(
                    (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                    (OutboxMessage.status == "sending") & (OutboxMessage.next_attempt_at <= now),
                ), OutboxMessage.kind != "push")  # pushes: bot.push_sender, no X budget
                .order_by(OutboxMessage.priority, OutboxMessage.id)
                .limit(limit * 4)
            )
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            claimed: list[int] = []
            free: dict[str, dt.datetime] = {}
            for row in session.scalars(stmt):
                if len(claimed) >= limit:
                    break
                if room.get(row.kind, 0) <= 0:
                    # Stays pending: the budget, not an error, holds it back.
                    if row.kind not in free:
                        session.flush()  # this pass's claims count against the budget
                        free[row.kind] = self.free_at(session, row.kind, now)
                    self._announce_wait(row.id, row.kind, free[row.kind], "bot budget spent")
                    continue
                room[row.kind] -= 1
                if row.status == "sending":
                    row.last_error = "recovering: lease expired while sending"
                row.status = "sending"
                row.attempts += 1
                row.next_attempt_at = now + LEASE
                claimed.append(row.id)
            return claimed

    # -- send ----------------------------------------------------------------------------

    def run_once(self, limit: int = 20) -> SendStats:
        stats = SendStats()
        for row_id in self._claim(limit):
            self._deliver(row_id, stats)
        return stats

    def _deliver(self, row_id: int, stats: SendStats) -> None:
        with self._sessions.begin() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None or row.status != "sending":
                return
            recovering = (row.last_error or "").startswith("recovering")
            skip = self._why_skip(session, row)
            if skip is None and row.kind == "dm":
                # Consent is asked again at send time: it may have ended since the row was
                # queued (an unlinked account, a #stop). Refused: nothing is sent, the row
                # says why.
                refused = (consent.dm_refused(session, row.recipient_x_user_id)
                           if row.recipient_x_user_id is not None else "no recipient")
                skip = f"no DM consent: {refused}" if refused else None
            if skip:
                row.status, row.last_error = "cancelled", skip
                row.sealed_link = None
                stats.cancelled += 1
                return
            text = self._text(row)
            kind, target = row.kind, row.recipient_x_user_id
            reply_to = row.in_reply_to_tweet_id
            attempts = row.attempts
            lang = self._lang(session, row)
        # The call to X happens outside any transaction: no lock is held while we wait.
        try:
            if kind == "dm" and recovering and text in self._gateway.recent_dm_texts(target or 0):
                remote_id, used = "recovered", "dm"
            elif kind == "dm" and self._chat is not None and (
                    chat_id := self._chat.deliver(row_id, int(target or 0), text)):
                remote_id, used = f"xchat:{chat_id}", "dm"
            elif kind == "dm":
                remote_id, used = self._gateway.send_dm(int(target or 0), text), "dm"
            else:
                remote_id, used = self._reply(str(reply_to), text), "reply"
        except Forbidden as exc:
            fallback = self._public_fallback(kind, row_id, reply_to, lang)
            if fallback is not None:
                self._finish(row_id, fallback[0], "reply", stats, note=f"fallback: {exc}")
            else:
                self._fail(row_id, f"forbidden: {exc}", stats)
            return
        except RateLimited as exc:
            MESSAGES_REFUSED.labels(kind, "rate_limited").inc()
            # No reset time from X (no header): pause a minute rather than ask again at once.
            at = exc.reset_at or self._clock() + NO_RESET_PAUSE
            self._retry(row_id, exc, stats, at=at, count=False)
            return
        except NotFound as exc:
            self._fail(row_id, f"not found: {exc}", stats)
            return
        except GatewayError as exc:
            if attempts >= self._max_attempts:
                self._fail(row_id, f"gave up after {attempts} attempts: {exc}", stats)
            else:
                self._retry(row_id, exc, stats)
            return
        self._finish(row_id, remote_id, used, stats)

    def _reply(self, tweet_id: str, text: str) -> str:
        try:
            return self._gateway.reply(tweet_id, text)
        except Forbidden as exc:
            # X refuses the same text twice: after a crash, that means it went out already.
            if "duplicate" in str(exc).lower():
                return "duplicate"
            raise

    def _public_fallback(self, kind: str, row_id: int, reply_to: str | None,
                         lang: str) -> tuple[str] | None:
        """DMs closed: a confirmation link may go in a public reply in the user's own thread
        (useless without the PIN, docs/design.md); nothing else falls back."""
        if kind != "dm" or not self._fallback or not reply_to:
            return None
        with self._sessions.begin() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None or not row.sealed_link:
                return None
            link = self._sealer.open(row.sealed_link)
            intent = session.get(PaymentIntent, row.intent_id) if row.intent_id else None
            ttl = 10
            if intent is not None:
                ttl = max(1, int((intent.expires_at - self._clock()).total_seconds() // 60))
        text = render("public_link_fallback", "en" if lang == "en" else "fr", ttl=ttl,
                      link=link)
        try:
            return (self._reply(reply_to, text),)
        except GatewayError as exc:
            log.warning("outbox.fallback_failed", outbox_id=row_id, error=type(exc).__name__)
            return None

    # -- row updates ---------------------------------------------------------------------

    def _finish(self, row_id: int, remote_id: str, kind: str, stats: SendStats,
                note: str | None = None) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.status, row.remote_id, row.sent_at = "sent", remote_id, now
            row.kind = kind
            row.sealed_link = None  # the link is no longer needed at rest
            row.last_error = note
        stats.sent += 1
        stats.by_kind[kind] = stats.by_kind.get(kind, 0) + 1
        MESSAGES_SENT.labels(kind).inc()
        log.info("outbox.sent", outbox_id=row_id, kind=kind, remote_id=remote_id)

    def _retry(self, row_id: int, exc: Exception, stats: SendStats, *,
               at: dt.datetime | None = None, count: bool = True) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return
            if not count:
                row.attempts = max(0, row.attempts - 1)  # waiting on a limit is not a failure
            delay = dt.timedelta(seconds=backoff(row.attempts, self._rng))
            row.status = "pending"
            # A reset time is X's clock: trust it, but never wait past one rate-limit window.
            row.next_attempt_at = min(max(at, now), now + WINDOW_15) if at else now + delay
            row.last_error = f"{type(exc).__name__}: {exc}"[:500]
            kind, until = row.kind, row.next_attempt_at
        if at is not None:
            self._announce_wait(row_id, kind, until, "X answered 429")
        stats.retried += 1
        log.info("outbox.retry", outbox_id=row_id, error=type(exc).__name__)

    def _fail(self, row_id: int, reason: str, stats: SendStats) -> None:
        with self._sessions.begin() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.status, row.last_error, row.sealed_link = "failed", reason[:500], None
            kind = row.kind
        stats.failed += 1
        MESSAGES_REFUSED.labels(kind, _refusal(reason)).inc()
        log.warning("outbox.failed", outbox_id=row_id, reason=reason[:200])

    # -- policy --------------------------------------------------------------------------

    def _why_skip(self, session: Session, row: OutboxMessage) -> str | None:
        if row.recipient_x_user_id is not None and not row.dedupe_key.endswith(":reply"):
            contact = session.get(Contact, row.recipient_x_user_id)
            if contact is not None and contact.stopped:
                return "recipient said #stop"
        if row.sealed_link and row.intent_id is not None:
            intent = session.get(PaymentIntent, row.intent_id)
            if intent is not None and intent.status != "awaiting_confirmation":
                return f"link no longer useful: intent {intent.status}"
            if (intent is not None and intent.seen_in_app_at is not None
                    and row.dedupe_key.endswith(":app-fallback")):
                return "the payer saw the payment in the app"  # the push did its job
        return None

    def _lang(self, session: Session, row: OutboxMessage) -> str:
        if row.intent_id is not None:
            intent = session.get(PaymentIntent, row.intent_id)
            if intent is not None:
                return intent.lang
        return "fr"

    def _text(self, row: OutboxMessage) -> str:
        if row.sealed_link and LINK_PLACEHOLDER in row.text:
            return row.text.replace(LINK_PLACEHOLDER, self._sealer.open(row.sealed_link))
        return row.text
