"""The table of guarded transitions (storage.transitions) agrees with the schema."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import sqlite

from storage import transitions
from storage.models import INTENT_STATES, TERMINAL_STATES, EscrowHold


def test_every_intent_move_leaves_the_awaiting_state_for_a_terminal_one() -> None:
    assert set(transitions.INTENT.moves) == {
        ("awaiting_confirmation", state) for state in TERMINAL_STATES
    }
    assert {new for _, new in transitions.INTENT.moves} <= set(INTENT_STATES)


def test_hold_moves_reach_every_released_state_from_held_only() -> None:
    check = next(c for c in EscrowHold.__table__.constraints if c.name == "ck_escrow_holds_status")
    for state in ("claimed", "refunded", "cancelled"):
        assert ("held", state) in transitions.HOLD.moves and state in str(check.sqltext)
    assert {old for old, _ in transitions.HOLD.moves} == {"held"}


@pytest.mark.parametrize("machine, expected, new", [
    (transitions.INTENT, "confirmed", "cancelled"),  # terminal states never change
    (transitions.INTENT, "expired", "confirmed"),
    (transitions.HOLD, "claimed", "refunded"),
    (transitions.LINK, "used", "unused"),
])
def test_a_move_not_in_the_table_is_refused(machine: transitions.Machine, expected: str,
                                            new: str) -> None:
    with pytest.raises(ValueError, match="no transition"):
        transitions.statement(machine, expected, new, key=machine.table.c.id == 1)


def test_the_statement_guards_on_the_expected_state() -> None:
    stmt = transitions.statement(transitions.HOLD, "held", "claimed",
                                 key=transitions.HOLD.table.c.id == 7, decided_at=None)
    sql = str(stmt.compile(dialect=sqlite.dialect()))
    assert "WHERE escrow_holds.id = ? AND escrow_holds.status = ?" in sql
    link = transitions.statement(transitions.LINK, "unused", "used",
                                 key=transitions.LINK.table.c.id == 7, used_at=None)
    assert "used_at IS NULL" in str(link.compile(dialect=sqlite.dialect()))


def test_every_machine_is_listed_once_by_its_table() -> None:
    assert set(transitions.MACHINES) == {
        "payment_intents", "escrow_holds", "confirmation_tokens", "withdrawals"}
    assert all(who for m in transitions.MACHINES.values() for who in m.moves.values())
