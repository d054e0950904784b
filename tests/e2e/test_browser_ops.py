"""The operator page in a real browser (Chromium, JavaScript off): behind the operator
credential only, it shows a message waiting for X's DM budget and the failed rows with their
errors; the operator retries a failed DM, cancels a failed inbox event, looks a user up and
locks then unlocks the account. Every action lands in ops_audit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import Engine, select

from storage.db import make_session_factory
from storage.models import InboxEvent, OpsAudit, OutboxMessage, User, WebSession

try:
    from tests.e2e.live_server import CHROMIUM_ARGS, Live, serve_live
except ImportError:  # tests/e2e itself on sys.path (rootdir-less import mode)
    from live_server import CHROMIUM_ARGS, Live, serve_live  # type: ignore[no-redef]

pytestmark = pytest.mark.browser
TOKEN = "operator-credential-" + "x" * 24
ALICE = 1790000000000000002


@pytest.fixture
def live(sqlite_url: str, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[Live]:
    monkeypatch.setenv("TWEETPAY_OPS_TOKEN", TOKEN)
    yield from serve_live(sqlite_url, sqlite_engine)


def _seed(engine: Engine) -> dict[str, int]:
    now = dt.datetime.now(dt.UTC)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        alice = User(x_user_id=ALICE, handle="alice", lang="fr", pin_hash="x",
                     failed_pin_attempts=0, created_at=now)
        session.add(alice)
        session.flush()
        session.add(WebSession(session_hash="h" * 64, user_id=alice.id, created_at=now,
                               expires_at=now + dt.timedelta(minutes=15)))
        # X's DM budget for the bot is spent: 15 DMs in the last 15 minutes...
        for i in range(15):
            session.add(OutboxMessage(
                dedupe_key=f"sent-{i}", kind="dm", priority=10, recipient_x_user_id=ALICE,
                text="notice", status="sent", attempts=1, remote_id=f"r{i}",
                next_attempt_at=now, created_at=now - dt.timedelta(minutes=10),
                sent_at=now - dt.timedelta(minutes=10)))
        # ...so this one waits.
        session.add(OutboxMessage(dedupe_key="waiting", kind="dm", priority=10,
                                  recipient_x_user_id=ALICE, text="receipt", status="pending",
                                  attempts=0, next_attempt_at=now, created_at=now))
        failed = OutboxMessage(dedupe_key="failed", kind="dm", priority=10,
                               recipient_x_user_id=ALICE, text="your receipt", status="failed",
                               attempts=8, next_attempt_at=now, created_at=now,
                               last_error="gave up after 8 attempts: Transient: send_dm: 503")
        broken = InboxEvent(source="dm", event_id="dm-1", author_x_user_id=ALICE,
                            payload="{}", status="failed", error="KeyError: 'author_id'",
                            received_at=now)
        session.add_all([failed, broken])
        session.flush()
        return {"outbox": failed.id, "inbox": broken.id}


def test_operator_sees_and_steers_in_a_real_browser(live: Live, chromium_path: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, engine, _ = live
    ids = _seed(engine)
    # No credential, a wrong one, or a user's session cookie: nothing.
    assert requests.get(f"{base}/ops", timeout=5).status_code == 401
    assert requests.get(f"{base}/ops", auth=("ops", "wrong"), timeout=5).status_code == 401
    assert requests.get(f"{base}/ops", cookies={"__Host-tweetpay_session": "h" * 43},
                        timeout=5).status_code == 401
    assert requests.post(f"{base}/ops/outbox/{ids['outbox']}/retry", auth=("ops", TOKEN),
                         data={"csrf": "forged"}, timeout=5).status_code == 403

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(java_script_enabled=False,
                                      http_credentials={"username": "ops", "password": TOKEN})
        page = context.new_page()
        page.goto(f"{base}/ops")
        expect(page.locator("#waits")).to_contain_text("dm")
        expect(page.locator("#waits")).to_contain_text("bot budget")
        expect(page.locator(f"#outbox-{ids['outbox']}")).to_contain_text("gave up after 8")
        expect(page.locator(f"#inbox-{ids['inbox']}")).to_contain_text("KeyError")
        page.screenshot(path="/tmp/tweetpay-ops.png", full_page=True)

        page.locator(f"#outbox-{ids['outbox']} button", has_text="Retry").click()
        expect(page.locator("#notice")).to_contain_text("retry outbox")
        expect(page.locator("#failed-outbox")).to_contain_text("None.")
        page.locator(f"#inbox-{ids['inbox']} button", has_text="Cancel").click()
        expect(page.locator("#notice")).to_contain_text("cancel inbox")
        expect(page.locator("#audit")).to_contain_text("retry_outbox")

        page.fill("#q", "@alice")
        page.click("text=Show")
        expect(page.locator("#user-status")).to_have_text("active")
        page.click("text=Lock the account")
        expect(page.locator("#user-status")).to_have_text("locked")
        with make_session_factory(engine)() as session:
            session_row = session.scalars(select(WebSession)).one()
            assert session_row.revoked_at is not None  # her open sessions ended
        page.click("text=Unlock the account")
        expect(page.locator("#user-status")).to_have_text("active")
        expect(page.locator("#user-audit")).to_contain_text("lock_user")
        browser.close()

    with make_session_factory(engine)() as session:
        outbox = session.get(OutboxMessage, ids["outbox"])
        inbox = session.get(InboxEvent, ids["inbox"])
        assert outbox is not None and outbox.status == "pending" and outbox.attempts == 0
        assert inbox is not None and inbox.status == "done"
        assert "operator" in (inbox.error or "")
        trail = [(a.action, a.target, a.outcome) for a in
                 session.scalars(select(OpsAudit).order_by(OpsAudit.id))]
        assert trail == [
            ("retry_outbox", f"outbox:{ids['outbox']}", "done"),
            ("cancel_inbox", f"inbox:{ids['inbox']}", "done"),
            ("lock_user", f"user:{ALICE}", "done"),
            ("unlock_user", f"user:{ALICE}", "done"),
        ]
        assert all(a.actor.startswith("ops@127.0.0.1") for a in session.scalars(select(OpsAudit)))
