"""Reconciliation on both engines: clean after real top-ups, withdrawals and returns; each
kind of planted mismatch found (missing on either side, another amount, another state), for
card charges and for payouts; `tweetpay reconcile` exits non-zero on any."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from bot.payments.payouts import PayoutRequest
from bot.payments.sandbox import SandboxProvider
from bot.services import reconcile, topup
from bot.services import withdraw_provider as provider_flow
from handlers.money import Money
from storage.models import Charge, Withdrawal
from storage.sealing import Sealer
from storage.uow import UnitOfWork
from tests.integration.test_withdrawals import add_iban, withdraw_now
from tests.payout_fixtures import NOW, RETURN_IBANS, World, make_world


@pytest.fixture
def world(session_factory) -> World:
    return make_world(session_factory, balance=Money(0))


@pytest.fixture
def cards() -> SandboxProvider:
    return SandboxProvider(clock=lambda: NOW)


def top_up(world: World, cards: SandboxProvider, cents: int, key: str) -> str:
    sealer: Sealer = world.deps.sealer
    with UnitOfWork(world.deps.sessions) as uow:
        card = topup.add_card(uow, sealer, cards, user_id=world.carol_id,
                               number="4242424242424242", exp_month=12, exp_year=2030,
                               cvc="123", now=NOW)
    with UnitOfWork(world.deps.sessions) as uow:
        return topup.top_up(uow, sealer, cards, user_id=world.carol_id, x_user_id=3003,
                             card_id=card.id, amount=Money(cents), now=NOW,
                             idempotency_key=key).charge_id


def busy_day(world: World, cards: SandboxProvider) -> None:
    """Top-ups, a settled withdrawal, a returned one, a declined charge: all consistent."""
    top_up(world, cards, 5_000, "k1")
    top_up(world, cards, 3_000, "k2")
    add_iban(world)
    withdraw_now(world, Money(2_000))
    add_iban(world, iban=RETURN_IBANS["AC04"])
    withdraw_now(world, Money(500))
    world.clock.advance(seconds=10)
    provider_flow.recover(world.deps)


def kinds(found: list[reconcile.Mismatch]) -> set[tuple[str, str]]:
    return {(m.source, m.kind) for m in found}


def test_clean_after_a_busy_day(world: World, cards: SandboxProvider) -> None:
    busy_day(world, cards)
    assert reconcile.reconcile(world.deps.sessions, cards, world.provider) == []


def test_planted_card_mismatches(world: World, cards: SandboxProvider) -> None:
    busy_day(world, cards)
    first = top_up(world, cards, 1_000, "k3")
    cards.refund(first, Money(100))  # refunded at the acquirer, never in the ledger
    cards.charge(cards.tokenize("4242424242424242", 12, 2030, "123").token, Money(700),
                 "orphan")  # charged at the acquirer, never recorded
    with world.deps.sessions.begin() as session:
        session.execute(update(Charge).where(Charge.provider_charge_id != first)
                        .values(amount_cents=Charge.amount_cents + 1))
        session.add(Charge(provider_charge_id="ch_ghost", user_id=world.carol_id,
                           amount_cents=100, status="succeeded", created_at=NOW))
        session.execute(update(Charge).where(Charge.provider_charge_id == first)
                        .values(status="declined"))
    found = reconcile.reconcile(world.deps.sessions, cards, world.provider)
    assert kinds(found) == {("card", "missing_at_provider"), ("card", "missing_in_ledger"),
                            ("card", "amount"), ("card", "state")}
    assert any(m.reference == f"{first} refund" for m in found)


def test_planted_payout_mismatches(world: World, cards: SandboxProvider) -> None:
    busy_day(world, cards)
    clean = reconcile.reconcile(world.deps.sessions, cards, world.provider)
    assert clean == []
    # A payout the provider made that the ledger never heard of.
    world.provider.submit(PayoutRequest("withdrawal:999", "DE89370400440532013000", "X",
                                        Money(300), "instant", "?"))
    # A withdrawal the ledger says settled with another amount, one whose state differs,
    # and one the provider never received.
    with world.deps.sessions.begin() as session:
        session.execute(update(Withdrawal).where(Withdrawal.id == 1)
                        .values(amount_cents=2_001))
        session.execute(update(Withdrawal).where(Withdrawal.id == 2).values(status="settled"))
    world.provider.fail_before(1)  # never reached the provider...
    withdraw_now(world, Money(100))
    with world.deps.sessions.begin() as session:  # ...but the ledger believes it did
        session.execute(update(Withdrawal).where(Withdrawal.id == 3).values(status="submitted"))
    found = reconcile.reconcile(world.deps.sessions, cards, world.provider)
    assert kinds(found) >= {("payout", "missing_in_ledger"), ("payout", "amount"),
                            ("payout", "state"), ("payout", "missing_at_provider")}
    refs = {m.reference for m in found}
    assert {"withdrawal:999", "withdrawal:1", "withdrawal:2", "withdrawal:3"} <= refs


def test_since_limits_the_records(world: World, cards: SandboxProvider) -> None:
    busy_day(world, cards)
    with world.deps.sessions.begin() as session:
        session.add(Charge(provider_charge_id="ch_old_ghost", user_id=world.carol_id,
                           amount_cents=100, status="succeeded",
                           created_at=NOW - dt.timedelta(days=30)))
    assert reconcile.reconcile(world.deps.sessions, cards, world.provider,
                               since=NOW - dt.timedelta(days=1)) == []
    assert len(reconcile.reconcile(world.deps.sessions, cards, world.provider)) == 1


def test_cli_exit_status_and_the_metric(world: World, database_url: str, tmp_path) -> None:
    from bot.cli import main
    from bot.services.reconcile import ReconcileCollector

    env = {"TWEETPAY_DATABASE_URL": database_url, "TWEETPAY_DATA_DIR": str(tmp_path),
           "TWEETPAY_LOG_FORMAT": "json"}
    ok = CliRunner().invoke(main, ["reconcile"], env=env)
    assert ok.exit_code == 0 and "agree" in ok.output, ok.output
    with world.deps.sessions.begin() as session:
        session.add(Charge(provider_charge_id="ch_ghost", user_id=world.carol_id,
                           amount_cents=100, status="succeeded", created_at=NOW))
    bad = CliRunner().invoke(main, ["reconcile", "--since", "2020-01-01"], env=env)
    assert bad.exit_code == 1
    assert "MISMATCH: card ch_ghost: missing at provider" in bad.output
    assert CliRunner().invoke(main, ["reconcile", "--since", "yesterday"], env=env).exit_code == 2
    (gauge,) = list(ReconcileCollector(world.deps.sessions).collect())
    assert gauge.samples[0].value == 1
    from bot import metrics

    metrics.register("reconcile", ReconcileCollector(world.deps.sessions))
    assert b"tweetpay_reconciliation_mismatches 1.0" in metrics.render()
