"""A real browser signs up as @carol and uses the account page: uvicorn on a free port,
Debian's Chromium driven by Playwright with JavaScript switched off, a phone viewport.

Screenshots land in /tmp (tweetpay-signup-phone.png, tweetpay-account-phone.png).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from bot.payments.sandbox import SandboxProvider
from bot.security import new_token
from handlers.money import Money
from storage.db import make_session_factory
from storage.ledger import Ledger, user_account_code
from storage.models import ConfirmationToken, Contact, User

try:
    from tests.e2e.live_server import CHROMIUM_ARGS, PHONE, PHONE_CONTEXT, Live, serve_live
except ImportError:  # tests/e2e itself on sys.path (rootdir-less import mode)
    from live_server import CHROMIUM_ARGS, PHONE, PHONE_CONTEXT, Live, serve_live  # type: ignore[no-redef]

pytestmark = pytest.mark.browser

CAROL = 1790000000000000004
PIN = "305817"


@pytest.fixture
def live(sqlite_url: str, sqlite_engine: Engine) -> Iterator[Live]:
    yield from serve_live(sqlite_url, sqlite_engine, payment_provider=SandboxProvider())


def _signup_link(engine: Engine) -> str:
    """What #inscription by DM leaves behind: a contact and a one-time sign-up token."""
    now = dt.datetime.now(dt.UTC)
    token, token_hash = new_token()
    with make_session_factory(engine).begin() as session:
        session.add(Contact(x_user_id=CAROL, handle="carol", dm_opt_in=True, stopped=False,
                            lang="fr", updated_at=now))
        session.add(ConfirmationToken(token_hash=token_hash, purpose="signup", x_user_id=CAROL,
                                      created_at=now, expires_at=now + dt.timedelta(minutes=10)))
    return token


def test_sign_up_as_carol_and_use_the_account_page_on_a_phone(
    live: Live, chromium_path: str
) -> None:
    from playwright.sync_api import sync_playwright

    base, engine, hasher = live
    token = _signup_link(engine)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(**PHONE_CONTEXT, java_script_enabled=False)
            page = context.new_page()
            response = page.goto(f"{base}/s/{token}")
            assert response is not None and response.status == 200
            assert response.headers["cache-control"] == "no-store"
            assert page.locator("h1").inner_text() == "Ouvrir votre compte"
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path="/tmp/tweetpay-signup-phone.png", full_page=True)

            # A weak code first: refused with its own message, nothing created.
            page.fill("#pin", "123456")
            page.fill("#pin_again", "123456")
            page.check("input[name=terms]")
            page.click("button[type=submit]")
            assert "Une suite de chiffres" in page.locator(".alert").inner_text()

            page.fill("#pin", PIN)
            page.fill("#pin_again", PIN)
            page.check("input[name=terms]")
            page.click("button[type=submit]")
            assert page.locator("h1").inner_text() == "Compte ouvert"
            assert "Bienvenue @carol" in page.locator("main").inner_text()

            page.click("a.button")
            assert page.locator("h1").inner_text() == "Votre compte"
            assert "Compte de @carol" in page.locator("main").inner_text()
            assert page.locator("#balance").inner_text() == "0,00\u00a0€"

            # Save the sandbox test card, then top up 20 €.
            page.fill("#number", "4242 4242 4242 4242")
            page.fill("#exp_month", "12")
            page.fill("#exp_year", "2030")
            page.fill("#cvc", "123")
            page.fill("#card_pin", PIN)  # a session alone never adds a card
            page.click("#cards button[type=submit]")
            assert "Carte enregistrée." in page.locator(".notice").inner_text()
            page.fill("#amount", "20")
            page.fill("#topup_pin", PIN)
            page.click("#topup button[type=submit]")
            # The card's first top-up: the sandbox bank's 3-D Secure page, then back.
            assert page.locator("h1").inner_text() == "Votre banque (démonstration)"
            page.screenshot(path="/tmp/tweetpay-3ds-phone.png", full_page=True)
            page.click("button[value=approve]")
            page.click("button[type=submit]")
            assert "Recharge de 20,00\u00a0€ effectuée" in page.locator(".notice").inner_text()
            assert page.locator("#balance").inner_text() == "20,00\u00a0€"
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path="/tmp/tweetpay-account-phone.png", full_page=True)

            page.click("form.logout button")
            assert page.locator("h1").inner_text() == "Session terminée"
            again = page.goto(f"{base}/account")
            assert again is not None and again.status == 401
        finally:
            browser.close()

    with make_session_factory(engine)() as session:
        user = session.scalars(select(User).where(User.x_user_id == CAROL)).one()
        assert user.status == "active" and hasher.verify(user.pin_hash or "", PIN)
    assert Ledger(engine).balance(user_account_code(CAROL)) == Money(2000)
