"""Handle inbox events: parse, then decide and write in ONE transaction (the service
``bot.services.handle_event``).

For each pending inbox row, the grammar reads the text and a handle is resolved (I/O,
outside any transaction), then one unit of work claims the row, lets the service load the
facts, decide (pure) and write the intent, its token hash and the outbox messages, and marks
the row done: a crash leaves either all of it or none of it, and the row stays
pending to be handled again. A row that raises a bug is marked failed (with the error) so it
cannot block the rows behind it; that is logged loudly. A transient error is not a bug: a
lost race (``storage.transitions``), a deadlock, a serialization failure or two processes
inserting the same new row (``storage.db.is_transient``) is retried at once a few times,
then the row stays pending and is tried again later with backoff (``storage.inbox.defer``);
so is X being unreachable while a handle is looked up.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

from bot.logging import get_logger
from bot.services.handle_event import EventService, named_party, with_counterparty
from bot.xchat.bot_chat import BotChat, ChatRefused
from bot.xchat.inbound import open_payload
from bot.xchat.ingest import SOURCE as CHAT_SOURCE
from handlers.commands import Command, Recipient, UnresolvedRecipient
from handlers.decide import Event
from handlers.errors import GatewayError, GrammarError
from handlers.grammar import Caps, parse
from handlers.texts import render
from storage import inbox
from storage import xchat as xchat_routes
from storage.db import backoff_seconds, is_transient
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


class Processor:
    """The inbox job: each pending row read, parsed and handed to the event service."""

    def __init__(self, session_factory: Any, sealer: Sealer, clock: Clock, settings: Any, *,
                 bot_user_id: int, bot_handle: str, resolve: Resolver,
                 chat: BotChat | None = None) -> None:
        self._sessions = session_factory
        self._chat = chat
        self._sealer = sealer
        self._clock = clock
        self._settings = settings
        self._bot_user_id = bot_user_id
        self._bot_handle = bot_handle
        self._resolve = resolve
        self._caps = Caps.from_settings(settings)
        self._events = EventService(session_factory, sealer, clock, settings)

    def process_pending(self, limit: int = 200) -> int:
        with self._sessions() as session:
            ids = [row.id for row in inbox.pending(session, limit, now=self._clock())]
        done = 0
        for row_id in ids:
            done += self.process(row_id)
        return done

    def process(self, row_id: int) -> bool:
        with self._sessions() as session:
            row = session.get(InboxEvent, row_id)
            if row is None or row.status != "pending":
                return False
            source, payload = row.source, json.loads(row.payload)
        if source == CHAT_SOURCE:
            try:
                payload = open_payload(self._chat, payload)
            except ChatRefused as refused:
                return self._refuse_chat(row_id, refused.reason)
        if source in ("dm", CHAT_SOURCE):
            self._note_route(payload)
        event = Event(
            source="dm" if source in ("dm", CHAT_SOURCE) else "mention",
            event_id=payload.get("event_id") or payload.get("tweet_id") or str(row_id),
            author_id=int(payload["author_id"]), author_handle=payload.get("author_handle", ""),
            tweet_id=payload.get("tweet_id"),
        )
        error: BaseException | None = None
        for attempt in range(IN_PLACE_ATTEMPTS):
            try:
                return self._decide_and_write(row_id, event, self._parse(event, payload))
            except GatewayError as exc:  # the handle lookup: X is down or rate limited
                error = exc
                break
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("processor.bug", inbox_id=row_id, source=source)
                    self._settle(row_id, f"{type(exc).__name__}: {exc}")
                    return False
                error = exc
            if attempt + 1 < IN_PLACE_ATTEMPTS:
                time.sleep(backoff_seconds(attempt))
        if isinstance(error, GatewayError):
            # X could not answer the handle lookup (429, 5xx, timeout): not the event's fault.
            # It stays pending until X's reset (or a short pause), never failed for it.
            until = getattr(error, "reset_at", None) or self._clock() + X_PAUSE
            with self._sessions.begin() as session:
                status = inbox.wait_for_x(session, row_id, until,
                                          f"{type(error).__name__}: {error}")
            log.warning("processor.x_unavailable", inbox_id=row_id, status=status,
                        error=type(error).__name__, until=until.isoformat())
            return False
        # Still losing races (or deadlocking): not a bug. The row stays pending and is
        # handled again later, from fresh facts.
        status = self._settle(row_id, f"{type(error).__name__}: {error}", transient=True)
        log.warning("processor.transient", inbox_id=row_id, source=source, status=status,
                    error=type(error).__name__)
        return False

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

    def _refuse_chat(self, row_id: int, reason: str) -> bool:
        """An X Chat message that does not verify: closed without a reply, content unlogged."""
        log.warning("xchat.refused", inbox_id=row_id, reason=reason)
        with self._sessions.begin() as session:
            row = inbox.claim(session, row_id)
            if row is not None:
                inbox.mark(row, "done", self._clock(), f"refused: {reason}")
        return False

    def _note_route(self, payload: dict[str, Any]) -> None:
        """Replies follow the transport the user last wrote in (legacy DM or X Chat)."""
        created = payload.get("created_at")
        at = dt.datetime.fromisoformat(created) if created else self._clock()
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        chat = payload.get("transport") == "xchat"
        with self._sessions.begin() as session:
            xchat_routes.note_inbound(session, int(payload["author_id"]),
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

    def _decide_and_write(self, row_id: int, event: Event,
                          parsed: Command | GrammarError) -> bool:
        with UnitOfWork(self._sessions, self._clock) as uow:
            row = inbox.claim(uow.session, row_id)
            if row is None:
                return False  # handled by someone else meanwhile
            decision = self._events.handle(uow, event, parsed)
            inbox.mark(row, "done", self._clock())
            uow.commit()
        log.info("processor.handled", inbox_id=row_id, source=event.source,
                 reason=decision.reason)
        return True
