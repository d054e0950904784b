"""Sign-up and account pages over HTTP (Starlette's TestClient) on real SQLite and PostgreSQL.

Each test starts from the migrated schema, writes the one-time links the DM commands would
issue (``ConfirmationToken`` rows, only the SHA-256 stored), drives the pages and checks the
database exactly: users, wallets, tokens, sessions, charges, balances, outbox.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from bot.payments.sandbox import SandboxProvider
from bot.security import PinHasher, hash_token, new_token
from bot.web.app import create_app
from config import load_settings
from handlers.money import Money
from handlers.times import datetime_text
from storage.db import make_session_factory
from storage.ledger import CARD_FUNDING, ESCROW, Ledger, user_account_code
from storage.models import (
    Card,
    Charge,
    ConfirmationToken,
    Contact,
    EscrowHold,
    OutboxMessage,
    PaymentIntent,
    Posting,
    User,
    WebSession,
)
from storage.sealing import Sealer

try:
    from tests.fakes import FakeClock as Clock
except ImportError:  # tests/ itself on sys.path
    from fakes import FakeClock as Clock  # type: ignore[no-redef]

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
ALICE, CAROL, ACF = 111, 333, 444
PIN, NEW_PIN = "482916", "305817"
BASE = "http://127.0.0.1:8000"




def cheap_hasher() -> PinHasher:
    return PinHasher("test-pepper", time_cost=1, memory_kib=1024)


@dataclass
class World:
    engine: Engine
    sessions: sessionmaker[Session]
    ledger: Ledger
    clock: Clock
    hasher: PinHasher
    client: TestClient
    provider: SandboxProvider

    def token(self, purpose: str, x_user_id: int, *, minutes: int = 10) -> str:
        token, token_hash = new_token()
        with self.sessions.begin() as session:
            session.add(
                ConfirmationToken(
                    token_hash=token_hash,
                    purpose=purpose,
                    x_user_id=x_user_id,
                    created_at=self.clock(),
                    expires_at=self.clock() + dt.timedelta(minutes=minutes),
                )
            )
        return token

    def contact(self, x_user_id: int, handle: str, lang: str = "fr") -> None:
        with self.sessions.begin() as session:
            session.add(
                Contact(
                    x_user_id=x_user_id, handle=handle, dm_opt_in=True, stopped=False,
                    lang=lang, updated_at=self.clock(),
                )
            )

    def user(self, x_user_id: int, handle: str, *, cents: int = 0, kind: str = "personal",
             lang: str = "fr") -> None:
        with self.sessions.begin() as session:
            user = User(
                x_user_id=x_user_id, handle=handle, kind=kind, lang=lang,
                pin_hash=self.hasher.hash(PIN), failed_pin_attempts=0,
                terms_accepted_at=self.clock(), created_at=self.clock(),
            )
            session.add(user)
            session.flush()
            self.ledger.open_account(
                user_account_code(x_user_id), "pro" if kind == "pro" else "user", user.id,
                conn=session.connection(),
            )
        if cents:
            self.ledger.post_transfer(
                idempotency_key=f"seed:{x_user_id}", debit=CARD_FUNDING,
                credit=user_account_code(x_user_id), amount=Money(cents), kind="topup",
            )

    def row(self, model: Any, **where: Any) -> Any:
        with self.sessions() as session:
            return session.scalars(select(model).filter_by(**where)).first()

    def count(self, model: Any, **where: Any) -> int:
        with self.sessions() as session:
            return int(
                session.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0
            )

    def balance(self, x_user_id: int) -> Money:
        return self.ledger.balance(user_account_code(x_user_id))

    def log_in(self, x_user_id: int) -> str:
        """Through the login link, as #compte would send it; returns the CSRF token."""
        token = self.token("login", x_user_id)
        response = self.client.post(f"/l/{token}", follow_redirects=False)
        assert response.status_code == 303, response.text
        return self.csrf()

    def csrf(self) -> str:
        page = self.client.get("/account")
        assert page.status_code == 200, page.text
        match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
        assert match
        return match.group(1)


def make_world(engine: Engine, *, base_url: str = BASE, **settings: Any) -> World:
    clock = Clock(T0)
    hasher = cheap_hasher()
    provider = SandboxProvider(clock=clock)
    app = create_app(
        load_settings(public_base_url=base_url, **settings),
        make_session_factory(engine),
        clock=clock,
        pin_hasher=hasher,
        sealer=Sealer([k.get_secret_value() for k in load_settings().data_keys]),
        payment_provider=provider,
    )
    return World(
        engine=engine, sessions=make_session_factory(engine), ledger=Ledger(engine),
        clock=clock, hasher=hasher, client=TestClient(app, base_url=base_url),
        provider=provider,
    )


@pytest.fixture
def world(engine: Engine) -> Iterator[World]:
    w = make_world(engine)
    with w.client:
        yield w


def signup_form(pin: str = PIN, again: str | None = None, terms: bool = True) -> dict[str, str]:
    form = {"pin": pin, "pin_again": pin if again is None else again}
    if terms:
        form["terms"] = "yes"
    return form


# -- sign-up ---------------------------------------------------------------------------------


def test_signup_through_the_link_binds_user_and_wallet_to_the_numeric_id(world: World) -> None:
    world.contact(CAROL, "carol")
    token = world.token("signup", CAROL)

    page = world.client.get(f"/s/{token}")
    assert page.status_code == 200
    assert "Ouvrir votre compte" in page.text and "@carol" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    # Only our own script file (passkeys), never inline script.
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # GET writes nothing.
    assert world.row(ConfirmationToken, token_hash=hash_token(token)).used_at is None
    assert world.count(User, x_user_id=CAROL) == 0

    done = world.client.post(f"/s/{token}", data=signup_form())
    assert done.status_code == 200, done.text
    assert "Compte ouvert" in done.text and "Bienvenue @carol" in done.text
    assert "Aucun paiement ne vous attendait" in done.text

    user = world.row(User, x_user_id=CAROL)
    assert user.handle == "carol" and user.status == "active" and user.kind == "personal"
    assert user.terms_accepted_at == T0 and user.lang == "fr"
    assert world.hasher.verify(user.pin_hash, PIN) and PIN not in user.pin_hash
    assert world.balance(CAROL) == Money(0)
    assert world.row(ConfirmationToken, token_hash=hash_token(token)).used_at == T0
    assert world.row(Contact, x_user_id=CAROL).dm_opt_in is True
    # Signed in straight away: the account page opens with the session cookie.
    assert world.client.get("/account").status_code == 200

    again = world.client.post(f"/s/{token}", data=signup_form())
    assert again.status_code == 409 and "déjà servi" in again.text
    assert world.count(User, x_user_id=CAROL) == 1


def test_signup_claims_the_money_waiting_in_escrow(world: World) -> None:
    world.user(ALICE, "alice", cents=5000)
    world.contact(CAROL, "carol")
    with world.sessions.begin() as session:
        intent = PaymentIntent(
            reference="ESC001", source_event_id="tweet:1", kind="send", channel="tweet",
            lang="fr", initiator_x_user_id=ALICE, payer_x_user_id=ALICE,
            payee_x_user_id=CAROL, payee_handle="carol", amount_cents=1299, memo="resto",
            status="confirmed", wrong_pin_attempts=0, created_at=T0, expires_at=T0,
        )
        session.add(intent)
        session.flush()
        hold = world.ledger.post_transfer(
            idempotency_key=f"intent:{intent.id}", debit=user_account_code(ALICE),
            credit=ESCROW, amount=Money(1299), kind="escrow", conn=session.connection(),
        )
        session.add(
            EscrowHold(
                intent_id=intent.id, sender_x_user_id=ALICE, recipient_x_user_id=CAROL,
                recipient_handle="carol", amount_cents=1299, status="held",
                hold_transfer_id=hold.transfer_id, created_at=T0,
                claim_deadline=T0 + dt.timedelta(days=14),
            )
        )
    token = world.token("signup", CAROL)
    done = world.client.post(f"/s/{token}", data=signup_form())
    assert done.status_code == 200, done.text
    assert "12,99\u00a0€ vous attendaient (un paiement)" in done.text
    assert world.balance(CAROL) == Money(1299)
    assert world.ledger.balance(ESCROW) == Money(0)
    assert world.row(EscrowHold, recipient_x_user_id=CAROL).status == "claimed"
    assert world.count(OutboxMessage, recipient_x_user_id=CAROL) == 1
    account = world.client.get("/account")
    # Claimed escrow names who sent it, not "money on hold".
    assert "+12,99" in account.text and "reçu de @alice" in account.text
    assert "Argent en attente" not in account.text


def test_expired_signup_link_is_410_and_opens_nothing(world: World) -> None:
    token = world.token("signup", CAROL)
    world.clock.advance(minutes=10)
    assert world.client.get(f"/s/{token}").status_code == 410
    gone = world.client.post(f"/s/{token}", data=signup_form())
    assert gone.status_code == 410 and "#inscription" in gone.text
    assert world.count(User) == 0


def test_unknown_or_wrong_purpose_links_are_404(world: World) -> None:
    assert world.client.get("/s/" + "x" * 43).status_code == 404
    assert world.client.get("/s/short").status_code == 404
    login = world.token("login", CAROL)
    assert world.client.get(f"/s/{login}").status_code == 404
    assert world.client.post(f"/s/{login}", data=signup_form()).status_code == 404


@pytest.mark.parametrize(
    ("pin", "again", "message"),
    [
        ("123456", None, "Une suite de chiffres"),
        ("000000", None, "Six fois le même chiffre"),
        ("121212", None, "Un motif répété"),
        ("112233", None, "Ce code fait partie des plus utilisés"),
        ("4829", None, "exactement 6 chiffres"),
        ("48291a", None, "exactement 6 chiffres"),
        (PIN, "482917", "ne sont pas identiques"),
    ],
)
def test_weak_pin_is_refused_with_its_own_message(
    world: World, pin: str, again: str | None, message: str
) -> None:
    token = world.token("signup", CAROL)
    refused = world.client.post(f"/s/{token}", data=signup_form(pin, again))
    assert refused.status_code == 400
    assert message in refused.text
    assert world.count(User) == 0
    assert world.row(ConfirmationToken, token_hash=hash_token(token)).used_at is None


def test_terms_are_required(world: World) -> None:
    token = world.token("signup", CAROL)
    refused = world.client.post(f"/s/{token}", data=signup_form(terms=False))
    assert refused.status_code == 400 and "Cochez la case" in refused.text
    assert world.count(User) == 0
    english = world.client.post(f"/s/{token}?lang=en", data=signup_form(terms=False))
    assert "Tick the box to accept the terms." in english.text


def test_signup_refuses_a_cross_site_post_and_an_existing_member(world: World) -> None:
    world.user(ALICE, "alice")
    token = world.token("signup", ALICE)
    assert world.client.get(f"/s/{token}").status_code == 409
    forged = world.client.post(
        f"/s/{token}", data=signup_form(), headers={"origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    member = world.client.post(f"/s/{token}", data=signup_form())
    assert member.status_code == 409 and "#compte" in member.text
    assert world.row(ConfirmationToken, token_hash=hash_token(token)).used_at is None


def test_signup_page_in_english(world: World) -> None:
    world.contact(CAROL, "carol", lang="en")
    token = world.token("signup", CAROL)
    page = world.client.get(f"/s/{token}")
    assert "Open your account" in page.text and "Terms of use" in page.text
    assert 'lang="en"' in page.text
    assert "Ouvrir votre compte" in world.client.get(f"/s/{token}?lang=fr").text


# -- login link and session --------------------------------------------------------------------


def test_login_link_opens_a_device_session_httponly_strict(world: World) -> None:
    world.user(ALICE, "alice", cents=2500)
    token = world.token("login", ALICE)
    page = world.client.get(f"/l/{token}")
    assert page.status_code == 200 and "Continuer" in page.text and "@alice" in page.text
    assert world.row(ConfirmationToken, token_hash=hash_token(token)).used_at is None
    assert world.count(WebSession) == 0

    response = world.client.post(f"/l/{token}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/account"
    cookie = response.headers["set-cookie"]
    attrs = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith("tp_session=")
    assert {"httponly", "path", "max-age", "samesite"} <= attrs
    # A device session (the app's): remembered 30 days, revocable; the PIN is still asked.
    assert "samesite=strict" in cookie.lower() and "max-age=2592000" in cookie.lower()
    assert "secure" not in attrs  # the sandbox serves plain http
    value = cookie.split(";")[0].split("=", 1)[1]
    stored = world.row(WebSession)
    assert stored.session_hash == hash_token(value) and value not in stored.session_hash
    assert stored.expires_at == T0 + dt.timedelta(days=30)

    account = world.client.get("/account")
    assert account.status_code == 200
    assert "Compte de @alice" in account.text and "25,00\u00a0€" in account.text
    assert account.headers["cache-control"] == "no-store"
    assert world.client.post(f"/l/{token}", follow_redirects=False).status_code == 409


def test_session_cookie_is_secure_on_https(engine: Engine) -> None:
    world = make_world(engine, base_url="https://pay.example")
    with world.client:
        world.user(ALICE, "alice")
        token = world.token("login", ALICE)
        response = world.client.post(f"/l/{token}", follow_redirects=False)
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-tp_session=")
        assert "secure" in cookie.lower() and "httponly" in cookie.lower()
        assert world.client.get("/account").status_code == 200


def test_login_link_refusals(world: World) -> None:
    world.user(ALICE, "alice")
    expired = world.token("login", ALICE, minutes=1)
    world.clock.advance(minutes=2)
    assert world.client.post(f"/l/{expired}", follow_redirects=False).status_code == 410
    stranger = world.token("login", CAROL)
    refused = world.client.post(f"/l/{stranger}", follow_redirects=False)
    assert refused.status_code == 403 and "#inscription" in refused.text
    token = world.token("login", ALICE)
    forged = world.client.post(
        f"/l/{token}", headers={"origin": "https://evil.example"}, follow_redirects=False
    )
    assert forged.status_code == 403 and world.count(WebSession) == 0


def test_session_expires_with_the_clock(world: World) -> None:
    world.user(ALICE, "alice")
    world.log_in(ALICE)
    world.clock.advance(days=29, hours=23, minutes=59, seconds=59)
    assert world.client.get("/account").status_code == 200
    world.clock.advance(seconds=1)
    expired = world.client.get("/account")
    assert expired.status_code == 401 and "#compte" in expired.text


def test_no_session_no_account_page(world: World) -> None:
    assert world.client.get("/account").status_code == 401
    world.client.cookies.set("tp_session", "A" * 43)
    assert world.client.get("/account").status_code == 401
    assert world.client.post("/account/logout", data={"csrf": "x"}).status_code == 401


def test_logout_revokes_the_session(world: World) -> None:
    world.user(ALICE, "alice")
    csrf = world.log_in(ALICE)
    out = world.client.post("/account/logout", data={"csrf": csrf})
    assert out.status_code == 200 and "déconnecté" in out.text
    assert world.row(WebSession).revoked_at == T0
    assert world.client.get("/account").status_code == 401


def test_posts_without_the_session_csrf_token_are_refused(world: World) -> None:
    world.user(ALICE, "alice")
    csrf = world.log_in(ALICE)
    form = {"old_pin": PIN, "new_pin": NEW_PIN, "new_pin_again": NEW_PIN}
    assert world.client.post("/account/pin", data=form).status_code == 403
    assert world.client.post("/account/pin", data={**form, "csrf": "0" * 64}).status_code == 403
    assert world.client.post("/account/logout", data={}).status_code == 403
    forged = world.client.post(
        "/account/pin", data={**form, "csrf": csrf}, headers={"origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    assert world.hasher.verify(world.row(User, x_user_id=ALICE).pin_hash, PIN)
    # Another session's token is no good either: it is bound to this session's secret.
    other = TestClient(world.client.app, base_url=BASE)
    world.token("login", ALICE)
    assert other.post("/account/pin", data={**form, "csrf": csrf}).status_code == 401


# -- PIN change, lockout, unlink -----------------------------------------------------------------


def test_change_pin_needs_the_old_one_and_follows_the_rules(world: World) -> None:
    world.user(ALICE, "alice")
    csrf = world.log_in(ALICE)

    wrong = world.client.post(
        "/account/pin",
        data={"csrf": csrf, "old_pin": "999111", "new_pin": NEW_PIN, "new_pin_again": NEW_PIN},
    )
    assert wrong.status_code == 400 and "Code erroné. Encore 4 essais" in wrong.text
    assert world.row(User, x_user_id=ALICE).failed_pin_attempts == 1

    weak = world.client.post(
        "/account/pin",
        data={"csrf": csrf, "old_pin": PIN, "new_pin": "654321", "new_pin_again": "654321"},
    )
    assert weak.status_code == 400 and "Une suite de chiffres" in weak.text
    same = world.client.post(
        "/account/pin",
        data={"csrf": csrf, "old_pin": PIN, "new_pin": PIN, "new_pin_again": PIN},
    )
    assert same.status_code == 400 and "différent de l’ancien" in same.text
    assert world.row(User, x_user_id=ALICE).failed_pin_attempts == 1  # no attempt spent

    done = world.client.post(
        "/account/pin",
        data={"csrf": csrf, "old_pin": PIN, "new_pin": NEW_PIN, "new_pin_again": NEW_PIN},
    )
    assert done.status_code == 200 and "Votre code secret est changé." in done.text
    user = world.row(User, x_user_id=ALICE)
    assert world.hasher.verify(user.pin_hash, NEW_PIN) and not world.hasher.verify(
        user.pin_hash, PIN
    )
    assert user.failed_pin_attempts == 0


def test_wrong_pins_lock_the_account_alert_by_dm_and_end_the_session(world: World) -> None:
    world.user(ALICE, "alice")
    csrf = world.log_in(ALICE)
    form = {"csrf": csrf, "old_pin": "999111", "new_pin": NEW_PIN, "new_pin_again": NEW_PIN}
    for left in ("4 essais", "3 essais", "2 essais", "un essai"):
        assert f"Encore {left}" in world.client.post("/account/pin", data=form).text
    locked = world.client.post("/account/pin", data=form)
    assert locked.status_code == 429 and "bloqué jusqu’au 01/05/2024 à 14:30" in locked.text
    assert int(locked.headers["retry-after"]) == 1800
    user = world.row(User, x_user_id=ALICE)
    assert user.locked_until == T0 + dt.timedelta(minutes=30)
    alert = world.row(OutboxMessage, recipient_x_user_id=ALICE)
    assert alert.kind == "dm" and "Alerte sécurité" in alert.text
    assert world.row(WebSession).revoked_at == T0
    assert world.client.get("/account").status_code == 401


def test_unlink_is_refused_while_money_remains_then_works(world: World) -> None:
    world.user(ALICE, "alice", cents=1250)
    world.contact(ALICE, "alice")
    csrf = world.log_in(ALICE)
    blocked = world.client.post("/account/unlink", data={"csrf": csrf, "pin": PIN})
    assert blocked.status_code == 409
    assert "il reste 12,50\u00a0€" in blocked.text and "#envoyer 12,50€ @ami" in blocked.text
    assert world.row(User, x_user_id=ALICE).status == "active"

    # Spend it (as a payment would), then unlink with a wrong PIN, then the right one.
    world.ledger.post_transfer(
        idempotency_key="spend", debit=user_account_code(ALICE), credit=CARD_FUNDING,
        amount=Money(1250), kind="test",
    )
    wrong = world.client.post("/account/unlink", data={"csrf": csrf, "pin": "999111"})
    assert wrong.status_code == 400 and "Code erroné" in wrong.text
    done = world.client.post("/account/unlink", data={"csrf": csrf, "pin": PIN})
    assert done.status_code == 200 and "Compte délié" in done.text
    user = world.row(User, x_user_id=ALICE)
    assert user.status == "unlinked" and user.pin_hash is None
    assert world.row(WebSession).revoked_at == T0
    assert world.row(Contact, x_user_id=ALICE).dm_opt_in is False
    assert world.client.get("/account").status_code == 401
    # A login link no longer works; signing up again brings the same wallet back.
    assert world.client.post(f"/l/{world.token('login', ALICE)}").status_code == 403
    back = world.client.post(f"/s/{world.token('signup', ALICE)}", data=signup_form(NEW_PIN))
    assert back.status_code == 200 and "Compte rouvert" in back.text
    user = world.row(User, x_user_id=ALICE)
    assert user.status == "active" and world.hasher.verify(user.pin_hash, NEW_PIN)
    assert world.count(User, x_user_id=ALICE) == 1


# -- cards and top-ups ---------------------------------------------------------------------------


def _add_card(world: World, csrf: str, number: str) -> Any:
    return world.client.post(
        "/account/cards",
        data={"csrf": csrf, "number": number, "exp_month": "12", "exp_year": "2030",
              "cvc": "123", "pin": PIN},
    )


def through_3ds(world: World, challenge: Any, decision: str = "approve") -> Any:
    """On the sandbox bank's page: answer, then carry its signed result back."""
    assert "/sandbox/3ds/" in str(challenge.url), challenge.url
    answered = world.client.post(str(challenge.url), data={"decision": decision})
    fields = dict(re.findall(r'name="(charge|result)" value="([^"]+)"', answered.text))
    return world.client.post("/account/topup/3ds", data=fields)


def _nonce(world: World) -> str:
    match = re.search(r'name="nonce" value="([A-Za-z0-9_-]+)"', world.client.get("/account").text)
    assert match
    return match.group(1)


def test_top_up_through_the_page_moves_exactly_the_amount(world: World) -> None:
    world.user(ALICE, "alice", cents=100)
    csrf = world.log_in(ALICE)
    added = _add_card(world, csrf, "5555 5555 5555 4444")
    assert added.status_code == 200 and "Carte enregistrée." in added.text
    assert "Mastercard •••• 4444" in added.text and "5555" not in added.text
    card = re.search(r'<option value="(\d+)">', added.text)
    assert card
    funding_before = world.ledger.balance(CARD_FUNDING)

    nonce = _nonce(world)
    form = {"csrf": csrf, "amount": "20,50", "card": card.group(1), "nonce": nonce, "pin": PIN}
    # A card's first top-up goes through the issuer's 3-D Secure page.
    done = through_3ds(world, world.client.post("/account/topup", data=form))
    assert done.status_code == 200
    assert "Recharge de 20,50\u00a0€ effectuée" in done.text
    assert world.balance(ALICE) == Money(2150)
    assert world.ledger.balance(CARD_FUNDING) == funding_before - Money(2050)
    # The same form posted again (a reload, a double tap) charges nothing more.
    world.client.post("/account/topup", data=form)
    assert world.balance(ALICE) == Money(2150) and world.provider.charge_count() == 1
    assert world.count(Charge, status="succeeded") == 1


def test_the_history_shows_the_users_time_without_calling_it_utc(world: World) -> None:
    # The history's times are in the users' time zone (Europe/Paris by default), as every
    # other time on the pages: both the account page and the app show the top-up's time so,
    # and none says "UTC" beside it (it once did, beside a Paris time).
    world.user(ALICE, "alice", cents=100)
    world.log_in(ALICE)
    with world.sessions() as session:
        posted = session.scalars(select(Posting.created_at).where(Posting.amount_cents > 0)
                                 .order_by(Posting.id.desc()).limit(1)).one()
    expected = datetime_text(posted, "fr", "Europe/Paris")
    for path in ("/account", "/"):
        page = world.client.get(path)
        assert page.status_code == 200, path
        start = page.text.index('<ul class="history">')
        history = page.text[start:page.text.index("</ul>", start)]
        assert expected in history and "UTC" not in history, path
    # The signed-in devices too: in the users' time, in their language's way.
    assert "UTC" not in world.client.get("/account").text


def test_declined_top_up_shows_the_reason_and_moves_nothing(world: World) -> None:
    world.user(ALICE, "alice")
    csrf = world.log_in(ALICE)
    added = _add_card(world, csrf, "4000000000009995")
    card = re.search(r'<option value="(\d+)">', added.text)
    assert card
    declined = world.client.post(
        "/account/topup",
        data={"csrf": csrf, "amount": "30", "card": card.group(1), "nonce": _nonce(world),
              "pin": PIN},
    )
    assert declined.status_code == 200
    assert "Recharge de 30,00\u00a0€ refusée par la banque : provision insuffisante" in (
        declined.text
    )
    assert world.balance(ALICE) == Money(0)
    charge = world.row(Charge)
    assert charge.status == "declined" and charge.transfer_id is None


def test_card_and_amount_refusals(world: World) -> None:
    world.user(ALICE, "alice")
    csrf = world.log_in(ALICE)
    bad = _add_card(world, csrf, "4242424242424241")
    assert bad.status_code == 400 and "Carte refusée : le numéro est incorrect" in bad.text
    card = re.search(r'<option value="(\d+)">', _add_card(world, csrf, "4242424242424242").text)
    assert card
    for amount, message in (("abc", "Montant invalide"), ("0", "minimum"),
                            ("5000", "maximum")):
        refused = world.client.post(
            "/account/topup",
            data={"csrf": csrf, "amount": amount, "card": card.group(1), "nonce": _nonce(world),
                  "pin": PIN},
        )
        assert refused.status_code == 400 and message in refused.text, amount
    assert world.balance(ALICE) == Money(0) and world.count(Charge) == 0


def test_a_step_up_with_wrong_pins_counts_down_as_the_pin_form_does(world: World) -> None:
    world.user(ALICE, "alice")
    csrf = world.log_in(ALICE)
    form = {"csrf": csrf, "number": "4242424242424242", "exp_month": "12", "exp_year": "2030",
            "cvc": "123", "pin": "999111"}
    for left in ("4 essais", "3 essais", "2 essais", "un essai"):  # "1 essais" before
        wrong = world.client.post("/account/cards", data=form)
        assert wrong.status_code == 400 and f"Encore {left} avant blocage" in wrong.text
    assert world.count(Card) == 0


# -- Pro -------------------------------------------------------------------------------------


def test_pro_account_lists_donations_and_downloads_them_as_csv(world: World) -> None:
    world.user(ACF, "ACF", kind="pro")
    world.user(ALICE, "alice", cents=5000)
    with world.sessions.begin() as session:
        session.add(
            PaymentIntent(
                reference="DON001", source_event_id="tweet:7", kind="donate", channel="tweet",
                lang="fr", initiator_x_user_id=ALICE, payer_x_user_id=ALICE,
                payee_x_user_id=ACF, payee_handle="ACF", amount_cents=2000,
                memo="=pour la cause", status="confirmed", wrong_pin_attempts=0,
                created_at=T0, expires_at=T0, decided_at=T0,
            )
        )
    world.log_in(ACF)
    page = world.client.get("/account")
    assert "Compte Pro" in page.text and "Dons reçus" in page.text
    assert "@alice" in page.text and "20,00\u00a0€" in page.text
    csv = world.client.get("/account/donations.csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == (
        'attachment; filename="donations-ACF-20240501.csv"'
    )
    assert csv.headers["cache-control"] == "no-store"
    assert "DON001" in csv.text and "20.00" in csv.text and "'=pour la cause" in csv.text


def test_a_personal_account_has_no_donations_csv(world: World) -> None:
    world.user(ALICE, "alice")
    world.log_in(ALICE)
    assert "Dons reçus" not in world.client.get("/account").text
    assert world.client.get("/account/donations.csv").status_code == 404
