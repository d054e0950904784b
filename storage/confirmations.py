"""The confirmation's rows and writes: what the confirmation service
(``bot.services.confirm``) reads and writes, with Core statements built once (no ORM
identity map on the hot path, statements cached and, on PostgreSQL, prepared).

- ``read``: the token, its intent and the payer in one SELECT (no lock: the page's GET, and
  the POST's pre-read before the PIN check);
- ``lock``: the same rows locked (token, intent, payer: ``FOR NO KEY UPDATE``), plus what the
  notices need about the payee and the initiator, and for a passkey POST the payer's passkey
  its assertion names, locked in the same statement;
- the writes of each decision: ``spend`` (the link, with the payer's rolling totals read and
  a passkey's counter moved in the same round trip on PostgreSQL), ``record_wrong_pin``,
  ``record_failed``, ``reset_failures`` and ``confirmed_along`` (the intent's move to
  ``confirmed``, to ride with the outbox insert). Every move of the intent is a guarded transition
  (``storage.transitions``).

Persistence only: no text, no PIN check, no hashing (the service passes the token's SHA-256).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, func, select, update

from handlers.errors import TransitionLost
from storage import devices, limits, outbox, passkeys, transitions
from storage.models import ConfirmationToken, Contact, Passkey, PaymentIntent, User
from storage.passkeys import PasskeyRow, PasskeyUse

# -- rows, read with Core (no ORM identity map on the hot path) -------------------------------

_T = cast(Table, ConfirmationToken.__table__)
_I = cast(Table, PaymentIntent.__table__)
_U = cast(Table, User.__table__)
_PAYEE = _U.alias("payee")
_PAYEE_CONTACT = Contact.__table__.alias("payee_contact")
_INITIATOR_CONTACT = Contact.__table__.alias("initiator_contact")
_K = cast(Table, Passkey.__table__)


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    purpose: str
    x_user_id: int
    intent_id: int | None
    amount_cents: int | None
    payee_x_user_id: int | None
    expires_at: dt.datetime
    used_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class IntentRow:
    id: int
    reference: str
    kind: str
    lang: str
    initiator_x_user_id: int
    payer_x_user_id: int
    payee_x_user_id: int
    payee_handle: str
    amount_cents: int
    memo: str
    status: str
    wrong_pin_attempts: int
    tweet_id: str | None
    expires_at: dt.datetime
    binding_mac: str | None


@dataclass(frozen=True, slots=True)
class PayerRow:
    id: int
    x_user_id: int
    handle: str
    status: str
    lang: str
    pin_hash: str | None
    failed_pin_attempts: int
    locked_until: dt.datetime | None


def _columns(table: Any, row_type: Any, prefix: str) -> list[Any]:
    return [table.c[name].label(f"{prefix}{name}") for name in row_type.__dataclass_fields__]


def _build(row: Any, row_type: Any, prefix: str) -> Any:
    names = row_type.__dataclass_fields__
    start = row._fields.index(f"{prefix}id")  # the columns of one row type are contiguous
    values = tuple(row)[start : start + len(names)]
    return None if values[0] is None else row_type(*values)


_JOINED = _T.outerjoin(_I, _I.c.id == _T.c.intent_id).outerjoin(
    _U, _U.c.x_user_id == _I.c.payer_x_user_id
)
_READ = (
    select(
        *_columns(_T, TokenRow, "t_"), *_columns(_I, IntentRow, "i_"), *_columns(_U, PayerRow, "u_")
    )
    .select_from(_JOINED)
    .where(_T.c.token_hash == bindparam("token_hash"))
)
# Under lock: the same rows, plus what the notices need about the payee and the initiator.
_LOCKED_COLUMNS = (
    *_columns(_T, TokenRow, "t_"),
    *_columns(_I, IntentRow, "i_"),
    *_columns(_U, PayerRow, "u_"),
    _PAYEE.c.lang.label("payee_lang"),
    _PAYEE.c.status.label("payee_status"),
    _PAYEE_CONTACT.c.stopped.label("payee_stopped"),
    _INITIATOR_CONTACT.c.stopped.label("initiator_stopped"),
    # The payee has an app device: told by push, no DM (storage.devices).
    devices.has_app_clause(
        _I.c.payee_x_user_id, bindparam("lock_now", type_=_I.c.expires_at.type)
    ).label("payee_app"),
)
_LOCKED_ROWS = (
    _T.join(_I, _I.c.id == _T.c.intent_id)
    .join(_U, _U.c.x_user_id == _I.c.payer_x_user_id)
    .outerjoin(_PAYEE, _PAYEE.c.x_user_id == _I.c.payee_x_user_id)
    .outerjoin(_PAYEE_CONTACT, _PAYEE_CONTACT.c.x_user_id == _I.c.payee_x_user_id)
    .outerjoin(_INITIATOR_CONTACT, _INITIATOR_CONTACT.c.x_user_id == _I.c.initiator_x_user_id)
)
_LOCK = (
    select(*_LOCKED_COLUMNS)
    .select_from(_LOCKED_ROWS)
    .where(_T.c.token_hash == bindparam("token_hash"))
    # PostgreSQL: lock the token, the intent and the payer (not the outer-joined rows);
    # SQLite: BEGIN IMMEDIATE already holds the write lock.
    # FOR NO KEY UPDATE: no key changes, so the foreign-key checks of other transactions (an
    # outbox row naming this intent, a posting on the payer's wallet) are not blocked.
    .with_for_update(of=[_T, _I, _U], key_share=True)
)
# A passkey POST: the same, with the payer's passkey the assertion names, locked too (one
# round trip less than locking it on its own). An inner join, since PostgreSQL locks no row
# on the nullable side of an outer join: no row here means no such passkey of this payer's,
# or no such link, and ``lock`` then reads without the passkey to tell which.
_LOCK_WITH_PASSKEY = (
    select(*_LOCKED_COLUMNS, *(c.label(f"k_{c.name}") for c in passkeys.ROW_COLUMNS))
    .select_from(_LOCKED_ROWS.join(_K, and_(_K.c.credential_id == bindparam("credential_id"),
                                            _K.c.user_id == _U.c.id)))
    .where(_T.c.token_hash == bindparam("token_hash"))
    .with_for_update(of=[_T, _I, _U, _K], key_share=True)
)
# The intent's row is locked (``_LOCK``) before any of its moves: the guard in the WHERE
# cannot fail then, and states it (storage.transitions lists who may make each move).
_CONFIRM = transitions.statement(
    transitions.INTENT, "awaiting_confirmation", "confirmed",
    key=_I.c.id == bindparam("confirm_intent_id"),
    decided_at=bindparam("confirmed_at"), transfer_id=bindparam("confirm_transfer_id"),
)
_SPEND = update(_T).where(_T.c.id == bindparam("token_id")).values(used_at=bindparam("spent_at"))
# PostgreSQL: spend the token and read the payer's rolling windows in one statement.
_SPEND_AND_WINDOWS = limits.WINDOWS.add_cte(_SPEND.cte("spent"))
# ... and move the passkey's counter (a passkey confirmation), saying how many rows moved.
_USED = passkeys.RECORD_USE.returning(_K.c.id).cte("used")
_SPEND_USE_AND_WINDOWS = limits.WINDOWS.add_cte(_SPEND.cte("spent"), _USED).add_columns(
    select(func.count()).select_from(_USED).scalar_subquery())


@dataclass(frozen=True, slots=True)
class Locked:
    """The rows under lock, and what the notices need to know of the payee and initiator."""

    token: TokenRow
    intent: IntentRow
    payer: PayerRow
    payee_lang: str | None
    payee_status: str | None  # None: no account (the money goes to escrow)
    payee_stopped: bool | None
    initiator_stopped: bool | None
    payee_app: bool = False  # a live device session with push (storage.devices.has_app)
    passkey: PasskeyRow | None = None  # locked with the rows when ``lock`` is given its id


def read(conn: Connection, token_hash: str
         ) -> tuple[TokenRow | None, IntentRow | None, PayerRow | None]:
    row = conn.execute(_READ, {"token_hash": token_hash}).first()
    if row is None:
        return None, None, None
    return _build(row, TokenRow, "t_"), _build(row, IntentRow, "i_"), _build(row, PayerRow, "u_")


def lock(conn: Connection, token_hash: str, now: dt.datetime,
         credential_id: str | None = None) -> Locked | None:
    """None if the token, its intent or the payer is gone. With ``credential_id``, the
    payer's passkey of that id is locked too (``Locked.passkey``; None if they have none)."""
    params = {"token_hash": token_hash, "lock_now": now}
    row = None
    if credential_id is not None:
        row = conn.execute(_LOCK_WITH_PASSKEY, params | {"credential_id": credential_id}).first()
    if row is None:
        row = conn.execute(_LOCK, params).first()
        if row is None:
            return None
    m = row._mapping
    return Locked(
        _build(row, TokenRow, "t_"), _build(row, IntentRow, "i_"), _build(row, PayerRow, "u_"),
        payee_lang=m["payee_lang"], payee_status=m["payee_status"],
        payee_stopped=m["payee_stopped"], initiator_stopped=m["initiator_stopped"],
        payee_app=bool(m["payee_app"]),
        passkey=_build(row, PasskeyRow, "k_") if "k_id" in m else None,
    )


def record_wrong_pin(conn: Connection, intent_id: int, payer_id: int, *, intent_attempts: int,
                     cancel: bool, cancel_reason: str, account_failures: int,
                     lock_until: dt.datetime | None, now: dt.datetime) -> None:
    if cancel:
        transitions.move_or_raise(
            conn, transitions.INTENT, intent_id, "awaiting_confirmation", "cancelled",
            wrong_pin_attempts=intent_attempts, failure_reason=cancel_reason, decided_at=now,
        )
    else:
        conn.execute(update(_I).where(_I.c.id == intent_id)
                     .values(wrong_pin_attempts=intent_attempts))
    payer_values: dict[str, Any] = {"failed_pin_attempts": account_failures}
    if lock_until is not None:
        payer_values["locked_until"] = lock_until
    conn.execute(update(_U).where(_U.c.id == payer_id).values(**payer_values))


def reset_failures(conn: Connection, payer_id: int) -> None:
    conn.execute(update(_U).where(_U.c.id == payer_id).values(failed_pin_attempts=0))


def spend(conn: Connection, token_id: int, now: dt.datetime, *,
          windows_of: int | None = None, used: PasskeyUse | None = None
          ) -> tuple[int, int] | None:
    """Spend the link; with ``windows_of`` (the payer's X id), also return what they sent in
    the last 24 hours and 30 days, read after the payer's row lock was granted (so
    authoritative); with ``used``, move the passkey's counter. PostgreSQL: one round trip,
    a data-modifying CTE."""
    values = {"token_id": token_id, "spent_at": now}
    params = None if windows_of is None else (
        limits.window_params(windows_of, now - limits.DAY, now - limits.MONTH) | values)
    if params is not None and conn.dialect.name == "postgresql":
        if used is None:
            day, month = conn.execute(_SPEND_AND_WINDOWS, params).one()
        else:
            day, month, moved = conn.execute(
                _SPEND_USE_AND_WINDOWS, params | passkeys.use_params(used, now)).one()
            _moved(moved == 1)
        return int(day), int(month)
    conn.execute(_SPEND, values)
    if used is not None:
        _moved(passkeys.record_use(conn, used, now))
    if params is None:
        return None
    day, month = conn.execute(limits.WINDOWS, params).one()
    return int(day), int(month)


def _moved(moved: bool) -> None:
    # The passkey's row is locked since it was read (``lock``): its counter cannot have
    # moved meanwhile, and if it did, nothing of this confirmation may commit.
    if not moved:
        raise TransitionLost("the passkey's counter moved under its lock")


def record_failed(conn: Connection, intent_id: int, reason: str, now: dt.datetime) -> None:
    transitions.move_or_raise(conn, transitions.INTENT, intent_id, "awaiting_confirmation",
                              "failed", failure_reason=reason, decided_at=now)


def confirmed_along(intent_id: int, transfer_id: int, now: dt.datetime) -> outbox.Along:
    """The intent's move to ``confirmed``, to write with the outbox rows (one statement on
    PostgreSQL)."""
    return outbox.Along(_CONFIRM, {
        "confirm_intent_id": intent_id, "confirmed_at": now, "confirm_transfer_id": transfer_id,
    })
