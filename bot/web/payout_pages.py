"""Money out on the web: the bank page, the withdrawal confirmation link, the statement and
the payout provider's status webhook.

    GET  /account/bank           bank account (masked, name check), withdraw form, withdrawals
    POST /account/bank           add or change the bank account (IBAN, holder name, PIN)
    POST /account/withdraw       amount or everything, instant or standard: 303 to /w/<token>
    POST /account/withdraw/cancel  take back a withdrawal still held by the cooling-off
    GET  /account/statement.csv  the holder's whole history (also for the wind-down)
    GET  /w/<token>              what the withdrawal will do, the name check, the PIN form
    POST /w/<token>              confirms with the PIN (bound to amount and bank account)
    POST /webhooks/payouts       the provider's signed status notifications

The account POSTs need the session, a same-site request and the CSRF token (as every
``/account`` POST, ``bot.web.account_pages``); ``/w/<token>`` is a capability like ``/c/``:
no session needed (the link comes by DM), the PIN on top of it, cross-site POSTs refused.
The webhook answers 400 to a forged or stale signature and 200 to a replay (nothing done).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.logging import get_logger
from bot.payments.payouts import WebhookRefused
from bot.services import bank_accounts, wind_down, withdraw, withdraw_provider
from bot.services.payout_common import (
    PasskeyProof,
    PayoutDeps,
    PinProof,
    WithdrawRefused,
    deps_from_settings,
    withdrawal_challenge,
)
from bot.web.account_pages import AccountPages
from bot.web.accounts import TOKEN_SHAPE, AccountWeb
from handlers.bank_details import BankDetailsError
from handlers.money import AmountError, Lang, Money
from handlers.payout_texts import refusal, return_reason
from handlers.texts import plural, translator
from storage import passkeys as passkey_repo
from storage.sessions import PinCheck, PinResult

log = get_logger("bot.web.payouts")
PIN_SHAPE = re.compile(r"[0-9]{6}")
MAX_WEBHOOK_BYTES = 65_536
SIGNATURE_HEADER = "payout-signature"


def _delay(period: dt.timedelta) -> str:
    """``24 h`` / ``1 min``: the cooling-off period as the bank page says it."""
    seconds = int(period.total_seconds())
    return f"{seconds // 3600} h" if seconds >= 3600 else f"{max(seconds // 60, 0)} min"


class PayoutPages(AccountPages):
    def __init__(self, web: AccountWeb, deps: PayoutDeps) -> None:
        super().__init__(web)
        self.deps = deps

    # -- the bank page ----------------------------------------------------------------------

    def _bank_data(self, user_id: int, x_user_id: int) -> dict[str, Any]:
        return {"account": bank_accounts.current(self.deps, user_id),
                "withdrawals": withdraw.recent(self.deps, user_id),
                "balance": withdraw.balance_of(self.deps, x_user_id),
                "closing": wind_down.active(self.deps.sessions)}

    async def bank_page(self, request: Request, *, status: int = 200, error: str | None = None,
                        notice: str | None = None) -> Response:
        found = await self._signed_in(request)
        if isinstance(found, Response):
            return found
        holder, cookie, lang = found
        t = translator(lang)
        data = await self.web.db(self._bank_data, holder.user_id, holder.x_user_id)
        account = data["account"]
        if notice is None and request.query_params.get("done") == "bank_saved":
            notice = t("bank_saved")
        lines = [{"date": self.web.when(w.created_at, lang),
                  "amount": Money(w.amount_cents).format(lang),
                  "status": t(f"wstatus_{w.status}"), "scheme": t(f"scheme_{w.scheme}"),
                  "id": w.id, "cancellable": w.status == "confirmed",
                  "reason": return_reason(w.return_code or "refused", lang)
                  if w.status in ("returned", "failed") else ""}
                 for w in data["withdrawals"]]
        return self.web.render(
            request, "bank.html", lang=lang, title="title_bank", status=status,
            holder=holder, account=account, error=error, notice=notice, lines=lines,
            balance=data["balance"].format(lang), closing=data["closing"],
            csrf=self.web.csrf_for(cookie),
            passkeys=await self.web.db(self._passkeys_of, holder.user_id),
            passkeys_enabled=bool(self.web.passkeys and self.web.passkeys.rp.enabled),
            delay=_delay(self.deps.policy.cooling_off),
            usable_from=self.web.when(account.usable_from, lang) if account is not None
            and account.usable_from > self.deps.clock() else None)

    def _passkeys_of(self, user_id: int) -> list[Any]:
        return self.web.passkeys.listed(user_id) if self.web.passkeys else []

    def _withdraw_options(self, facts: withdraw.Facts) -> str | None:
        """The passkey button's options: the challenge bound to this withdrawal's amount and
        bank account (``payout_common.withdrawal_challenge``), if the holder has a passkey."""
        passkeys = self.web.passkeys
        if passkeys is None or not passkeys.rp.enabled:
            return None
        with self.web.sessions() as session:
            ids = passkey_repo.credential_ids(session, facts.user_id)
        if not ids:
            return None
        challenge = withdrawal_challenge(self.web.sealer, facts.withdrawal_id, facts.amount.cents,
                                         facts.account.id)
        return json.dumps(passkeys.rp.assertion_options(challenge, ids))

    async def show_bank(self, request: Request) -> Response:
        return await self.bank_page(request)

    async def add_bank(self, request: Request) -> Response:
        checked = await self._checked(request, "iban", "holder_name", "pin", "assertion")
        if isinstance(checked, Response):
            return checked
        holder, _, lang, f = checked
        t = translator(lang)
        if holder.locked_until is not None:
            locked = PinResult(PinCheck.LOCKED, locked_until=holder.locked_until)
            return self._pin_refusal(request, locked, lang) or await self.bank_page(request)
        try:
            added = await self.web.db(bank_accounts.add_bank_account, self.deps,
                                      user_id=holder.user_id, iban=f["iban"],
                                      holder_name=f["holder_name"], proof=_proof(f, "add_iban"),
                                      lang=lang)
        except BankDetailsError as exc:
            return await self.bank_page(request, status=400, error=t(f"iban_error_{exc.code}"))
        except WithdrawRefused:
            return await self.bank_page(request, status=403, error=t("account_inactive"))
        if added.account is None:
            refused = self._pin_refusal(request, added.pin, lang)
            if refused is not None:
                return refused
            left = added.pin.attempts_left
            return await self.bank_page(request, status=400,
                                        error=t(plural("pin_wrong", left or 0), left=left))
        return RedirectResponse("/account/bank?done=bank_saved", status_code=303)

    async def request_withdrawal(self, request: Request) -> Response:
        checked = await self._checked(request, "amount", "all", "scheme")
        if isinstance(checked, Response):
            return checked
        holder, _, lang, f = checked
        t = translator(lang)
        amount: Money | None = None
        if f["all"] != "1":
            try:
                amount = Money.parse(f["amount"])
            except AmountError:
                return await self.bank_page(request, status=400,
                                            error=t("withdraw_amount_invalid"))
        scheme = "standard" if f["scheme"] == "standard" else "instant"
        try:
            requested = await self.web.db(withdraw.request, self.deps, user_id=holder.user_id,
                                          amount=amount, scheme=scheme, channel="web", lang=lang)
        except WithdrawRefused as exc:
            return await self.bank_page(request, status=400, error=t(
                "withdraw_refused", reason=refusal(exc.code, lang, exc.limit)))
        return RedirectResponse(f"/w/{requested.token}", status_code=303)

    async def cancel_withdrawal(self, request: Request) -> Response:
        checked = await self._checked(request, "withdrawal")
        if isinstance(checked, Response):
            return checked
        holder, _, lang, f = checked
        t = translator(lang)
        done = f["withdrawal"].isascii() and f["withdrawal"].isdigit() and await self.web.db(
            withdraw.cancel_held, self.deps, user_id=holder.user_id,
            withdrawal_id=int(f["withdrawal"]))
        if not done:
            return await self.bank_page(request, status=409, error=t("withdraw_not_cancelled"))
        return await self.bank_page(request, notice=t("withdraw_cancelled"))

    async def statement_csv(self, request: Request) -> Response:
        found = await self._signed_in(request)
        if isinstance(found, Response):
            return found
        holder = found[0]
        text = await self.web.db(wind_down.statement_csv, self.deps.sessions, holder.x_user_id)
        day = self.deps.clock().astimezone(dt.UTC).strftime("%Y%m%d")
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"statement-{holder.handle}-{day}.csv")
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    # -- the withdrawal link ------------------------------------------------------------------

    def _dead(self, request: Request, lang: Lang, body: str = "withdraw_dead_link",
              status: int = 410) -> Response:
        return self.web.message(request, lang=lang, title="title_dead_link", body=body,
                                status=status)

    def _confirm_form(self, request: Request, facts: withdraw.Facts, *, status: int = 200,
                      error: str | None = None) -> Response:
        lang: Lang = "en" if self.web.lang(request, facts.lang) == "en" else "fr"
        t = translator(lang)
        return self.web.render(
            request, "withdraw_confirm.html", lang=lang, title="title_withdraw_confirm",
            status=status, facts=facts, amount=facts.amount.format(lang), error=error,
            passkey_options=self._withdraw_options(facts),
            scheme=t(f"scheme_{facts.scheme}"), expires=self.web.when(facts.expires_at, lang),
            vop=t(f"vop_{facts.account.payee_check}", name=facts.account.suggested_name or "")
            if facts.account.payee_check == "close_match" else t(
                f"vop_{facts.account.payee_check}"))

    async def show_link(self, request: Request) -> Response:
        token = request.path_params["token"]
        lang = self.web.lang(request)
        if not TOKEN_SHAPE.fullmatch(token):
            return self._dead(request, lang, status=404)
        facts, refused = await self.web.db(withdraw.look, self.deps, token)
        if facts is None or refused is not None:
            return self._dead(request, self.web.lang(request, facts.lang if facts else None))
        return self._confirm_form(request, facts)

    async def confirm_link(self, request: Request) -> Response:
        token = request.path_params["token"]
        lang = self.web.lang(request)
        if not TOKEN_SHAPE.fullmatch(token):
            return self._dead(request, lang, status=404)
        if self.web.cross_site(request):
            return self.web.message(request, lang=lang, title="title_error",
                                    body="forbidden_body", status=403)
        f = await self.web.fields(request, "pin", "amount_cents", "bank_account", "payee_ack",
                                  "assertion")
        try:
            shown = int(f["amount_cents"]), int(f["bank_account"])
        except ValueError:
            return self.web.message(request, lang=lang, title="title_error",
                                    body="bad_form_body", status=400)
        proof: PinProof | PasskeyProof = PinProof(f["pin"])
        if f["assertion"]:  # a passkey: over the challenge bound to what the page showed
            facts, refused = await self.web.db(withdraw.look, self.deps, token)
            if facts is None or refused is not None:
                return self._dead(request, lang)
            proof = PasskeyProof(f["assertion"], expected=withdrawal_challenge(
                self.web.sealer, facts.withdrawal_id, shown[0], shown[1]))
        elif not PIN_SHAPE.fullmatch(f["pin"]):  # cannot match: ask again, count nothing
            facts, refused = await self.web.db(withdraw.look, self.deps, token)
            if facts is None or refused is not None:
                return self._dead(request, lang)
            return self._confirm_form(request, facts, status=400,
                                      error=translator(lang)("enter_code"))
        result = await self.web.db(withdraw.confirm, self.deps, token, proof,
                                   shown_amount_cents=shown[0], shown_bank_account_id=shown[1],
                                   payee_ack=f["payee_ack"] == "1")
        log.info("withdrawal_confirmation", outcome=result.outcome.value,
                 refusal=result.refusal, failure=result.failure)
        if result.submit_now and result.facts is not None:
            await self.web.db(withdraw_provider.submit, self.deps, result.facts.withdrawal_id)
        return self._result(request, result)

    def _result(self, request: Request, result: withdraw.Result) -> Response:
        facts = result.facts
        lang = self.web.lang(request, facts.lang if facts else None)
        t = translator(lang)
        back = ("/account/bank", "back_to_bank")
        if result.outcome is withdraw.Outcome.CONFIRMED and facts is not None:
            params = {"amount": facts.amount.format(lang), "masked": facts.account.masked}
            if not result.submit_now and facts.not_before is not None:
                body = t("withdraw_done_later", until=self.web.when(facts.not_before, lang),
                         **params)
            else:
                body = t(f"withdraw_done_{facts.scheme}", **params)
            return self.web.message(request, lang=lang, title="title_withdraw_done", body="",
                                    extra=body, status=200, tone="ok", link=back)
        if result.outcome is withdraw.Outcome.WRONG_PIN and facts is not None:
            return self._confirm_form(request, facts, status=400,
                                      error=t(plural("pin_wrong", result.attempts_left or 0),
                                             left=result.attempts_left))
        if result.outcome is withdraw.Outcome.LOCKED:
            until = self.web.when(result.locked_until, lang) if result.locked_until else ""
            return self.web.message(request, lang=lang, title="title_locked", body="pin_locked",
                                    status=429, until=until)
        if result.outcome is withdraw.Outcome.FAILED:
            return self.web.message(request, lang=lang, title="title_withdraw_failed", body="",
                                    extra=t("withdraw_failed", reason=refusal(
                                        result.failure or "", lang, self.deps.policy.per_day)),
                                    status=402, link=back)
        if result.refusal == "payee_ack" and facts is not None:
            return self._confirm_form(request, facts, status=400, error=t("withdraw_ack_needed"))
        if result.refusal == "mismatch":
            return self._dead(request, lang, body="withdraw_mismatch", status=409)
        return self._dead(request, lang)

    # -- the provider's webhook ---------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > MAX_WEBHOOK_BYTES:
            return JSONResponse({"error": "too_large"}, 413)
        body = await request.body()
        signature = request.headers.get(SIGNATURE_HEADER, "")
        try:
            outcome = await self.web.db(withdraw_provider.notification, self.deps, body,
                                        signature)
        except WebhookRefused as exc:
            log.warning("payout_webhook_refused", code=exc.code)
            return JSONResponse({"error": exc.code}, 400)
        return JSONResponse({"status": outcome})


def payout_deps(web: AccountWeb, provider: Any = None) -> PayoutDeps:
    """The money-out collaborators over the account pages' own (database, keys, clock)."""
    deps = deps_from_settings(web.settings, web.sessions, web.sealer, web.clock,
                              provider=provider, pins=web.pins)
    deps.pin_policy = web.policy
    deps.step_up = web.step_up
    return deps


def payout_routes(web: AccountWeb, provider: Any = None) -> list[Route]:
    from bot import metrics
    from bot.services.reconcile import ReconcileCollector

    pages = PayoutPages(web, payout_deps(web, provider))
    metrics.register("reconcile", ReconcileCollector(web.sessions))
    return [
        Route("/account/bank", pages.show_bank, methods=["GET"]),
        Route("/account/bank", pages.add_bank, methods=["POST"]),
        Route("/account/withdraw", pages.request_withdrawal, methods=["POST"]),
        Route("/account/withdraw/cancel", pages.cancel_withdrawal, methods=["POST"]),
        Route("/account/statement.csv", pages.statement_csv, methods=["GET"]),
        Route("/w/{token}", pages.show_link, methods=["GET"]),
        Route("/w/{token}", pages.confirm_link, methods=["POST"]),
        Route("/webhooks/payouts", pages.webhook, methods=["POST"]),
    ]


def _proof(f: dict[str, str], action: str) -> PinProof | PasskeyProof:
    """The PIN, or a passkey over the one-time step-up challenge of ``action``."""
    return PasskeyProof(f["assertion"], action=action) if f["assertion"] else PinProof(f["pin"])
