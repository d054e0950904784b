"""The tweetpay app in a real browser (Debian's Chromium through Playwright, phone viewport,
JavaScript on): alice signs in with the #compte login link, tweets at the emulator, and the
payment appears in her open app without a reload; she confirms with her PIN; bob's open app
shows the money; the service worker registers and the offline page shows offline; revoking the
device ends its session. And the README's walk-through on the sandbox playground.

The emulator runs over real HTTP, the worker's jobs are driven one tick at a time, uvicorn
serves the app on a free port. Screenshots: /tmp/tweetpay-app-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.emulator.server import EmulatorServer
from bot.sandbox import sandbox_users, seed_accounts
from bot.worker import Runtime, build_runtime, utcnow
from config import load_settings

try:
    from tests.e2e.live_server import CHROMIUM_ARGS, PHONE, PHONE_CONTEXT, free_port, serve_live
except ImportError:  # tests/e2e itself on sys.path (rootdir-less import mode)
    from live_server import (  # type: ignore[no-redef]
        CHROMIUM_ARGS,
        PHONE,
        PHONE_CONTEXT,
        free_port,
        serve_live,
    )

pytestmark = pytest.mark.browser

LOGIN = re.compile(r"https?://\S+/l/([A-Za-z0-9_\-]+)")
PIN_ALICE = "482916"


@pytest.fixture
def bot(sqlite_url: str, sqlite_engine: Engine) -> Iterator[tuple[str, Runtime, Any]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with EmulatorServer() as emulator:
        emulator.state.set_rate_limit("dm_events", 10_000)
        settings = load_settings(database_url=sqlite_url, public_base_url=base)
        runtime = build_runtime(settings, base_url=emulator.base_url,
                                credentials=emulator.credentials, clock=utcnow,
                                engine=sqlite_engine)
        seed_accounts(runtime.sessions, settings, sandbox_users(emulator.state), utcnow())
        for live in serve_live(sqlite_url, sqlite_engine, port=port,
                               x_api_base_url=emulator.base_url):
            yield live[0], runtime, emulator


def _login_link(runtime: Runtime, emulator: Any, handle: str) -> str:
    emulator.state.send_dm(str(emulator.state.find_user(handle).id),
                           str(emulator.state.bot_user_id), "#compte")
    runtime.tick()
    uid = str(emulator.state.find_user(handle).id)
    texts = [d.text for d in emulator.state.bot_posts()["dms"] if str(d.recipient_id) == uid]
    match = LOGIN.search(texts[-1])
    assert match, texts
    return match.group(0)


def _sign_in(browser: Any, runtime: Runtime, emulator: Any, handle: str) -> Any:
    context = browser.new_context(**PHONE_CONTEXT)
    page = context.new_page()
    page.goto(_login_link(runtime, emulator, handle))
    page.click("button[type=submit]")  # "Continuer": spends the link, opens the session
    page.wait_for_url("**/account")
    page.goto(page.url.replace("/account", "/"))
    return page


def test_pay_in_the_app_live_on_a_phone(bot: tuple[str, Runtime, Any],
                                        chromium_path: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, runtime, emulator = bot
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            welcome = browser.new_page(viewport=PHONE, locale="fr-FR")
            welcome.goto(base + "/")
            expect(welcome.locator("a.button")).to_have_text("Se connecter avec X")
            welcome.screenshot(path="/tmp/tweetpay-app-welcome.png", full_page=True)

            alice = _sign_in(browser, runtime, emulator, "alice")
            expect(alice.locator("#to-confirm")).to_contain_text("Rien à confirmer")
            # The service worker registers and takes the page.
            scope = alice.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
            assert scope == base + "/"
            bob = _sign_in(browser, runtime, emulator, "bob")
            expect(bob.locator("#balance")).to_have_text("50,00\u00a0€")
            alice.wait_for_timeout(1500)  # both pages have their live stream open

            # A tweet arrives at the emulator: the payment appears in alice's open app.
            emulator.state.post_tweet(str(emulator.state.find_user("alice").id),
                                      "@Smoney #envoyer 12,99€ @bob merci pour le resto")
            runtime.tick()
            card = alice.locator("article.pay")
            expect(card).to_contain_text("12,99", timeout=10_000)
            expect(card).to_contain_text("@bob")
            alice.screenshot(path="/tmp/tweetpay-app-to-confirm.png", full_page=True)
            assert alice.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

            card.locator("input[name=pin]").fill(PIN_ALICE)
            card.locator("button[type=submit]").first.click()
            expect(alice.locator(".notice")).to_contain_text("12,99")
            expect(alice.locator("#balance")).to_have_text("87,01\u00a0€")
            alice.screenshot(path="/tmp/tweetpay-app-done.png", full_page=True)

            # Bob's open app shows the money, without a reload.
            runtime.tick()
            expect(bob.locator("#balance")).to_have_text("62,99\u00a0€", timeout=10_000)
            expect(bob.locator("#history")).to_contain_text("@alice")
            bob.screenshot(path="/tmp/tweetpay-app-received.png", full_page=True)

            # Offline: the service worker serves the offline page.
            alice.context.set_offline(True)
            alice.goto(base + "/")
            expect(alice.locator("#offline")).to_be_visible()
            alice.screenshot(path="/tmp/tweetpay-app-offline.png", full_page=True)
            alice.context.set_offline(False)

            # Revoking the device ends its session: the app greets a stranger again.
            alice.goto(base + "/account")
            expect(alice.locator("#devices")).to_contain_text("cet appareil")
            alice.locator("#devices").screenshot(path="/tmp/tweetpay-app-devices.png")
            alice.locator("#devices li form button").first.click()
            expect(alice.locator("a.button")).to_have_text("Se connecter avec X")
            assert alice.goto(base + "/account").status == 401
        finally:
            browser.close()


def test_the_readme_walk_through_on_the_playground(bot: tuple[str, Runtime, Any],
                                                   chromium_path: str) -> None:
    """A newcomer opens the playground, opens alice's app, tweets as alice, confirms in her
    app with her PIN, and sees bob's app receive the money (README, "Try it")."""
    from playwright.sync_api import expect, sync_playwright

    base, runtime, _ = bot
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(**PHONE_CONTEXT)
            play = context.new_page()
            play.goto(base + "/playground?as=alice")
            expect(play.locator("h1")).to_have_text("Bac à sable")
            app = context.new_page()
            app.goto(base + "/playground?as=alice")
            app.click("form[action='/playground/app'] button")
            expect(app.locator("#to-confirm")).to_contain_text("Rien à confirmer")
            app.wait_for_timeout(1500)  # the live stream is open

            play.click("form[action='/playground/tweet'] button")  # the text is ready
            runtime.tick()
            expect(play.locator("#timeline")).to_contain_text("app tweetpay", timeout=10_000)
            play.screenshot(path="/tmp/tweetpay-playground.png", full_page=True)
            card = app.locator("article.pay")
            expect(card).to_contain_text("12,99", timeout=10_000)
            card.locator("input[name=pin]").fill(PIN_ALICE)
            card.locator("button[type=submit]").first.click()
            expect(app.locator(".notice")).to_contain_text("12,99")
            runtime.tick()
            assert "/c/" not in play.locator("#dms").inner_text()  # no link DM was needed

            bob = context.new_page()
            bob.goto(base + "/playground?as=bob")
            bob.click("form[action='/playground/app'] button")
            expect(bob.locator("#balance")).to_have_text("62,99\u00a0€")
            expect(bob.locator("#history")).to_contain_text("@alice")
        finally:
            browser.close()


def test_a_private_transfer_by_x_chat_on_the_playground(bot: tuple[str, Runtime, Any],
                                                        chromium_path: str) -> None:
    """carol has no app device: she writes to the bot by X Chat from the playground, the link
    comes back encrypted in her conversation (shown as her app decrypts it), she confirms."""
    from playwright.sync_api import expect, sync_playwright

    base, runtime, emulator = bot
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(**PHONE_CONTEXT)
            play = context.new_page()
            play.goto(base + "/playground?as=bob")
            play.fill("#dm", "#envoyer 3€ @alice pour le pain")
            play.click("form[action='/playground/dm'] button[formaction='/playground/chat']")
            runtime.tick()
            dms = play.locator("#dms")
            expect(dms).to_contain_text("X Chat, chiffré", timeout=10_000)
            expect(dms.locator("li.bot")).to_contain_text("/c/", timeout=10_000)
            play.screenshot(path="/tmp/tweetpay-playground-xchat.png", full_page=True)
            assert not [d for d in emulator.state.bot_posts()["dms"]
                        if str(d.recipient_id) == str(emulator.state.find_user("bob").id)]
            dms.locator("li.bot a").first.click()
            play.fill("input[name=pin]", "739251")
            play.click("button[type=submit]")
            expect(play.locator("body")).to_contain_text("3,00")
            runtime.tick()
            play.goto(base + "/playground?as=alice")
            expect(play.locator("#dms")).to_contain_text("3,00")
        finally:
            browser.close()
