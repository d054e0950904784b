"""The account page's core: login links, the session guard, the page and its data (the
card and PIN actions build on it: ``bot.web.account_cards``, ``bot.web.account_pin``)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.logging import get_logger
from bot.security import hash_token, new_token
from bot.services import login
from bot.web.accounts import TOKEN_SHAPE, AccountWeb
from handlers import history
from handlers.money import Lang, Money
from handlers.texts import plural, translator
from handlers.times import date_text, datetime_text
from storage import devices, pro, topups
from storage import sessions as web_sessions
from storage.ledger import user_account_code
from storage.models import Charge
from storage.passkeys import PasskeyView
from storage.payouts import payout_rows
from storage.sessions import Holder, PinCheck, PinResult
from storage.statement import statement
from storage.uow import UnitOfWork

log = get_logger("bot.web.account")

NONCE_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
HISTORY_LINES = 20
DONE_KEYS = {"pin_changed": "done_pin_changed", "card_added": "done_card_added",
             "passkey_added": "done_passkey_added", "passkey_removed": "done_passkey_removed",
             "device_revoked": "done_device_revoked"}
PIN_SHAPE = re.compile(r"[0-9]{6}")
DECLINES = {"generic_decline", "insufficient_funds", "expired_card", "incorrect_cvc",
            "authentication_failed", "authentication_timed_out"}
LOGIN_REFUSALS = {
    web_sessions.LoginRefusal.UNKNOWN: (404, "login_unknown_body"),
    web_sessions.LoginRefusal.EXPIRED: (410, "login_expired_body"),
    web_sessions.LoginRefusal.USED: (409, "login_used_body"),
    web_sessions.LoginRefusal.NO_ACCOUNT: (403, "no_account_body"),
}


@dataclass(frozen=True, slots=True)
class Line:
    """One history line as the page shows it."""

    date: str
    label: str
    memo: str
    amount: str
    incoming: bool


@dataclass
class PageData:
    balance: Money
    lines: list[Line]
    cards: list[topups.CardView]
    donations: list[pro.Donation] | None
    passkeys: list[PasskeyView]
    devices: list[devices.Device]


class AccountPagesCore:
    """The login link, the session guard and the account page itself; the actions are in
    ``bot.web.account_cards`` and ``bot.web.account_pin``."""

    def __init__(self, web: AccountWeb) -> None:
        self.web = web

    # -- login link -------------------------------------------------------------------------

    def _refused_login(self, request: Request, refused: web_sessions.LoginRefusal,
                       lang: Lang) -> Response:
        status, body = LOGIN_REFUSALS[refused]
        return self.web.message(request, lang=lang, title="title_dead_link", body=body,
                                status=status)

    def _look_login(self, token: str) -> web_sessions.LoginLink | web_sessions.LoginRefusal:
        with self.web.sessions() as session:
            return web_sessions.look_login(session, hash_token(token), self.web.clock())

    async def login_show(self, request: Request) -> Response:
        token = request.path_params["token"]
        lang = self.web.lang(request)
        if not TOKEN_SHAPE.fullmatch(token):
            return self._refused_login(request, web_sessions.LoginRefusal.UNKNOWN, lang)
        link = await self.web.db(self._look_login, token)
        if isinstance(link, web_sessions.LoginRefusal):
            return self._refused_login(request, link, lang)
        lang = self.web.lang(request, link.lang)
        days = max(1, self.web.session_ttl.days)
        return self.web.render(request, "login.html", lang=lang, title="title_login",
                               handle=link.handle, days=days)

    async def login_submit(self, request: Request) -> Response:
        token = request.path_params["token"]
        lang = self.web.lang(request)
        if not TOKEN_SHAPE.fullmatch(token):
            return self._refused_login(request, web_sessions.LoginRefusal.UNKNOWN, lang)
        if self.web.cross_site(request):
            return self.web.message(request, lang=lang, title="title_error",
                                    body="forbidden_body", status=403)
        cookie, cookie_hash = new_token()
        result = await self.web.db(self._log_in, token, cookie_hash)
        if isinstance(result, web_sessions.LoginRefusal):
            return self._refused_login(request, result, lang)
        log.info("account_login", user_id=result)
        response = RedirectResponse("/account", status_code=303)
        self.web.set_session_cookie(response, cookie)
        return response

    def _log_in(self, token: str, cookie_hash: str) -> int | web_sessions.LoginRefusal:
        with UnitOfWork(self.web.sessions) as uow:
            result = login.log_in(uow, token_hash=hash_token(token),
                                         session_hash=cookie_hash, now=self.web.clock(),
                                         ttl=self.web.session_ttl)
            if isinstance(result, int):
                uow.commit()
            return result

    # -- session ----------------------------------------------------------------------------

    def _holder(self, cookie: str | None) -> Holder | None:
        if cookie is None:
            return None
        with self.web.sessions() as session:
            return web_sessions.current(session, hash_token(cookie), self.web.clock())

    def no_session(self, request: Request, lang: Lang) -> Response:
        response = self.web.message(request, lang=lang, title="title_account",
                                    body="session_body", status=401,
                                    link=(f"/auth/x?lang={lang}", "sign_in_with_x"))
        self.web.clear_session_cookie(response)
        return response

    async def _signed_in(self, request: Request) -> tuple[Holder, str, Lang] | Response:
        """The holder of a live session, its cookie and language, or the page that says there
        is no session."""
        cookie = self.web.cookie(request)
        holder = await self.web.db(self._holder, cookie)
        if holder is None or cookie is None:
            return self.no_session(request, self.web.lang(request))
        return holder, cookie, self.web.lang(request, holder.lang)

    async def _guard(self, request: Request) -> tuple[Holder, str, Lang] | Response:
        """The holder of a live session posting our own form, or the page that refuses."""
        found = await self._signed_in(request)
        if not isinstance(found, Response) and self.web.cross_site(request):
            return self.web.message(request, lang=found[2], title="title_error",
                                    body="forbidden_body", status=403)
        return found

    # -- the page ---------------------------------------------------------------------------

    def _data(self, holder: Holder, lang: Lang) -> PageData:
        tz = self.web.settings.timezone
        with UnitOfWork(self.web.sessions) as uow:
            balance = uow.ledger.balance(user_account_code(holder.x_user_id))
            movements = statement(uow, holder.x_user_id, HISTORY_LINES)
            cards = topups.saved_cards(uow.session, self.web.sealer, holder.user_id)
            donations = (pro.donations_received(uow.session, holder.x_user_id)
                         if holder.kind == "pro" else None)
        lines = [
            Line(date=datetime_text(m.at, lang, tz), label=history.label(m, lang),
                 memo=history.memo_shown(m), amount=history.signed_amount(m, lang),
                 incoming=m.amount.cents > 0)
            for m in movements
        ]
        passkeys = self.web.passkeys.listed(holder.user_id) if self.web.passkeys else []
        with self.web.sessions() as session:
            live = devices.live_devices(session, holder.user_id, holder.session_id,
                                        self.web.clock())
        return PageData(balance, lines, cards, donations, passkeys, live)

    def _charge(self, holder: Holder, charge_id: str) -> Charge | None:
        with self.web.sessions() as session:
            row = session.scalars(
                select(Charge).where(Charge.provider_charge_id == charge_id)
            ).first()
            if row is None or row.user_id != holder.user_id:
                return None
            session.expunge(row)
            return row

    async def page(self, request: Request, holder: Holder, cookie: str, lang: Lang, *,
                   status: int = 200, notice: str | None = None,
                   error: str | None = None) -> Response:
        data = await self.web.db(self._data, holder, lang)
        tz = self.web.settings.timezone
        donations = None
        if data.donations is not None:
            donations = [
                {"date": date_text(d.date, lang, tz),
                 "donor": f"@{d.donor_handle}" if d.donor_handle else str(d.donor_x_user_id),
                 "amount": d.amount.format(lang), "memo": d.memo}
                for d in reversed(data.donations[-50:])
            ]
        return self.web.render(
            request, "account.html", lang=lang, title="title_account", status=status,
            holder=holder, balance=data.balance.format(lang), lines=data.lines,
            cards=data.cards, donations=donations, notice=notice, error=error,
            passkeys=[{"id": p.id, "name": p.name, "created": datetime_text(p.created_at, lang, tz),
                       "used": datetime_text(p.last_used_at, lang, tz) if p.last_used_at else None}
                      for p in data.passkeys],
            passkeys_enabled=bool(self.web.passkeys and self.web.passkeys.rp.enabled),
            csrf=self.web.csrf_for(cookie), nonce=secrets.token_urlsafe(18),
            session_until=datetime_text(holder.session_expires_at, lang, tz),
            devices=data.devices, when=lambda moment: datetime_text(moment, lang, tz),
            locked_until=datetime_text(holder.locked_until, lang, tz)
            if holder.locked_until else None,
        )

    async def show(self, request: Request) -> Response:
        found = await self._signed_in(request)
        if isinstance(found, Response):
            return found
        holder, cookie, lang = found
        t = translator(lang)
        notice = error = None
        done = request.query_params.get("done")
        if done in DONE_KEYS:
            notice = t(DONE_KEYS[done])
        charge_id = request.query_params.get("charge", "")[:64]
        if charge_id:
            charge = await self.web.db(self._charge, holder, charge_id)
            if charge is not None:
                amount = Money(charge.amount_cents).format(lang)
                if charge.status == "succeeded":
                    notice = t("topup_done", amount=amount)
                else:
                    code = charge.decline_code if charge.decline_code in DECLINES else (
                        "generic_decline")
                    error = t("topup_declined", amount=amount, reason=t(f"card_reason_{code}"))
        return await self.page(request, holder, cookie, lang, notice=notice, error=error)

    # -- POST actions -----------------------------------------------------------------------

    async def _checked(self, request: Request, *names: str
                       ) -> tuple[Holder, str, Lang, dict[str, str]] | Response:
        guard = await self._guard(request)
        if isinstance(guard, Response):
            return guard
        holder, cookie, lang = guard
        f = await self.web.fields(request, "csrf", *names)
        if not self.web.csrf_ok(cookie, f["csrf"]):
            log.warning("account_refused", reason="csrf")
            return self.web.message(request, lang=lang, title="title_error", body="csrf_body",
                                    status=403, link=("/account", "go_account"))
        return holder, cookie, lang, f

    def _current(self, holder: Holder) -> tuple[str | None, bool]:
        """After a passkey step-up: the PIN hash as it is, counted as matched."""
        with self.web.sessions() as session:
            return web_sessions.pin_hash_of(session, holder.user_id), True

    def _verify(self, holder: Holder, pin: str) -> tuple[str | None, bool]:
        """Argon2id outside any write transaction; the storage call re-checks under lock."""
        with self.web.sessions() as session:
            pin_hash = web_sessions.pin_hash_of(session, holder.user_id)
        return pin_hash, pin_hash is not None and self.web.pins.verify(pin_hash, pin)

    def _locked_page(self, request: Request, until: dt.datetime, lang: Lang) -> Response:
        refused = self._pin_refusal(request, PinResult(PinCheck.LOCKED, locked_until=until), lang)
        assert refused is not None  # a LOCKED result always has its page
        return refused

    def _pin_refusal(self, request: Request, result: PinResult, lang: Lang
                     ) -> Response | None:
        if result.check is PinCheck.LOCKED:
            assert result.locked_until is not None
            seconds = int((result.locked_until - self.web.clock()).total_seconds())
            response = self.web.message(
                request, lang=lang, title="title_locked", body="pin_locked", status=429,
                until=self.web.when(result.locked_until, lang),
            )
            response.headers["Retry-After"] = str(max(seconds, 1))
            self.web.clear_session_cookie(response)
            return response
        return None

    async def stepped_up(self, request: Request, holder: Holder, cookie: str, lang: Lang,
                         f: dict[str, str], action: str, pin_field: str = "pin"
                         ) -> Response | None:
        """None when the PIN or a passkey was just given for ``action``; else the page that
        says why not (a missing or malformed PIN is asked again without counting)."""
        t = translator(lang)
        pin, assertion = f.get(pin_field, ""), f.get("assertion", "")
        if not assertion and not PIN_SHAPE.fullmatch(pin):
            return await self.page(request, holder, cookie, lang, status=400,
                                   error=t("step_up_needed"))
        result = await self.web.db(self.web.step_up.check, holder.user_id, action, pin=pin,
                                   assertion=assertion)
        log.info("step_up", user_id=holder.user_id, action=action, result=result.check.value,
                 proof="passkey" if assertion else "pin")
        return await self.failed_check(request, holder, cookie, lang, result,
                                       passkey=bool(assertion))

    async def failed_check(self, request: Request, holder: Holder, cookie: str, lang: Lang,
                           result: PinResult, *, passkey: bool = False) -> Response | None:
        """The page for a PIN (or passkey) check that did not pass: the lock, or the attempts
        left; None when it passed."""
        refused = self._pin_refusal(request, result, lang)
        if refused is not None or result.check is not PinCheck.WRONG:
            return refused
        left = result.attempts_left
        key = plural("passkey_wrong" if passkey else "pin_wrong", left or 0)
        return await self.page(request, holder, cookie, lang, status=400,
                               error=translator(lang)(key, left=left))

    async def logout(self, request: Request) -> Response:
        checked = await self._checked(request)
        if isinstance(checked, Response):
            return checked
        _, cookie, lang, _ = checked
        await self.web.db(self._log_out, cookie)
        response = self.web.message(request, lang=lang, title="title_signed_out",
                                    body="signed_out_body", status=200, tone="ok")
        self.web.clear_session_cookie(response)
        return response

    def _log_out(self, cookie: str) -> None:
        with UnitOfWork(self.web.sessions) as uow:
            web_sessions.log_out(uow.session, hash_token(cookie), self.web.clock())
            uow.commit()

    # -- Pro ----------------------------------------------------------------------------------

    async def donations_csv(self, request: Request) -> Response:
        found = await self._signed_in(request)
        if isinstance(found, Response):
            return found
        holder, _, lang = found
        if holder.kind != "pro":
            return self.web.message(request, lang=lang, title="title_error",
                                    body="not_found_body", status=404)
        text = await self.web.db(self._csv, holder)
        day = self.web.clock().astimezone(dt.UTC).strftime("%Y%m%d")
        name = f"donations-{holder.handle or holder.x_user_id}-{day}.csv"
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def _csv(self, holder: Holder) -> str:
        with self.web.sessions() as session:
            return pro.donations_csv(pro.donations_received(session, holder.x_user_id),
                                     payout_rows(session, self.web.sealer, holder.user_id))
