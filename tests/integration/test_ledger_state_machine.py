"""Random sequences of ledger operations against a pure in-memory model.

After every step: each balance equals the model's, no user balance is negative, and
``verify()`` finds nothing (balances sum to 0, each equals its postings, transfers balance).
Idempotency keys come from a small pool so replays and conflicts happen often.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from handlers.errors import IdempotencyConflict, InsufficientFunds, LedgerError
from handlers.money import Money
from storage.ledger import CARD_FUNDING, REVERSAL_KIND, Ledger, user_account_code

_RUNS = itertools.count(1)
CENTS = st.integers(min_value=1, max_value=30_000)
KEYS = st.integers(min_value=0, max_value=12)


@dataclass(frozen=True)
class Content:
    debit: str
    credit: str
    cents: int
    kind: str
    memo: str
    reverses: int | None = None


def make_machine(ledger: Ledger) -> type[RuleBasedStateMachine]:
    class LedgerMachine(RuleBasedStateMachine):
        accounts = Bundle("accounts")
        transfers = Bundle("transfers")

        def __init__(self) -> None:
            super().__init__()
            run = next(_RUNS)
            self.base = run * 1_000  # fresh account codes and keys for every example
            self.prefix = f"sm{run}"
            self.balances: dict[str, int] = {CARD_FUNDING: ledger.balance(CARD_FUNDING).cents}
            self.by_key: dict[str, tuple[int, Content]] = {}
            self.by_id: dict[int, Content] = {}
            self.reversed_by: dict[int, str] = {}

        # -- helpers -----------------------------------------------------------------------

        def _expect(self, key: str, content: Content, call) -> int | None:
            """Run ``call`` and check its outcome against the model; return a new transfer id."""
            if key in self.by_key:
                first_id, first = self.by_key[key]
                if first != content:
                    with pytest.raises(IdempotencyConflict):
                        call()
                    return None
                result = call()
                assert (result.transfer_id, result.created) == (first_id, False)
                return None
            if content.reverses is not None and content.reverses in self.reversed_by:
                with pytest.raises(LedgerError) as info:
                    call()
                assert info.value.code == "already_reversed"
                return None
            if content.debit != CARD_FUNDING and self.balances[content.debit] < content.cents:
                with pytest.raises(InsufficientFunds):
                    call()
                return None
            result = call()
            assert result.created
            self.balances[content.debit] -= content.cents
            self.balances[content.credit] += content.cents
            assert result.debit_balance == Money(self.balances[content.debit])
            assert result.credit_balance == Money(self.balances[content.credit])
            self.by_key[key] = (result.transfer_id, content)
            self.by_id[result.transfer_id] = content
            if content.reverses is not None:
                self.reversed_by[content.reverses] = key
            return result.transfer_id

        def _post(self, key: str, content: Content) -> int | None:
            return self._expect(
                key,
                content,
                lambda: ledger.post_transfer(
                    idempotency_key=key,
                    debit=content.debit,
                    credit=content.credit,
                    amount=Money(content.cents),
                    kind=content.kind,
                    memo=content.memo,
                ),
            )

        # -- rules -------------------------------------------------------------------------

        @rule(target=accounts, n=st.integers(min_value=0, max_value=6))
        def open_account(self, n: int) -> str:
            code = user_account_code(self.base + n)
            ledger.open_account(code, "user")
            self.balances.setdefault(code, 0)
            return code

        @rule(target=transfers, account=accounts, cents=CENTS, k=KEYS)
        def top_up(self, account: str, cents: int, k: int):
            content = Content(CARD_FUNDING, account, cents, "topup", "card")
            transfer_id = self._post(f"{self.prefix}:t{k}", content)
            return multiple() if transfer_id is None else transfer_id

        @rule(
            target=transfers,
            debit=accounts,
            credit=accounts,
            cents=CENTS,
            k=KEYS,
            memo=st.sampled_from(["", "resto", "café ☕"]),
        )
        def pay(self, debit: str, credit: str, cents: int, k: int, memo: str):
            if debit == credit:
                with pytest.raises(ValueError):
                    ledger.post_transfer(
                        idempotency_key="x",
                        debit=debit,
                        credit=credit,
                        amount=Money(cents),
                        kind="payment",
                    )
                return multiple()
            transfer_id = self._post(
                f"{self.prefix}:p{k}", Content(debit, credit, cents, "payment", memo)
            )
            return multiple() if transfer_id is None else transfer_id

        @rule(target=transfers, account=accounts, k=KEYS)
        def overdraft_attempt(self, account: str, k: int):
            content = Content(account, CARD_FUNDING, self.balances[account] + 1, "payout", "")
            transfer_id = self._post(f"{self.prefix}:o{k}", content)
            assert transfer_id is None  # a replay at most, never a new transfer
            return multiple()

        @rule(target=transfers, original=transfers, k=st.integers(min_value=0, max_value=4))
        def reverse(self, original: int, k: int):
            first = self.by_id[original]
            content = Content(
                first.credit,
                first.debit,
                first.cents,
                REVERSAL_KIND,
                f"reversal of transfer {original}",
                original,
            )
            key = f"{self.prefix}:r{k}"
            transfer_id = self._expect(
                key, content, lambda: ledger.reverse(original, idempotency_key=key)
            )
            return multiple() if transfer_id is None else transfer_id

        # -- invariants --------------------------------------------------------------------

        @invariant()
        def balances_match_the_model(self) -> None:
            for code, cents in self.balances.items():
                assert ledger.balance(code) == Money(cents), code
                if code != CARD_FUNDING:
                    assert cents >= 0

        @invariant()
        def ledger_verifies(self) -> None:
            assert ledger.verify() == []

    return LedgerMachine


def test_ledger_state_machine_sqlite(sqlite_engine) -> None:
    run_state_machine_as_test(
        make_machine(Ledger(sqlite_engine)),
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


@pytest.mark.postgres
def test_ledger_state_machine_postgres(pg_engine) -> None:
    run_state_machine_as_test(
        make_machine(Ledger(pg_engine)),
        settings=settings(
            max_examples=8,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
