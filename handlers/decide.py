"""Turn one inbound event (a mention or a DM, already parsed) into a decision.

Pure: the caller loads the facts (``Facts``) before deciding and carries out the returned
``Decision`` in one transaction (inbox row done, intent and token hash, outbox messages).
No clock, no randomness, no I/O here: the time, the token and the reference come in.

Handlers are registered once, in ``HANDLERS`` at the bottom.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from handlers.commands import (
    Cancel,
    Command,
    Donate,
    Help,
    Recipient,
    RequestMoney,
    SendMoney,
    ShowAccount,
    ShowBalance,
    ShowHistory,
    SignUp,
    Stop,
)
from handlers.memos import quoted
from handlers.money import Lang, Money
from handlers.outcomes import (
    LINK_PLACEHOLDER,
    PRIORITY_LINK,
    PRIORITY_REPLY,
    DirectMessage,
    Outgoing,
    PublicReply,
    PushNotice,
)
from handlers.texts import plural, render
from handlers.times import DEFAULT_TIMEZONE, datetime_text

Source = Literal["mention", "dm"]
_NOTHING = Money(0)


@dataclass(frozen=True, slots=True)
class Event:
    """An inbound event, as ingest stored it."""

    source: Source
    event_id: str
    author_id: int
    author_handle: str
    tweet_id: str | None = None  # the mention itself, to reply in its thread

    @property
    def key(self) -> str:
        return f"{self.source}:{self.event_id}"


@dataclass(frozen=True, slots=True)
class Party:
    """What the decision needs to know of a user."""

    x_user_id: int
    handle: str
    kind: Literal["personal", "pro"] = "personal"
    status: str = "active"
    locked_until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class PendingIntent:
    """Something the author may still cancel: an intent awaiting confirmation, or an escrow
    hold. ``other``: the other party's handle; ``kind`` ``request`` when the author asked."""

    id: int
    reference: str
    amount: Money = _NOTHING
    other: str = ""
    kind: str = "send"


@dataclass(frozen=True, slots=True)
class Policy:
    cap_person: Money
    cap_pro: Money
    min_amount: Money
    ttl: dt.timedelta
    public_link_fallback: bool = True
    claim_days: int = 14
    bot_handle: str = "Smoney"
    limit_24h: Money | None = None  # rolling totals sent (storage.limits); None: no limit
    limit_30d: Money | None = None
    timezone: str = DEFAULT_TIMEZONE  # how times are shown (settings timezone)
    # A payer with an app device is told by push; the link follows by DM once after this
    # long if the app has not shown the payment (nobody is stranded by an unseen push).
    app_fallback: dt.timedelta = dt.timedelta(minutes=3)


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything loaded for one decision."""

    now: dt.datetime
    policy: Policy
    author: Party | None  # None: no account
    counterparty: Party | None = None  # the recipient (or payer of a request), if known
    balance: Money | None = None
    history_lines: tuple[str, ...] = ()
    pending: tuple[PendingIntent, ...] = ()
    held: tuple[PendingIntent, ...] = ()  # escrow holds the author may still cancel
    # #annuler <ref> of a payment that can no longer be cancelled: "confirmed" (paid) or
    # "claimed" (the recipient took it from escrow); a lost race ends here too.
    settled: str | None = None
    outgoing_24h: Money | None = None  # what the author sent in the last 24 h / 30 days
    outgoing_30d: Money | None = None
    link: str = ""  # the one-time link prepared for a new intent (sealed at rest)
    token_hash: str = ""
    reference: str = ""
    author_app: bool = False  # the author is signed in on an app device
    counterparty_app: bool = False


@dataclass(frozen=True, slots=True)
class NewIntent:
    reference: str
    kind: Literal["send", "donate", "request"]
    channel: Literal["tweet", "dm"]
    lang: Lang
    initiator_x_user_id: int
    payer_x_user_id: int
    payee_x_user_id: int
    payee_handle: str
    amount: Money
    memo: str
    tweet_id: str | None
    expires_at: dt.datetime
    token_hash: str


@dataclass(frozen=True, slots=True)
class NewLinkToken:
    """A one-time sign-up or login link for the author (only the hash is kept)."""

    purpose: Literal["signup", "login"]
    x_user_id: int
    token_hash: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Decision:
    outgoing: tuple[Outgoing, ...] = ()
    new_intent: NewIntent | None = None
    new_token: NewLinkToken | None = None
    cancel_intent_ids: tuple[int, ...] = ()
    cancel_hold_ids: tuple[int, ...] = ()
    stop_contact: bool = False
    reason: str = ""  # short machine-readable summary for logs and metrics
    extra: dict[str, Any] = field(default_factory=dict)


def answer(event: Event, lang: Lang, text: str, *, private: bool, reason: str) -> Decision:
    """One reply in the event's own channel: a DM for a DM, a public reply for a mention."""
    return Decision(outgoing=(_reply(event, text, private=private),), reason=reason)


def _reply(event: Event, text: str, *, private: bool = False, suffix: str = "reply") -> Outgoing:
    key = f"{event.key}:{suffix}"
    if event.source == "dm" or private:
        return DirectMessage(key, event.author_id, text, priority=PRIORITY_REPLY)
    assert event.tweet_id is not None
    return PublicReply(key, event.tweet_id, text, priority=PRIORITY_REPLY)


def _with_app_hint(text: str, lang: Lang, key: str = "get_app_hint") -> str:
    """How to get the app, for people without an app device (no URL: public texts)."""
    return f"{text} {render(key, lang)}"


def _app_messages(event: Event, facts: Facts, *, payer_id: int, link_text: str, title: str,
                  body: str) -> list[Outgoing]:
    """A payer with an app device: a push now, and the link by DM only if the app has not
    shown the payment after ``policy.app_fallback`` (``bot.outbox_sender`` drops it then)."""
    push = PushNotice(f"{event.key}:push", payer_id, title, body, priority=PRIORITY_LINK,
                      about_new_intent=True)
    fallback = DirectMessage(
        f"{event.key}:app-fallback", payer_id, link_text, priority=PRIORITY_LINK,
        link=facts.link, delay_seconds=int(facts.policy.app_fallback.total_seconds()),
    )
    return [push, fallback]


def _cap_for(policy: Policy, party: Party) -> Money:
    return policy.cap_pro if party.kind == "pro" else policy.cap_person


def _refuse_author(event: Event, facts: Facts, lang: Lang) -> Decision | None:
    author = facts.author
    if author is None:
        if event.source == "dm":
            return answer(event, lang, render("signup_needed_dm", lang), private=True,
                          reason="no_account")
        return answer(event, lang, _with_app_hint(render("invite_signup_public", lang), lang,
                                                  "get_app_hint_stranger"),
                      private=False, reason="no_account")
    if author.locked_until is not None and author.locked_until > facts.now:
        until = datetime_text(author.locked_until, lang, facts.policy.timezone)
        return answer(event, lang, render("account_locked", lang, until=until), private=True,
                      reason="locked")
    if author.status != "active":
        return answer(event, lang, render("account_inactive", lang), private=True,
                      reason="inactive")
    return None


def _over_rolling_limit(event: Event, facts: Facts, amount: Money,
                        lang: Lang) -> Decision | None:
    """The author's 24-hour and 30-day totals (storage.limits): say what is left, privately
    (what someone spends is nobody else's business). Checked again at confirmation."""
    policy = facts.policy
    windows = [
        (limit - spent, key, limit)
        for key, limit, spent in (("rolling_limit_24h", policy.limit_24h, facts.outgoing_24h),
                                  ("rolling_limit_30d", policy.limit_30d, facts.outgoing_30d))
        if limit is not None and spent is not None
    ]
    if not windows:
        return None
    left, key, limit = min(windows, key=lambda w: w[0])  # the 24-hour window on a tie
    if amount <= left:
        return None
    return answer(event, lang, render(key, lang, limit=limit, remaining=max(left, Money(0))),
                  private=True, reason="rolling_limit")


def _payment(event: Event, facts: Facts, *, kind: Literal["send", "donate"], amount: Money,
             recipient: Recipient | object, memo: str, lang: Lang) -> Decision:
    refusal = _refuse_author(event, facts, lang)
    if refusal:
        return refusal
    payee = facts.counterparty
    policy = facts.policy
    escrow = payee is None
    if payee is None:
        if kind == "donate" or not isinstance(recipient, Recipient):
            return answer(event, lang, render("recipient_no_account", lang), private=False,
                          reason="recipient_no_account")
        # No account yet: the money will wait in escrow for this numeric id (issue 6).
        payee = Party(recipient.x_user_id, recipient.handle)
    if kind == "donate" and payee.kind != "pro":
        return answer(event, lang, render("donate_needs_pro", lang), private=False,
                      reason="donate_needs_pro")
    cap = _cap_for(policy, payee)
    if amount > cap:
        return answer(event, lang, render("over_cap", lang, cap=cap), private=False,
                      reason="over_cap")
    if amount < policy.min_amount:
        return answer(event, lang, render("under_minimum", lang, minimum=policy.min_amount),
                      private=False, reason="under_minimum")
    limited = _over_rolling_limit(event, facts, amount, lang)
    if limited:
        return limited
    assert facts.author is not None
    intent = _new_intent(event, facts, kind=kind, lang=lang, payer=facts.author,
                         payee=payee, amount=amount, memo=memo)
    ttl_min = int(policy.ttl.total_seconds() // 60)
    text = render("confirm_donation_dm" if kind == "donate" else "confirm_link_dm", lang,
                  amount=amount, payee="@" + payee.handle,
                  memo=quoted(memo, lang, relayed=False), link=LINK_PLACEHOLDER, ttl=ttl_min,
                  reference=facts.reference)
    if escrow:
        text += "\n" + render("recipient_invite_hint", lang, days=policy.claim_days,
                              bot=policy.bot_handle, reference=facts.reference)
    reason = f"intent_{kind}_escrow" if escrow else f"intent_{kind}"
    if facts.author_app:
        app = _app_messages(
            event, facts, payer_id=facts.author.x_user_id, link_text=text,
            title=render("push_confirm_title", lang),
            body=render("push_confirm_body", lang, amount=amount, payee="@" + payee.handle,
                        reference=facts.reference))
        key = "app_ack_public" if event.source == "mention" else "app_ack_dm"
        ack = _reply(event, render(key, lang, amount=amount, payee="@" + payee.handle,
                                   memo=quoted(memo, lang, relayed=False),
                                   reference=facts.reference))
        return Decision(outgoing=(ack, *app), new_intent=intent, reason=reason + "_app")
    link_dm = DirectMessage(
        f"{event.key}:link", facts.author.x_user_id,
        _with_app_hint(text, lang) if event.source == "dm" else text,
        priority=PRIORITY_LINK, link=facts.link,
        fallback_tweet_id=event.tweet_id if policy.public_link_fallback else None,
    )
    outgoing: list[Outgoing] = [link_dm]
    if event.source == "mention":
        outgoing.insert(0, _reply(event, _with_app_hint(render(
            "ack_donation_check_dm" if kind == "donate" else "ack_check_dm", lang,
            amount=amount, ttl=ttl_min, reference=facts.reference), lang)))
    return Decision(outgoing=tuple(outgoing), new_intent=intent, reason=reason)


def _new_intent(event: Event, facts: Facts, *, kind: Literal["send", "donate", "request"],
                lang: Lang, payer: Party, payee: Party, amount: Money, memo: str) -> NewIntent:
    assert facts.author is not None
    return NewIntent(
        reference=facts.reference, kind=kind,
        channel="dm" if event.source == "dm" else "tweet", lang=lang,
        initiator_x_user_id=facts.author.x_user_id, payer_x_user_id=payer.x_user_id,
        payee_x_user_id=payee.x_user_id, payee_handle=payee.handle, amount=amount, memo=memo,
        tweet_id=event.tweet_id, expires_at=facts.now + facts.policy.ttl,
        token_hash=facts.token_hash,
    )


def send_money(cmd: SendMoney, event: Event, facts: Facts) -> Decision:
    return _payment(event, facts, kind="send", amount=cmd.amount, recipient=cmd.recipient,
                    memo=cmd.memo, lang=cmd.lang)


def donate(cmd: Donate, event: Event, facts: Facts) -> Decision:
    return _payment(event, facts, kind="donate", amount=cmd.amount, recipient=cmd.recipient,
                    memo=cmd.memo, lang=cmd.lang)


def request_money(cmd: RequestMoney, event: Event, facts: Facts) -> Decision:
    lang = cmd.lang
    refusal = _refuse_author(event, facts, lang)
    if refusal:
        return refusal
    payer = facts.counterparty
    policy = facts.policy
    if payer is None:
        return answer(event, lang, render("payer_no_account", lang), private=False,
                      reason="payer_no_account")
    assert facts.author is not None
    cap = _cap_for(policy, facts.author)
    if cmd.amount > cap:
        return answer(event, lang, render("over_cap", lang, cap=cap), private=False,
                      reason="over_cap")
    if cmd.amount < policy.min_amount:
        return answer(event, lang, render("under_minimum", lang, minimum=policy.min_amount),
                      private=False, reason="under_minimum")
    intent = _new_intent(event, facts, kind="request", lang=lang, payer=payer,
                         payee=facts.author, amount=cmd.amount, memo=cmd.memo)
    ttl_min = int(policy.ttl.total_seconds() // 60)
    if facts.counterparty_app:
        link_text = render("request_link_dm", lang, amount=cmd.amount,
                           payee="@" + facts.author.handle,
                           memo=quoted(cmd.memo, lang, relayed=True), link=LINK_PLACEHOLDER,
                           ttl=ttl_min, reference=facts.reference)
        app = _app_messages(
            event, facts, payer_id=payer.x_user_id, link_text=link_text,
            title=render("push_request_title", lang),
            body=render("push_request_body", lang, amount=cmd.amount,
                        payee="@" + facts.author.handle, reference=facts.reference))
        if event.source == "mention":
            ack = _reply(event, render("app_ack_request", lang, amount=cmd.amount,
                                       reference=facts.reference))
        else:
            ack = _reply(event, render("ack_request_dm", lang, amount=cmd.amount,
                                       payer="@" + payer.handle, reference=facts.reference))
        return Decision(outgoing=(ack, *app), new_intent=intent, reason="intent_request_app")
    # The payer opted in by holding an account; the link goes to them only by DM (they did
    # not summon the bot in this thread, so no public fallback towards them).
    link_dm = DirectMessage(
        f"{event.key}:link", payer.x_user_id,
        render("request_link_dm", lang, amount=cmd.amount, payee="@" + facts.author.handle,
               memo=quoted(cmd.memo, lang, relayed=True), link=LINK_PLACEHOLDER, ttl=ttl_min,
               reference=facts.reference),
        priority=PRIORITY_LINK, link=facts.link,
    )
    if event.source == "mention":
        ack = _reply(event, render("ack_request_sent", lang, amount=cmd.amount,
                                   reference=facts.reference))
    else:
        ack = _reply(event, render("ack_request_dm", lang, amount=cmd.amount,
                                   payer="@" + payer.handle, reference=facts.reference))
    return Decision(outgoing=(ack, link_dm), new_intent=intent, reason="intent_request")


def _private_only(event: Event, lang: Lang) -> Decision:
    return answer(event, lang, render("dm_only", lang), private=False,
                  reason="private_only")


def show_balance(cmd: ShowBalance, event: Event, facts: Facts) -> Decision:
    if event.source != "dm":
        return _private_only(event, cmd.lang)
    refusal = _refuse_author(event, facts, cmd.lang)
    if refusal:
        return refusal
    balance = facts.balance if facts.balance is not None else Money(0)
    return answer(event, cmd.lang, render("balance_dm", cmd.lang, balance=balance),
                  private=True, reason="balance")


def show_history(cmd: ShowHistory, event: Event, facts: Facts) -> Decision:
    if event.source != "dm":
        return _private_only(event, cmd.lang)
    refusal = _refuse_author(event, facts, cmd.lang)
    if refusal:
        return refusal
    if not facts.history_lines:
        return answer(event, cmd.lang, render("history_empty_dm", cmd.lang), private=True,
                      reason="history")
    count = len(facts.history_lines)
    text = render(plural("history_dm", count), cmd.lang, count=count,
                  lines="\n".join(facts.history_lines))
    return answer(event, cmd.lang, text, private=True, reason="history")


def cancel(cmd: Cancel, event: Event, facts: Facts) -> Decision:
    """Pending intents (all, or one by reference); a held escrow only by its reference, so
    that a bare #annuler never takes back money already promised to someone."""
    lang = cmd.lang
    targets = facts.pending
    holds: tuple[PendingIntent, ...] = ()
    if cmd.reference is not None:
        ref = cmd.reference.upper()
        targets = tuple(p for p in targets if p.reference.upper() == ref)
        holds = tuple(h for h in facts.held if h.reference.upper() == ref)
        too_late = {"confirmed": "cancel_too_late_confirmed",
                    "claimed": "cancel_too_late_claimed"}.get(facts.settled or "")
        if not targets and not holds and too_late is not None:
            return answer(event, lang, render(too_late, lang, reference=cmd.reference.upper()),
                          private=False, reason="cancel_too_late")
        if not targets and not holds:
            return answer(event, lang, render("unknown_reference", lang),
                          private=False, reason="cancel_unknown")
    if not targets and not holds:
        return answer(event, lang, render("nothing_to_cancel", lang), private=False,
                      reason="cancel_none")
    # What was cancelled names the other party: said by DM, never in public.
    items = "; ".join(
        render("cancelled_request_item" if p.kind == "request" else "cancelled_item", lang,
               amount=p.amount, other="@" + p.other if p.other else "?",
               reference=p.reference)
        for p in targets + holds)
    decision = answer(event, lang, render("cancelled", lang, items=items), private=True,
                      reason="cancelled")
    return Decision(outgoing=decision.outgoing, cancel_intent_ids=tuple(p.id for p in targets),
                    cancel_hold_ids=tuple(h.id for h in holds), reason="cancelled")


def show_help(cmd: Help, event: Event, facts: Facts) -> Decision:
    policy = facts.policy
    text = render("help", cmd.lang, cap_person=policy.cap_person, cap_pro=policy.cap_pro)
    return answer(event, cmd.lang, text, private=False, reason="help")


def stop(cmd: Stop, event: Event, facts: Facts) -> Decision:
    decision = answer(event, cmd.lang, render("stopped", cmd.lang), private=False,
                      reason="stop")
    return Decision(outgoing=decision.outgoing, stop_contact=True, reason="stop")


def _link_decision(event: Event, facts: Facts, lang: Lang, purpose: Literal["signup", "login"],
                   text_key: str) -> Decision:
    ttl_min = int(facts.policy.ttl.total_seconds() // 60)
    dm = DirectMessage(f"{event.key}:{purpose}", event.author_id,
                       render(text_key, lang, ttl=ttl_min, link=LINK_PLACEHOLDER),
                       priority=PRIORITY_LINK, link=facts.link)
    token = NewLinkToken(purpose, event.author_id, facts.token_hash,
                         facts.now + facts.policy.ttl)
    return Decision(outgoing=(dm,), new_token=token, reason=f"{purpose}_link")


def sign_up(cmd: SignUp, event: Event, facts: Facts) -> Decision:
    """By DM only: the DM'd link proves control of the X account; a stranger's public tweet
    gets a public invitation to DM us, without a link (docs/design.md X platform rules)."""
    if facts.author is not None:
        return answer(event, cmd.lang, render("already_signed_up", cmd.lang), private=False,
                      reason="already_signed_up")
    if event.source != "dm":
        return answer(event, cmd.lang, render("invite_signup_public", cmd.lang),
                      private=False, reason="invite_signup")
    return _link_decision(event, facts, cmd.lang, "signup", "signup_link_dm")


def show_account(cmd: ShowAccount, event: Event, facts: Facts) -> Decision:
    if event.source != "dm":
        return answer(event, cmd.lang, render("dm_only", cmd.lang), private=False,
                      reason="private_only")
    refusal = _refuse_author(event, facts, cmd.lang)
    if refusal:
        return refusal
    return _link_decision(event, facts, cmd.lang, "login", "login_link_dm")


Handler = Callable[[Any, Event, Facts], Decision]

HANDLERS: dict[type, Handler] = {
    SendMoney: send_money,
    Donate: donate,
    RequestMoney: request_money,
    ShowBalance: show_balance,
    ShowHistory: show_history,
    Cancel: cancel,
    Help: show_help,
    Stop: stop,
    SignUp: sign_up,
    ShowAccount: show_account,
}


def decide(command: Command, event: Event, facts: Facts) -> Decision:
    return HANDLERS[type(command)](command, event, facts)


def refuse_text(event: Event, text: str, reason: str) -> Decision:
    """A grammar error or anything else not understood: one helpful reply in its channel."""
    return answer(event, "fr", text, private=False, reason=reason)
