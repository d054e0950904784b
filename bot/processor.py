"""Handle inbox events: parse, load facts, decide (pure), write the decision in ONE transaction.

For each pending inbox row, the grammar reads the text, the facts are loaded, the handler
decides, and one unit of work marks the row done and writes the intent, its token hash and
the outbox messages together: a crash leaves either all of it or none of it, and the row stays
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
from dataclasses import replace
from typing import Any

from bot.logging import get_logger
from bot.security import new_token
from bot.services import wind_down
from bot.xchat.bot_chat import BotChat, ChatRefused
from bot.xchat.inbound import open_payload
from bot.xchat.ingest import SOURCE as CHAT_SOURCE
from handlers import history
from handlers.commands import (
    Cancel,
    Command,
    Donate,
    Recipient,
    RequestMoney,
    SendMoney,
    ShowAccount,
    ShowBalance,
    ShowHistory,
    SignUp,
    UnresolvedRecipient,
    Withdraw,
)
from handlers.decide import (
    Decision,
    Event,
    Facts,
    PendingIntent,
    Policy,
    answer,
    decide,
    refuse_text,
)
from handlers.errors import GatewayError, GrammarError
from handlers.grammar import Caps, parse
from handlers.money import Money
from handlers.texts import render
from storage import devices, inbox, intents, limits
from storage import xchat as xchat_routes
from storage.db import backoff_seconds, is_transient
from storage.ledger import user_account_code
from storage.models import InboxEvent
from storage.sealing import Sealer
from storage.statement import statement
from storage.uow import UnitOfWork

log = get_logger(__name__)

Clock = Callable[[], dt.datetime]
# A handle → (numeric id, handle) lookup through the gateway (cached there); None if unknown.
Resolver = Callable[[str], tuple[int, str] | None]


# A transient error (storage.db.is_transient) is retried at once this many times in all,
# then the row is deferred (storage.inbox.defer).
IN_PLACE_ATTEMPTS = 3

# One-time links (bot.links, the one list log redaction also reads): /c/ confirms a payment,
# /s/ signs up, /l/ logs in to the account page.
LINK_PATHS: dict[type, str] = {SignUp: "s", ShowAccount: "l"}


def policy_from_settings(settings: Any) -> Policy:
    return Policy(
        cap_person=settings.cap_person, cap_pro=settings.cap_pro,
        min_amount=settings.min_amount,
        ttl=dt.timedelta(seconds=settings.confirmation_ttl_seconds),
        public_link_fallback=settings.public_link_fallback,
        claim_days=settings.claim_period_days, bot_handle=settings.bot_handle,
        limit_24h=settings.limit_24h, limit_30d=settings.limit_30d,
        timezone=settings.timezone,
        app_fallback=dt.timedelta(minutes=settings.app_fallback_minutes),
    )


def _counterparty(command: Command) -> Recipient | UnresolvedRecipient | None:
    if isinstance(command, SendMoney | Donate):
        return command.recipient
    if isinstance(command, RequestMoney):
        return command.payer
    return None


def _with_counterparty(command: Command, who: Recipient) -> Command:
    if isinstance(command, SendMoney | Donate):
        return replace(command, recipient=who)
    if isinstance(command, RequestMoney):
        return replace(command, payer=who)
    return command


class Processor:
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
        self._policy = policy_from_settings(settings)
        self._caps = Caps.from_settings(settings)
        self._base_url = settings.public_base_url.rstrip("/")
        self._payouts: Any = None  # money out's collaborators, built on the first #retirer

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
        who = _counterparty(parsed)
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
            parsed = _with_counterparty(parsed, Recipient(uid, handle))
        return parsed

    def _decide_and_write(self, row_id: int, event: Event,
                          parsed: Command | GrammarError) -> bool:
        now = self._clock()
        with UnitOfWork(self._sessions, self._clock) as uow:
            session = uow.session
            row = inbox.claim(session, row_id)
            if row is None:
                return False  # handled by someone else meanwhile
            lang = parsed.lang if hasattr(parsed, "lang") else "fr"
            intents.touch_contact(session, event.author_id, event.author_handle,
                                  via_dm=event.source == "dm",
                                  lang=lang if lang in ("fr", "en") else None, now=now)
            if isinstance(parsed, GrammarError):
                decision = refuse_text(event, parsed.text, parsed.code)
            elif wind_down.refuses(session, parsed):
                decision = refuse_text(event, render("wind_down_refused", parsed.lang),
                                       "wind_down")
            elif isinstance(parsed, Withdraw):
                decision = self._withdraw(uow, event, parsed)
            else:
                decision = decide(parsed, event, self._facts(uow, event, parsed, now))
            intents.apply(uow, self._sealer, decision, source_event_id=event.key,
                          author_id=event.author_id, now=now)
            inbox.mark(row, "done", now)
            uow.commit()
        log.info("processor.handled", inbox_id=row_id, source=event.source,
                 reason=decision.reason)
        return True

    def _withdraw(self, uow: UnitOfWork, event: Event, command: Withdraw) -> Decision:
        """``#retirer``: a withdrawal awaiting its PIN and the DM with its one-time link, in
        this transaction (the inbox row's: one link per DM, whatever the retries)."""
        from bot.services import withdraw as withdraw_flow
        from bot.services.payout_common import WithdrawRefused, deps_from_settings
        from handlers.payout_texts import refusal, withdraw_link

        if self._payouts is None:
            self._payouts = deps_from_settings(self._settings, self._sessions, self._sealer,
                                               self._clock)
        deps, lang = self._payouts, command.lang
        user = intents.find_user(uow.session, event.author_id)
        if user is None or user.status == "unlinked":
            return answer(event, lang, render("signup_needed_dm", lang), private=True,
                          reason="withdraw_no_account")
        minutes = int(deps.policy.link_ttl.total_seconds() // 60)
        try:
            withdraw_flow.request_in(
                uow, deps, user_id=user.id, amount=command.amount, scheme="instant",
                channel="dm", lang=lang, source_event_id=event.key,
                notify=lambda req, u: [withdraw_link(
                    u.x_user_id, req.withdrawal_id, req.amount, req.account.masked,
                    f"{self._base_url}/w/{req.token}", minutes, lang)])
        except WithdrawRefused as exc:
            if exc.code == "no_bank_account":
                text = render("withdraw_no_bank_dm", lang)
            else:
                text = render("withdraw_refused", lang, reason=refusal(exc.code, lang, exc.limit))
            return answer(event, lang, text, private=True, reason=f"withdraw_{exc.code}")
        return Decision(reason="withdraw")

    def _facts(self, uow: UnitOfWork, event: Event, command: Command,
               now: dt.datetime) -> Facts:
        session = uow.session
        author = intents.as_party(intents.find_user(session, event.author_id))
        who = _counterparty(command)
        counterparty = None
        if isinstance(who, Recipient):
            found = intents.find_user(session, who.x_user_id)
            # An unlinked account is treated as none: money for it waits in escrow.
            counterparty = intents.as_party(found if found and found.status != "unlinked"
                                            else None)
        balance: Money | None = None
        lines: tuple[str, ...] = ()
        if author is not None and event.source == "dm":
            if isinstance(command, ShowBalance):
                balance = uow.ledger.balance(user_account_code(author.x_user_id))
            elif isinstance(command, ShowHistory):
                movements = statement(uow, author.x_user_id, command.count)
                lines = tuple(history.line(m, command.lang, self._policy.timezone)
                              for m in movements)
        pending: tuple[PendingIntent, ...] = ()
        held: tuple[PendingIntent, ...] = ()
        settled = None
        if isinstance(command, Cancel):
            pending = intents.as_pending(
                session, intents.pending_for(session, event.author_id), event.author_id)
            held = intents.held_for_cancel(session, event.author_id)
            if command.reference is not None:
                settled = intents.settled_for_cancel(session, event.author_id,
                                                     command.reference)
        out_24h = out_30d = None
        if author is not None and isinstance(command, SendMoney | Donate):
            conn = session.connection()
            out_24h, out_30d = limits.outgoing_windows(conn, author.x_user_id, now)
        # Who confirms in the app rather than through a DM'd link: the one who will confirm
        # (the author of a payment, the payer of a request), if signed in on a device.
        author_app = counterparty_app = False
        if author is not None and isinstance(command, SendMoney | Donate):
            author_app = devices.has_device(session, author.x_user_id, now)
        if counterparty is not None and isinstance(command, RequestMoney):
            counterparty_app = devices.has_device(session, counterparty.x_user_id, now)
        token, token_hash = new_token()
        path = LINK_PATHS.get(type(command), "c")
        return Facts(
            now=now, policy=self._policy, author=author, counterparty=counterparty,
            balance=balance, history_lines=lines, pending=pending, held=held, settled=settled,
            outgoing_24h=out_24h, outgoing_30d=out_30d,
            link=f"{self._base_url}/{path}/{token}", token_hash=token_hash,
            reference=intents.new_reference(),
            author_app=author_app, counterparty_app=counterparty_app,
        )

