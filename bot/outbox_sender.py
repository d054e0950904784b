"""The outbox sender: delivers pending outbox rows (DMs and replies) to X, within X's budgets.

Order: most urgent first (``priority``, then age): a confirmation link before a receipt.
Pacing: the bot's budgets (DMs 15/15 min and 1,440/24 h; posts 100/15 min) are counted from
the outbox itself (rows sent in the window), across restarts and processes; a row that does
not fit waits instead of meeting a 429. The last ``link_reserve`` DMs of a window are kept
for one-time links: notices cannot leave a link to expire in the queue.

One reply per summons: replies go only to ingested mentions of the bot; a public payment's
acknowledgement waits a little for its link DM, whose DMs-closed fallback replaces it.

Crash safety (no message lost, none doubled): rows are claimed one at a time (a crash strands
one row, for one short lease), marked ``delivery_state = in_doubt`` and committed *before* the
call to X, and marked sent with X's id right after. A timeout or a lost connection leaves the
row in doubt like a crash does. A row in doubt is looked for on X before anything else
(``bot.outbox_recovery``): found, it is recorded as sent (even if its intent was cancelled
meanwhile: the record says what X has); not found, it is handled as new.

Errors: rate limited → wait for the reset (not an attempt); X's duplicate refusal is *not* a
delivery: looked for on X, else re-worded and retried, failing after the bounded attempts;
transient → full-jitter backoff; any other exception marks that row and the batch goes on.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.gateway.values import SentMessage
from bot.logging import get_logger
from bot.metrics import MESSAGES_REFUSED, MESSAGES_SENT, MESSAGES_WAITING_BUDGET
from bot.outbox_policy import row_lang, summoned, why_skip
from bot.outbox_recovery import Doubt, find_on_x
from bot.outbox_rules import (
    WINDOW_15,
    Budgets,
    SendStats,
    _refusal,
    available,
    backoff,
    dms_sent_by_recipient,
    free_at,
    mark,
    reworded,
)
from bot.xchat.outbound import ChatOutbound
from handlers.errors import AnswerLost, Forbidden, GatewayError, NotFound, RateLimited
from handlers.outcomes import LINK_PLACEHOLDER, PRIORITY_LINK
from handlers.texts import render
from storage.models import OutboxMessage, PaymentIntent
from storage.sealing import Sealer
from storage.uow import UnitOfWork

log = get_logger(__name__)

Clock = Callable[[], dt.datetime]
LEASE, DOUBT_GRACE = dt.timedelta(seconds=60), dt.timedelta(seconds=30)  # one row; X may act
ACK_WAITS_FOR_LINK, NO_RESET_PAUSE = dt.timedelta(seconds=90), dt.timedelta(minutes=1)
KINDS = ("dm", "reply")  # other channels (push) have senders of their own


class Sender(Protocol):
    """The part of the X gateway the outbox needs."""

    def reply(self, in_reply_to_tweet_id: str, text: str) -> str: ...
    def send_dm(self, recipient_id: int, text: str) -> str: ...
    def sent_dms(self, recipient_id: int | str) -> list[SentMessage]: ...
    def sent_replies(self) -> list[SentMessage]: ...


@dataclass(frozen=True, slots=True)
class _Claimed:
    row_id: int
    in_doubt: bool  # an earlier attempt may have reached X: look there first


class OutboxSender:
    def __init__(self, session_factory: sessionmaker[Session], gateway: Sender, sealer: Sealer,
                 clock: Clock, *, budgets: Budgets | None = None, max_attempts: int = 8,
                 public_link_fallback: bool = True, rng: random.Random | None = None,
                 bot_user_id: int | None = None, lease: dt.timedelta = LEASE,
                 chat: ChatOutbound | None = None) -> None:
        self._sessions = session_factory
        self._chat = chat  # DMs to users who wrote in X Chat go back by X Chat (own recovery)
        self._announced: set[int] = set()  # rows whose wait for a budget was logged
        self._gateway = gateway
        self._sealer = sealer
        self._clock = clock
        self._budgets = budgets or Budgets()
        self._max_attempts = max_attempts
        self._fallback = public_link_fallback
        self._rng = rng or random.Random()
        self._bot_user_id = bot_user_id
        self._lease = lease

    # -- budgets -------------------------------------------------------------------------

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

    def _fits(self, row: OutboxMessage, room: dict[str, int]) -> bool:
        left = room.get(row.kind, 0)
        if row.kind == "dm" and row.priority > PRIORITY_LINK:
            return left > self._budgets.link_reserve
        return left > 0

    # -- claim ---------------------------------------------------------------------------

    def _claim_one(self) -> _Claimed | None:
        now = self._clock()
        with UnitOfWork(self._sessions, self._clock) as uow:
            session = uow.session
            room = available(session, now, self._budgets)
            stmt = (
                select(OutboxMessage)
                .where(OutboxMessage.status.in_(("pending", "sending")),
                       OutboxMessage.next_attempt_at <= now, OutboxMessage.kind.in_(KINDS))
                .order_by(OutboxMessage.priority, OutboxMessage.id)
                .limit(50)
            )
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows: list[OutboxMessage] = []
            free: dict[str, dt.datetime] = {}
            for r in session.scalars(stmt):
                if self._fits(r, room):
                    rows.append(r)
                    continue
                # Stays pending: the budget, not an error, holds it back.
                free.setdefault(r.kind, free_at(session, r.kind, now, self._budgets))
                self._announce_wait(r.id, r.kind, free[r.kind], "bot budget spent")
            waiting = self._acks_waiting(session, rows, now)
            served = dms_sent_by_recipient(session, [r.recipient_x_user_id for r in rows], now)
            # Same urgency: whoever had fewer DMs this hour goes first (a fair share).
            rows.sort(key=lambda r: (r.priority, served.get(r.recipient_x_user_id, 0), r.id))
            row = next((r for r in rows if r.id not in waiting), None)
            if row is None:
                return None
            in_doubt = row.delivery_state == "in_doubt"
            if row.status == "sending":
                log.warning("outbox.lease_expired", outbox_id=row.id)
            row.status = "sending"
            row.attempts += 1
            row.next_attempt_at = now + self._lease
            if not in_doubt:
                # From now on X may act on it: a crash before we record the answer leaves the
                # row in doubt, and the next attempt looks on X first.
                row.delivery_state, row.attempted_at = "in_doubt", now
            uow.commit()
            return _Claimed(row.id, in_doubt)

    def _acks_waiting(self, session: Session, rows: list[OutboxMessage],
                      now: dt.datetime) -> set[int]:
        """Public acknowledgements whose link DM is still unresolved: the link may fall back
        to a public reply, which must replace the acknowledgement, not follow it."""
        acks = {r.dedupe_key[:-len(":reply")] + ":link": r.id for r in rows
                if r.kind == "reply" and r.dedupe_key.endswith(":reply")
                and r.created_at > now - ACK_WAITS_FOR_LINK}
        if not acks:
            return set()
        open_links = session.scalars(select(OutboxMessage.dedupe_key).where(
            OutboxMessage.dedupe_key.in_(list(acks)),
            OutboxMessage.status.in_(("pending", "sending"))))
        return {acks[key] for key in open_links}

    # -- send ----------------------------------------------------------------------------

    def run_once(self, limit: int = 20) -> SendStats:
        stats = SendStats()
        for _ in range(limit):
            claimed = self._claim_one()
            if claimed is None:
                break
            try:
                self._deliver(claimed, stats)
            except Exception as exc:
                # A bug on one row must not stop the others (nor be retried forever).
                log.exception("outbox.row_error", outbox_id=claimed.row_id)
                self._retry(claimed.row_id, exc, stats, in_doubt=True)
        return stats

    def _deliver(self, claimed: _Claimed, stats: SendStats) -> None:
        row_id = claimed.row_id
        with self._sessions() as session:  # reads only
            row = session.get(OutboxMessage, row_id)
            if row is None or row.status != "sending":
                return
            text = self._text(row)
            kind, target, reply_to = row.kind, row.recipient_x_user_id, row.in_reply_to_tweet_id
            attempts, since = row.attempts, row.attempted_at or self._clock()
            fallback_possible = bool(kind == "dm" and self._fallback and reply_to
                                     and row.sealed_link)
        on_chat = bool(kind == "dm" and self._chat is not None
                       and self._chat.conversation_for(int(target or 0)))
        if claimed.in_doubt and not on_chat:
            doubt = Doubt(row_id, kind, target, reply_to, text, since, fallback_possible)
            try:
                found = find_on_x(self._gateway, self._sessions, doubt)
            except GatewayError as exc:
                self._after_error(row_id, exc, attempts, stats, in_doubt=True)
                return
            if found is not None:
                self._finish(row_id, found[0], found[1], stats, note="recovered: found on X")
                stats.recovered += 1
                return
        with UnitOfWork(self._sessions, self._clock) as uow:
            row = uow.session.get(OutboxMessage, row_id)
            if row is None:
                return
            skip = why_skip(uow.session, row, self._bot_user_id)
            if skip:
                mark(row, "cancelled", skip)
                uow.commit()
                stats.cancelled += 1
                return
            lang = row_lang(uow.session, row)
        try:
            if on_chat and self._chat is not None and (
                    chat_id := self._chat.deliver(row_id, int(target or 0), text)):
                remote_id, used = f"xchat:{chat_id}", "dm"
            elif kind == "dm":
                remote_id, used = self._gateway.send_dm(int(target or 0), text), "dm"
            else:
                remote_id, used = self._gateway.reply(str(reply_to), text), "reply"
        except Forbidden as exc:
            if "duplicate" in str(exc).lower() and kind == "reply":
                self._duplicate(row_id, exc, attempts, stats)
            elif fallback_possible and reply_to:
                self._link_fallback(row_id, reply_to, lang, exc, stats)
            else:
                self._fail(row_id, f"forbidden: {exc}", stats)
            return
        except GatewayError as exc:
            self._after_error(row_id, exc, attempts, stats,
                              in_doubt=isinstance(exc, AnswerLost))
            return
        self._finish(row_id, remote_id, used, stats)

    def _after_error(self, row_id: int, exc: GatewayError, attempts: int, stats: SendStats, *,
                     in_doubt: bool) -> None:
        if isinstance(exc, RateLimited):
            MESSAGES_REFUSED.labels("dm" if "send_dm" in str(exc) else "reply",
                                    "rate_limited").inc()
            # No reset time from X (no header): pause a minute rather than ask again at once.
            at = exc.reset_at or self._clock() + NO_RESET_PAUSE
            self._retry(row_id, exc, stats, at=at, count=False, in_doubt=in_doubt)
        elif isinstance(exc, NotFound):
            self._fail(row_id, f"not found: {exc}", stats)
        elif attempts >= self._max_attempts:
            self._fail(row_id, f"gave up after {attempts} attempts: {exc}", stats,
                       in_doubt=in_doubt)
        else:
            self._retry(row_id, exc, stats, in_doubt=in_doubt)

    def _duplicate(self, row_id: int, exc: Exception, attempts: int, stats: SendStats) -> None:
        """X says an identical post exists. Not a delivery: ours is looked for on X first
        (next attempt, in doubt); absent, the text is re-worded before it is tried again."""
        if attempts >= self._max_attempts:
            self._fail(row_id, f"duplicate content, gave up after {attempts} attempts", stats)
            return
        with UnitOfWork(self._sessions, self._clock) as uow:
            row = uow.session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.text = reworded(row.text)
            uow.commit()
        self._retry(row_id, exc, stats, at=self._clock(), in_doubt=True)

    def _link_fallback(self, row_id: int, reply_to: str, lang: str, exc: Exception,
                       stats: SendStats) -> None:
        """DMs closed: the confirmation link goes in a public reply in the user's own thread
        (useless without the PIN, docs/design.md), in place of the acknowledgement."""
        ack_key = None
        with UnitOfWork(self._sessions, self._clock) as uow:
            session = uow.session
            row = session.get(OutboxMessage, row_id)
            if row is None or not row.sealed_link:
                return
            if not summoned(session, reply_to, self._bot_user_id):
                mark(row, "failed", f"forbidden: {exc}; no public fallback outside a "
                                    "mention of the bot")
                uow.commit()
                stats.failed += 1
                return
            if row.dedupe_key.endswith(":link"):
                ack_key = row.dedupe_key[:-len(":link")] + ":reply"
                ack = session.scalars(select(OutboxMessage).where(
                    OutboxMessage.dedupe_key == ack_key)).first()
                if ack is not None and ack.status in ("sending", "sent"):
                    mark(row, "failed", f"forbidden: {exc}; the thread already has "
                                        "our one reply, so no public fallback")
                    uow.commit()
                    stats.failed += 1
                    return
            link = self._sealer.open(row.sealed_link)
            intent = session.get(PaymentIntent, row.intent_id) if row.intent_id else None
            ttl = 10
            if intent is not None:
                ttl = max(1, int((intent.expires_at - self._clock()).total_seconds() // 60))
        text = render("public_link_fallback", "en" if lang == "en" else "fr", ttl=ttl,
                      link=link)
        try:
            remote_id = self._gateway.reply(reply_to, text)
        except GatewayError as err:
            log.warning("outbox.fallback_failed", outbox_id=row_id, error=type(err).__name__)
            self._fail(row_id, f"forbidden: {exc}; fallback: {err}", stats)
            return
        self._finish(row_id, remote_id, "reply", stats, note=f"fallback: {exc}",
                     replaces=ack_key)

    # -- row updates ---------------------------------------------------------------------

    def _finish(self, row_id: int, remote_id: str, kind: str, stats: SendStats,
                note: str | None = None, replaces: str | None = None) -> None:
        now = self._clock()
        with UnitOfWork(self._sessions, self._clock) as uow:
            session = uow.session
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.status, row.remote_id, row.sent_at = "sent", remote_id, now
            row.kind, row.delivery_state = kind, "delivered"
            row.sealed_link = None  # the link is no longer needed at rest
            row.last_error = note
            if replaces:
                ack = session.scalars(select(OutboxMessage).where(
                    OutboxMessage.dedupe_key == replaces,
                    OutboxMessage.status == "pending")).first()
                if ack is not None:
                    mark(ack, "cancelled", "replaced by the public link fallback")
            uow.commit()
        stats.sent += 1
        stats.by_kind[kind] = stats.by_kind.get(kind, 0) + 1
        MESSAGES_SENT.labels(kind).inc()
        log.info("outbox.sent", outbox_id=row_id, kind=kind, remote_id=remote_id)

    def _retry(self, row_id: int, exc: Exception, stats: SendStats, *,
               at: dt.datetime | None = None, count: bool = True, in_doubt: bool = False) -> None:
        now = self._clock()
        with UnitOfWork(self._sessions, self._clock) as uow:
            row = uow.session.get(OutboxMessage, row_id)
            if row is None or row.status != "sending":
                return
            if not count:
                row.attempts = max(0, row.attempts - 1)  # waiting on a limit is not a failure
            if count and row.attempts >= self._max_attempts:
                mark(row, "failed", f"gave up after {row.attempts} attempts: "
                                    f"{type(exc).__name__}: {exc}", in_doubt=in_doubt)
                uow.commit()
                stats.failed += 1
                return
            delay = dt.timedelta(seconds=backoff(row.attempts, self._rng))
            if in_doubt:
                delay = max(delay, DOUBT_GRACE)  # X may still be acting on the last call
            else:
                row.delivery_state = "unsent"  # X answered: it did not take the message
            row.status = "pending"
            # A reset time is X's clock: trust it, but never wait past one rate-limit window.
            row.next_attempt_at = min(max(at, now), now + WINDOW_15) if at else now + delay
            row.last_error = f"{type(exc).__name__}: {exc}"[:500]
            kind, until = row.kind, row.next_attempt_at
            uow.commit()
        if at is not None and isinstance(exc, RateLimited):
            self._announce_wait(row_id, kind, until, "X answered 429")
        stats.retried += 1
        log.info("outbox.retry", outbox_id=row_id, error=type(exc).__name__)

    def _fail(self, row_id: int, reason: str, stats: SendStats, *,
              in_doubt: bool = False) -> None:
        with UnitOfWork(self._sessions, self._clock) as uow:
            row = uow.session.get(OutboxMessage, row_id)
            if row is None:
                return
            mark(row, "failed", reason, in_doubt=in_doubt)
            kind = row.kind
            uow.commit()
        stats.failed += 1
        MESSAGES_REFUSED.labels(kind, _refusal(reason)).inc()
        log.warning("outbox.failed", outbox_id=row_id, reason=reason[:200])

    def _text(self, row: OutboxMessage) -> str:
        if row.sealed_link and LINK_PLACEHOLDER in row.text:
            return row.text.replace(LINK_PLACEHOLDER, self._sealer.open(row.sealed_link))
        return row.text


