"""Decisions about the author's own account: balance, history, cancel, help, stop, and the
one-time sign-up and login links (``handlers.decide`` registers them)."""

from __future__ import annotations

from typing import Literal

from handlers.commands import (
    Cancel,
    Help,
    ShowAccount,
    ShowBalance,
    ShowHistory,
    SignUp,
    Stop,
)
from handlers.decisions import Decision, Event, Facts, NewLinkToken, PendingIntent
from handlers.money import Lang, Money
from handlers.outcomes import LINK_PLACEHOLDER, PRIORITY_LINK, DirectMessage
from handlers.replies import answer, private_only, refuse_author
from handlers.texts import plural, render


def show_balance(cmd: ShowBalance, event: Event, facts: Facts) -> Decision:
    if event.source != "dm":
        return private_only(event, cmd.lang)
    refusal = refuse_author(event, facts, cmd.lang)
    if refusal:
        return refusal
    balance = facts.balance if facts.balance is not None else Money(0)
    return answer(event, cmd.lang, render("balance_dm", cmd.lang, balance=balance),
                  private=True, reason="balance")


def show_history(cmd: ShowHistory, event: Event, facts: Facts) -> Decision:
    if event.source != "dm":
        return private_only(event, cmd.lang)
    refusal = refuse_author(event, facts, cmd.lang)
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
    refusal = refuse_author(event, facts, cmd.lang)
    if refusal:
        return refusal
    return _link_decision(event, facts, cmd.lang, "login", "login_link_dm")
