"""Handle an inbound event once it is read and parsed: the facts a decision needs are loaded,
the pure handler decides (``handlers.decide``), and the decision is written, all in the
caller's unit of work (the inbox row's: the row is marked done in the same transaction, so
a crash leaves all of it or none of it).

``EventService.handle(uow, event, parsed)`` returns the ``Decision`` it wrote (its replies
are outbox rows). The entry points are ``bot.processor`` (inbox rows from polling, webhooks
and X Chat) and anything else that receives a command. ``apply_decision`` writes a decision:
the intent and its token hash, link tokens, cancellations (guarded transitions: a
confirmation committed meanwhile wins and ``TransitionLost`` makes the caller decide again
from fresh facts), escrow refunds through the ledger, ``#stop``, the outbox rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.security import new_token
from bot.services import wind_down
from handlers import fair_share, history
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
from handlers.errors import GrammarError
from handlers.money import Money
from handlers.texts import render
from storage import escrow, intents, limits, outbox
from storage.ledger import user_account_code
from storage.models import PaymentIntent
from storage.sealing import Sealer
from storage.statement import statement
from storage.uow import UnitOfWork

Clock = Callable[[], dt.datetime]

# One-time links (bot.links, the one list log redaction also reads): /c/ confirms a payment,
# /s/ signs up, /l/ logs in to the account page.
LINK_PATHS: dict[type, str] = {SignUp: "s", ShowAccount: "l"}


def policy_from_settings(settings: Any) -> Policy:
    return Policy(
        cap_person=Money(settings.cap_person), cap_pro=Money(settings.cap_pro),
        ttl=dt.timedelta(seconds=settings.confirmation_ttl_seconds),
        public_link_fallback=settings.public_link_fallback,
        claim_days=settings.claim_period_days, bot_handle=settings.bot_handle,
        limit_24h=Money(settings.limit_24h), limit_30d=Money(settings.limit_30d),
        timezone=settings.timezone,
        app_fallback=dt.timedelta(minutes=settings.app_fallback_minutes),
    )


def named_party(command: Command) -> Recipient | UnresolvedRecipient | None:
    """Who else the command names (the recipient, or the payer of a request)."""
    if isinstance(command, SendMoney | Donate):
        return command.recipient
    if isinstance(command, RequestMoney):
        return command.payer
    return None


def with_counterparty(command: Command, who: Recipient) -> Command:
    if isinstance(command, SendMoney | Donate):
        return replace(command, recipient=who)
    if isinstance(command, RequestMoney):
        return replace(command, payer=who)
    return command


class BatchMemo:
    """Facts a batch of events reads once: the operator's wind-down flag (it does not move
    with the events; a batch is handled within a second)."""

    def __init__(self) -> None:
        self._wind_down: bool | None = None

    def wind_down(self, session: Any) -> bool:
        if self._wind_down is None:
            self._wind_down = wind_down.is_on(session)
        return self._wind_down


class EventService:
    """One per process: the policy, the link base URL and money out's collaborators."""

    def __init__(self, sessions: Any, sealer: Sealer, clock: Clock, settings: Any) -> None:
        self._sessions = sessions
        self._sealer = sealer
        self._clock = clock
        self._settings = settings
        self._policy = policy_from_settings(settings)
        self._base_url = settings.public_base_url.rstrip("/")
        self._payouts: Any = None  # money out's collaborators, built on the first #retirer

    def handle(self, uow: UnitOfWork, event: Event, parsed: Command | GrammarError,
               memo: BatchMemo | None = None) -> Decision:
        """Decide and write, in ``uow`` (the caller commits). ``memo``: what a batch of
        events handled in this one transaction reads once (``bot.processor``)."""
        now = self._clock()
        session = uow.session
        memo = memo or BatchMemo()
        lang = parsed.lang if hasattr(parsed, "lang") else "fr"
        intents.touch_contact(session, event.author_id, event.author_handle,
                              via_dm=event.source == "dm",
                              lang=lang if lang in ("fr", "en") else None, now=now)
        if isinstance(parsed, GrammarError):
            decision = refuse_text(event, parsed.text, parsed.code)
        elif isinstance(parsed, wind_down.REFUSED_COMMANDS) and memo.wind_down(session):
            decision = refuse_text(event, render("wind_down_refused", parsed.lang),
                                   "wind_down")
        elif isinstance(parsed, Withdraw):
            decision = self._withdraw(uow, event, parsed)
        else:
            decision = decide(parsed, event, self._facts(uow, event, parsed, now))
        decision = self._fair_share(session, event, decision, lang, now)
        apply_decision(uow, self._sealer, decision, source_event_id=event.key,
                       author_id=event.author_id, now=now)
        return decision

    def _fair_share(self, session: Any, event: Event, decision: Decision, lang: Any,
                    now: dt.datetime) -> Decision:
        """One person's commands may cost only so many DMs an hour (handlers.fair_share)."""
        limit = self._settings.dm_commands_per_hour
        if not limit or not fair_share.costs_dm_to(decision, event.author_id):
            return decision
        sent = outbox.dms_caused_since(session, event.author_id, now - fair_share.WINDOW)
        return fair_share.share(decision, event, lang if lang in ("fr", "en") else "fr",
                                sent_last_hour=sent, limit=limit, now=now)

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
        who = named_party(command)
        other = who.x_user_id if isinstance(who, Recipient) else None
        parties, on_device = intents.find_parties(session, now, event.author_id,
                                                  *([other] if other is not None else []))
        author = parties.get(event.author_id)
        found = parties.get(other) if other is not None else None
        # An unlinked account is treated as none: money for it waits in escrow.
        counterparty = found if found and found.status != "unlinked" else None
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
            author_app = author.x_user_id in on_device
        if counterparty is not None and isinstance(command, RequestMoney):
            counterparty_app = counterparty.x_user_id in on_device
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



def apply_decision(uow: UnitOfWork, sealer: Sealer, decision: Decision, *,
                   source_event_id: str, author_id: int, now: dt.datetime
                   ) -> PaymentIntent | None:
    """Write a decision in the caller's unit of work; returns the new intent, if any."""
    session = uow.session
    intent = signature = None
    outgoing = list(decision.outgoing)
    if decision.new_intent is not None:
        intent, signature = intents.create_intent(session, decision.new_intent,
                                                  source_event_id, now, sealer)
        outgoing = [
            replace(item, intent_id=intent.id)
            if item.link or getattr(item, "about_new_intent", False) else item
            for item in outgoing
        ]
    for intent_id in decision.cancel_intent_ids:
        # Guarded: a confirmation (or the expiry) committed since the facts were read wins,
        # and this whole decision is made again from fresh facts (TransitionLost).
        intents.cancel(session, intent_id, now)
    if decision.new_token is not None:
        intents.add_link_token(session, decision.new_token, now)
    for hold in escrow.holds_of_sender(session, author_id, decision.cancel_hold_ids):
        escrow.cancel(uow, hold, now)  # guarded too: TransitionLost if claimed meanwhile
    if decision.stop_contact:
        intents.stop_contact(session, author_id)
    outbox.enqueue(session, sealer, outgoing, now, along=signature)
    return intent
