"""Turn one inbound event (a mention or a DM, already parsed) into a decision.

Pure: the caller loads the facts (``Facts``) before deciding and carries out the returned
``Decision`` in one transaction (inbox row done, intent and token hash, outbox messages).
No clock, no randomness, no I/O here: the time, the token and the reference come in.

Handlers are registered once, in ``HANDLERS`` at the bottom.

The values it reads and writes (``Event``, ``Facts``, ``Decision``…) are in
``handlers.decisions`` and re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
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
from handlers.decide_account import (
    cancel,
    show_account,
    show_balance,
    show_help,
    show_history,
    sign_up,
    stop,
)
from handlers.decisions import (
    Decision,
    Event,
    Facts,
    NewIntent,
    NewLinkToken,
    Party,
    PendingIntent,
    Policy,
    Source,
)
from handlers.memos import quoted
from handlers.money import Lang, Money
from handlers.outcomes import (
    LINK_PLACEHOLDER,
    PRIORITY_LINK,
    DirectMessage,
    Outgoing,
    PushNotice,
)
from handlers.replies import answer, refuse_author, reply, with_app_hint
from handlers.texts import render


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
    refusal = refuse_author(event, facts, lang)
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
        ack = reply(event, render(key, lang, amount=amount, payee="@" + payee.handle,
                                   memo=quoted(memo, lang, relayed=False),
                                   reference=facts.reference))
        return Decision(outgoing=(ack, *app), new_intent=intent, reason=reason + "_app")
    link_dm = DirectMessage(
        f"{event.key}:link", facts.author.x_user_id,
        with_app_hint(text, lang) if event.source == "dm" else text,
        priority=PRIORITY_LINK, link=facts.link,
        fallback_tweet_id=event.tweet_id if policy.public_link_fallback else None,
    )
    outgoing: list[Outgoing] = [link_dm]
    if event.source == "mention":
        outgoing.insert(0, reply(event, with_app_hint(render(
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
    refusal = refuse_author(event, facts, lang)
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
            ack = reply(event, render("app_ack_request", lang, amount=cmd.amount,
                                       reference=facts.reference))
        else:
            ack = reply(event, render("ack_request_dm", lang, amount=cmd.amount,
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
        ack = reply(event, render("ack_request_sent", lang, amount=cmd.amount,
                                   reference=facts.reference))
    else:
        ack = reply(event, render("ack_request_dm", lang, amount=cmd.amount,
                                   payer="@" + payer.handle, reference=facts.reference))
    return Decision(outgoing=(ack, link_dm), new_intent=intent, reason="intent_request")


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


__all__ = [
    "HANDLERS",
    "Decision",
    "Event",
    "Facts",
    "NewIntent",
    "NewLinkToken",
    "Party",
    "PendingIntent",
    "Policy",
    "Source",
    "answer",
    "decide",
    "refuse_text",
]
