"""Money out on both engines: a bank account added with the PIN and sealed at rest, a
withdrawal confirmed with the PIN bound to amount and account, instant and standard SEPA
transfers settling on the sandbox's clock, every return code putting the money back with its
reason, limits, and the ledger balanced after each of them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from bot.services import bank_accounts, withdraw
from bot.services import withdraw_provider as provider_flow
from bot.services.payout_common import PinProof, WithdrawRefused
from handlers.bank_details import BankDetailsError
from handlers.money import Money
from handlers.payout_texts import return_reason
from storage.ledger import PAYOUTS_IN_FLIGHT, Ledger, settlement_account_code, user_account_code
from storage.models import BankAccount, OutboxMessage, Withdrawal
from storage.sealing import Sealer
from tests.payout_fixtures import CAROL, CAROL_IBAN, PIN, RETURN_IBANS, World, make_world


@pytest.fixture
def world(session_factory) -> World:
    return make_world(session_factory)


def add_iban(world: World, iban: str = CAROL_IBAN, name: str = "Carol Martin",
             pin: str = PIN) -> bank_accounts.Added:
    return bank_accounts.add_bank_account(world.deps, user_id=world.carol_id, iban=iban,
                                          holder_name=name, proof=PinProof(pin), lang="fr")


def withdraw_now(world: World, amount: Money | None, scheme: str = "instant",
                 ack: bool = True) -> tuple[withdraw.Requested, withdraw.Result]:
    req = withdraw.request(world.deps, user_id=world.carol_id, amount=amount, scheme=scheme,
                           channel="web", lang="fr")
    result = withdraw.confirm(world.deps, req.token, world.proof,
                              shown_amount_cents=req.amount.cents,
                              shown_bank_account_id=req.account.id, payee_ack=ack)
    if result.submit_now:
        provider_flow.submit(world.deps, req.withdrawal_id)
    return req, result


def status_of(world: World, withdrawal_id: int) -> str:
    with world.deps.sessions() as session:
        row = session.get(Withdrawal, withdrawal_id)
        assert row is not None
        return row.status


def balance(world: World, code: str) -> Money:
    return Ledger(world.deps.sessions.kw["bind"]).balance(code)


def assert_ledger_ok(world: World) -> None:
    assert Ledger(world.deps.sessions.kw["bind"]).verify() == []


def test_bank_account_needs_the_pin_is_sealed_and_masked(world: World) -> None:
    wrong = add_iban(world, pin="000001")
    assert wrong.account is None and wrong.pin.check.value == "wrong"
    added = add_iban(world, iban="de41 3704 0044 0000 0007 77")  # lower case and spaces
    assert added.account is not None
    assert added.account.masked == "DE41 •••• 0777"
    assert added.account.payee_check == "match" and added.account.bic == "COBADEFFXXX"
    with world.deps.sessions() as session:
        raw = session.execute(text("SELECT sealed FROM bank_accounts")).scalar_one()
        dms = session.scalars(select(OutboxMessage.text)).all()
    assert "DE41" not in raw and "Carol" not in raw
    assert any("DE41 •••• 0777" in dm for dm in dms)  # the holder is told



@pytest.mark.parametrize(("iban", "name", "code"), [
    ("DE41 3704 0044 0000 0007 78", "Carol", "iban_checksum"),
    ("DE41 3704 0044 0000 0007 7", "Carol", "iban_length"),
    ("QQ41 3704 0044 0000 0007 77", "Carol", "iban_country"),
    ("", "Carol", "iban_empty"),
    ("DE41-3704-0044", "Carol", "iban_format"),
    ("US64 SVBK US6S 3300 9673 8637", "Carol", "iban_country"),
    (CAROL_IBAN, "Carol\u0007Martin", "name_control"),
    (CAROL_IBAN, "Carol\u202eMartin", "name_control"),
    (CAROL_IBAN, "   ", "name_empty"),
    (CAROL_IBAN, "x" * 71, "name_too_long"),
])
def test_bad_bank_details_are_refused_before_the_pin(world: World, iban: str, name: str,
                                                     code: str) -> None:
    with pytest.raises(BankDetailsError) as refused:
        add_iban(world, iban=iban, name=name, pin="000001")
    assert refused.value.code == code
    with world.deps.sessions() as session:
        assert session.scalars(select(BankAccount)).all() == []


def test_instant_withdrawal_settles_in_seconds(world: World) -> None:
    add_iban(world)
    req, result = withdraw_now(world, Money(2_000))
    assert result.outcome is withdraw.Outcome.CONFIRMED
    assert balance(world, user_account_code(CAROL)) == Money(8_000)
    assert status_of(world, req.withdrawal_id) == "submitted"
    assert balance(world, PAYOUTS_IN_FLIGHT) == Money(2_000)
    world.clock.advance(seconds=10)
    assert provider_flow.recover(world.deps) == 1
    assert status_of(world, req.withdrawal_id) == "settled"
    assert balance(world, PAYOUTS_IN_FLIGHT) == Money(0)
    assert balance(world, settlement_account_code("sandbox_sepa")) == Money(2_000)
    assert world.provider.submissions(f"withdrawal:{req.withdrawal_id}") == 1
    assert_ledger_ok(world)


def test_standard_withdrawal_settles_the_next_business_day(world: World) -> None:
    add_iban(world)
    world.clock.now = dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC)  # a Friday
    req, _ = withdraw_now(world, Money(500), scheme="standard")
    world.clock.now = dt.datetime(2026, 11, 30, 7, 59, tzinfo=dt.UTC)  # Monday, before 08:00
    provider_flow.recover(world.deps)
    assert status_of(world, req.withdrawal_id) == "submitted"
    world.clock.now = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    provider_flow.recover(world.deps)
    assert status_of(world, req.withdrawal_id) == "settled"
    assert_ledger_ok(world)


@pytest.mark.parametrize("code", sorted(RETURN_IBANS))
def test_each_return_code_puts_the_money_back_with_its_reason(world: World, code: str) -> None:
    add_iban(world, iban=RETURN_IBANS[code])
    req, _ = withdraw_now(world, Money(700))
    assert balance(world, user_account_code(CAROL)) == Money(9_300)
    world.clock.advance(seconds=10)
    provider_flow.recover(world.deps)
    assert status_of(world, req.withdrawal_id) == "returned"
    assert balance(world, user_account_code(CAROL)) == Money(10_000)
    assert balance(world, PAYOUTS_IN_FLIGHT) == Money(0)
    with world.deps.sessions() as session:
        row = session.get(Withdrawal, req.withdrawal_id)
        dms = session.scalars(select(OutboxMessage.text)).all()
    assert row is not None and row.return_code == code
    assert any(return_reason(code, "fr") in dm for dm in dms)
    assert_ledger_ok(world)


def test_a_return_after_settlement_comes_out_of_the_settlement_account(world: World) -> None:
    add_iban(world)
    req, _ = withdraw_now(world, Money(300))
    world.clock.advance(seconds=10)
    provider_flow.recover(world.deps)
    state = world.provider.status(f"withdrawal:{req.withdrawal_id}")
    assert state is not None and state.status == "settled"
    from dataclasses import replace

    provider_flow.apply(world.deps, replace(state, status="returned", return_code="AC04"))
    assert status_of(world, req.withdrawal_id) == "returned"
    assert balance(world, user_account_code(CAROL)) == Money(10_000)
    assert balance(world, settlement_account_code("sandbox_sepa")) == Money(0)
    assert_ledger_ok(world)


def test_limits_per_withdrawal_and_per_day(session_factory) -> None:
    world = make_world(session_factory, balance=Money(50_000), maximum=Money(20_000),
                       per_day=Money(30_000))
    add_iban(world)
    with pytest.raises(WithdrawRefused) as refused:
        withdraw.request(world.deps, user_id=world.carol_id, amount=Money(20_001),
                         scheme="instant", channel="web", lang="fr")
    assert refused.value.code == "amount_too_large"
    withdraw_now(world, Money(20_000))
    with pytest.raises(WithdrawRefused) as refused:
        withdraw.request(world.deps, user_id=world.carol_id, amount=Money(10_001),
                         scheme="instant", channel="web", lang="fr")
    assert refused.value.code == "daily_limit"
    _, ok = withdraw_now(world, Money(10_000))
    assert ok.outcome is withdraw.Outcome.CONFIRMED
    world.clock.advance(hours=24, seconds=1)
    _, later = withdraw_now(world, Money(100))
    assert later.outcome is withdraw.Outcome.CONFIRMED


def test_everything_and_nothing(world: World) -> None:
    add_iban(world)
    req, result = withdraw_now(world, None)
    assert req.amount == Money(10_000) and result.outcome is withdraw.Outcome.CONFIRMED
    assert balance(world, user_account_code(CAROL)) == Money(0)
    with pytest.raises(WithdrawRefused) as refused:
        withdraw.request(world.deps, user_id=world.carol_id, amount=None, scheme="instant",
                         channel="web", lang="fr")
    assert refused.value.code == "empty_balance"


def test_no_bank_account_and_too_much(world: World) -> None:
    with pytest.raises(WithdrawRefused) as refused:
        withdraw.request(world.deps, user_id=world.carol_id, amount=Money(100),
                         scheme="instant", channel="web", lang="fr")
    assert refused.value.code == "no_bank_account"
    add_iban(world)
    with pytest.raises(WithdrawRefused) as refused:
        withdraw.request(world.deps, user_id=world.carol_id, amount=Money(10_001),
                         scheme="instant", channel="web", lang="fr")
    assert refused.value.code == "insufficient_funds"


def test_the_pin_is_bound_to_amount_and_account_and_the_link_is_single_use(world: World) -> None:
    add_iban(world)
    req = withdraw.request(world.deps, user_id=world.carol_id, amount=Money(1_000),
                           scheme="instant", channel="web", lang="fr")
    changed = withdraw.confirm(world.deps, req.token, world.proof, shown_amount_cents=1_001,
                               shown_bank_account_id=req.account.id, payee_ack=True)
    assert (changed.outcome, changed.refusal) == (withdraw.Outcome.REFUSED, "mismatch")
    wrong = withdraw.confirm(world.deps, req.token, PinProof("000001"),
                             shown_amount_cents=1_000, shown_bank_account_id=req.account.id,
                             payee_ack=True)
    assert wrong.outcome is withdraw.Outcome.WRONG_PIN and wrong.attempts_left == 4
    done = withdraw.confirm(world.deps, req.token, world.proof, shown_amount_cents=1_000,
                            shown_bank_account_id=req.account.id, payee_ack=True)
    assert done.outcome is withdraw.Outcome.CONFIRMED
    again = withdraw.confirm(world.deps, req.token, world.proof, shown_amount_cents=1_000,
                             shown_bank_account_id=req.account.id, payee_ack=True)
    assert (again.outcome, again.refusal) == (withdraw.Outcome.REFUSED, "used")
    assert balance(world, user_account_code(CAROL)) == Money(9_000)


def test_first_payout_needs_the_name_check_acknowledged(world: World) -> None:
    added = add_iban(world, name="Martin Carol")  # the same words in another order
    assert added.account is not None
    assert (added.account.payee_check, added.account.suggested_name) == (
        "close_match", "Carol Martin")
    req = withdraw.request(world.deps, user_id=world.carol_id, amount=Money(100),
                           scheme="instant", channel="web", lang="fr")
    refused = withdraw.confirm(world.deps, req.token, world.proof, shown_amount_cents=100,
                               shown_bank_account_id=req.account.id, payee_ack=False)
    assert refused.refusal == "payee_ack"
    done = withdraw.confirm(world.deps, req.token, world.proof, shown_amount_cents=100,
                            shown_bank_account_id=req.account.id, payee_ack=True)
    assert done.outcome is withdraw.Outcome.CONFIRMED
    assert bank_accounts.current(world.deps, world.carol_id).payee_confirmed  # type: ignore[union-attr]
    assert add_iban(world, name="Bob Dupont").account.payee_check == "no_match"  # type: ignore[union-attr]


def test_a_new_iban_waits_for_the_cooling_off(session_factory) -> None:
    world = make_world(session_factory, cooling_off=dt.timedelta(hours=24))
    added = add_iban(world)
    assert added.account is not None
    req, result = withdraw_now(world, Money(1_000))
    assert result.outcome is withdraw.Outcome.CONFIRMED and not result.submit_now
    assert provider_flow.submit_due(world.deps) == 0
    assert status_of(world, req.withdrawal_id) == "confirmed"
    world.clock.advance(hours=24)
    assert provider_flow.submit_due(world.deps) == 1
    assert status_of(world, req.withdrawal_id) == "submitted"


def test_an_unconfirmed_request_expires(world: World) -> None:
    add_iban(world)
    req = withdraw.request(world.deps, user_id=world.carol_id, amount=Money(100),
                           scheme="instant", channel="web", lang="fr")
    world.clock.advance(minutes=11)
    assert withdraw.expire_due(world.deps) == 1
    assert status_of(world, req.withdrawal_id) == "expired"
    late = withdraw.confirm(world.deps, req.token, world.proof, shown_amount_cents=100,
                            shown_bank_account_id=req.account.id, payee_ack=True)
    assert late.refusal == "used"


def test_keys_rotate_cli_reseals_bank_accounts(world: World, database_url: str) -> None:
    from click.testing import CliRunner
    from cryptography.fernet import Fernet

    from bot.cli import main

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    world.deps.sealer = Sealer([old])
    add_iban(world)
    env = {"TWEETPAY_DATABASE_URL": database_url, "TWEETPAY_DATA_KEYS": f"{new},{old}",
           "TWEETPAY_LOG_FORMAT": "json"}
    result = CliRunner().invoke(main, ["keys", "rotate"], env=env)
    assert result.exit_code == 0, result.output
    assert "1 bank account(s)" in result.output
    world.deps.sealer = Sealer([new])  # the old key is gone: the new one opens it
    view = bank_accounts.current(world.deps, world.carol_id)
    assert view is not None and view.masked == "DE41 •••• 0777"


def test_the_holder_can_take_back_a_withdrawal_held_by_the_cooling_off(session_factory) -> None:
    world = make_world(session_factory, cooling_off=dt.timedelta(hours=24))
    add_iban(world)
    req, result = withdraw_now(world, Money(4_000))
    assert result.outcome is withdraw.Outcome.CONFIRMED and not result.submit_now
    assert balance(world, user_account_code(CAROL)) == Money(6_000)
    assert not withdraw.cancel_held(world.deps, user_id=world.carol_id + 1,
                                    withdrawal_id=req.withdrawal_id)  # not theirs
    assert withdraw.cancel_held(world.deps, user_id=world.carol_id,
                                withdrawal_id=req.withdrawal_id)
    assert not withdraw.cancel_held(world.deps, user_id=world.carol_id,
                                    withdrawal_id=req.withdrawal_id)  # once
    assert status_of(world, req.withdrawal_id) == "cancelled"
    assert balance(world, user_account_code(CAROL)) == Money(10_000)
    assert balance(world, PAYOUTS_IN_FLIGHT) == Money(0)
    world.clock.advance(hours=25)
    assert provider_flow.submit_due(world.deps) == 0
    assert world.provider.submissions(f"withdrawal:{req.withdrawal_id}") == 0
    # One that already left cannot be taken back.
    sent, _ = withdraw_now(world, Money(1_000))
    assert status_of(world, sent.withdrawal_id) == "submitted"
    assert not withdraw.cancel_held(world.deps, user_id=world.carol_id,
                                    withdrawal_id=sent.withdrawal_id)
    assert_ledger_ok(world)
    from bot.payments.sandbox import SandboxProvider
    from bot.services import reconcile

    assert reconcile.reconcile(world.deps.sessions, SandboxProvider(), world.provider) == []


def test_a_holder_with_the_app_is_told_by_push_not_dm(world: World) -> None:
    from storage import devices
    from storage.models import WebSession

    with world.deps.sessions.begin() as session:
        device = WebSession(session_hash="d" * 64, user_id=world.carol_id,
                            created_at=world.clock(),
                            expires_at=world.clock() + dt.timedelta(days=30))
        session.add(device)
        session.flush()
        devices.subscribe(session, world.deps.sealer, session_id=device.id, x_user_id=CAROL,
                          subscription={"endpoint": "https://push.example/carol",
                                        "keys": {"p256dh": "x", "auth": "y"}},
                          now=world.clock())
    add_iban(world, iban=RETURN_IBANS["AC04"])
    withdraw_now(world, Money(100))
    world.clock.advance(seconds=10)
    provider_flow.recover(world.deps)
    with world.deps.sessions() as session:
        rows = session.execute(select(OutboxMessage.kind, OutboxMessage.dedupe_key)).all()
    assert sorted(rows) == [("push", "iban-added:1:push"), ("push", "withdraw-returned:1:push")]
