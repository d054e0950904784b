"""The account page's PIN actions: change the PIN, unlink the X account."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.services import login
from bot.web.account_core import AccountPagesCore, log
from handlers.money import Lang
from handlers.pins import PinProblem, check_new_pin
from handlers.texts import translator
from storage import sessions as web_sessions
from storage.sessions import Holder, PinResult, UnlinkBlocked, UnlinkRefusal
from storage.uow import UnitOfWork


class PinActions(AccountPagesCore):
    async def change_pin(self, request: Request) -> Response:
        checked = await self._checked(request, "old_pin", "new_pin", "new_pin_again",
                                      "assertion")
        if isinstance(checked, Response):
            return checked
        holder, cookie, lang, f = checked
        t = translator(lang)
        problem = check_new_pin(f["new_pin"], f["new_pin_again"])
        if problem is None and f["new_pin"] == f["old_pin"]:
            problem = PinProblem.SAME_AS_OLD
        if problem is not None:  # refused before any PIN check: no attempt is spent
            return await self.page(request, holder, cookie, lang, status=400,
                                   error=t(f"pin_{problem.value}"))
        if holder.locked_until is not None:
            return self._locked_page(request, holder.locked_until, lang)
        checked_hash = await self._proof(request, holder, cookie, lang, f, "change_pin",
                                         f["old_pin"])
        if isinstance(checked_hash, Response):
            return checked_hash
        new_hash = await self.web.db(self.web.pins.hash, f["new_pin"])
        result = await self.web.db(self._change_pin, holder, f["old_pin"], checked_hash,
                                   new_hash)
        log.info("pin_change", user_id=holder.user_id, result=result.check.value)
        failed = await self.failed_check(request, holder, cookie, lang, result)
        return failed or RedirectResponse("/account?done=pin_changed", status_code=303)

    async def _proof(self, request: Request, holder: Holder, cookie: str, lang: Lang,
                     f: dict[str, str], action: str, pin: str
                     ) -> tuple[str | None, bool] | Response:
        """The PIN checked (off the event loop; counted by the write that follows), or a
        passkey in its place, stepped up (counted there) for ``action``."""
        if not f["assertion"]:
            return await self.web.db(self._verify, holder, pin)
        refused = await self.stepped_up(request, holder, cookie, lang, f, action)
        if refused is not None:
            return refused
        return await self.web.db(self._current, holder)

    def _change_pin(self, holder: Holder, old_pin: str, checked: tuple[str | None, bool],
                    new_hash: str) -> PinResult:
        with UnitOfWork(self.web.sessions) as uow:
            result = login.change_pin(
                uow, self.web.sealer, self.web.policy, self.web.pins, user_id=holder.user_id,
                old_pin=old_pin, checked=checked, new_pin_hash=new_hash, now=self.web.clock())
            uow.commit()
            return result

    async def unlink(self, request: Request) -> Response:
        checked = await self._checked(request, "pin", "assertion")
        if isinstance(checked, Response):
            return checked
        holder, cookie, lang, f = checked
        t = translator(lang)
        if holder.locked_until is not None:
            return self._locked_page(request, holder.locked_until, lang)
        blocked = await self.web.db(self._blocker, holder)
        if blocked is None:
            verified = await self._proof(request, holder, cookie, lang, f, "unlink", f["pin"])
            if isinstance(verified, Response):
                return verified
            blocked = await self.web.db(self._unlink, holder, f["pin"], verified)
        if isinstance(blocked, UnlinkBlocked):
            amount = blocked.amount.format(lang)
            if blocked.reason is UnlinkRefusal.BALANCE:
                short = f"{blocked.amount.cents // 100},{blocked.amount.cents % 100:02d}€"
                error = t("unlink_balance", amount=amount, amount_short=short)
            else:
                error = t("unlink_held", amount=amount)
            return await self.page(request, holder, cookie, lang, status=409, error=error)
        failed = await self.failed_check(request, holder, cookie, lang, blocked)
        if failed is not None:
            return failed
        log.info("account_unlinked", user_id=holder.user_id)
        response = self.web.message(request, lang=lang, title="title_unlinked",
                                    body="unlinked_body", status=200, tone="ok")
        self.web.clear_session_cookie(response)
        return response

    def _blocker(self, holder: Holder) -> UnlinkBlocked | None:
        with UnitOfWork(self.web.sessions) as uow:
            return web_sessions.unlink_blocker(uow, holder.x_user_id)

    def _unlink(self, holder: Holder, pin: str, checked: tuple[str | None, bool]
                ) -> PinResult | UnlinkBlocked:
        with UnitOfWork(self.web.sessions) as uow:
            result = login.unlink(uow, self.web.sealer, self.web.policy, self.web.pins,
                                         user_id=holder.user_id, pin=pin, checked=checked,
                                         now=self.web.clock())
            uow.commit()
            return result

