"""3-D Secure in the sandbox: the issuer's challenge page, and the way back to the account.

    GET  /sandbox/3ds/<id>     the sandbox bank's page: amount, card, approve / refuse
    POST /sandbox/3ds/<id>     the payer's answer: a page that carries the bank's signed
                               result back (a form to /account/topup/3ds, no script needed)
    POST /account/topup/3ds    back on our side: the acquirer checks the signed result
                               (once), captures or declines; 303 to /account?charge=<id>

The issuer's routes exist only with the sandbox acquirer (a real issuer serves its own page).
The way back needs the account session (SameSite=Strict is fine: in the sandbox the bank's
page is ours); no CSRF token, because a real issuer's page could not know it: the capability
is the issuer's signed, single-use result bound to this user's charge.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.logging import get_logger
from bot.payments import PaymentError
from bot.services import topup
from bot.web.account_pages import AccountPages
from bot.web.accounts import AccountWeb
from handlers.money import Money
from handlers.texts import translator
from storage import topups
from storage.sessions import Holder
from storage.uow import UnitOfWork

log = get_logger("bot.web.three_ds")
ID_SHAPE = re.compile(r"[A-Za-z0-9_]{8,64}")
RESULT_SHAPE = re.compile(r"[A-Za-z0-9_]{8,64}\.[a-z_]{1,20}\.[0-9a-f]{64}")


class ThreeDSPages:
    def __init__(self, web: AccountWeb, account: AccountPages) -> None:
        self.web = web
        self.account = account
        self.issuer = getattr(web.provider, "issuer", None)

    async def challenge(self, request: Request) -> Response:
        lang = self.web.lang(request)
        challenge_id = request.path_params["challenge"]
        view = self.issuer.view(challenge_id) if self.issuer and ID_SHAPE.fullmatch(
            challenge_id) else None
        if view is None:
            return self.web.message(request, lang=lang, title="title_issuer", body="issuer_gone",
                                    status=404)
        return self.web.render(request, "issuer.html", lang=lang, title="title_issuer",
                               amount=Money(view["amount_cents"]).format(lang),
                               last4=view["last4"], result=None)

    async def answer(self, request: Request) -> Response:
        lang = self.web.lang(request)
        challenge_id = request.path_params["challenge"]
        fields = await self.web.fields(request, "decision")
        if self.issuer is None or not ID_SHAPE.fullmatch(challenge_id):
            return self.web.message(request, lang=lang, title="title_issuer", body="issuer_gone",
                                    status=404)
        try:
            return_url, charge_id, result = await self.web.db(
                self.issuer.answer, challenge_id, fields["decision"] == "approve")
        except PaymentError:
            return self.web.message(request, lang=lang, title="title_issuer", body="issuer_gone",
                                    status=404)
        return self.web.render(request, "issuer.html", lang=lang, title="title_issuer",
                               return_url=return_url, charge_id=charge_id, result=result)

    async def back(self, request: Request) -> Response:
        guard = await self.account._guard(request)
        if isinstance(guard, Response):
            return guard
        holder, cookie, lang = guard
        t = translator(lang)
        f = await self.web.fields(request, "charge", "result")
        if not ID_SHAPE.fullmatch(f["charge"]) or not RESULT_SHAPE.fullmatch(f["result"]):
            return await self.account.page(request, holder, cookie, lang, status=400,
                                           error=t("issuer_gone"))
        try:
            result = await self.web.db(self._complete, holder, f["charge"], f["result"])
        except topups.TopUpRefused:
            return await self.account.page(request, holder, cookie, lang, status=404,
                                           error=t("issuer_gone"))
        except PaymentError as exc:
            log.warning("three_ds_refused", user_id=holder.user_id, code=exc.code)
            key = "three_ds_replayed" if exc.code == "challenge_replayed" else "issuer_gone"
            return await self.account.page(request, holder, cookie, lang, status=409,
                                           error=t(key))
        log.info("topup", user_id=holder.user_id, status=result.status,
                 amount_cents=result.amount.cents, three_ds=result.three_ds)
        return RedirectResponse(f"/account?charge={result.charge_id}", status_code=303)

    def _complete(self, holder: Holder, charge_id: str, result: str) -> topups.TopUpResult:
        with UnitOfWork(self.web.sessions) as uow:
            return topup.complete_challenge(
                uow, self.web.provider, user_id=holder.user_id, x_user_id=holder.x_user_id,
                provider_charge_id=charge_id, result=result, now=self.web.clock())


def three_ds_routes(web: AccountWeb, account: AccountPages) -> list[Route]:
    pages = ThreeDSPages(web, account)
    routes = [Route("/account/topup/3ds", pages.back, methods=["POST"])]
    if pages.issuer is not None:
        routes += [
            Route("/sandbox/3ds/{challenge}", pages.challenge, methods=["GET"]),
            Route("/sandbox/3ds/{challenge}", pages.answer, methods=["POST"]),
        ]
    return routes
