"""Sign-up and account pages: what they share, and the routes ``create_app`` mounts.

    GET  /s/<token>              sign-up form (6-digit PIN twice, terms); reads only
    POST /s/<token>              spends the link, opens the account, claims escrow, opens a session
    GET  /auth/x                 "Sign in with X": OAuth 2.0 PKCE, redirect to X's authorize page
    GET  /auth/x/callback        back from X: a known account gets a session, a new one the
                                 sign-up form (a one-time sign-up link made for it)
    GET  /l/<token>              login link from #compte: a "Continue" button; reads only
    POST /l/<token>              spends the link, opens a session (cookie), 303 to /account
    GET  /account                balance, history, cards and top-up, PIN change, unlink, log out
    POST /account/cards|topup|pin|unlink|logout
    GET  /account/donations.csv  a Pro account's donations, as an attachment

Sessions: the cookie holds a 256-bit secret, the database its SHA-256 (``storage.sessions``).
``HttpOnly``, ``SameSite=Strict``, ``Path=/``, ``Max-Age`` = ``settings.device_session_days``;
``Secure`` (and the ``__Host-`` name prefix) unless the sandbox serves plain http.

CSRF: every account POST carries ``csrf`` = HMAC-SHA256(cookie secret, "csrf"), so it is
bound to the session and never stored; on top of it, a POST the browser marks cross-site
(``Sec-Fetch-Site``, ``Origin``) is refused, as on the confirmation page. The sign-up and
login POSTs carry no session: the one-time token in the URL is the capability, and the
cross-site check stops a forged login into someone else's account.

"Sign in with X" keeps the PKCE ``state`` and ``code_verifier`` in a Fernet-sealed cookie
(``Path=/auth/x``, ``HttpOnly``, ``SameSite=Lax`` so it comes back on X's top-level redirect,
5 minutes); the callback checks the state against it in constant time.

Nothing here logs a token, a cookie, a card number or a PIN; the pages carry the
confirmation page's security headers (``SecurityHeaders`` wraps the whole app).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bot.security import PinHasher
from bot.services.passkeys import Passkeys
from bot.services.step_up import StepUp
from bot.web.i18n import request_lang
from bot.web.page_base import PageBase
from handlers.confirmation import PinPolicy
from handlers.money import Lang
from handlers.texts import translator
from storage.sealing import Sealer

Clock = Callable[[], dt.datetime]
HERE = Path(__file__).resolve().parent
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,128}")
MAX_FIELD = 64  # PINs and card fields are short; longer input is cut before any work
# Passkey assertions and new credentials are JSON of a few hundred bytes to a few KB.
LONG_FIELDS = {"assertion": 6000, "credential": 24000, "result": 200}
CSRF_LABEL = b"tweetpay-account-csrf-v1"


class AccountWeb(PageBase):
    """What every sign-up and account handler needs: settings, database, clock, keys,
    rendering, cookies and the CSRF check."""

    def __init__(
        self,
        settings: Any,
        session_factory: Any,
        *,
        clock: Clock,
        pins: PinHasher,
        sealer: Sealer,
        policy: PinPolicy | None = None,
        provider: Any = None,
        account_link: Callable[[str], Any] | None = None,
        passkeys: Passkeys | None = None,
    ) -> None:
        super().__init__(settings)
        self.sessions = session_factory
        self.clock = clock
        self.pins = pins
        self.sealer = sealer
        self.policy = policy or PinPolicy.from_settings(settings)
        self.provider = provider
        self.account_link = account_link
        self.passkeys = passkeys
        # The PIN or a passkey at the moment of each sensitive action (bot.services.step_up).
        self.step_up = StepUp(session_factory, pins=pins, sealer=sealer, policy=self.policy,
                              passkeys=passkeys, clock=clock)
        self.base_url = settings.public_base_url.rstrip("/")
        self.cookie_name = "__Host-tp_session" if self.secure_cookies else "tp_session"
        # Signing in opens a device session (the app's): remembered this long, revocable on
        # the account page; payments and sensitive actions still ask for the PIN.
        self.session_ttl = dt.timedelta(days=int(getattr(settings, "device_session_days", 30)))

    # -- language and rendering -------------------------------------------------------------

    def lang(self, request: Request, *preferred: str | None) -> Lang:
        return request_lang(request, *preferred)

    def render(
        self,
        request: Request,
        template: str,
        *,
        lang: Lang,
        title: str,
        status: int = 200,
        tone: str = "neutral",
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> Response:
        return self.template_page(request, template, lang=lang, title=title, status=status,
                                  headers=headers, tone=tone, **context)

    def message(
        self,
        request: Request,
        *,
        lang: Lang,
        title: str,
        body: str,
        status: int,
        tone: str = "bad",
        link: tuple[str, str] | None = None,
        extra: str | None = None,
        **params: Any,
    ) -> Response:
        """A one-message page; ``link`` is (href, label key), shown as a button."""
        t = translator(lang)
        return self.render(
            request,
            "account_message.html",
            lang=lang,
            title=title,
            status=status,
            tone=tone,
            body=t(body, bot=self.settings.bot_handle, **params) if body else "",
            extra=extra,
            link=(link[0], t(link[1])) if link else None,
        )

    # -- requests ----------------------------------------------------------------------------

    @staticmethod
    async def fields(request: Request, *names: str) -> dict[str, str]:
        async with request.form(max_files=0, max_fields=16) as form:
            return {name: str(form.get(name) or "")[:LONG_FIELDS.get(name, MAX_FIELD)]
                    for name in names}

    @staticmethod
    async def db(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(fn, *args, **kwargs)

    # -- session cookie and CSRF -------------------------------------------------------------

    def cookie(self, request: Request) -> str | None:
        value = request.cookies.get(self.cookie_name)
        return value if value and TOKEN_SHAPE.fullmatch(value) else None

    def set_session_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(
            self.cookie_name,
            value,
            max_age=int(self.session_ttl.total_seconds()),
            path="/",
            secure=self.secure_cookies,
            httponly=True,
            samesite="strict",
        )

    def clear_session_cookie(self, response: Response) -> None:
        response.delete_cookie(
            self.cookie_name, path="/", secure=self.secure_cookies, httponly=True,
            samesite="strict",
        )

    @staticmethod
    def csrf_for(cookie_value: str) -> str:
        return hmac.new(cookie_value.encode(), CSRF_LABEL, hashlib.sha256).hexdigest()

    def csrf_ok(self, cookie_value: str, submitted: str) -> bool:
        return hmac.compare_digest(self.csrf_for(cookie_value).encode(), submitted.encode())


def account_web(
    settings: Any,
    session_factory: Any,
    *,
    clock: Clock,
    pin_hasher: PinHasher,
    sealer: Sealer,
    provider: Any = None,
    x_api_base_url: str | None = None,
    passkeys: Passkeys | None = None,
) -> AccountWeb:
    """The defaults ``create_app`` uses: the settings' payment provider (the sandbox
    acquirer) and the X API (``x_api_base_url``, else the settings', else the embedded
    emulator on ``emulator_port``) for "Sign in with X"."""
    from bot.gateway import AccountLink

    if provider is None:
        from bot.payments.sandbox import make_provider

        provider = make_provider(settings, clock)
    x_base = (
        x_api_base_url or settings.x_api_base_url or f"http://127.0.0.1:{settings.emulator_port}"
    )

    def link(redirect_uri: str) -> AccountLink:
        return AccountLink(settings, redirect_uri=redirect_uri, base_url=x_base)

    return AccountWeb(
        settings, session_factory, clock=clock, pins=pin_hasher, sealer=sealer,
        provider=provider, account_link=link, passkeys=passkeys,
    )
