"""Every state change of a row that money depends on, written down once: which moves exist,
who may make them, and the one statement that makes them.

A move is a guarded transition: ``UPDATE <table> SET <state> = :new ... WHERE id = :id AND
<state> = :expected``, run inside the transaction that posts the money, its row count read
back. Of two processes racing on one row (PostgreSQL re-checks the WHERE after waiting for
the other's row lock; SQLite serialises writers with ``BEGIN IMMEDIATE``), exactly one sees
a count of 1; the other moved nothing and must post nothing. ``move`` returns False then;
``move_or_raise`` raises ``TransitionLost``, which the inbox treats as transient: the event
is handled again from fresh facts, so its author is told the true outcome.

Intents (``payment_intents.status``)::

    awaiting_confirmation ─┬─> confirmed   payer, confirmation page: right PIN, transfer posted
                           ├─> failed      payer, confirmation page: the ledger or a limit refused
                           ├─> cancelled   author or payer, ``#annuler``; confirmation page after
                           │               too many wrong PINs
                           └─> expired     scheduler, past the TTL

Escrow holds (``escrow_holds.status``)::

    held ─┬─> claimed    recipient, at sign-up: escrow → their wallet
          ├─> cancelled  sender, ``#annuler <ref>``: escrow → sender
          └─> refunded   scheduler, past the claim deadline: escrow → sender

One-time links (``confirmation_tokens.used_at``): ``unused -> used``, by the holder of the link
(confirmation page, sign-up, login), once. ``used_at IS NULL`` is the guard; callers add
their own conditions (purpose, expiry) through ``where``.

Withdrawals (``withdrawals.status``; the moves are ``storage.payouts.TRANSITIONS``, made by
``storage.payouts.transition``, which also accepts several expected states)::

    awaiting_confirmation ─┬─> confirmed ─┬─> submitting ─┬─> submitted ─┬─> settled ─> returned
                           ├─> cancelled  └─> cancelled  ├─> settled    └─> returned
                           ├─> expired                   ├─> returned
                           └─> failed                    └─> failed

Terminal states never change. A new state machine adds its ``Machine`` to ``MACHINES`` here,
with who may make each move, and moves its rows only through a guarded statement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from handlers.errors import TransitionLost
from storage.models import ConfirmationToken, EscrowHold, PaymentIntent, Withdrawal
from storage.payouts import TRANSITIONS as WITHDRAWAL_MOVES

Who = str  # who may make a move, in words (for the reader and for error messages)


@dataclass(frozen=True)
class Machine:
    """The moves of one table's state column, each with who may make it."""

    name: str
    table: Table
    moves: Mapping[tuple[str, str], Who]
    # How a state reads as a condition, and how the new state is written (a status column
    # by default; links are ``used_at`` NULL or not).
    is_state: Callable[[Table, str], ColumnElement[bool]] | None = None
    set_state: Callable[[str, Mapping[str, Any]], dict[str, Any]] | None = None

    def check(self, expected: str, new: str) -> None:
        if (expected, new) not in self.moves:
            raise ValueError(f"{self.name}: no transition {expected} -> {new}")

    def condition(self, state: str) -> ColumnElement[bool]:
        if self.is_state is not None:
            return self.is_state(self.table, state)
        return self.table.c.status == state

    def values(self, new: str, values: Mapping[str, Any]) -> dict[str, Any]:
        if self.set_state is not None:
            return self.set_state(new, values)
        return {"status": new, **values}


INTENT = Machine(
    "intent",
    PaymentIntent.__table__,  # type: ignore[arg-type]
    {
        ("awaiting_confirmation", "confirmed"): "the payer, on the confirmation page",
        ("awaiting_confirmation", "failed"): "the payer, on the confirmation page",
        ("awaiting_confirmation", "cancelled"): "the author or payer (#annuler); the page",
        ("awaiting_confirmation", "expired"): "the scheduler",
    },
)

HOLD = Machine(
    "escrow hold",
    EscrowHold.__table__,  # type: ignore[arg-type]
    {
        ("held", "claimed"): "the recipient, at sign-up",
        ("held", "cancelled"): "the sender (#annuler <ref>)",
        ("held", "refunded"): "the scheduler, past the claim deadline",
    },
)


def _link_state(table: Table, state: str) -> ColumnElement[bool]:
    return table.c.used_at.is_(None) if state == "unused" else table.c.used_at.is_not(None)


def _link_values(new: str, values: Mapping[str, Any]) -> dict[str, Any]:
    assert new == "used" and "used_at" in values, "a link is spent by setting used_at"
    return dict(values)


LINK = Machine(
    "one-time link",
    ConfirmationToken.__table__,  # type: ignore[arg-type]
    {("unused", "used"): "the holder of the link (confirm, sign-up, login), once"},
    is_state=_link_state,
    set_state=_link_values,
)

# Who makes each withdrawal move, by the state it reaches (bot.services.withdraw).
_WITHDRAWAL_WHO = {
    "confirmed": "the holder, with their PIN", "cancelled": "the holder",
    "expired": "the scheduler", "submitting": "the submission job",
    "submitted": "the submission job",
    "settled": "the provider's notification, or the recovery job",
    "returned": "the provider's notification, or the recovery job",
    "failed": "the holder's confirmation (no funds), or the provider's refusal",
}
WITHDRAWAL = Machine(
    "withdrawal",
    Withdrawal.__table__,  # type: ignore[arg-type]
    {move: _WITHDRAWAL_WHO[move[1]] for move in sorted(WITHDRAWAL_MOVES)},
)

MACHINES: Mapping[str, Machine] = {
    m.table.name: m for m in (INTENT, HOLD, LINK, WITHDRAWAL)
}


def statement(machine: Machine, expected: str, new: str, *, key: ColumnElement[bool],
              where: Iterable[ColumnElement[bool]] = (), **values: Any) -> Any:
    """The guarded UPDATE for one move (``key`` names the row), for callers that run it
    themselves (inside a larger statement, or to read RETURNING)."""
    machine.check(expected, new)
    return (
        update(machine.table)
        .where(key, machine.condition(expected), *where)
        .values(**machine.values(new, values))
    )


def move(target: Session | Connection, machine: Machine, row_id: int, expected: str, new: str,
         *, where: Iterable[ColumnElement[bool]] = (), row: Any = None, **values: Any) -> bool:
    """Move row ``row_id`` from ``expected`` to ``new`` (setting ``values`` too) if it is still
    in ``expected``; True if this call made the move. ``row``: the ORM object of that row,
    kept in step with what was written (without a second round trip)."""
    stmt = statement(machine, expected, new, key=machine.table.c.id == row_id, where=where,
                     **values)
    if isinstance(target, Session):
        target.flush()  # the caller's pending ORM writes first, in order
        result = target.connection().execute(stmt)
    else:
        result = target.execute(stmt)
    if result.rowcount != 1:
        return False
    if row is not None:
        for name, value in machine.values(new, values).items():
            set_committed_value(row, name, value)
    return True


def move_or_raise(target: Session | Connection, machine: Machine, row_id: int, expected: str,
                  new: str, **kwargs: Any) -> None:
    """``move``, raising ``TransitionLost`` when someone else moved the row first."""
    if not move(target, machine, row_id, expected, new, **kwargs):
        raise TransitionLost(f"{machine.name} {row_id} is no longer {expected}")
