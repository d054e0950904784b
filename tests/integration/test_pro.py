"""Pro accounts: `tweetpay pro create` (direct id, and looked up on the emulator over HTTP),
donations received, and `tweetpay keys rotate`."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.payments.sandbox import SandboxProvider
from bot.services.topup import add_card
from handlers.money import Money
from storage import accounts
from storage.db import make_engine, make_session_factory
from storage.ledger import Ledger, user_account_code
from storage.models import Account, OutboxMessage, PaymentIntent, User
from storage.pro import ProRefused, create_pro, donations_csv, donations_received
from storage.sealing import Sealer
from storage.topups import saved_cards
from storage.uow import UnitOfWork

try:
    from tests.integration.conftest import Emulator
except ImportError:  # tests/ itself on sys.path
    from integration.conftest import Emulator  # type: ignore[no-redef]

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
ACF = 9001


def _env(url: str, **more: str) -> dict[str, str]:
    return {"TWEETPAY_DATABASE_URL": url, "TWEETPAY_ENV": "sandbox",
            "TWEETPAY_LOG_FORMAT": "json", "TWEETPAY_X_API_BASE_URL": "", **more}


def _pro_rows(url: str) -> list[tuple[int, str, str, str, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(User.x_user_id, User.handle, User.display_name, User.kind, Account.kind)
                .join(Account, Account.owner_user_id == User.id)
            ).all()
        return [tuple(r) for r in rows]
    finally:
        engine.dispose()


def test_pro_create_with_x_user_id_is_idempotent(database_url: str) -> None:
    runner = CliRunner()
    args = ["pro", "create", "@ACF", "--name", "Action contre la Faim", "--x-user-id", str(ACF)]
    first = runner.invoke(main, args, env=_env(database_url))
    assert first.exit_code == 0, first.output
    assert first.output == (
        'created Pro account @ACF (X id 9001, "Action contre la Faim") with its pro wallet'
        " user:9001\n"
    )
    again = runner.invoke(main, args, env=_env(database_url))
    assert again.exit_code == 0, again.output
    assert again.output == (
        'Pro account @ACF (X id 9001, "Action contre la Faim") already exists: nothing changed\n'
    )
    assert _pro_rows(database_url) == [(ACF, "ACF", "Action contre la Faim", "pro", "pro")]


def test_pro_create_refuses_a_personal_account(database_url: str) -> None:
    sessions = make_session_factory(engine := make_engine(database_url))
    try:
        with UnitOfWork(sessions) as uow:
            accounts.open_user(uow, x_user_id=ACF, handle="someone", now=NOW)
            uow.commit()
        with UnitOfWork(sessions) as uow, pytest.raises(ProRefused) as refused:
            create_pro(uow, x_user_id=ACF, handle="ACF", name="", now=NOW)
        assert refused.value.code == "personal_account_exists"
    finally:
        engine.dispose()
    result = CliRunner().invoke(main, ["pro", "create", "ACF", "--x-user-id", str(ACF)],
                                env=_env(database_url))
    assert result.exit_code == 1
    assert "X user 9001 (@someone) already holds a personal account" in result.output


def test_pro_create_looks_the_handle_up_on_the_emulator(
    sqlite_url: str, emulator: Emulator
) -> None:
    acf_id = int(emulator.state.find_user("ACF").id)
    port = emulator.base_url.rsplit(":", 1)[1]
    env = _env(sqlite_url, TWEETPAY_EMULATOR_PORT=port)
    result = CliRunner().invoke(main, ["pro", "create", "@acf", "--name", "ACF"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == (
        f'created Pro account @ACF (X id {acf_id}, "ACF") with its pro wallet user:{acf_id}\n'
    )
    unknown = CliRunner().invoke(main, ["pro", "create", "@nobody_here"], env=env)
    assert unknown.exit_code == 1
    assert "no X account named @nobody_here" in unknown.output


def test_pro_create_says_when_the_x_api_is_unreachable(sqlite_url: str) -> None:
    env = _env(sqlite_url, TWEETPAY_EMULATOR_PORT="9", TWEETPAY_X_TIMEOUT_SECONDS="1")
    result = CliRunner().invoke(main, ["pro", "create", "@ACF"], env=env)
    assert result.exit_code == 1
    assert "cannot look up @ACF on http://127.0.0.1:9" in result.output
    assert "--x-user-id skips the lookup" in result.output


def _intent(session: Session, i: int, *, payer: int, payee: int, cents: int, memo: str,
            status: str = "confirmed", decided_at: dt.datetime = NOW) -> None:
    session.add(PaymentIntent(
        reference=f"REF{i:03d}", source_event_id=f"dm:{i}", kind="donate", channel="dm",
        lang="fr", initiator_x_user_id=payer, payer_x_user_id=payer, payee_x_user_id=payee,
        payee_handle="ACF", amount_cents=cents, memo=memo, status=status,
        wrong_pin_attempts=0, created_at=decided_at, expires_at=decided_at,
        decided_at=decided_at if status == "confirmed" else None,
    ))


def test_donations_received(session_factory: sessionmaker[Session]) -> None:
    with UnitOfWork(session_factory) as uow:
        create_pro(uow, x_user_id=ACF, handle="ACF", name="Action contre la Faim", now=NOW)
        accounts.open_user(uow, x_user_id=1001, handle="alice", now=NOW)
        _intent(uow.session, 1, payer=1001, payee=ACF, cents=1250, memo="=cantine, merci",
                decided_at=NOW + dt.timedelta(hours=2))
        _intent(uow.session, 2, payer=1002, payee=ACF, cents=500, memo="",
                decided_at=NOW)  # payer without an account row: no handle
        _intent(uow.session, 3, payer=1001, payee=ACF, cents=700, memo="x", status="expired")
        _intent(uow.session, 4, payer=1001, payee=1003, cents=900, memo="not to ACF")
        uow.commit()
    with session_factory() as session:
        all_of_them = donations_received(session, ACF)
        recent = donations_received(session, ACF, since=NOW + dt.timedelta(hours=1))
    assert [(d.reference, d.donor_handle, d.donor_x_user_id, d.amount) for d in all_of_them] == [
        ("REF002", "", 1002, Money(500)), ("REF001", "alice", 1001, Money(1250)),
    ]
    assert [d.reference for d in recent] == ["REF001"]
    assert donations_csv(recent).splitlines()[1] == (
        "2026-11-23T14:00:00+00:00,REF001,alice,1001,12.50,\"'=cantine, merci\""
    )


def test_keys_rotate_cli(database_url: str) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    try:
        with UnitOfWork(sessions) as uow:
            user = accounts.open_user(uow, x_user_id=1001, handle="alice", now=NOW)
            uow.commit()
            user_id = user.id
        with UnitOfWork(sessions) as uow:
            add_card(uow, Sealer([old]), SandboxProvider(clock=lambda: NOW), user_id=user_id,
                     number="4242424242424242", exp_month=12, exp_year=2030, cvc="123", now=NOW)
        with sessions.begin() as session:
            session.add(OutboxMessage(
                dedupe_key="k", kind="dm", priority=10, recipient_x_user_id=1001,
                text="{link}", sealed_link=Sealer([old]).seal("http://x/c/secret"),
                status="pending", attempts=0, next_attempt_at=NOW, created_at=NOW))
        result = CliRunner().invoke(main, ["keys", "rotate"],
                                    env=_env(database_url, TWEETPAY_DATA_KEYS=f"{new},{old}"))
        assert result.exit_code == 0, result.output
        assert result.output == (
            "re-sealed with the newest key: 1 card(s), 0 bank account(s), 1 pending link(s)\n")
        with sessions() as session:
            assert [c.last4 for c in saved_cards(session, Sealer([new]), user_id)] == ["4242"]
            link = session.scalars(select(OutboxMessage.sealed_link)).one()
            assert Sealer([new]).open(link) == "http://x/c/secret"
        assert Ledger(engine).balance(user_account_code(1001)) == Money(0)
    finally:
        engine.dispose()
