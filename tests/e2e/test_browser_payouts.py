"""A real browser adds an IBAN and withdraws, as @carol on a phone: uvicorn on a free port,
Debian's Chromium driven by Playwright with JavaScript off, the sandbox SEPA provider.

Screenshots land in /tmp (tweetpay-bank-*.png, tweetpay-withdraw-*.png).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from bot.payments.sandbox import SandboxProvider
from bot.payments.sepa_sandbox import SandboxSepaProvider
from bot.security import new_token
from handlers.money import Money
from storage import accounts
from storage.db import make_session_factory
from storage.ledger import Ledger, user_account_code
from storage.models import ConfirmationToken, Withdrawal
from storage.uow import UnitOfWork

try:
    from tests.e2e.live_server import CHROMIUM_ARGS, PHONE, PHONE_CONTEXT, Live, serve_live
except ImportError:  # tests/e2e itself on sys.path (rootdir-less import mode)
    from live_server import CHROMIUM_ARGS, PHONE, PHONE_CONTEXT, Live, serve_live  # type: ignore[no-redef]

pytestmark = pytest.mark.browser

CAROL = 1790000000000000004
PIN = "305817"


@pytest.fixture
def live(sqlite_url: str, sqlite_engine: Engine) -> Iterator[Live]:
    yield from serve_live(sqlite_url, sqlite_engine, payment_provider=SandboxProvider(),
                          payout_provider=SandboxSepaProvider(),
                          settings_overrides={"payout_cooling_off_hours": 0})


def _carol_with_a_login_link(live: Live) -> str:
    _, engine, hasher = live
    now = dt.datetime.now(dt.UTC)
    sessions = make_session_factory(engine)
    with UnitOfWork(sessions) as uow:
        accounts.open_user(uow, x_user_id=CAROL, handle="carol", now=now,
                           pin_hash=hasher.hash(PIN))
        accounts.top_up(uow, x_user_id=CAROL, amount=Money(3_000), charge_id="seed-carol")
        uow.commit()
    token, token_hash = new_token()
    with sessions.begin() as session:
        session.add(ConfirmationToken(token_hash=token_hash, purpose="login", x_user_id=CAROL,
                                      created_at=now, expires_at=now + dt.timedelta(minutes=10)))
    return token


def test_add_an_iban_and_withdraw_on_a_phone(live: Live, chromium_path: str) -> None:
    from playwright.sync_api import sync_playwright

    base, engine, _ = live
    token = _carol_with_a_login_link(live)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(**PHONE_CONTEXT, java_script_enabled=False)
            page = context.new_page()
            page.goto(f"{base}/l/{token}")
            page.click("button[type=submit]")
            page.click("#bank-link")
            assert page.url.endswith("/account/bank")
            assert page.locator("h1").inner_text() == "Virer vers ma banque"
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path="/tmp/tweetpay-bank-empty-phone.png", full_page=True)

            # A typo in the IBAN: refused in words, nothing saved.
            page.fill("#iban_input", "DE41 3704 0044 0000 0007 78")
            page.fill("#holder_name", "Carol Martin")
            page.fill("#bank_pin", PIN)
            page.click("#bank button[type=submit]")
            assert "faute de frappe" in page.locator(".alert").inner_text()

            page.fill("#iban_input", "de41 3704 0044 0000 0007 77")  # lower case, spaces
            page.fill("#holder_name", "Carol Martin")
            page.fill("#bank_pin", PIN)
            page.click("#bank button[type=submit]")
            assert "Compte bancaire enregistré" in page.locator(".notice").first.inner_text()
            assert page.locator("#iban").inner_text() == "DE41 •••• 0777"
            assert "confirme le nom" in page.locator("#vop").inner_text()
            page.screenshot(path="/tmp/tweetpay-bank-saved-phone.png", full_page=True)

            page.fill("#amount", "20")
            page.click("#withdraw button[type=submit]")
            assert "/w/" in page.url
            assert "20,00" in page.locator("#amount").inner_text()
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path="/tmp/tweetpay-withdraw-confirm-phone.png", full_page=True)
            page.check("input[name=payee_ack]")
            page.fill("#pin", PIN)
            page.click("button[type=submit]")
            assert page.locator("h1").inner_text() == "Retrait confirmé"
            assert "quelques secondes" in page.locator("main").inner_text()
            page.screenshot(path="/tmp/tweetpay-withdraw-done-phone.png", full_page=True)

            page.click("a.button")  # back to the bank page: a standard transfer of 5 €
            page.fill("#amount", "5")
            page.check("input[value=standard]")
            page.click("#withdraw button[type=submit]")
            assert page.locator("input[name=payee_ack]").count() == 0  # confirmed once
            page.fill("#pin", PIN)
            page.click("button[type=submit]")
            assert "jour ouvré suivant" in page.locator("main").inner_text()
            page.click("a.button")
            assert page.locator("#balance").inner_text().startswith("5,00")
            assert "En route vers votre banque" in page.locator("#withdrawals").inner_text()
            page.screenshot(path="/tmp/tweetpay-bank-withdrawals-phone.png", full_page=True)
            page.goto(f"{base}/account/bank?lang=en")
            assert page.locator("h1").inner_text() == "Send to my bank"
            assert "On its way to your bank" in page.locator("#withdrawals").inner_text()
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path="/tmp/tweetpay-bank-en-phone.png", full_page=True)
        finally:
            browser.close()
    assert Ledger(engine).balance(user_account_code(CAROL)) == Money(500)
    with make_session_factory(engine)() as session:
        assert sorted(session.scalars(select(Withdrawal.scheme))) == ["instant", "standard"]
