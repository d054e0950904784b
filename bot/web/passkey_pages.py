"""The account page's passkey routes and the step-up challenge route.

    POST /account/step-up             {csrf, action} → assertion options (JSON) for the
                                      page's "with a passkey" button; 404 without passkeys
    POST /account/passkeys/options    {csrf, name, pin | assertion}: step-up, then the
                                      creation options (JSON) with a one-time challenge
    POST /account/passkeys            {csrf, name, credential}: verify and store the new
                                      passkey → {"redirect": "/account?done=passkey_added"}
    POST /account/passkeys/remove     {csrf, passkey, pin | assertion}: step-up, remove
                                      → 303 /account?done=passkey_removed (works without JS)

The JSON routes answer errors as ``{"error": <text in the user's language>}`` with the
status a page would have; a lock also ends the session, as everywhere else.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.logging import get_logger
from bot.services.passkeys import RegistrationRefused
from bot.services.step_up import ACTIONS
from bot.web.account_pages import PIN_SHAPE, AccountPages
from bot.web.accounts import AccountWeb
from handlers.money import Lang
from handlers.texts import plural, translator
from storage.sessions import Holder, PinCheck

log = get_logger("bot.web.passkeys")
REFUSALS = {
    "expired": "passkey_refused_expired", "invalid": "passkey_refused_invalid",
    "too_many": "passkey_refused_too_many", "duplicate": "passkey_refused_duplicate",
}


class PasskeyPages:
    def __init__(self, web: AccountWeb, account: AccountPages) -> None:
        self.web = web
        self.account = account

    def _off(self) -> bool:
        return self.web.passkeys is None or not self.web.passkeys.rp.enabled

    async def step_up_options(self, request: Request) -> Response:
        checked = await self.account._checked(request, "action")
        if isinstance(checked, Response):
            return checked
        holder, _, _, f = checked
        if f["action"] not in ACTIONS:
            return JSONResponse({"error": "unknown action"}, 400)
        options = await self.web.db(self.web.step_up.options, holder.user_id, f["action"])
        if options is None:
            return JSONResponse({"error": "no passkey"}, 404)
        return JSONResponse(options)

    async def _posted(self, request: Request, *names: str
                      ) -> tuple[Holder, Lang, dict[str, str]] | Response:
        """A JSON call of the page's script: the form checked, passkeys available."""
        checked = await self.account._checked(request, *names)
        if isinstance(checked, Response):
            return JSONResponse({"error": "session"}, checked.status_code)
        holder, _, lang, f = checked
        if self._off():
            return JSONResponse({"error": translator(lang)("passkeys_unavailable")}, 404)
        return holder, lang, f

    async def begin(self, request: Request) -> Response:
        posted = await self._posted(request, "name", "pin", "assertion")
        if isinstance(posted, Response):
            return posted
        holder, lang, f = posted
        t = translator(lang)
        if not f["assertion"] and not PIN_SHAPE.fullmatch(f["pin"]):
            return JSONResponse({"error": t("step_up_needed")}, 400)
        result = await self.web.db(self.web.step_up.check, holder.user_id, "add_passkey",
                                   pin=f["pin"], assertion=f["assertion"])
        log.info("step_up", user_id=holder.user_id, action="add_passkey",
                 result=result.check.value, proof="passkey" if f["assertion"] else "pin")
        if result.check is PinCheck.LOCKED:
            assert result.locked_until is not None
            response = JSONResponse({"error": t(
                "pin_locked",
                until=self.web.when(result.locked_until, lang))}, 429)
            self.web.clear_session_cookie(response)
            return response
        if result.check is PinCheck.WRONG:
            key = "passkey_wrong" if f["assertion"] else "pin_wrong"
            return JSONResponse({"error": t(plural(key, result.attempts_left or 0),
                                              left=result.attempts_left)}, 400)
        assert self.web.passkeys is not None
        try:
            options = await self.web.db(self.web.passkeys.begin, holder.user_id)
        except RegistrationRefused as exc:
            return JSONResponse({"error": t(REFUSALS[exc.code])}, 409)
        return JSONResponse(options)

    async def finish(self, request: Request) -> Response:
        posted = await self._posted(request, "name", "credential")
        if isinstance(posted, Response):
            return posted
        holder, lang, f = posted
        t = translator(lang)
        assert self.web.passkeys is not None
        try:
            await self.web.db(self.web.passkeys.finish, holder.user_id, f["credential"],
                              f["name"])
        except RegistrationRefused as exc:
            log.warning("passkey_refused", user_id=holder.user_id, code=exc.code)
            return JSONResponse({"error": t(REFUSALS[exc.code])}, 400)
        log.info("passkey_added", user_id=holder.user_id)
        return JSONResponse({"redirect": "/account?done=passkey_added"})

    async def remove(self, request: Request) -> Response:
        checked = await self.account._checked(request, "passkey", "pin", "assertion")
        if isinstance(checked, Response):
            return checked
        holder, cookie, lang, f = checked
        refused = await self.account.stepped_up(request, holder, cookie, lang, f,
                                                "remove_passkey")
        if refused is not None:
            return refused
        assert self.web.passkeys is not None
        try:
            passkey_id = int(f["passkey"])
        except ValueError:
            passkey_id = 0
        if not await self.web.db(self.web.passkeys.remove, holder.user_id, passkey_id):
            return await self.account.page(request, holder, cookie, lang, status=404,
                                           error=translator(lang)("passkey_unknown"))
        log.info("passkey_removed", user_id=holder.user_id)
        return RedirectResponse("/account?done=passkey_removed", status_code=303)


def passkey_routes(web: AccountWeb, account: AccountPages) -> list[Route]:
    pages = PasskeyPages(web, account)
    return [
        Route("/account/step-up", pages.step_up_options, methods=["POST"]),
        Route("/account/passkeys/options", pages.begin, methods=["POST"]),
        Route("/account/passkeys", pages.finish, methods=["POST"]),
        Route("/account/passkeys/remove", pages.remove, methods=["POST"]),
    ]
