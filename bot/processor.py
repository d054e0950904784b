"""Handle inbox events: parse, then decide and write in a transaction (the service
``bot.services.handle_event``), a batch of rows at a time.

``process_pending`` reads a batch of pending rows (``BATCH`` at most) in one query and does
every row's I/O first, outside any transaction: an X Chat payload is opened, the grammar
reads the text, a named handle is resolved through the gateway (which caches). Then ONE unit
of work claims the whole batch (a guarded read: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
the write lock of ``BEGIN IMMEDIATE`` on SQLite, so a row another worker holds is left to
it), handles each row (the DM route noted, the service loads the facts, decides (pure) and
writes the intent, its token hash and the outbox messages), marks the handled rows done in
one statement and commits once: one commit, one fsync on SQLite, for up to ``BATCH`` events.
Each row starts with an empty session, as it would in its own transaction. A crash before
the commit leaves every row of the batch pending, to be handled again; after it, each
row's decision and its outbox rows are there exactly once.

A row that raises cannot poison the batch: the batch is rolled back and done again with a
savepoint per row (rows seldom raise, so the first run goes without them: two statements
less per row); a row that raises again is rolled back to its savepoint, the others commit,
and then that row is handled alone by ``process`` (the one-row path), followed by the later
rows of the same person, so one person's events keep their order. A failure of the batch
transaction itself (a deadlock or a serialization failure ends the transaction on
PostgreSQL, a dropped connection, a failed commit) rolls all of it back and every row of the
batch is handled alone.

``process(row_id)`` is that one-row path: one unit of work for the row. A bug there marks
the row failed (with the error) so it cannot block the rows behind it; that is logged
loudly. A transient error is not a bug: a lost race (``storage.transitions``), a deadlock, a
serialization failure or two processes inserting the same new row (``storage.db.
is_transient``) is retried at once a few times, then the row stays pending and is tried
again later with backoff (``storage.inbox.defer``); so is X being unreachable while a
handle is looked up (``storage.inbox.wait_for_x``: no attempt counted).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.logging import get_logger
from bot.services.handle_event import BatchMemo, EventService, named_party, with_counterparty
from bot.xchat.bot_chat import BotChat, ChatRefused
from bot.xchat.inbound import open_payload
from bot.xchat.ingest import SOURCE as CHAT_SOURCE
from handlers.commands import Command, Recipient, UnresolvedRecipient
from handlers.decide import Decision, Event
from handlers.errors import GatewayError, GrammarError
from handlers.grammar import Caps, parse
from handlers.texts import render
from storage import inbox
from storage import xchat as xchat_routes
from storage.db import backoff_seconds, is_retryable, is_transient
from storage.models import InboxEvent
from storage.sealing import Sealer
from storage.uow import UnitOfWork

log = get_logger(__name__)

Clock = Callable[[], dt.datetime]
# A handle → (numeric id, handle) lookup through the gateway (cached there); None if unknown.
Resolver = Callable[[str], tuple[int, str] | None]


# A transient error (storage.db.is_transient) is retried at once this many times in all,
# then the row is deferred (storage.inbox.defer).
IN_PLACE_ATTEMPTS = 3
# X unavailable for a handle lookup without a reset time (5xx, timeout): wait this long.
X_PAUSE = dt.timedelta(seconds=30)
# Rows per batch transaction. Larger batches amortise the commit further but hold their
# locks (PostgreSQL) and delay the first replies of a burst for longer.
BATCH = 100
# Rows one ``process_pending`` call handles at most (batch after batch): a burst is drained
# by the job that fetched it, yet one call cannot run for ever under a steady flood.
DRAIN = 2000


@dataclass(frozen=True, slots=True)
class Opened:
    """A pending row read and opened (X Chat payloads decrypted), before any parsing."""

    row_id: int
    source: str
    payload: dict[str, Any]
    event: Event | None = None  # None: an X Chat message that did not verify
    refused: str | None = None  # why it did not


@dataclass(frozen=True, slots=True)
class Ready:
    """A row whose I/O is done: its event and what the grammar (and the lookup) made of it."""

    opened: Opened
    parsed: Command | GrammarError | None  # None for a refused X Chat message


class BatchAborted(Exception):
    """The batch transaction itself failed: every row of it is handled alone."""


class RowRaised(Exception):
    """A row raised in a batch run without savepoints: the batch is done again with them."""


class Processor:
    """The inbox job: pending rows read, parsed and handed to the event service in batches."""

    def __init__(self, session_factory: Any, sealer: Sealer, clock: Clock, settings: Any, *,
                 bot_user_id: int, bot_handle: str, resolve: Resolver,
                 chat: BotChat | None = None) -> None:
        self._sessions = session_factory
        self._chat = chat
        self._clock = clock
        self._bot_user_id = bot_user_id
        self._bot_handle = bot_handle
        self._resolve = resolve
        self._caps = Caps.from_settings(settings)
        self._events = EventService(session_factory, sealer, clock, settings)

    # -- the job ---------------------------------------------------------------------------

    def process_pending(self, limit: int = DRAIN, batch: int = BATCH) -> int:
        """Handle pending rows, batch after batch, until none is left (or ``limit``).

        Each batch starts after the last row the previous one read: rows another worker
        holds (or that this one left waiting) are not read again in the same run."""
        done = seen = after = 0
        while seen < limit:
            size = min(batch, limit - seen)
            handled, read, after = self.process_batch(size, after_id=after)
            done += handled
            seen += read
            if read < size:
                break
        return done

    def process_batch(self, limit: int = BATCH, *, after_id: int = 0) -> tuple[int, int, int]:
        """One batch of rows after ``after_id``: (rows handled, rows read, last row read)."""
        with self._sessions() as session:
            rows = [(row.id, row.source, row.payload, row.author_x_user_id)
                    for row in inbox.pending(session, limit, now=self._clock(),
                                             after_id=after_id)]
        if not rows:
            return 0, 0, after_id
        if len(rows) == 1:
            return int(self.process(rows[0][0])), 1, rows[0][0]
        ready: list[Ready] = []
        alone: list[int] = []
        held_back: set[int] = set()  # authors with a row left to the one-row path
        for row_id, source, payload, author in rows:
            try:
                opened = self._open(row_id, source, json.loads(payload))
                ready.append(Ready(opened, self._parse_opened(opened)))
            except GatewayError as exc:
                self._wait_for_x(row_id, exc)
            except Exception:
                alone.append(row_id)  # its own path fails it (or retries it), loudly
                held_back.add(author)
        try:
            handled, failed = self._write_batch(ready, held_back)
        except Exception as exc:
            log.warning("processor.batch_aborted", rows=len(ready), error=type(exc).__name__)
            handled, failed = 0, [item.opened.row_id for item in ready]
        done = handled + sum(self.process(row_id) for row_id in sorted(failed + alone))
        return done, len(rows), rows[-1][0]

    def _write_batch(self, ready: list[Ready], held_back: set[int]) -> tuple[int, list[int]]:
        """The batch's unit of work: (rows handled, rows to handle alone).

        Rows seldom raise, so the batch first runs without savepoints (two statements less
        per row); if a row raises, all of it is rolled back and done again with a savepoint
        per row, which leaves only the rows that raise to be handled alone."""
        if not ready:
            return 0, []
        try:
            return self._write_rows(ready, set(held_back), isolate=False)
        except RowRaised:
            return self._write_rows(ready, set(held_back), isolate=True)

    def _write_rows(self, ready: list[Ready], held_back: set[int], *,
                    isolate: bool) -> tuple[int, list[int]]:
        handled: list[tuple[Ready, Decision | None]] = []
        failed: list[int] = []
        with UnitOfWork(self._sessions, self._clock) as uow:
            session = uow.session
            claimed = inbox.claim_many(session, [item.opened.row_id for item in ready])
            memo = BatchMemo()
            for item in ready:
                author = claimed.get(item.opened.row_id)
                if author is None:
                    continue  # handled, or held, by another worker
                if author in held_back:
                    # One person's events keep their order: after theirs that failed here.
                    failed.append(item.opened.row_id)
                    continue
                try:
                    if isolate:
                        with session.begin_nested():  # released (flushed) before it counts
                            decision = self._write(uow, item, memo)
                    else:
                        decision = self._write(uow, item, memo)
                        session.flush()
                except Exception as exc:
                    if is_retryable(exc):
                        # A deadlock or serialization failure ends the whole transaction.
                        raise BatchAborted(type(exc).__name__) from exc
                    if not isolate:
                        raise RowRaised(item.opened.row_id) from exc
                    failed.append(item.opened.row_id)
                    held_back.add(author)
                else:
                    handled.append((item, decision))
                # The next row starts from the database, as it would in its own session.
                session.expunge_all()
            inbox.mark_done(session, [item.opened.row_id for item, decision in handled
                                      if decision is not None], self._clock())
            uow.commit()
        for item, decision in handled:
            self._log_handled(item, decision)
        return sum(decision is not None for _, decision in handled), failed

    # -- one row ---------------------------------------------------------------------------

    def process(self, row_id: int) -> bool:
        """One row in its own unit of work, with the retries described above."""
        with self._sessions() as session:
            row = session.get(InboxEvent, row_id)
            if row is None or row.status != "pending":
                return False
            source, payload = row.source, json.loads(row.payload)
        error: BaseException | None = None
        for attempt in range(IN_PLACE_ATTEMPTS):
            try:
                opened = self._open(row_id, source, payload)
                return self._write_one(Ready(opened, self._parse_opened(opened)))
            except GatewayError as exc:  # the handle lookup: X is down or rate limited
                self._wait_for_x(row_id, exc)
                return False
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("processor.bug", inbox_id=row_id, source=source)
                    self._settle(row_id, f"{type(exc).__name__}: {exc}")
                    return False
                error = exc
            if attempt + 1 < IN_PLACE_ATTEMPTS:
                time.sleep(backoff_seconds(attempt))
        # Still losing races (or deadlocking): not a bug. The row stays pending and is
        # handled again later, from fresh facts.
        status = self._settle(row_id, f"{type(error).__name__}: {error}", transient=True)
        log.warning("processor.transient", inbox_id=row_id, source=source, status=status,
                    error=type(error).__name__)
        return False

    def _write_one(self, item: Ready) -> bool:
        with UnitOfWork(self._sessions, self._clock) as uow:
            row = inbox.claim(uow.session, item.opened.row_id)
            if row is None:
                return False  # handled by someone else meanwhile (nothing to commit)
            decision = self._write(uow, item)
            if decision is not None:
                inbox.mark_done(uow.session, [row.id], self._clock())
            uow.commit()
        self._log_handled(item, decision)
        return decision is not None

    def _write(self, uow: UnitOfWork, item: Ready,
               memo: BatchMemo | None = None) -> Decision | None:
        """A claimed row's writes, in the caller's transaction (which marks it done); None
        for a refused X Chat message, closed here without a reply."""
        opened = item.opened
        if opened.event is None or item.parsed is None:
            inbox.mark_done(uow.session, [opened.row_id], self._clock(),
                            f"refused: {opened.refused}")
            return None
        if opened.source in ("dm", CHAT_SOURCE):
            self._note_route(uow, opened.payload)
        return self._events.handle(uow, opened.event, item.parsed, memo)

    def _log_handled(self, item: Ready, decision: Decision | None) -> None:
        if decision is None:
            log.warning("xchat.refused", inbox_id=item.opened.row_id,
                        reason=item.opened.refused)
        else:
            log.info("processor.handled", inbox_id=item.opened.row_id,
                     source=item.opened.source, reason=decision.reason)

    def _settle(self, row_id: int, error: str, *, transient: bool = False) -> str:
        """Record why the row was not handled: failed (a bug) or deferred (transient)."""
        now = self._clock()
        with UnitOfWork(self._sessions, self._clock) as uow:
            if transient:
                status = inbox.defer(uow.session, row_id, now, error)
            else:
                row = uow.session.get(InboxEvent, row_id)
                status = row.status if row is not None else "missing"
                if row is not None and row.status == "pending":
                    inbox.mark(row, "failed", now, error)
                    status = "failed"
            uow.commit()
        return status

    def _wait_for_x(self, row_id: int, error: GatewayError) -> None:
        """X could not answer the handle lookup (429, 5xx, timeout): not the event's fault.
        It stays pending until X's reset (or a short pause), never failed for it."""
        until = getattr(error, "reset_at", None) or self._clock() + X_PAUSE
        with UnitOfWork(self._sessions, self._clock) as uow:
            status = inbox.wait_for_x(uow.session, row_id, until,
                                      f"{type(error).__name__}: {error}")
            uow.commit()
        log.warning("processor.x_unavailable", inbox_id=row_id, status=status,
                    error=type(error).__name__, until=until.isoformat())

    # -- the I/O before the transaction ----------------------------------------------------

    def _open(self, row_id: int, source: str, payload: dict[str, Any]) -> Opened:
        if source == CHAT_SOURCE:
            try:
                payload = open_payload(self._chat, payload)
            except ChatRefused as refused:  # closed without a reply, content unlogged
                return Opened(row_id, source, payload, refused=refused.reason)
        event = Event(
            source="dm" if source in ("dm", CHAT_SOURCE) else "mention",
            event_id=payload.get("event_id") or payload.get("tweet_id") or str(row_id),
            author_id=int(payload["author_id"]), author_handle=payload.get("author_handle", ""),
            tweet_id=payload.get("tweet_id"),
        )
        return Opened(row_id, source, payload, event)

    def _parse_opened(self, opened: Opened) -> Command | GrammarError | None:
        return None if opened.event is None else self._parse(opened.event, opened.payload)

    def _note_route(self, uow: UnitOfWork, payload: dict[str, Any]) -> None:
        """Replies follow the transport the user last wrote in (legacy DM or X Chat)."""
        created = payload.get("created_at")
        at = dt.datetime.fromisoformat(created) if created else self._clock()
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        chat = payload.get("transport") == "xchat"
        xchat_routes.note_inbound(uow.session, int(payload["author_id"]),
                                  "xchat" if chat else "legacy",
                                  payload.get("conversation_id") if chat else None, at)

    def _parse(self, event: Event, payload: dict[str, Any]) -> Command | GrammarError:
        parsed = parse(
            payload.get("text", ""), payload.get("entities") or None,
            bot_user_id=self._bot_user_id, author_id=event.author_id,
            channel="dm" if event.source == "dm" else "tweet", caps=self._caps,
            bot_username=self._bot_handle, author_username=event.author_handle or None,
        )
        if isinstance(parsed, GrammarError):
            return parsed
        who = named_party(parsed)
        if isinstance(who, UnresolvedRecipient):
            # I/O outside the transaction: the gateway caches lookups.
            found = self._resolve(who.handle)
            if found is None:
                return GrammarError("unknown_handle", parsed.lang,
                                    render("unknown_handle", parsed.lang, handle=who.handle))
            uid, handle = found
            if uid == self._bot_user_id:
                return GrammarError("bot_recipient", parsed.lang,
                                    render("bot_recipient", parsed.lang))
            if uid == event.author_id:
                return GrammarError("self_recipient", parsed.lang,
                                    render("self_recipient", parsed.lang))
            parsed = with_counterparty(parsed, Recipient(uid, handle))
        return parsed
