"""Account-page sessions, and what an account holder does there with their PIN.

Sessions: a login link (``ConfirmationToken`` purpose ``'login'``, issued by ``#compte``) is
spent by one conditional ``UPDATE`` (as in ``storage.signup``) and opens a ``WebSession``.
The cookie value is a 256-bit secret; the database keeps only its SHA-256, so a copy of the
table opens nothing. A session is good until ``expires_at`` unless revoked (log out, unlink,
PIN lockout); it belongs to an account that is not unlinked.

PIN checks (change PIN, unlink) count against the same per-account budget as the
confirmation page (``users.failed_pin_attempts``, ``PinPolicy.max_failures_per_account``):
at the limit the account is locked for ``policy.lockout``, a DM alert is queued
(``handlers.confirmation.lockout_alert``) and every session of the account is revoked. A
locked account is refused before any Argon2id work. The caller verifies the PIN against the
hash it read *outside* the write transaction (Argon2id costs ~25 ms; SQLite's write lock is
not held meanwhile) and passes ``(checked_hash, matched)``; if the hash changed in between,
it is checked again under the lock.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handlers.money import Money
from storage import escrow
from storage.intents import find_link_token
from storage.ledger import user_account_code
from storage.models import Account, ConfirmationToken, User, WebSession
from storage.uow import UnitOfWork

PURPOSE = "login"
SESSION_TTL = dt.timedelta(minutes=15)


class LoginRefusal(enum.StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    NO_ACCOUNT = "no_account"  # the X account has no (or an unlinked) tweetpay account


@dataclass(frozen=True, slots=True)
class Holder:
    """The account holder behind a live session."""

    user_id: int
    x_user_id: int
    handle: str
    kind: str
    lang: str
    locked_until: dt.datetime | None
    session_expires_at: dt.datetime
    session_id: int = 0  # the device session (storage.devices)


@dataclass(frozen=True, slots=True)
class LoginLink:
    handle: str
    lang: str


class PinCheck(enum.StrEnum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class PinResult:
    check: PinCheck
    attempts_left: int = 0
    locked_until: dt.datetime | None = None


class UnlinkRefusal(enum.StrEnum):
    BALANCE = "balance"  # money still in the wallet
    HELD = "held"  # money this user sent is waiting in escrow and may come back


@dataclass(frozen=True, slots=True)
class UnlinkBlocked:
    reason: UnlinkRefusal
    amount: Money


# -- login links and sessions --------------------------------------------------------------


def user_by_x_id(session: Session, x_user_id: int) -> User | None:
    return session.scalars(select(User).where(User.x_user_id == x_user_id)).first()


def login_refusal(session: Session, token: ConfirmationToken | None, now: dt.datetime
             ) -> LoginRefusal | None:
    if token is None:
        return LoginRefusal.UNKNOWN
    if token.used_at is not None:
        return LoginRefusal.USED
    if now >= token.expires_at:
        return LoginRefusal.EXPIRED
    user = user_by_x_id(session, token.x_user_id)
    if user is None or user.status == "unlinked":
        return LoginRefusal.NO_ACCOUNT
    return None


def look_login(session: Session, token_hash: str, now: dt.datetime) -> LoginLink | LoginRefusal:
    """Read only (GET): may this login link still open a session?"""
    token = find_link_token(session, token_hash, PURPOSE)
    refused = login_refusal(session, token, now)
    if refused is not None:
        return refused
    assert token is not None
    user = user_by_x_id(session, token.x_user_id)
    assert user is not None
    return LoginLink(handle=user.handle, lang=user.lang)


def open_session(session: Session, *, user_id: int, session_hash: str, now: dt.datetime,
                 ttl: dt.timedelta = SESSION_TTL) -> None:
    session.add(WebSession(session_hash=session_hash, user_id=user_id, created_at=now,
                           expires_at=now + ttl))
    session.flush()


def current(session: Session, session_hash: str, now: dt.datetime) -> Holder | None:
    """The holder of a live session, or None (unknown, expired, revoked, unlinked)."""
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.session_hash == session_hash)
    ).first()
    if row is None:
        return None
    web, user = row
    if web.revoked_at is not None or now >= web.expires_at or user.status == "unlinked":
        return None
    return Holder(
        user_id=user.id,
        x_user_id=user.x_user_id,
        handle=user.handle,
        kind=user.kind,
        lang=user.lang,
        locked_until=user.locked_until if user.locked_until and user.locked_until > now else None,
        session_expires_at=web.expires_at,
        session_id=web.id,
    )


def log_out(session: Session, session_hash: str, now: dt.datetime) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.session_hash == session_hash, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def revoke_all(session: Session, user_id: int, now: dt.datetime) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


# -- PIN-protected actions -------------------------------------------------------------------


def pin_hash_of(session: Session, user_id: int) -> str | None:
    user = session.get(User, user_id)
    return user.pin_hash if user is not None else None


def _locked(uow: UnitOfWork, user_id: int) -> User:
    user = uow.session.get(User, user_id, with_for_update=True)
    assert user is not None
    return user


def locked_until_of(session: Session, user_id: int, now: dt.datetime) -> dt.datetime | None:
    user = session.get(User, user_id)
    if user is None or user.locked_until is None or user.locked_until <= now:
        return None
    return user.locked_until


def unlink_blocker(uow: UnitOfWork, x_user_id: int) -> UnlinkBlocked | None:
    """Why the account cannot be unlinked now, if it cannot. The wallet row is locked first
    (PostgreSQL), so no transfer credits it between this check and the unlink."""
    code = user_account_code(x_user_id)
    uow.session.execute(select(Account.id).where(Account.code == code).with_for_update())
    balance = uow.ledger.balance(code)
    if balance.cents != 0:
        return UnlinkBlocked(UnlinkRefusal.BALANCE, balance)
    held = escrow.held_by_sender(uow.session, x_user_id)
    if held:
        return UnlinkBlocked(UnlinkRefusal.HELD, Money(sum(h.amount_cents for h in held)))
    return None


# The PIN checks (bot.services.login) lock the user row with this.
lock_user = _locked
