"""A real browser on the confirmation page: uvicorn on a free port, Debian's Chromium driven by
Playwright with JavaScript switched off (the page must work without it), a phone viewport.

Screenshots land in /tmp (tweetpay-confirm-phone.png, tweetpay-receipt-phone.png) for a look.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bot.security import PinHasher, new_token
from config import load_settings
from handlers.money import Money
from storage.db import make_session_factory
from storage.intents import bind
from storage.ledger import CARD_FUNDING, Ledger, user_account_code
from storage.models import ConfirmationToken, OutboxMessage, PaymentIntent, User
from storage.sealing import Sealer

try:
    from tests.e2e.live_server import CHROMIUM_ARGS, PHONE, PHONE_CONTEXT, Live, serve_live
except ImportError:  # tests/e2e itself on sys.path (rootdir-less import mode)
    from live_server import CHROMIUM_ARGS, PHONE, PHONE_CONTEXT, Live, serve_live  # type: ignore[no-redef]

pytestmark = pytest.mark.browser

PIN = "482916"


@pytest.fixture
def live(sqlite_url: str, sqlite_engine: Engine) -> Iterator[Live]:
    yield from serve_live(sqlite_url, sqlite_engine)


def _seed(engine: Engine, hasher: PinHasher) -> tuple[str, int]:
    now = dt.datetime.now(dt.UTC)
    ledger = Ledger(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        for x_user_id, handle in ((111, "alice"), (222, "bob")):
            user = User(
                x_user_id=x_user_id,
                handle=handle,
                lang="fr",
                pin_hash=hasher.hash(PIN),
                failed_pin_attempts=0,
                created_at=now,
            )
            session.add(user)
            session.flush()
            ledger.open_account(
                user_account_code(x_user_id), "user", user.id, conn=session.connection()
            )
    ledger.post_transfer(
        idempotency_key="topup:111",
        debit=CARD_FUNDING,
        credit=user_account_code(111),
        amount=Money(5000),
        kind="topup",
    )
    token, token_hash = new_token()
    with sessions.begin() as session:
        intent = PaymentIntent(
            reference="K7QX2M",
            source_event_id="tweet:1",
            kind="send",
            channel="tweet",
            lang="fr",
            initiator_x_user_id=111,
            payer_x_user_id=111,
            payee_x_user_id=222,
            payee_handle="bob",
            amount_cents=1299,
            memo="merci pour le resto",
            status="awaiting_confirmation",
            wrong_pin_attempts=0,
            tweet_id="9001",
            created_at=now,
            expires_at=now + dt.timedelta(minutes=10),
        )
        session.add(intent)
        session.flush()
        bind(intent, Sealer([k.get_secret_value() for k in load_settings().data_keys]))
        session.add(
            ConfirmationToken(
                token_hash=token_hash,
                purpose="confirm",
                x_user_id=111,
                intent_id=intent.id,
                amount_cents=1299,
                payee_x_user_id=222,
                created_at=now,
                expires_at=now + dt.timedelta(minutes=10),
            )
        )
        return token, intent.id


def test_confirm_in_a_real_browser_on_a_phone(
    live: Live, chromium_path: str
) -> None:
    from playwright.sync_api import sync_playwright

    base, engine, hasher = live
    token, intent_id = _seed(engine, hasher)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(**PHONE_CONTEXT, java_script_enabled=False)
            page = context.new_page()
            response = page.goto(f"{base}/c/{token}")
            assert response is not None and response.status == 200
            assert response.headers["cache-control"] == "no-store"
            assert page.locator("h1").inner_text() == "Confirmer le paiement"
            assert "12,99" in page.locator(".summary .amount dd").inner_text()
            assert "merci pour le resto" in page.content()
            # Nothing overflows sideways on a phone.
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path="/tmp/tweetpay-confirm-phone.png", full_page=True)

            page.fill("#pin", "000000")
            page.click("button[type=submit]")
            assert "Code erroné. Encore 2 essais." in page.locator(".alert").inner_text()

            page.fill("#pin", PIN)
            with page.expect_navigation() as navigation:
                page.click("button[type=submit]")
            assert navigation.value is not None and navigation.value.status == 200
            assert page.locator("h1").inner_text() == "Paiement effectué"
            receipt = page.locator("main").inner_text()
            assert "12,99\u00a0€ ont été envoyés à @bob" in receipt and "K7QX2M" in receipt
            page.screenshot(path="/tmp/tweetpay-receipt-phone.png", full_page=True)

            # Back to the link: it is dead and says so.
            again = page.goto(f"{base}/c/{token}")
            assert again is not None and again.status == 409
        finally:
            browser.close()

    ledger = Ledger(engine)
    assert ledger.balance(user_account_code(111)) == Money(3701)
    assert ledger.balance(user_account_code(222)) == Money(1299)
    sessions = make_session_factory(engine)
    with sessions() as session:
        intent = session.get(PaymentIntent, intent_id)
        assert intent is not None and intent.status == "confirmed"
        keys = sorted(m.dedupe_key for m in session.query(OutboxMessage))
        assert keys == [f"intent:{intent_id}:received"]  # nothing public after confirming
