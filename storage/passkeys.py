"""Passkeys and their one-time challenges: the rows, and the guarded writes on them.

- A passkey row holds a credential id and its public key, never a secret. Its counter moves
  by one guarded ``UPDATE ... WHERE id = :id AND sign_count = :seen`` inside the caller's
  transaction (the row is read ``FOR UPDATE`` first on PostgreSQL), so two uses of the same
  assertion cannot both pass.
- A challenge row (registration, step-up) is spent by one guarded ``UPDATE ... WHERE
  used_at IS NULL AND expires_at > now``: a challenge serves once, for one user and one
  purpose, within its lifetime.

Persistence only: the WebAuthn checks themselves live in ``bot.passkeys``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from storage.models import Passkey, WebAuthnChallenge

_P = cast(Table, Passkey.__table__)
_C = cast(Table, WebAuthnChallenge.__table__)
MAX_PER_USER = 10


@dataclass(frozen=True, slots=True)
class PasskeyView:
    id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class PasskeyRow:
    id: int
    user_id: int
    credential_id: str
    public_key: str
    sign_count: int
    user_handle: str


def listed(session: Session, user_id: int) -> list[PasskeyView]:
    rows = session.execute(
        select(_P.c.id, _P.c.name, _P.c.created_at, _P.c.last_used_at)
        .where(_P.c.user_id == user_id).order_by(_P.c.id)
    )
    return [PasskeyView(*row) for row in rows]


def credential_ids(conn: Connection | Session, user_id: int) -> list[str]:
    return list(conn.execute(
        select(_P.c.credential_id).where(_P.c.user_id == user_id).order_by(_P.c.id)
    ).scalars())


def count(conn: Connection | Session, user_id: int) -> int:
    return int(conn.execute(
        select(func.count()).select_from(_P).where(_P.c.user_id == user_id)
    ).scalar_one())


def user_handle_of(session: Session, user_id: int) -> str | None:
    """The WebAuthn user id already given to this user's passkeys, if any."""
    return session.execute(
        select(_P.c.user_handle).where(_P.c.user_id == user_id).order_by(_P.c.id).limit(1)
    ).scalar()


# Built once: the confirmation's hot path runs them under its row locks.
ROW_COLUMNS = (_P.c.id, _P.c.user_id, _P.c.credential_id, _P.c.public_key, _P.c.sign_count,
               _P.c.user_handle)
_FOR_UPDATE = (
    select(*ROW_COLUMNS)
    .where(_P.c.credential_id == bindparam("credential_id")).with_for_update()
)
RECORD_USE = (
    update(_P).where(_P.c.id == bindparam("passkey_id"), _P.c.sign_count == bindparam("seen"))
    .values(sign_count=bindparam("new_count"), last_used_at=bindparam("used_at"))
)


def for_update(conn: Connection, credential_id: str) -> PasskeyRow | None:
    row = conn.execute(_FOR_UPDATE, {"credential_id": credential_id}).first()
    return None if row is None else PasskeyRow(*row)


@dataclass(frozen=True, slots=True)
class PasskeyUse:
    """A verified assertion: ``row``'s counter is to move from what was checked to
    ``new_count``."""

    row: PasskeyRow
    new_count: int


def record_use(conn: Connection, used: PasskeyUse, now: dt.datetime) -> bool:
    """The counter moves from what was checked to ``new_count``; False if it moved meanwhile."""
    return conn.execute(RECORD_USE, use_params(used, now)).rowcount == 1


def use_params(used: PasskeyUse, now: dt.datetime) -> dict[str, object]:
    """``RECORD_USE``'s parameters (the confirmation runs it inside a larger statement)."""
    return {"passkey_id": used.row.id, "seen": used.row.sign_count,
            "new_count": used.new_count, "used_at": now}


def add(session: Session, *, user_id: int, credential_id: str, public_key: str,
        sign_count: int, user_handle: str, name: str, now: dt.datetime) -> int:
    row = Passkey(user_id=user_id, credential_id=credential_id, public_key=public_key,
                  sign_count=sign_count, user_handle=user_handle, name=name, created_at=now)
    session.add(row)
    session.flush()
    return row.id


def remove(session: Session, *, user_id: int, passkey_id: int) -> bool:
    done = session.execute(delete(_P).where(_P.c.id == passkey_id, _P.c.user_id == user_id))
    return done.rowcount == 1  # type: ignore[attr-defined]


def remove_all(session: Session, user_id: int) -> None:
    """Unlinking: the credentials go with the account's PIN."""
    session.execute(delete(_P).where(_P.c.user_id == user_id))


# -- challenges ------------------------------------------------------------------------------


def new_challenge(session: Session, *, user_id: int, purpose: str, challenge: str,
                  now: dt.datetime, ttl: dt.timedelta) -> None:
    session.add(WebAuthnChallenge(user_id=user_id, purpose=purpose, challenge=challenge,
                                  created_at=now, expires_at=now + ttl))
    session.flush()


def spend_challenge(conn: Connection | Session, *, user_id: int, purpose: str, challenge: str,
                    now: dt.datetime) -> bool:
    """True once: the challenge was issued to this user for this purpose and is still live."""
    done = conn.execute(
        update(_C)
        .where(_C.c.challenge == challenge, _C.c.user_id == user_id, _C.c.purpose == purpose,
               _C.c.used_at.is_(None), _C.c.expires_at > now)
        .values(used_at=now)
    )
    return done.rowcount == 1  # type: ignore[attr-defined]


def forget_old_challenges(session: Session, before: dt.datetime) -> None:
    session.execute(delete(_C).where(_C.c.expires_at < before))
