"""Sign-up: the one-time link's form, and "Sign in with X" (OAuth 2.0 with PKCE).

Both ways end in ``submit``: the DM command ``#inscription`` sends a ``/s/<token>`` link; the
OAuth callback makes such a link for the X account that approved, and redirects to it.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.logging import get_logger
from bot.security import hash_token, new_token
from bot.services import signup as signup_service
from bot.web.accounts import TOKEN_SHAPE, AccountWeb
from handlers.errors import TweetpayError
from handlers.money import Lang
from handlers.pins import check_new_pin
from handlers.texts import plural, translator
from storage import sessions as web_sessions
from storage import signup
from storage.models import User
from storage.sealing import SealError
from storage.uow import UnitOfWork, retrying

log = get_logger("bot.web.signup")

OAUTH_COOKIE = "tp_oauth"
OAUTH_PATH = "/auth/x"
OAUTH_TTL = dt.timedelta(minutes=5)

REFUSAL_PAGE = {
    signup.SignupRefusal.UNKNOWN: (404, "signup_unknown_body"),
    signup.SignupRefusal.EXPIRED: (410, "signup_expired_body"),
    signup.SignupRefusal.USED: (409, "signup_used_body"),
    signup.SignupRefusal.ALREADY_MEMBER: (409, "already_member_body"),
}


class SignupPages:
    def __init__(self, web: AccountWeb) -> None:
        self.web = web

    # -- the form ---------------------------------------------------------------------------

    def _look(self, token: str) -> signup.SignupLink | signup.SignupRefusal:
        with self.web.sessions() as session:
            return signup.look(session, hash_token(token), self.web.clock())

    def refusal(self, request: Request, refused: signup.SignupRefusal, lang: Lang) -> Response:
        status, body = REFUSAL_PAGE[refused]
        return self.web.message(
            request, lang=lang, title="title_dead_link", body=body, status=status
        )

    def form(
        self,
        request: Request,
        link: signup.SignupLink,
        lang: Lang,
        *,
        status: int = 200,
        error: str | None = None,
        terms_checked: bool = False,
    ) -> Response:
        who = f"@{link.handle}" if link.handle else f"(id {link.x_user_id})"
        return self.web.render(
            request,
            "signup.html",
            lang=lang,
            title="title_signup",
            status=status,
            who=who,
            error=error,
            terms_checked=terms_checked,
            terms=self.web_terms(lang, sandbox=self.web.settings.env == "sandbox"),
        )

    @staticmethod
    def web_terms(lang: Lang, *, sandbox: bool) -> list[str]:
        items = translator(lang)("terms_items").split("|")
        return items if sandbox else items[:-1]  # the last item says "sandbox"

    async def show(self, request: Request) -> Response:
        token = request.path_params["token"]
        lang = self.web.lang(request)
        if not TOKEN_SHAPE.fullmatch(token):
            return self.refusal(request, signup.SignupRefusal.UNKNOWN, lang)
        link = await self.web.db(self._look, token)
        if isinstance(link, signup.SignupRefusal):
            return self.refusal(request, link, lang)
        return self.form(request, link, self.web.lang(request, link.lang))

    async def submit(self, request: Request) -> Response:
        token = request.path_params["token"]
        lang = self.web.lang(request)
        if not TOKEN_SHAPE.fullmatch(token):
            return self.refusal(request, signup.SignupRefusal.UNKNOWN, lang)
        if self.web.cross_site(request):
            return self.web.message(
                request, lang=lang, title="title_error", body="forbidden_body", status=403
            )
        f = await self.web.fields(request, "pin", "pin_again", "terms", "lang")
        lang = self.web.lang(request, f["lang"] or None)
        link = await self.web.db(self._look, token)
        if isinstance(link, signup.SignupRefusal):
            return self.refusal(request, link, lang)
        t_checked = f["terms"] == "yes"
        problem = check_new_pin(f["pin"], f["pin_again"])
        if problem is not None:
            return self.form(
                request, link, lang, status=400, error=f"pin_{problem.value}",
                terms_checked=t_checked,
            )
        if not t_checked:
            return self.form(request, link, lang, status=400, error="terms_required")
        pin_hash = await self.web.db(self.web.pins.hash, f["pin"])
        cookie, cookie_hash = new_token()
        joined = await self.web.db(self._complete, token, pin_hash, lang, cookie_hash)
        if isinstance(joined, signup.SignupRefusal):
            return self.refusal(request, joined, lang)
        log.info("signup", x_user_id=joined.x_user_id, relinked=joined.relinked,
                 claimed_cents=joined.claimed.cents)
        t = translator(lang)
        extra = (
            t(plural("welcome_claimed", joined.claimed_count), amount=joined.claimed.format(lang),
              count=joined.claimed_count)
            if joined.claimed_count
            else t("welcome_nothing")
        )
        response = self.web.message(
            request,
            lang=lang,
            title="title_welcome_back" if joined.relinked else "title_welcome",
            body="welcome_back_body" if joined.relinked else "welcome_body",
            status=200,
            tone="ok",
            who=f" @{joined.handle}" if joined.handle else "",
            extra=extra,
            link=("/account", "go_account"),
        )
        self.web.set_session_cookie(response, cookie)
        return response

    def _complete(
        self, token: str, pin_hash: str, lang: str, cookie_hash: str
    ) -> signup.Joined | signup.SignupRefusal:
        now = self.web.clock()

        def work() -> signup.Joined | signup.SignupRefusal:
            with UnitOfWork(self.web.sessions, self.web.clock) as uow:
                joined = signup_service.complete(
                    uow, self.web.sealer, token_hash=hash_token(token), pin_hash=pin_hash,
                    lang=lang, now=now,
                )
                if isinstance(joined, signup.Joined):
                    web_sessions.open_session(
                        uow.session, user_id=joined.user_id, session_hash=cookie_hash,
                        now=now, ttl=self.web.session_ttl,
                    )
                    uow.commit()
                return joined

        # A deadlock with a payment or the escrow job is transient: the link is not spent
        # (that try rolled back), so the sign-up is simply made again.
        return retrying(work)

    # -- Sign in with X ----------------------------------------------------------------------

    def _link(self) -> object:
        if self.web.account_link is None:
            raise RuntimeError("no X account link configured")
        return self.web.account_link(self.web.base_url + OAUTH_PATH + "/callback")

    async def x_start(self, request: Request) -> Response:
        lang = self.web.lang(request)
        start = self._link().start()  # type: ignore[attr-defined]  # local: no network call
        sealed = self.web.sealer.seal(json.dumps({
            "state": start.state,
            "verifier": start.code_verifier,
            "lang": lang,
            "exp": (self.web.clock() + OAUTH_TTL).timestamp(),
        }))
        response = RedirectResponse(start.authorize_url, status_code=303)
        response.set_cookie(
            OAUTH_COOKIE, sealed, max_age=int(OAUTH_TTL.total_seconds()), path=OAUTH_PATH,
            secure=self.web.secure_cookies, httponly=True, samesite="lax",
        )
        return response

    def _flow(self, request: Request) -> dict[str, str] | None:
        raw = request.cookies.get(OAUTH_COOKIE)
        if not raw or len(raw) > 2048:
            return None
        try:
            flow = json.loads(self.web.sealer.open(raw))
        except (SealError, ValueError):
            return None
        if not isinstance(flow, dict) or float(flow.get("exp", 0)) < self.web.clock().timestamp():
            return None
        return flow

    async def x_callback(self, request: Request) -> Response:
        flow = self._flow(request)
        lang = self.web.lang(request, flow.get("lang") if flow else None)
        state = request.query_params.get("state", "")
        if flow is None or not hmac.compare_digest(
            str(flow.get("state", "")).encode(), state.encode()
        ):
            return self._x_failed(request, lang, "x_state_body", 400)
        if request.query_params.get("error") or not request.query_params.get("code"):
            return self._x_failed(request, lang, "x_denied_body", 403)
        try:
            x_user = await self.web.db(
                self._link().finish, str(request.url), flow["state"], flow["verifier"]  # type: ignore[attr-defined]
            )
        except TweetpayError as exc:
            log.warning("x_signin_failed", error=type(exc).__name__)
            denied = type(exc).__name__ == "Forbidden"
            return self._x_failed(
                request, lang, "x_denied_body" if denied else "x_unavailable_body",
                403 if denied else 503,
            )
        cookie, cookie_hash = new_token()
        kind, value = await self.web.db(self._after_x, x_user, lang, cookie_hash)
        if kind == "signup":  # a new (or unlinked) account: the sign-up form
            response: Response = RedirectResponse(f"/s/{value}?lang={lang}", status_code=303)
        else:
            # SameSite=Strict: the cookie set on this cross-site redirect would not be sent
            # on an automatic redirect; a click from our own page is same-site.
            response = self.web.message(
                request, lang=lang, title="title_signed_in", body="signed_in_body",
                status=200, tone="ok", handle=value, link=("/account", "go_account"),
            )
            self.web.set_session_cookie(response, cookie)
        response.delete_cookie(OAUTH_COOKIE, path=OAUTH_PATH)
        log.info("x_signin", x_user_id=x_user.id, new=kind == "signup")
        return response

    def _after_x(self, x_user: object, lang: str, cookie_hash: str) -> tuple[str, str]:
        """("session", handle) after opening a session for an active account; else
        ("signup", token): a one-time sign-up link for the form."""
        now = self.web.clock()
        x_id, handle = int(x_user.id), str(x_user.username)  # type: ignore[attr-defined]
        with UnitOfWork(self.web.sessions) as uow:
            user = uow.session.query(User).filter_by(x_user_id=x_id).first()
            if user is not None and user.status != "unlinked":
                user.handle = handle or user.handle
                web_sessions.open_session(
                    uow.session, user_id=user.id, session_hash=cookie_hash, now=now,
                    ttl=self.web.session_ttl,
                )
                handle = user.handle
                uow.commit()
                return "session", handle
            token = signup_service.issue(uow.session, x_user_id=x_id, handle=handle, lang=lang,
                                         now=now)
            uow.commit()
            return "signup", token

    def _x_failed(self, request: Request, lang: Lang, body: str, status: int) -> Response:
        response = self.web.message(
            request, lang=lang, title="title_x_failed", body=body, status=status,
            link=(OAUTH_PATH + f"?lang={lang}", "sign_in_with_x"),
        )
        response.delete_cookie(OAUTH_COOKIE, path=OAUTH_PATH)
        return response
