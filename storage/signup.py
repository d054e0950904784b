"""Sign-up through a one-time link: the token, the account, the escrow claim, in one go.

A sign-up link is a ``ConfirmationToken`` with purpose ``'signup'`` bound to one numeric X
user id: the DM command ``#inscription`` issues it for its author, and "Sign in with X"
(``bot.web.account_signup``) issues one for the account that approved the OAuth flow, so
both ways end in ``complete()``.

``complete()`` runs in the caller's unit of work and writes, or refuses having written
nothing (the caller commits only a ``Joined``):

1. the token is spent by one conditional ``UPDATE ... WHERE used_at IS NULL AND expires_at >
   now``: of two concurrent posts, exactly one sees a row count of 1 (PostgreSQL re-checks
   the condition after the row lock; SQLite serialises writers with ``BEGIN IMMEDIATE``);
2. the user is created (``storage.accounts.open_user``) bound to the token's X user id, with
   the PIN hash and the terms timestamp; an ``unlinked`` user comes back to life the same way
   (same wallet, new PIN); an active one is refused (``ALREADY_MEMBER``);
3. the DM consent is recorded (``contacts.dm_opt_in``; signing up also lifts a ``#stop``);
4. money held in escrow for that id moves into the new wallet (``storage.escrow.claim_for``,
   which queues the notices).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from handlers.errors import TransitionLost
from handlers.money import Money
from storage.accounts import open_user
from storage.db import dialect_insert
from storage.intents import find_link_token, touch_contact
from storage.models import ConfirmationToken, Contact, User
from storage.uow import UnitOfWork

PURPOSE = "signup"
LINK_TTL = dt.timedelta(minutes=10)


class SignupRefusal(enum.StrEnum):
    UNKNOWN = "unknown"  # no such token, or not a sign-up token
    EXPIRED = "expired"
    USED = "used"
    ALREADY_MEMBER = "already_member"  # this X account already has an active account


@dataclass(frozen=True, slots=True)
class SignupLink:
    """What the sign-up page may show about a usable link."""

    x_user_id: int
    handle: str
    lang: str | None
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Joined:
    user_id: int
    x_user_id: int
    handle: str
    relinked: bool  # an unlinked account came back
    claimed: Money  # money that was waiting in escrow and is now in the wallet
    claimed_count: int


def refusal(token: ConfirmationToken | None, now: dt.datetime) -> SignupRefusal | None:
    if token is None:
        return SignupRefusal.UNKNOWN
    if token.used_at is not None:
        return SignupRefusal.USED
    if now >= token.expires_at:
        return SignupRefusal.EXPIRED
    return None


def member(session: Session, x_user_id: int) -> User | None:
    return session.scalars(select(User).where(User.x_user_id == x_user_id)).first()


def look(session: Session, token_hash: str, now: dt.datetime) -> SignupLink | SignupRefusal:
    """Read only (GET): can this link still open an account, and for whom?"""
    token = find_link_token(session, token_hash, PURPOSE)
    refused = refusal(token, now)
    if refused is not None:
        return refused
    assert token is not None
    user = member(session, token.x_user_id)
    if user is not None and user.status != "unlinked":
        return SignupRefusal.ALREADY_MEMBER
    contact = session.get(Contact, token.x_user_id)
    return SignupLink(
        x_user_id=token.x_user_id,
        handle=contact.handle if contact is not None else "",
        lang=contact.lang if contact is not None else None,
        expires_at=token.expires_at,
    )


def record_link(session: Session, *, x_user_id: int, handle: str, lang: str,
                token_hash: str, now: dt.datetime, ttl: dt.timedelta = LINK_TTL) -> None:
    """Keep a sign-up link's hash for ``x_user_id`` (after "Sign in with X"); the handle is
    remembered as last seen on the contact row."""
    insert = dialect_insert(session, Contact).values(
        x_user_id=x_user_id, handle=handle, dm_opt_in=False, stopped=False, lang=lang,
        updated_at=now,
    )
    # An upsert: a DM from the same person handled meanwhile cannot make this fail.
    session.execute(insert.on_conflict_do_update(index_elements=["x_user_id"], set_={
        "handle": case((insert.excluded.handle != "", insert.excluded.handle),
                       else_=Contact.__table__.c.handle),
        "updated_at": insert.excluded.updated_at,
    }))
    session.add(ConfirmationToken(token_hash=token_hash, purpose=PURPOSE, x_user_id=x_user_id,
                                  created_at=now, expires_at=now + ttl))
    session.flush()


def open_or_reopen(uow: UnitOfWork, *, x_user_id: int, existing: User | None, handle: str,
                   pin_hash: str, lang: str, now: dt.datetime) -> User:
    """The account for ``x_user_id``: a new one, or an unlinked one back with a fresh PIN and
    consent (same wallet)."""
    user = open_user(uow, x_user_id=x_user_id, handle=handle, now=now, pin_hash=pin_hash,
                     lang=lang, terms_accepted=True)
    # Two sign-up links of one X account completed at once: the account is opened once. The
    # loser finds the winner's row (another PIN: Argon2id hashes are salted) or an account no
    # longer unlinked, and is made again from fresh facts (TransitionLost: ALREADY_MEMBER).
    if existing is None and user.pin_hash != pin_hash:
        raise TransitionLost(f"the account of X user {x_user_id} was opened meanwhile")
    if existing is not None:
        uow.session.refresh(user, with_for_update={"key_share": True})
        if user.status != "unlinked":
            raise TransitionLost(f"the account of X user {x_user_id} was reopened meanwhile")
        user.status = "active"
        user.handle = handle or user.handle
        user.pin_hash = pin_hash
        user.lang = lang
        user.failed_pin_attempts = 0
        user.locked_until = None
        user.terms_accepted_at = now
    touch_contact(uow.session, x_user_id, handle, via_dm=True, lang=lang, now=now)
    uow.session.flush()
    return user
