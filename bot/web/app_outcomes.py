"""What the app says after a confirmation in place: (HTTP status, tone, text) for a ``Result``.

The same outcomes and rules as the link page (``bot.web.confirm_pages``), in a notice above the
app instead of a page of their own: a donation thanks, money set aside for someone without an
account says until when, "one attempt left" is singular, and a lock's end is in the users'
time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.services.confirm import Outcome, Result
from bot.web.confirm_pages import REFUSAL_TEXTS
from bot.web.page_base import retry_after as page_retry_after
from handlers.confirmation import REASON_INSUFFICIENT_FUNDS, REASON_ROLLING_LIMIT, Refusal
from handlers.money import Lang
from handlers.texts import plural, translator
from handlers.times import date_text, datetime_text


def locked_until(result: Result) -> dt.datetime | None:
    """Until when a LOCKED result's account stays locked."""
    return result.locked_until or (result.refusal.locked_until if result.refusal else None)


def retry_after(result: Result, now: dt.datetime) -> str:
    """``Retry-After`` for a LOCKED result: the seconds until the lock ends, at least 1."""
    until = locked_until(result)
    return page_retry_after(until, now) if until else "60"


def outcome_text(result: Result, lang: Lang, settings: Any, *, passkey: bool = False
                 ) -> tuple[int, str, str]:
    """(status, tone "ok" or "bad", text) for ``result``; ``passkey``: the proof was one."""
    t = translator(lang)
    facts = result.facts
    amount = facts.amount.format(lang) if facts else ""
    if result.outcome is Outcome.CONFIRMED and facts is not None:
        until = result.escrow_until
        key = ("app_done_escrow" if until else
               "app_done_donation" if facts.kind == "donate" else "app_done")
        return 200, "ok", t(key, amount=amount, payee=facts.payee_handle,
                            reference=facts.reference, days=settings.claim_period_days,
                            deadline=date_text(until, lang, settings.timezone) if until else "")
    if result.outcome is Outcome.WRONG_PIN:
        left = result.attempts_left or 0
        return 400, "bad", t(plural("passkey_wrong" if passkey else "wrong_code", left),
                             left=left)
    if result.outcome is Outcome.CANCELLED:
        return 403, "bad", t("cancelled_body")
    if result.outcome is Outcome.LOCKED:
        until = locked_until(result)
        when = datetime_text(until, lang, settings.timezone) if until else ""
        # Locked before this attempt, or by it (then the alert DM has gone).
        return 429, "bad", t("account_locked" if result.refusal else "locked_body", until=when)
    if result.outcome is Outcome.FAILED:
        if result.failure_reason == REASON_INSUFFICIENT_FUNDS:
            return 402, "bad", t("insufficient_funds_body", amount=amount)
        if result.failure_reason == REASON_ROLLING_LIMIT and result.headroom is not None:
            room = result.headroom
            return 403, "bad", t(f"rolling_limit_{room.window}_body", amount=amount,
                                 limit=room.limit.format(lang),
                                 remaining=room.remaining.format(lang))
        return 409, "bad", t("account_unavailable_body")
    refusal = result.refusal
    if refusal is not None and refusal.reason is Refusal.NOT_AWAITING:
        return 409, "bad", t(f"status_{refusal.intent_status}")
    return 409, "bad", t(REFUSAL_TEXTS.get(refusal.reason, "unknown_body") if refusal
                         else "unknown_body")
