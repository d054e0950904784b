"""The confirmation pages' rendering: the payment form, why a link cannot confirm, and what a
POST did (done, wrong code, cancelled, locked, failed), each in the payer's language."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.security import hash_token
from bot.services.confirm import ConfirmationService, Facts, Outcome, Result
from bot.services.passkeys import Passkeys
from bot.web.i18n import request_lang
from bot.web.page_base import PageBase, retry_after
from handlers.confirmation import (
    REASON_INSUFFICIENT_FUNDS,
    REASON_ROLLING_LIMIT,
    Refusal,
    Refused,
)
from handlers.memos import relayable
from handlers.money import Lang
from handlers.texts import plural, translator
from handlers.times import clock_text, date_text

Clock = Callable[[], dt.datetime]

REFUSAL_STATUS = {
    Refusal.UNKNOWN: 404,
    Refusal.EXPIRED: 410,
    Refusal.USED: 409,
    Refusal.NOT_AWAITING: 409,
    Refusal.MISMATCH: 409,
    Refusal.INACTIVE: 403,
    Refusal.LOCKED: 429,
}
# What a dead link's page says (also the app's notice, bot.web.app_outcomes).
REFUSAL_TEXTS = {
    Refusal.UNKNOWN: "unknown_body",
    Refusal.EXPIRED: "expired_body",
    Refusal.USED: "used_body",
    Refusal.MISMATCH: "mismatch_body",
    Refusal.INACTIVE: "inactive_body",
}


class ConfirmPages(PageBase):
    """How the confirmation pages look: the form, the refusals and the results, in the
    payer's language (the routes are ``bot.web.app.Pages``)."""

    def __init__(self, service: ConfirmationService, settings: Any, clock: Clock,
                 passkeys: Passkeys | None = None) -> None:
        super().__init__(settings)
        self.service = service
        self.passkeys = passkeys
        self.clock = clock

    # -- helpers ------------------------------------------------------------------------

    def lang_for(self, request: Request, facts: Facts | None) -> Lang:
        """The payer's language (they are the one reading): the language of their own command,
        or for a request (someone else's command) the language of their account."""
        if facts is None:
            return request_lang(request)
        if facts.kind == "request":
            return request_lang(request, facts.payer_lang or None, facts.lang)
        return request_lang(request, facts.lang)

    def render(
        self,
        request: Request,
        template: str,
        *,
        lang: Lang,
        title: str,
        status: int = 200,
        facts: Facts | None = None,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> Response:
        now = self.clock()
        ctx: dict[str, Any] = {"facts": facts, "show_expiry": False, **context}
        if facts is not None:
            ctx["amount_text"] = facts.amount.format(lang)
            ctx["expires_time"] = clock_text(facts.expires_at, self.settings.timezone)
            # A request's memo is the requester's words, shown to the payer: no link, no
            # mention (handlers.memos); the summary says when something was taken out.
            memo, stripped = (relayable(facts.memo) if facts.kind == "request"
                              else (facts.memo, False))
            ctx["memo_text"], ctx["memo_stripped"] = memo, stripped
            seconds = (facts.expires_at - now).total_seconds()
            ctx["minutes_left"] = max(0, math.ceil(seconds / 60))
        return self.template_page(request, template, lang=lang, title=title, status=status,
                                  headers=headers, **ctx)

    def message(
        self,
        request: Request,
        *,
        title: str,
        body: str,
        status: int,
        tone: str = "bad",
        facts: Facts | None = None,
        lang: Lang | None = None,
        headers: dict[str, str] | None = None,
        done_at: str | None = None,
        **params: Any,
    ) -> Response:
        lang = lang or self.lang_for(request, facts)
        return self.render(
            request,
            "message.html",
            lang=lang,
            title=title,
            status=status,
            facts=facts,
            headers=headers,
            tone=tone,
            done_at=done_at,
            body=translator(lang)(body, **params) if body else "",
        )

    def form(
        self,
        request: Request,
        facts: Facts,
        *,
        status: int = 200,
        error: str | None = None,
        passkey: dict[str, Any] | None = None,
        **params: Any,
    ) -> Response:
        lang = self.lang_for(request, facts)
        t = translator(lang)
        lead = {
            "request": t("lead_request", payee=facts.payee_handle),
            "donate": t("lead_donate"),
        }.get(facts.kind, t("lead_send"))
        return self.render(
            request,
            "confirm.html",
            lang=lang,
            title="title_confirm",
            status=status,
            facts=facts,
            show_expiry=True,
            lead=lead,
            error=t(error, **params) if error else None,
            passkey_options=json.dumps(passkey) if passkey else None,
        )

    def passkey_options(self, token: str) -> dict[str, Any] | None:
        """The assertion options for this link's intent, if its payer has a passkey."""
        if self.passkeys is None:
            return None
        return self.passkeys.options_for_link(hash_token(token))

    def refusal(self, request: Request, refused: Refused, facts: Facts | None) -> Response:
        status = REFUSAL_STATUS[refused.reason]
        headers: dict[str, str] = {}
        if refused.reason is Refusal.LOCKED:
            assert refused.locked_until is not None
            lang = self.lang_for(request, facts)
            headers["Retry-After"] = retry_after(refused.locked_until, self.clock())
            return self.message(
                request,
                title="title_locked",
                body="account_locked",
                status=status,
                lang=lang,
                headers=headers,
                until=self.when(refused.locked_until, lang),
            )
        body = REFUSAL_TEXTS.get(refused.reason, "")
        if refused.reason is Refusal.USED and refused.intent_status == "confirmed" and facts:
            return self.message(
                request,
                title="title_dead_link",
                body="used_confirmed_body",
                status=status,
                facts=facts,
                reference=facts.reference,
            )
        shown: Facts | None = None
        if refused.reason is Refusal.NOT_AWAITING:
            body = f"status_{refused.intent_status}"
            if refused.intent_status == "expired":
                status = 410
        if refused.reason in (Refusal.NOT_AWAITING, Refusal.EXPIRED):
            # The payer's own payment: what it was (amount, reference), in their language.
            shown = facts
        return self.message(request, title="title_dead_link", body=body, status=status,
                            facts=shown)

    # -- routes -------------------------------------------------------------------------

    def result_page(self, request: Request, result: Result, *,
                    passkey: dict[str, Any] | None = None, wrong: str = "wrong_code"
                    ) -> Response:
        facts = result.facts
        if result.outcome is Outcome.CONFIRMED:
            assert facts is not None
            lang = self.lang_for(request, facts)
            until = result.escrow_until
            body = ("done_escrow_body" if until else
                    "done_donation_body" if facts.kind == "donate" else "done_body")
            return self.message(
                request,
                title="title_done",
                body=body,
                status=200,
                tone="ok",
                facts=facts,
                lang=lang,
                amount=facts.amount.format(lang),
                payee=facts.payee_handle,
                days=self.settings.claim_period_days,
                deadline=date_text(until, lang, self.settings.timezone) if until else "",
                done_at=self.when(self.clock(), lang),
            )
        if result.outcome is Outcome.WRONG_PIN:
            assert facts is not None
            return self.form(
                request, facts, status=400, error=plural(wrong, result.attempts_left or 0),
                left=result.attempts_left, passkey=passkey,
            )
        if result.outcome is Outcome.CANCELLED:
            return self.message(
                request,
                title="title_cancelled",
                body="cancelled_body",
                status=403,
                facts=facts,
            )
        if result.outcome is Outcome.LOCKED and result.refusal is None:
            assert result.locked_until is not None
            lang = self.lang_for(request, facts)
            return self.message(
                request,
                title="title_locked",
                body="locked_body",
                status=429,
                lang=lang,
                headers={"Retry-After": retry_after(result.locked_until, self.clock())},
                until=self.when(result.locked_until, lang),
            )
        if result.outcome is Outcome.FAILED:
            assert facts is not None
            lang = self.lang_for(request, facts)
            if result.failure_reason == REASON_INSUFFICIENT_FUNDS:
                return self.message(
                    request,
                    title="title_failed",
                    body="insufficient_funds_body",
                    status=402,
                    facts=facts,
                    lang=lang,
                    amount=facts.amount.format(lang),
                )
            if result.failure_reason == REASON_ROLLING_LIMIT and result.headroom is not None:
                room = result.headroom
                return self.message(
                    request,
                    title="title_failed",
                    body=f"rolling_limit_{room.window}_body",
                    status=403,
                    facts=facts,
                    lang=lang,
                    amount=facts.amount.format(lang),
                    limit=room.limit.format(lang),
                    remaining=room.remaining.format(lang),
                )
            return self.message(
                request,
                title="title_failed",
                body="account_unavailable_body",
                status=409,
                facts=facts,
                lang=lang,
            )
        assert result.refusal is not None
        return self.refusal(request, result.refusal, facts)
