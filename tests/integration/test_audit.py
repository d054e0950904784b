"""``ledger verify`` catches what the races would leave behind: planted on real data (a
double release, a cancelled intent with its transfer...), each is reported, by the CLI too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from bot.cli import main
from bot.services.confirm import Outcome
from handlers.money import Money
from storage.ledger import ESCROW, user_account_code

try:
    from tests.integration.races import Bank
except ImportError:  # tests/ itself on sys.path
    from integration.races import Bank  # type: ignore[no-redef]

ALICE, BOB, CAROL = 1001, 1002, 1003


@pytest.fixture
def bank(database_url: str) -> Iterator[Bank]:
    world = Bank(database_url)
    world.person("alice", ALICE, cents=10_000)
    world.person("bob", BOB)
    world.person("carol", CAROL, member=False)
    yield world
    world.close()


def _sql(bank: Bank, statement: str) -> None:
    with bank.main.engine.begin() as conn:
        conn.execute(text(statement))


def _claimed_hold(bank: Bank) -> int:
    intent, token = bank.pay(ALICE, "#envoyer 5€ @carol")
    assert bank.confirm(token).outcome is Outcome.CONFIRMED
    hold = bank.held(intent.id)
    assert bank.sign_up(CAROL).claimed_count == 1
    assert bank.ledger.verify() == []
    return hold.id


def test_a_planted_double_release_is_reported(bank: Bank) -> None:
    hold_id = _claimed_hold(bank)
    # What the race did: the sender's cancel refunded a hold the recipient had claimed.
    bank.ledger.post_transfer(
        idempotency_key=f"escrow:{hold_id}:refund", debit=ESCROW,
        credit=user_account_code(ALICE), amount=Money(500), kind="refund",
        memo=f"escrow {hold_id}",
    )
    findings = bank.ledger.verify()
    assert f"escrow hold {hold_id} (claimed) was released 2 time(s)" in findings
    assert "system account system:escrow (escrow) has the wrong sign: -500" in findings
    assert "escrow holds -500 but the holds still held sum to 0" in findings


def test_a_hold_marked_released_without_its_transfer_is_reported(bank: Bank) -> None:
    intent, token = bank.pay(ALICE, "#envoyer 5€ @carol")
    assert bank.confirm(token).outcome is Outcome.CONFIRMED
    hold_id = bank.held(intent.id).id
    _sql(bank, f"UPDATE escrow_holds SET status = 'refunded' WHERE id = {hold_id}")
    findings = bank.ledger.verify()
    assert f"escrow hold {hold_id} (refunded) was released 0 time(s)" in findings
    assert "escrow holds 500 but the holds still held sum to 0" in findings


def test_a_planted_cancelled_intent_with_its_transfer_is_reported(bank: Bank) -> None:
    intent, token = bank.pay(ALICE, "#envoyer 12€ @bob")
    assert bank.confirm(token).outcome is Outcome.CONFIRMED
    assert bank.ledger.verify() == []
    # What the race did: #annuler overwrote the confirmation committed meanwhile.
    _sql(bank, f"UPDATE payment_intents SET status = 'cancelled' WHERE id = {intent.id}")
    assert f"intent {intent.id} is cancelled but has 1 transfer(s)" in bank.ledger.verify()
    result = CliRunner().invoke(main, ["ledger", "verify"], env={
        "TWEETPAY_DATABASE_URL": bank.url, "TWEETPAY_ENV": "sandbox",
        "TWEETPAY_LOG_FORMAT": "json"})
    assert result.exit_code == 1, result.output
    assert f"FINDING: intent {intent.id} is cancelled but has 1 transfer(s)" in result.output


def test_a_confirmed_intent_without_its_transfer_is_reported(bank: Bank) -> None:
    intent, _ = bank.pay(ALICE, "#envoyer 12€ @bob")
    _sql(bank, f"UPDATE payment_intents SET status = 'confirmed' WHERE id = {intent.id}")
    assert bank.ledger.verify() == [f"intent {intent.id} is confirmed but has 0 transfer(s)"]
