"""The confirmation page over HTTP (Starlette's TestClient), on real SQLite and PostgreSQL.

Every test starts from the migrated schema (the ``engine`` fixture), seeds two account
holders (alice pays, bob receives) and one intent with its token, then drives GET and POST
and checks the database exactly: intent, token, user counters, balances, transfers, outbox.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from bot.security import PinHasher, new_token
from bot.web.app import create_app
from config import load_settings
from handlers.money import Money
from handlers.outcomes import PRIORITY_ALERT, PRIORITY_NOTICE, PRIORITY_RECEIPT
from storage.db import make_session_factory
from storage.intents import bind
from storage.ledger import CARD_FUNDING, Ledger, user_account_code
from storage.models import (
    ConfirmationToken,
    Contact,
    OutboxMessage,
    PaymentIntent,
    Posting,
    Transfer,
    User,
)
from storage.sealing import Sealer

try:
    from tests.fakes import FakeClock as Clock
except ImportError:  # tests/ itself on sys.path
    from fakes import FakeClock as Clock  # type: ignore[no-redef]

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
ALICE, BOB = 111, 222
PIN = "482916"
BASE = "http://127.0.0.1:8000"




class CountingHasher(PinHasher):
    """Cheap Argon2id parameters (the real ones are tested in test_real_argon2_parameters);
    counts verifications, to prove a locked account is refused without a PIN check."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("time_cost", 1)
        kwargs.setdefault("memory_kib", 1024)
        super().__init__("test-pepper", **kwargs)
        self.verified = 0

    def verify(self, pin_hash: str, pin: str) -> bool:
        self.verified += 1
        return super().verify(pin_hash, pin)


@dataclass
class World:
    engine: Engine
    sessions: sessionmaker[Session]
    ledger: Ledger
    clock: Clock
    hasher: CountingHasher
    client: TestClient
    sealer: Sealer
    _seq: int = 0

    def user(self, x_user_id: int, handle: str, *, lang: str = "fr", cents: int = 0) -> None:
        with self.sessions.begin() as session:
            user = User(
                x_user_id=x_user_id,
                handle=handle,
                lang=lang,
                pin_hash=self.hasher.hash(PIN),
                failed_pin_attempts=0,
                created_at=self.clock(),
            )
            session.add(user)
            session.flush()
            self.ledger.open_account(
                user_account_code(x_user_id), "user", user.id, conn=session.connection()
            )
        if cents:
            self.ledger.post_transfer(
                idempotency_key=f"topup:{x_user_id}",
                debit=CARD_FUNDING,
                credit=user_account_code(x_user_id),
                amount=Money(cents),
                kind="topup",
            )

    def intent(
        self,
        cents: int = 1299,
        *,
        memo: str = "resto",
        tweet_id: str | None = "9001",
        lang: str = "fr",
        kind: str = "send",
        payer: int = ALICE,
        payee: int = BOB,
        payee_handle: str = "bob",
    ) -> tuple[str, int]:
        """A fresh awaiting intent and its one-time token (the clear token is returned)."""
        self._seq += 1
        token, token_hash = new_token()
        expires = self.clock() + dt.timedelta(minutes=10)
        with self.sessions.begin() as session:
            intent = PaymentIntent(
                reference=f"REF{self._seq:03d}",
                source_event_id=f"tweet:{self._seq}",
                kind=kind,
                channel="tweet" if tweet_id else "dm",
                lang=lang,
                initiator_x_user_id=payer if kind != "request" else payee,
                payer_x_user_id=payer,
                payee_x_user_id=payee,
                payee_handle=payee_handle,
                amount_cents=cents,
                memo=memo,
                status="awaiting_confirmation",
                wrong_pin_attempts=0,
                tweet_id=tweet_id,
                created_at=self.clock(),
                expires_at=expires,
            )
            session.add(intent)
            session.flush()
            bind(intent, self.sealer)
            session.add(
                ConfirmationToken(
                    token_hash=token_hash,
                    purpose="confirm",
                    x_user_id=payer,
                    intent_id=intent.id,
                    amount_cents=cents,
                    payee_x_user_id=payee,
                    created_at=self.clock(),
                    expires_at=expires,
                )
            )
            return token, intent.id

    def post(self, token: str, pin: str, **form: Any) -> Any:
        intent = self.load_intent_by_token(token)
        data = {"pin": pin, "amount_cents": intent[0], "payee": intent[1], **form}
        return self.client.post(f"/c/{token}", data=data)

    def load_intent_by_token(self, token: str) -> tuple[int, int]:
        from bot.security import hash_token

        with self.sessions() as session:
            tok = session.scalars(
                select(ConfirmationToken).where(ConfirmationToken.token_hash == hash_token(token))
            ).one()
            return int(tok.amount_cents or 0), int(tok.payee_x_user_id or 0)

    # -- reading the database back ------------------------------------------------------

    def balance(self, x_user_id: int) -> int:
        return self.ledger.balance(user_account_code(x_user_id)).cents

    def get(self, model: Any, **where: Any) -> Any:
        with self.sessions() as session:
            return session.scalars(select(model).filter_by(**where)).one()

    def count(self, model: Any) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def outbox(self) -> list[OutboxMessage]:
        with self.sessions() as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a request could change."""
        with self.sessions() as session:
            return (
                [
                    (i.id, i.status, i.wrong_pin_attempts, i.failure_reason, i.transfer_id)
                    for i in session.scalars(select(PaymentIntent).order_by(PaymentIntent.id))
                ],
                [
                    (t.id, t.used_at)
                    for t in session.scalars(
                        select(ConfirmationToken).order_by(ConfirmationToken.id)
                    )
                ],
                [
                    (u.x_user_id, u.failed_pin_attempts, u.locked_until)
                    for u in session.scalars(select(User).order_by(User.id))
                ],
                session.scalar(select(func.count()).select_from(Transfer)),
                session.scalar(select(func.count()).select_from(Posting)),
                session.scalar(select(func.count()).select_from(OutboxMessage)),
            )


def make_world(engine: Engine, **settings: Any) -> Iterator[World]:
    clock = Clock(T0)
    hasher = CountingHasher()
    sealer = Sealer([load_settings().data_keys[0].get_secret_value()])
    sessions = make_session_factory(engine)
    app = create_app(
        load_settings(public_base_url=BASE, **settings),
        sessions,
        clock=clock,
        pin_hasher=hasher,
        sealer=sealer,
    )
    with TestClient(app, base_url=BASE) as client:
        world = World(engine, sessions, Ledger(engine), clock, hasher, client, sealer)
        world.user(ALICE, "alice", cents=5000)
        world.user(BOB, "bob", lang="en")
        yield world


@pytest.fixture
def world(engine: Engine) -> Iterator[World]:
    yield from make_world(engine)


# -- GET ------------------------------------------------------------------------------------


def test_get_shows_the_payment_and_the_form_and_changes_nothing(world: World) -> None:
    token, _ = world.intent(memo="pizza <b>&</b> ciné")
    before = world.snapshot()
    response = world.client.get(f"/c/{token}")
    assert response.status_code == 200
    html = response.text
    assert "12,99\u00a0€" in html and "@bob" in html and "@alice" in html
    assert "pizza &lt;b&gt;&amp;&lt;/b&gt; ciné" in html  # autoescaped
    assert "14:10 (encore 10 min)" in html and "UTC" not in html and "encore 10 min" in html
    assert 'name="pin"' in html and 'method="post"' in html and "<script" not in html
    assert world.client.head(f"/c/{token}").status_code == 200
    assert world.snapshot() == before


def test_get_honours_lang_query_and_intent_lang(world: World) -> None:
    token, _ = world.intent(lang="en")
    assert "Confirm the payment" in world.client.get(f"/c/{token}").text
    french = world.client.get(f"/c/{token}?lang=fr").text
    assert "Confirmer le paiement" in french and '<html lang="fr">' in french


@pytest.mark.parametrize("token", ["x" * 43, "short", "bad$chars" * 5])
def test_unknown_or_malformed_token_is_404(world: World, token: str) -> None:
    before = world.snapshot()
    response = world.client.get(f"/c/{token}")
    assert response.status_code == 404
    assert "Ce lien n’existe pas" in response.text
    form = {"pin": PIN, "amount_cents": "1299", "payee": str(BOB)}
    assert world.client.post(f"/c/{token}", data=form).status_code == 404
    assert world.snapshot() == before


# -- POST: the right PIN --------------------------------------------------------------------


def test_right_pin_confirms_moves_exactly_the_money_and_queues_exactly_the_notices(
    world: World,
) -> None:
    token, intent_id = world.intent()
    with world.sessions.begin() as session:
        session.execute(update(User).where(User.x_user_id == ALICE).values(failed_pin_attempts=2))
    response = world.post(token, PIN)
    assert response.status_code == 200
    assert "Paiement effectué" in response.text and "12,99\u00a0€ ont été envoyés à @bob" in (
        response.text
    )
    assert "01/05/2024 à 14:00" in response.text and "REF001" in response.text
    assert world.balance(ALICE) == 5000 - 1299 and world.balance(BOB) == 1299

    intent = world.get(PaymentIntent, id=intent_id)
    transfer = world.get(Transfer, idempotency_key=f"intent:{intent_id}")
    assert intent.status == "confirmed" and intent.decided_at == T0
    assert intent.transfer_id == transfer.id and transfer.amount_cents == 1299
    assert world.count(Transfer) == 2  # alice's top-up and this one
    assert world.get(ConfirmationToken, intent_id=intent_id).used_at == T0
    assert world.get(User, x_user_id=ALICE).failed_pin_attempts == 0

    (received,) = world.outbox()  # nothing public after confirmation (one reply per summons)
    assert (received.kind, received.recipient_x_user_id, received.priority) == (
        "dm",
        BOB,
        PRIORITY_NOTICE,
    )
    assert received.dedupe_key == f"intent:{intent_id}:received"
    assert received.text == 'You received €12.99 from @alice ("resto"). Ref. REF001'


def test_dm_intent_gets_no_public_reply(world: World) -> None:
    token, intent_id = world.intent(tweet_id=None)
    assert world.post(token, PIN).status_code == 200
    assert [m.dedupe_key for m in world.outbox()] == [f"intent:{intent_id}:received"]


def test_receipt_dm_to_sender_only_when_the_setting_asks(engine: Engine) -> None:
    for world in make_world(engine, dm_receipt_to_sender=True):
        token, intent_id = world.intent(tweet_id=None)
        assert world.post(token, PIN).status_code == 200
        _received, receipt = world.outbox()
        assert receipt.dedupe_key == f"intent:{intent_id}:receipt"
        assert (receipt.recipient_x_user_id, receipt.priority) == (ALICE, PRIORITY_RECEIPT)


def test_stopped_recipient_gets_no_dm(world: World) -> None:
    with world.sessions.begin() as session:
        session.add(
            Contact(
                x_user_id=BOB, handle="bob", dm_opt_in=True, stopped=True, lang="en", updated_at=T0
            )
        )
    token, _intent_id = world.intent()
    assert world.post(token, PIN).status_code == 200
    assert world.outbox() == []  # no DM to bob, and nothing public either


def test_a_used_token_is_refused_with_409_and_nothing_moves_twice(world: World) -> None:
    token, _intent_id = world.intent()
    assert world.post(token, PIN).status_code == 200
    before = world.snapshot()
    again = world.post(token, PIN)
    assert again.status_code == 409 and "déjà confirmé" in again.text
    page = world.client.get(f"/c/{token}")
    assert page.status_code == 409 and 'name="pin"' not in page.text
    assert world.snapshot() == before
    assert world.balance(ALICE) == 3701 and world.balance(BOB) == 1299


def test_two_simultaneous_right_pins_make_one_transfer(world: World) -> None:
    token, _intent_id = world.intent()
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def go() -> None:
        barrier.wait()
        statuses.append(world.post(token, PIN).status_code)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409, 409, 409]
    assert world.balance(ALICE) == 3701 and world.balance(BOB) == 1299
    assert len(world.outbox()) == 1  # bob's notice, once


# -- POST: refusals -------------------------------------------------------------------------


def test_expired_token_is_410_and_changes_nothing(world: World) -> None:
    token, _ = world.intent()
    world.clock.advance(minutes=10)
    before = world.snapshot()
    page = world.client.get(f"/c/{token}")
    assert page.status_code == 410 and "a expiré" in page.text
    assert world.post(token, PIN).status_code == 410
    assert world.hasher.verified == 0
    assert world.snapshot() == before


def test_intent_expired_by_the_scheduler_is_410(world: World) -> None:
    token, intent_id = world.intent()
    with world.sessions.begin() as session:
        session.execute(
            update(PaymentIntent).where(PaymentIntent.id == intent_id).values(status="expired")
        )
    assert world.client.get(f"/c/{token}").status_code == 410
    assert world.post(token, PIN).status_code == 410


@pytest.mark.parametrize("status", ["expired", "cancelled"])
def test_a_dead_link_page_speaks_the_payers_language_with_amount_and_reference(
        world: World, status: str) -> None:
    """The browser asks for French; the payment was made in English: the page is English and
    says which payment it was."""
    token, intent_id = world.intent(1250, lang="en")
    with world.sessions.begin() as session:
        session.execute(
            update(PaymentIntent).where(PaymentIntent.id == intent_id).values(status=status))
    page = world.client.get(f"/c/{token}", headers={"accept-language": "fr-FR,fr;q=0.9"})
    assert page.status_code in (409, 410)
    assert '<html lang="en">' in page.text
    assert "€12.50" in page.text and "REF" in page.text and "@bob" in page.text


def test_an_expired_link_page_says_which_payment(world: World) -> None:
    token, _ = world.intent(1250, lang="en")
    world.clock.advance(minutes=10)
    page = world.client.get(f"/c/{token}", headers={"accept-language": "fr"})
    assert page.status_code == 410 and '<html lang="en">' in page.text
    assert "expired" in page.text and "€12.50" in page.text and "REF" in page.text


def test_a_request_page_shows_the_memo_without_links_or_mentions_and_says_so(
        world: World) -> None:
    token, _ = world.intent(500, kind="request", memo="pizza https://evil.com @carol",
                            payer=ALICE, payee=BOB)
    page = world.client.get(f"/c/{token}")
    assert page.status_code == 200
    assert "pizza" in page.text and "evil.com" not in page.text and "@carol" not in page.text
    assert "Liens et mentions retirés du message." in page.text


def test_three_wrong_pins_cancel_the_intent(world: World) -> None:
    token, intent_id = world.intent()
    first = world.post(token, "000000")
    assert first.status_code == 400 and "Code erroné. Encore 2 essais." in first.text
    assert world.post(token, "111111").status_code == 400
    third = world.post(token, "222222")
    assert third.status_code == 403 and "annulé" in third.text
    intent = world.get(PaymentIntent, id=intent_id)
    assert (intent.status, intent.failure_reason, intent.wrong_pin_attempts) == (
        "cancelled",
        "too_many_wrong_pins",
        3,
    )
    assert world.get(User, x_user_id=ALICE).failed_pin_attempts == 3  # committed, not rolled back
    assert world.post(token, PIN).status_code == 409  # even the right PIN now
    assert world.balance(ALICE) == 5000 and world.outbox() == []


def test_wrong_pin_message_never_says_which_part_was_wrong(world: World) -> None:
    token, _ = world.intent(lang="en")
    text = world.post(token, "999999").text
    assert "Wrong code. 2 attempts left." in text
    assert "PIN" not in text.replace('name="pin"', "").replace('id="pin"', "").replace(
        'for="pin"', ""
    )


def test_five_failures_in_a_row_lock_the_account_and_send_one_alert(world: World) -> None:
    first, _first_id = world.intent()
    for pin in ("000001", "000002", "000003"):
        world.post(first, pin)
    second, second_id = world.intent()
    assert world.post(second, "000004").status_code == 400
    locked = world.post(second, "000005")
    assert locked.status_code == 429 and "bloqué jusqu’au 01/05/2024 à 14:30" in locked.text
    assert int(locked.headers["retry-after"]) == 1800
    alice = world.get(User, x_user_id=ALICE)
    assert alice.locked_until == T0 + dt.timedelta(minutes=30)
    (alert,) = world.outbox()
    assert (alert.kind, alert.recipient_x_user_id, alert.priority) == ("dm", ALICE, PRIORITY_ALERT)
    assert "5 codes secrets erronés" in alert.text
    assert world.get(PaymentIntent, id=second_id).status == "awaiting_confirmation"

    # Locked: refused without any PIN check, whatever the PIN, and nothing is counted.
    verified = world.hasher.verified
    before = world.snapshot()
    assert world.post(second, PIN).status_code == 429
    assert world.client.get(f"/c/{second}").status_code == 429
    assert world.hasher.verified == verified and world.snapshot() == before

    # After the lockout the right PIN works again and nothing was lost.
    world.clock.advance(minutes=31)
    third, _third_id = world.intent()
    assert world.post(third, PIN).status_code == 200
    assert world.balance(ALICE) == 3701 and len(world.outbox()) == 2  # alert, bob's notice


def test_insufficient_funds_fails_the_intent_with_a_clear_page(world: World) -> None:
    token, intent_id = world.intent(cents=5001)
    response = world.post(token, PIN)
    assert response.status_code == 402
    assert "Solde insuffisant pour payer 50,01\u00a0€" in response.text
    intent = world.get(PaymentIntent, id=intent_id)
    assert (intent.status, intent.failure_reason, intent.transfer_id) == (
        "failed",
        "insufficient_funds",
        None,
    )
    assert world.get(ConfirmationToken, intent_id=intent_id).used_at == T0
    assert world.balance(ALICE) == 5000 and world.balance(BOB) == 0
    assert world.count(Transfer) == 1 and world.outbox() == []
    assert world.post(token, PIN).status_code == 409


@pytest.mark.parametrize(
    "change",
    [
        {"amount_cents": 1},
        {"payee_x_user_id": 999},
        {"x_user_id": BOB},
    ],
)
def test_token_not_bound_to_the_intent_is_refused(world: World, change: dict[str, int]) -> None:
    token, intent_id = world.intent()
    with world.sessions.begin() as session:
        session.execute(
            update(ConfirmationToken)
            .where(ConfirmationToken.intent_id == intent_id)
            .values(**change)
        )
    before = world.snapshot()
    page = world.client.get(f"/c/{token}")
    assert page.status_code == 409 and "ne correspond plus" in page.text
    assert "12,99" not in page.text
    response = world.client.post(
        f"/c/{token}", data={"pin": PIN, "amount_cents": "1299", "payee": str(BOB)}
    )
    assert response.status_code == 409
    assert world.snapshot() == before and world.hasher.verified == 0


def test_form_must_send_back_what_the_page_showed(world: World) -> None:
    token, _ = world.intent()
    before = world.snapshot()
    changed = world.post(token, PIN, amount_cents="1")
    assert changed.status_code == 409
    missing = world.client.post(f"/c/{token}", data={"pin": PIN})
    assert missing.status_code == 400
    assert world.snapshot() == before


def test_oversized_form_is_refused(world: World) -> None:
    token, _ = world.intent()
    before = world.snapshot()
    response = world.post(token, PIN, memo="x" * 9000)
    assert response.status_code == 413
    assert world.snapshot() == before


@pytest.mark.parametrize("pin", ["  ", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_what_is_not_a_pin_is_asked_again_without_counting(world: World, pin: str) -> None:
    token, _ = world.intent()
    before = world.snapshot()
    response = world.post(token, pin)
    assert response.status_code == 400 and "Saisissez votre code secret" in response.text
    assert world.snapshot() == before and world.hasher.verified == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "https://evil.example"},
    ],
)
def test_cross_site_posts_are_refused(world: World, headers: dict[str, str]) -> None:
    token, _ = world.intent()
    before = world.snapshot()
    amount, payee = world.load_intent_by_token(token)
    response = world.client.post(
        f"/c/{token}", data={"pin": PIN, "amount_cents": amount, "payee": payee}, headers=headers
    )
    assert response.status_code == 403
    assert world.snapshot() == before


@pytest.mark.parametrize(
    "headers", [{"origin": "null"}, {"origin": BASE, "sec-fetch-site": "same-origin"}]
)
def test_same_origin_posts_are_accepted(world: World, headers: dict[str, str]) -> None:
    token, _ = world.intent()
    amount, payee = world.load_intent_by_token(token)
    response = world.client.post(
        f"/c/{token}", data={"pin": PIN, "amount_cents": amount, "payee": payee}, headers=headers
    )
    assert response.status_code == 200


# -- headers, health, logs ------------------------------------------------------------------


def _assert_security_headers(response: Any) -> None:
    headers = response.headers
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp


def test_security_headers_on_every_response(world: World) -> None:
    token, _ = world.intent()
    responses = [
        world.client.get(f"/c/{token}"),
        world.post(token, "000000"),
        world.client.get("/c/unknown-token-unknown-token"),
        world.client.get("/nowhere"),
        world.client.get("/healthz"),
        world.client.get("/static/tweetpay.css"),
    ]
    for response in responses:
        _assert_security_headers(response)
    assert responses[3].status_code == 404


def test_healthz(world: World) -> None:
    response = world.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "worker": "none"}


def test_healthz_reports_a_dead_database(tmp_path: Any) -> None:
    from sqlalchemy import create_engine

    dead = create_engine(f"sqlite:///{tmp_path}/missing/dir/db.sqlite3")
    app = create_app(load_settings(), make_session_factory(dead))
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"


def test_the_token_and_the_pin_never_reach_the_logs(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.logging import configure_logging

    configure_logging("DEBUG", "json")
    try:
        token, _ = world.intent()
        world.client.get(f"/c/{token}")
        world.post(token, "000000")
        world.post(token, PIN)
        err = capsys.readouterr().err
    finally:
        structlog.reset_defaults()
    assert '"outcome": "confirmed"' in err and "REF001" in err
    assert token not in err and PIN not in err and "000000" not in err


def test_real_argon2_parameters(engine: Engine) -> None:
    """The production hasher (m=19 MiB, t=2) through the whole page, once."""
    for world in make_world(engine):
        world.hasher = CountingHasher(time_cost=2, memory_kib=19 * 1024)
        with world.sessions.begin() as session:
            session.execute(
                update(User).where(User.x_user_id == ALICE).values(pin_hash=world.hasher.hash(PIN))
            )
        token, _ = world.intent()
        app = create_app(
            load_settings(public_base_url=BASE),
            world.sessions,
            clock=world.clock,
            pin_hasher=world.hasher,
            sealer=world.sealer,
        )
        with TestClient(app, base_url=BASE) as client:
            world.client = client
            assert world.post(token, "000000").status_code == 400
            assert world.post(token, PIN).status_code == 200
        assert world.hasher.verified == 2


def test_a_confirmation_is_one_read_and_one_short_write_transaction(world: World) -> None:
    """The statements of one confirmation, counted: on PostgreSQL one autocommit read (no
    BEGIN, no ROLLBACK: a ROLLBACK makes psycopg forget every prepared statement of the
    connection) and one transaction of four statements, the token spent with the rolling
    windows read, the ledger's transfer, the intent confirmed with its notices queued."""
    token, intent_id = world.intent()
    amount, payee = world.load_intent_by_token(token)
    statements: list[str] = []
    rolled_back_open: list[int] = []

    def executed(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()[:3]))

    def rollback(conn: Any) -> None:
        # Before the driver's rollback: psycopg sends ROLLBACK only to an open transaction.
        info = getattr(conn.connection.driver_connection, "info", None)
        if info is not None and info.transaction_status != 0:  # 0: IDLE
            rolled_back_open.append(info.transaction_status)

    event.listen(world.engine, "before_cursor_execute", executed)
    event.listen(world.engine, "rollback", rollback)
    try:
        response = world.client.post(
            f"/c/{token}", data={"pin": PIN, "amount_cents": amount, "payee": payee}
        )
    finally:
        event.remove(world.engine, "before_cursor_execute", executed)
        event.remove(world.engine, "rollback", rollback)
    assert response.status_code == 200
    assert world.get(PaymentIntent, id=intent_id).status == "confirmed"
    assert rolled_back_open == []  # no ROLLBACK reached the server
    if world.engine.dialect.name == "postgresql":
        assert len(statements) == 5, statements
        assert statements[2].startswith("WITH spent AS") and statements[4].startswith("WITH along")
