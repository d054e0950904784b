"""Log in and the account's PIN: spend a one-time login link into a session, and check the
PIN for the account page (change, unlink) and the other flows that ask for it (bank account,
withdrawal, step-up), with one budget of wrong codes and one lockout.

A lockout revokes every session and queues the alert chosen by ``handlers.confirmation``;
``storage.sessions`` keeps the rows. Each function leaves the commit to its caller, as said.
"""

from __future__ import annotations

import datetime as dt

from bot.security import PinHasher
from handlers.confirmation import PinPolicy, lockout_alert
from storage import outbox, passkeys, sessions
from storage.intents import find_link_token, spend_link
from storage.models import Contact, User
from storage.sealing import Sealer
from storage.sessions import LoginRefusal, PinCheck, PinResult, UnlinkBlocked
from storage.uow import UnitOfWork


def log_in(uow: UnitOfWork, *, token_hash: str, session_hash: str, now: dt.datetime,
           ttl: dt.timedelta = sessions.SESSION_TTL) -> int | LoginRefusal:
    """Spend the login link and open a session; returns the user id. Commit only on an int."""
    session = uow.session
    spent = spend_link(session, token_hash, sessions.PURPOSE, now)
    token = find_link_token(session, token_hash, sessions.PURPOSE)
    if not spent or token is None:
        return sessions.login_refusal(session, token, now) or LoginRefusal.USED
    user = sessions.user_by_x_id(session, token.x_user_id)
    if user is None or user.status == "unlinked":
        return LoginRefusal.NO_ACCOUNT
    sessions.open_session(session, user_id=user.id, session_hash=session_hash, now=now, ttl=ttl)
    return user.id


def count_check(uow: UnitOfWork, sealer: Sealer, policy: PinPolicy, pins: PinHasher, user: User,
           pin: str, checked: tuple[str | None, bool], now: dt.datetime) -> PinResult:
    if user.locked_until is not None and user.locked_until > now:
        return PinResult(PinCheck.LOCKED, locked_until=user.locked_until)
    checked_hash, matched = checked
    if not user.pin_hash:
        matched = False
    elif user.pin_hash != checked_hash:  # the PIN changed since the caller's check
        matched = pins.verify(user.pin_hash, pin)
    if matched:
        user.failed_pin_attempts = 0
        return PinResult(PinCheck.OK)
    failures = user.failed_pin_attempts + 1
    if failures >= policy.max_failures_per_account:
        until = now + policy.lockout
        alert = lockout_alert(user, failures, until, policy.timezone)
        outbox.enqueue(uow.session, sealer, [alert], now)
        user.failed_pin_attempts = 0  # the lock records this run; a fresh count follows it
        user.locked_until = until
        sessions.revoke_all(uow.session, user.id, now)
        return PinResult(PinCheck.LOCKED, locked_until=until)
    user.failed_pin_attempts = failures
    return PinResult(PinCheck.WRONG, attempts_left=policy.max_failures_per_account - failures)


def check_pin(uow: UnitOfWork, sealer: Sealer, policy: PinPolicy, pins: PinHasher, *,
              user_id: int, pin: str, checked: tuple[str | None, bool],
              now: dt.datetime) -> PinResult:
    """The same PIN check, budget and lockout for other flows (bank account, withdrawal):
    the user row stays locked until the caller commits. Commit whatever it returns."""
    user = sessions.lock_user(uow, user_id)
    result = count_check(uow, sealer, policy, pins, user, pin, checked, now)
    uow.session.flush()
    return result


def change_pin(uow: UnitOfWork, sealer: Sealer, policy: PinPolicy, pins: PinHasher, *,
               user_id: int, old_pin: str, checked: tuple[str | None, bool],
               new_pin_hash: str, now: dt.datetime) -> PinResult:
    """Replace the PIN if ``old_pin`` is right. Commit whatever it returns (failures count)."""
    user = sessions.lock_user(uow, user_id)
    result = count_check(uow, sealer, policy, pins, user, old_pin, checked, now)
    if result.check is PinCheck.OK:
        user.pin_hash = new_pin_hash
    uow.session.flush()
    return result


def unlink(uow: UnitOfWork, sealer: Sealer, policy: PinPolicy, pins: PinHasher, *,
           user_id: int, pin: str, checked: tuple[str | None, bool],
           now: dt.datetime) -> PinResult | UnlinkBlocked:
    """Unlink the X account: status ``unlinked``, PIN erased, DM consent withdrawn, every
    session revoked. The wallet row stays (postings are never deleted); signing up again
    with the same X account brings it back. Commit whatever it returns."""
    user = sessions.lock_user(uow, user_id)
    blocked = sessions.unlink_blocker(uow, user.x_user_id)
    if blocked is not None:
        return blocked
    result = count_check(uow, sealer, policy, pins, user, pin, checked, now)
    if result.check is PinCheck.OK:
        user.status = "unlinked"
        user.pin_hash = None
        passkeys.remove_all(uow.session, user.id)  # the credentials go with the PIN
        sessions.revoke_all(uow.session, user.id, now)
        contact = uow.session.get(Contact, user.x_user_id)
        if contact is not None:
            contact.dm_opt_in = False
            contact.updated_at = now
    uow.session.flush()
    return result


