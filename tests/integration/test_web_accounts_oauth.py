""""Sign in with X": OAuth 2.0 authorization code with PKCE, tweepy against the emulator over
real HTTP, our pages through Starlette's TestClient, on SQLite and PostgreSQL.

The browser's part is played by hand: follow our redirect to the emulator's authorize page,
approve it as a sandbox user (the form ``bot.emulator.oauth`` serves), and bring X's redirect
back to our callback.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from bot.security import PinHasher
from bot.web.app import create_app
from config import load_settings
from handlers.money import Money
from storage.db import make_session_factory
from storage.ledger import Ledger, user_account_code
from storage.models import ConfirmationToken, Contact, User, WebSession

try:
    from tests.fakes import FakeClock as Clock
except ImportError:  # tests/ itself on sys.path
    from fakes import FakeClock as Clock  # type: ignore[no-redef]

BASE = "http://127.0.0.1:8000"
PIN = "482916"
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
CAROL_ID = 1790000000000000004
ALICE_ID = 1790000000000000002




@pytest.fixture
def site(engine: Engine, emulator) -> Iterator[tuple[TestClient, sessionmaker[Session], Clock]]:  # type: ignore[no-untyped-def]
    clock = Clock(T0)
    app = create_app(
        load_settings(public_base_url=BASE),
        make_session_factory(engine),
        clock=clock,
        pin_hasher=PinHasher("test-pepper", time_cost=1, memory_kib=1024),
        x_api_base_url=emulator.base_url,
    )
    with TestClient(app, base_url=BASE) as client:
        yield client, make_session_factory(engine), clock


def _approve(client: TestClient, username: str, decision: str = "allow") -> str:
    """Start at /auth/x, approve on the emulator's page; returns our callback path+query."""
    start = client.get("/auth/x", follow_redirects=False)
    assert start.status_code == 303
    cookie = start.headers["set-cookie"]
    assert cookie.startswith("tp_oauth=") and "httponly" in cookie.lower()
    assert "path=/auth/x" in cookie.lower() and "samesite=lax" in cookie.lower()
    authorize = start.headers["location"]
    assert "/i/oauth2/authorize?" in authorize and "code_challenge_method=S256" in authorize
    page = requests.get(authorize, timeout=5)
    assert page.status_code == 200 and "Authorize" in page.text
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'name="([a-z_]+)" value="([^"]*)"', page.text)
    }
    assert fields["redirect_uri"] == BASE + "/auth/x/callback"
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(authorize))
    back = requests.post(
        origin + "/i/oauth2/authorize",
        data={**fields, "username": username, "decision": decision},
        allow_redirects=False,
        timeout=5,
    )
    assert back.status_code == 302
    location = back.headers["location"]
    assert location.startswith(BASE + "/auth/x/callback?")
    return location[len(BASE):]


def test_sign_in_with_x_ends_in_an_account_bound_to_the_numeric_id(site) -> None:  # type: ignore[no-untyped-def]
    client, sessions, _ = site
    callback = _approve(client, "carol")
    to_form = client.get(callback, follow_redirects=False)
    assert to_form.status_code == 303, to_form.text
    form_path = to_form.headers["location"]
    assert form_path.startswith("/s/")
    form = client.get(form_path)
    assert form.status_code == 200 and "@carol" in form.text

    done = client.post(form_path.split("?")[0], data={"pin": PIN, "pin_again": PIN,
                                                      "terms": "yes"})
    assert done.status_code == 200 and "Bienvenue @carol" in done.text
    with sessions() as session:
        user = session.scalars(select(User).where(User.x_user_id == CAROL_ID)).one()
        assert user.handle == "carol" and user.status == "active"
        token = session.scalars(select(ConfirmationToken)).one()
        assert token.purpose == "signup" and token.used_at == T0
        assert token.x_user_id == CAROL_ID
        assert session.get(Contact, CAROL_ID).dm_opt_in is True
    assert Ledger(sessions.kw["bind"]).balance(user_account_code(CAROL_ID)) == Money(0)
    assert client.get("/account").status_code == 200


def test_sign_in_with_x_opens_a_session_for_an_existing_account(site) -> None:  # type: ignore[no-untyped-def]
    client, sessions, _ = site
    with sessions.begin() as session:
        session.add(User(x_user_id=ALICE_ID, handle="alice", pin_hash="x",
                         failed_pin_attempts=0, created_at=T0))
        session.flush()
        Ledger(sessions.kw["bind"]).open_account(
            user_account_code(ALICE_ID), "user", 1, conn=session.connection()
        )
    signed_in = client.get(_approve(client, "alice"), follow_redirects=False)
    assert signed_in.status_code == 200 and "@alice" in signed_in.text
    cookie = next(c for c in signed_in.headers.get_list("set-cookie") if "tp_session=" in c)
    assert "samesite=strict" in cookie.lower() and "httponly" in cookie.lower()
    assert 'href="/account"' in signed_in.text
    assert client.get("/account").status_code == 200
    with sessions() as session:
        assert len(session.scalars(select(WebSession)).all()) == 1
        assert session.scalars(select(ConfirmationToken)).first() is None


def test_a_callback_without_our_state_is_refused(site) -> None:  # type: ignore[no-untyped-def]
    client, sessions, _ = site
    callback = _approve(client, "carol")
    tampered = re.sub(r"state=[^&]+", "state=forged", callback)
    refused = client.get(tampered, follow_redirects=False)
    assert refused.status_code == 400 and "Recommencez" in refused.text
    # Another browser (no sealed cookie) cannot finish someone else's flow either.
    stranger = TestClient(client.app, base_url=BASE)
    assert stranger.get(callback, follow_redirects=False).status_code == 400
    with sessions() as session:
        assert session.scalars(select(User)).first() is None


def test_a_denied_authorization_creates_nothing(site) -> None:  # type: ignore[no-untyped-def]
    client, sessions, _ = site
    callback = _approve(client, "carol", decision="deny")
    assert "error=access_denied" in callback
    denied = client.get(callback, follow_redirects=False)
    assert denied.status_code == 403 and "annulée ou refusée" in denied.text
    with sessions() as session:
        assert session.scalars(select(ConfirmationToken)).first() is None


def test_the_sealed_flow_cookie_expires(site) -> None:  # type: ignore[no-untyped-def]
    client, _, clock = site
    callback = _approve(client, "carol")
    clock.now += dt.timedelta(minutes=6)
    assert client.get(callback, follow_redirects=False).status_code == 400
