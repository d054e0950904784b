"""The account page's card actions: save a card, top up (with 3-D Secure when asked)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.payments import CardRefused, PaymentError
from bot.services import topup, wind_down
from bot.web.account_core import NONCE_SHAPE, AccountPagesCore, log
from handlers.money import AmountError, Money
from handlers.texts import TEXTS, translator
from storage import topups
from storage.sessions import Holder
from storage.uow import UnitOfWork


class CardActions(AccountPagesCore):
    async def add_card(self, request: Request) -> Response:
        checked = await self._checked(request, "number", "exp_month", "exp_year", "cvc", "pin",
                                      "assertion")
        if isinstance(checked, Response):
            return checked
        holder, cookie, lang, f = checked
        refused = await self.stepped_up(request, holder, cookie, lang, f, "add_card")
        if refused is not None:
            return refused
        t = translator(lang)
        try:
            month, year = int(f["exp_month"]), int(f["exp_year"])
        except ValueError:
            month = year = 0
        if year and year < 100:
            year += 2000
        try:
            await self.web.db(self._add_card, holder, f["number"], month, year, f["cvc"])
        except CardRefused as exc:
            key = f"card_reason_{exc.code}"
            reason = t(key) if key in TEXTS else t("card_reason_card_not_supported")
            return await self.page(request, holder, cookie, lang, status=400,
                                   error=t("card_refused", reason=reason))
        except topups.TopUpRefused:
            return await self.page(request, holder, cookie, lang, status=403,
                                   error=t("account_inactive"))
        except PaymentError as exc:  # the provider refused for another reason
            log.warning("add_card_failed", code=exc.code)
            return await self.page(request, holder, cookie, lang, status=502,
                                   error=t("topup_unavailable"))
        return RedirectResponse("/account?done=card_added", status_code=303)

    def _add_card(self, holder: Holder, number: str, month: int, year: int, cvc: str) -> None:
        with UnitOfWork(self.web.sessions) as uow:
            topup.add_card(uow, self.web.sealer, self.web.provider, user_id=holder.user_id,
                            number=number, exp_month=month, exp_year=year, cvc=cvc,
                            now=self.web.clock())

    async def topup(self, request: Request) -> Response:
        checked = await self._checked(request, "amount", "card", "nonce", "pin", "assertion")
        if isinstance(checked, Response):
            return checked
        holder, cookie, lang, f = checked
        t = translator(lang)
        if await self.web.db(wind_down.active, self.web.sessions):  # money only goes out now
            return await self.page(request, holder, cookie, lang, status=403,
                                   error=t("wind_down_refused"))
        # A session alone never charges a card: the PIN or a passkey, now.
        refused = await self.stepped_up(request, holder, cookie, lang, f, "topup")
        if refused is not None:
            return refused
        try:
            amount = Money.parse(f["amount"])
            card_id = int(f["card"])
        except (AmountError, ValueError):
            return await self.page(request, holder, cookie, lang, status=400,
                                   error=t("topup_amount_invalid"))
        if not NONCE_SHAPE.fullmatch(f["nonce"]):
            return await self.page(request, holder, cookie, lang, status=400,
                                   error=t("csrf_body"))
        limits = topups.TopUpLimits.from_settings(self.web.settings)
        try:
            result = await self.web.db(self._top_up, holder, card_id, amount,
                                       f"web:{holder.user_id}:{f['nonce']}", limits)
        except topups.TopUpRefused as exc:
            error = {
                "amount_too_small": t("topup_amount_too_small", amount=limits.minimum.format(lang)),
                "amount_too_large": t("topup_amount_too_large", amount=limits.maximum.format(lang)),
                "unknown_card": t("topup_unknown_card"),
                "daily_cap": t("topup_daily_cap", limit=(limits.daily or Money(0)).format(lang),
                               remaining=(exc.remaining or Money(0)).format(lang)),
            }.get(exc.code, t("account_inactive"))
            return await self.page(request, holder, cookie, lang, status=400, error=error)
        except PaymentError as exc:
            log.warning("topup_failed", code=exc.code)
            return await self.page(request, holder, cookie, lang, status=502,
                                   error=t("topup_unavailable"))
        log.info("topup", user_id=holder.user_id, status=result.status,
                 amount_cents=result.amount.cents, decline=result.decline_code)
        if result.status == "requires_action" and result.challenge_url:
            # The issuer's 3-D Secure page; it sends the payer back to /account/topup/3ds.
            return RedirectResponse(result.challenge_url, status_code=303)
        return RedirectResponse(f"/account?charge={result.charge_id}", status_code=303)

    def _top_up(self, holder: Holder, card_id: int, amount: Money, key: str,
                limits: topups.TopUpLimits) -> topups.TopUpResult:
        with UnitOfWork(self.web.sessions) as uow:
            return topup.top_up(uow, self.web.sealer, self.web.provider,
                                 user_id=holder.user_id, x_user_id=holder.x_user_id,
                                 card_id=card_id, amount=amount, now=self.web.clock(),
                                 idempotency_key=key, limits=limits,
                                 three_ds=topup.ThreeDSPolicy(
                                     Money(self.web.settings.three_ds_above),
                                     f"{self.web.base_url}/account/topup/3ds"))

    # -- PIN-protected actions ----------------------------------------------------------------

