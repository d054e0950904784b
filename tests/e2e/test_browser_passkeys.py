"""Passkeys in a real browser: Chromium's virtual authenticator (the CDP ``WebAuthn`` domain,
through Playwright) with user verification, on a phone viewport, against the real server
whose public URL is ``http://localhost:<port>`` (WebAuthn refuses an IP address).

Register on the account page (PIN first), confirm a payment with the passkey; then what an
attacker would try, each refused: the assertion replayed, sent for another intent, an intent
changed after the page was shown (even with a valid MAC), an assertion made on another origin,
a counter that goes backwards; all those failures count towards the same lock as wrong PINs.
Removing the last passkey falls back to the PIN. Screenshots land in /tmp.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import Engine, select, update

from bot.payments.sandbox import SandboxProvider
from bot.security import PinHasher, new_token
from config import load_settings
from handlers.money import Money
from storage.db import make_session_factory
from storage.intents import bind
from storage.ledger import CARD_FUNDING, Ledger, user_account_code
from storage.models import ConfirmationToken, Passkey, PaymentIntent, User
from storage.sealing import Sealer

try:
    from tests.e2e.live_server import CHROMIUM_ARGS, PHONE, PHONE_CONTEXT, Live, serve_live
except ImportError:  # tests/e2e itself on sys.path (rootdir-less import mode)
    from live_server import CHROMIUM_ARGS, PHONE, PHONE_CONTEXT, Live, serve_live  # type: ignore[no-redef]

pytestmark = pytest.mark.browser

PIN = "482916"
ALICE, BOB = 111, 222
AUTHENTICATOR = {
    "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
    "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True,
}


@pytest.fixture
def live(sqlite_url: str, sqlite_engine: Engine) -> Iterator[Live]:
    yield from serve_live(sqlite_url, sqlite_engine, public_host="localhost",
                          payment_provider=SandboxProvider())


class Bank:
    """The database side of the story: users, intents, login links, and reading back."""

    def __init__(self, engine: Engine, hasher: PinHasher) -> None:
        self.engine = engine
        self.sessions = make_session_factory(engine)
        self.sealer = Sealer([k.get_secret_value() for k in load_settings().data_keys])
        self.ledger = Ledger(engine)
        now = dt.datetime.now(dt.UTC)
        with self.sessions.begin() as session:
            for x_user_id, handle in ((ALICE, "alice"), (BOB, "bob")):
                user = User(x_user_id=x_user_id, handle=handle, lang="fr",
                            pin_hash=hasher.hash(PIN), failed_pin_attempts=0, created_at=now)
                session.add(user)
                session.flush()
                self.ledger.open_account(user_account_code(x_user_id), "user", user.id,
                                         conn=session.connection())
        self.ledger.post_transfer(idempotency_key="topup:alice", debit=CARD_FUNDING,
                                  credit=user_account_code(ALICE), amount=Money(10_000),
                                  kind="topup")
        self._seq = 0

    def intent(self, cents: int = 1299, memo: str = "merci pour le resto") -> tuple[str, int]:
        self._seq += 1
        now = dt.datetime.now(dt.UTC)
        token, token_hash = new_token()
        with self.sessions.begin() as session:
            intent = PaymentIntent(
                reference=f"PK{self._seq:04d}", source_event_id=f"tweet:{self._seq}",
                kind="send", channel="tweet", lang="fr", initiator_x_user_id=ALICE,
                payer_x_user_id=ALICE, payee_x_user_id=BOB, payee_handle="bob",
                amount_cents=cents, memo=memo, status="awaiting_confirmation",
                wrong_pin_attempts=0, tweet_id=str(9000 + self._seq), created_at=now,
                expires_at=now + dt.timedelta(minutes=10),
            )
            session.add(intent)
            session.flush()
            bind(intent, self.sealer)
            session.add(ConfirmationToken(
                token_hash=token_hash, purpose="confirm", x_user_id=ALICE, intent_id=intent.id,
                amount_cents=cents, payee_x_user_id=BOB, created_at=now,
                expires_at=now + dt.timedelta(minutes=10)))
        return token, intent.id

    def login_link(self) -> str:
        now = dt.datetime.now(dt.UTC)
        token, token_hash = new_token()
        with self.sessions.begin() as session:
            session.add(ConfirmationToken(
                token_hash=token_hash, purpose="login", x_user_id=ALICE, created_at=now,
                expires_at=now + dt.timedelta(minutes=10)))
        return token

    def tamper(self, intent_id: int, *, resign: bool, **values: Any) -> dict[str, str]:
        """Change the intent row (and, as an insider would, its token's copies and MAC);
        return the form fields a page would now send back."""
        with self.sessions.begin() as session:
            row = session.get(PaymentIntent, intent_id)
            assert row is not None
            for name, value in values.items():
                setattr(row, name, value)
            session.flush()
            if resign:
                bind(row, self.sealer)
                session.execute(update(ConfirmationToken)
                                .where(ConfirmationToken.intent_id == intent_id)
                                .values(amount_cents=row.amount_cents,
                                        payee_x_user_id=row.payee_x_user_id))
            return {"amount_cents": str(row.amount_cents), "payee": str(row.payee_x_user_id)}

    def status(self, intent_id: int) -> tuple[str, int]:
        with self.sessions() as session:
            intent = session.get(PaymentIntent, intent_id)
            assert intent is not None
            return intent.status, intent.wrong_pin_attempts

    def failures(self) -> tuple[int, dt.datetime | None]:
        with self.sessions() as session:
            user = session.scalars(select(User).where(User.x_user_id == ALICE)).one()
            return user.failed_pin_attempts, user.locked_until

    def passkeys(self) -> list[Passkey]:
        with self.sessions() as session:
            rows = list(session.scalars(select(Passkey).order_by(Passkey.id)))
            session.expunge_all()
            return rows

    def balance(self, x_user_id: int) -> Money:
        return self.ledger.balance(user_account_code(x_user_id))


def _browser(pw: Any, chromium_path: str) -> tuple[Any, Any, Any, Any, str]:
    browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
    context = browser.new_context(**PHONE_CONTEXT)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return browser, context, page, cdp, added["authenticatorId"]


def _log_in(page: Any, base: str, bank: Bank) -> None:
    page.goto(f"{base}/l/{bank.login_link()}")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Votre compte"


def _register(page: Any, name: str) -> None:
    page.fill("#passkey_name", name)
    page.fill("#passkey_pin", PIN)
    with page.expect_navigation(url="**/account?done=passkey_added"):
        page.click("#passkey-add button[type=submit]")
    assert "Clé d’accès ajoutée" in page.locator(".notice").inner_text()


def _captured_assertion(page: Any, base: str, token: str) -> dict[str, str]:
    """Open the link page, press the passkey button, and keep the form it would post
    (the POST is stopped in the browser, so nothing is spent)."""
    seen: list[dict[str, str]] = []

    def hold(route: Any) -> None:
        if route.request.method == "POST":
            fields = parse_qs(route.request.post_data or "")
            seen.append({k: v[0] for k, v in fields.items()})
            route.abort()
        else:
            route.continue_()

    page.route(f"{base}/c/*", hold)
    try:
        page.goto(f"{base}/c/{token}")
        page.click("button.passkey")
        page.wait_for_timeout(100)
        for _ in range(50):
            if seen:
                break
            page.wait_for_timeout(100)
    finally:
        page.unroute(f"{base}/c/*")
    assert seen and seen[0]["assertion"] and not seen[0].get("pin")
    return seen[0]


def _post(page: Any, base: str, token: str, form: dict[str, str]) -> Any:
    return page.request.post(f"{base}/c/{token}", form=form,
                             headers={"Origin": base, "Sec-Fetch-Site": "same-origin"})


def test_register_a_passkey_then_confirm_with_it_and_every_forgery_is_refused(
    live: Live, chromium_path: str
) -> None:
    from playwright.sync_api import sync_playwright

    base, engine, hasher = live
    bank = Bank(engine, hasher)
    with sync_playwright() as pw:
        browser, _, page, cdp, authenticator = _browser(pw, chromium_path)
        try:
            _log_in(page, base, bank)
            assert page.locator("#passkeys").inner_text().count("Aucune clé") == 1
            _register(page, "Téléphone")
            assert "Téléphone" in page.locator("#passkeys").inner_text()
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.locator("#passkeys").screenshot(path="/tmp/tweetpay-passkeys-phone.png")
            [key] = bank.passkeys()
            assert key.public_key and key.last_used_at is None and len(key.credential_id) > 16

            # Confirm a payment with the passkey: no PIN typed.
            token, intent_id = bank.intent()
            page.goto(f"{base}/c/{token}")
            assert page.locator("button.passkey").is_visible()
            page.screenshot(path="/tmp/tweetpay-confirm-passkey-phone.png", full_page=True)
            posted: list[str] = []
            page.on("request", lambda r: posted.append(r.post_data or "")
                    if r.method == "POST" else None)
            with page.expect_navigation():
                page.click("button.passkey")
            assert page.locator("h1").inner_text() == "Paiement effectué"
            assert bank.status(intent_id) == ("confirmed", 0)
            assert bank.balance(BOB) == Money(1299)
            [key] = bank.passkeys()
            assert key.sign_count >= 1 and key.last_used_at is not None
            used = {k: v[0] for k, v in parse_qs(posted[-1]).items()}
            assert "pin" not in used or not used["pin"]

            # 1. The same assertion replayed: the intent is spent.
            assert _post(page, base, token, used).status == 409
            assert bank.balance(BOB) == Money(1299)

            # 2. The assertion sent for another intent (same amount, same payee): its
            #    challenge is another intent's. Counted as a failure.
            other, other_id = bank.intent()
            refused = _post(page, base, other, used)
            assert refused.status == 400 and "Clé d’accès refusée" in refused.text()
            assert bank.status(other_id) == ("awaiting_confirmation", 1)
            assert bank.failures()[0] == 1

            # 3. The intent changed after the page was shown. With its MAC now stale: refused
            #    before any check, not counted. Even re-signed with the server key (an
            #    insider, token row included): the passkey signed the old values: refused.
            changed, changed_id = bank.intent(cents=2000)
            form = _captured_assertion(page, base, changed)
            for values in ({"memo": "autre chose"}, {"amount_cents": 200_000}):
                shown = bank.tamper(changed_id, resign=False, **values)
                assert _post(page, base, changed, {**form, **shown}).status == 409, values
                shown = bank.tamper(changed_id, resign=True, **values)
                resigned = _post(page, base, changed, {**form, **shown})
                assert resigned.status == 400 and "Clé d’accès refusée" in resigned.text()
                bank.tamper(changed_id, resign=True, memo="merci pour le resto",
                            amount_cents=2000)
            assert bank.status(changed_id) == ("awaiting_confirmation", 2)
            assert bank.failures()[0] == 3

            # The PIN still works beside a passkey, and a success ends the run of failures.
            fallback, _ = bank.intent()
            page.goto(f"{base}/c/{fallback}")
            page.fill("#pin", PIN)
            with page.expect_navigation():
                page.click("button[type=submit]")
            assert page.locator("h1").inner_text() == "Paiement effectué"
            assert bank.failures()[0] == 0

            payee_token, payee_id = bank.intent()
            form = _captured_assertion(page, base, payee_token)
            shown = bank.tamper(payee_id, resign=False, payee_x_user_id=333)
            assert _post(page, base, payee_token, {**form, **shown}).status == 409
            shown = bank.tamper(payee_id, resign=True, payee_x_user_id=333)
            resigned = _post(page, base, payee_token, {**form, **shown})
            assert resigned.status == 400 and "Clé d’accès refusée" in resigned.text()
            assert bank.failures()[0] == 1

            # 4. Another origin (a phishing copy on another port of localhost, same RP id):
            #    the browser signs the right challenge, but the client data names that origin.
            phish_token, phish_id = bank.intent()
            page.goto(f"{base}/c/{phish_token}")
            options = json.loads(page.locator("button.passkey").get_attribute(
                "data-passkey-options") or "{}")
            evil = "http://localhost:1/pay"
            page.route(evil, lambda route: route.fulfill(
                status=200, content_type="text/html", body="<!doctype html><title>pay</title>"))
            page.goto(evil)
            assertion = page.evaluate(SIGN_ELSEWHERE, options)
            page.unroute(evil)
            phished = _post(page, base, phish_token,
                            {"assertion": assertion, "amount_cents": "1299", "payee": str(BOB)})
            assert phished.status == 400
            assert bank.status(phish_id) == ("awaiting_confirmation", 1)
            assert bank.failures()[0] == 2

            # 5. A counter that goes backwards (a cloned authenticator): refused.
            [credential] = cdp.send("WebAuthn.getCredentials",
                                    {"authenticatorId": authenticator})["credentials"]
            assert credential["signCount"] >= 1
            cdp.send("WebAuthn.removeCredential", {"authenticatorId": authenticator,
                                                   "credentialId": credential["credentialId"]})
            cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator,
                                                "credential": {**credential, "signCount": 0}})
            clone_token, clone_id = bank.intent()
            page.goto(f"{base}/c/{clone_token}")
            page.click("button.passkey")
            page.wait_for_selector("main > .alert")
            assert "Clé d’accès refusée" in page.locator("main > .alert").inner_text()
            assert bank.status(clone_id) == ("awaiting_confirmation", 1)
            assert bank.failures()[0] == 3

            # Two wrong PINs more make five failures in a row: passkeys and PINs share the lock.
            for _ in range(2):
                page.fill("#pin", "000000")
                page.click("button[type=submit]")
                page.wait_for_selector("h1")
            assert page.locator("h1").inner_text() == "Compte bloqué"
            failures, locked_until = bank.failures()
            assert failures == 0 and locked_until is not None
            assert bank.balance(BOB) == Money(2598)  # the passkey's payment and the PIN's
        finally:
            browser.close()


# Runs on the phishing page: the same options, signed by the same authenticator.
SIGN_ELSEWHERE = """async (o) => {
  const b = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')
                                       + '==='.slice((s.length + 3) % 4)), c => c.charCodeAt(0));
  const e = (x) => btoa(String.fromCharCode(...new Uint8Array(x)))
                     .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const c = await navigator.credentials.get({publicKey: {challenge: b(o.challenge),
    rpId: o.rpId, userVerification: 'required',
    allowCredentials: o.allowCredentials.map(a => ({type: a.type, id: b(a.id)}))}});
  const r = c.response;
  return JSON.stringify({id: c.id, rawId: e(c.rawId), type: c.type, clientExtensionResults: {},
    response: {clientDataJSON: e(r.clientDataJSON), authenticatorData: e(r.authenticatorData),
               signature: e(r.signature), userHandle: r.userHandle ? e(r.userHandle) : null}});
}"""


def test_step_up_with_a_passkey_and_removing_the_last_one_falls_back_to_the_pin(
    live: Live, chromium_path: str
) -> None:
    from playwright.sync_api import sync_playwright

    base, engine, hasher = live
    bank = Bank(engine, hasher)
    with sync_playwright() as pw:
        browser, _, page, _, _ = _browser(pw, chromium_path)
        try:
            _log_in(page, base, bank)
            # A session alone adds no card: without the PIN the card is refused.
            page.fill("#number", "4242 4242 4242 4242")
            page.fill("#exp_month", "12")
            page.fill("#exp_year", "2030")
            page.fill("#cvc", "123")
            page.fill("#card_pin", PIN)
            page.click("#cards button[type=submit]")
            assert "Carte enregistrée." in page.locator(".notice").inner_text()
            _register(page, "Ordinateur")

            # Top up with the passkey as the step-up (no PIN typed).
            page.fill("#amount", "15")
            with page.expect_navigation():
                page.click("#topup button[data-step-up]")
            # The card's first top-up: the sandbox bank's 3-D Secure challenge, then back.
            assert page.locator("h1").inner_text() == "Votre banque (démonstration)"
            page.click("button[value=approve]")
            page.click("button[type=submit]")
            assert "Recharge de 15,00\u00a0€ effectuée" in page.locator(".notice").inner_text()
            assert bank.balance(ALICE) == Money(11_500)
            page.screenshot(path="/tmp/tweetpay-account-passkey-phone.png", full_page=True)

            # Remove the only passkey (with the PIN): the link page offers the PIN alone.
            page.click("#passkeys summary")
            page.fill("#remove_pin", PIN)
            with page.expect_navigation():
                page.click("#passkeys button.danger")
            assert "Clé d’accès retirée." in page.locator(".notice").inner_text()
            assert bank.passkeys() == []
            token, intent_id = bank.intent()
            page.goto(f"{base}/c/{token}")
            assert page.locator("button.passkey").count() == 0
            page.fill("#pin", PIN)
            with page.expect_navigation():
                page.click("button[type=submit]")
            assert page.locator("h1").inner_text() == "Paiement effectué"
            assert bank.status(intent_id) == ("confirmed", 0)
        finally:
            browser.close()


def test_the_apps_to_confirm_list_takes_a_passkey_and_revoking_every_device_asks_for_one(
    live: Live, chromium_path: str
) -> None:
    from playwright.sync_api import sync_playwright

    base, engine, hasher = live
    bank = Bank(engine, hasher)
    with sync_playwright() as pw:
        browser, _, page, _, _ = _browser(pw, chromium_path)
        try:
            _log_in(page, base, bank)
            _register(page, "Téléphone")
            _, intent_id = bank.intent(cents=700, memo="café")
            page.goto(f"{base}/")
            item = page.locator(f"#pay-{intent_id}")
            assert item.locator("button.passkey").is_visible()
            page.screenshot(path="/tmp/tweetpay-app-passkey-phone.png", full_page=True)
            with page.expect_navigation():
                item.locator("button.passkey").click()
            assert bank.status(intent_id) == ("confirmed", 0)
            assert bank.balance(BOB) == Money(700)

            # Every device at once: the passkey (or the PIN) is asked at that moment.
            page.goto(f"{base}/account")
            form = page.locator("form[action='/account/devices/revoke']")
            with page.expect_navigation():
                form.locator("button[data-step-up]").click()
            assert page.goto(f"{base}/account").status == 401  # type: ignore[union-attr]
        finally:
            browser.close()
