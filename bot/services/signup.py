"""Sign up: issue a one-time sign-up link, then spend it to open (or reopen) the account and
claim the money that was waiting in escrow, in one unit of work.

``storage.signup`` keeps the rows (the link, the account); this module decides the order and
makes the token (``bot.security``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot.security import new_token
from bot.services import escrow as escrow_service
from handlers.money import Money
from storage import signup as rows
from storage.intents import find_link_token, spend_link
from storage.models import Contact
from storage.sealing import Sealer
from storage.signup import LINK_TTL, PURPOSE, Joined, SignupRefusal
from storage.uow import UnitOfWork


def issue(session: Session, *, x_user_id: int, handle: str, lang: str, now: dt.datetime,
          ttl: dt.timedelta = LINK_TTL) -> str:
    """A fresh sign-up token for ``x_user_id``; returns it in clear, stores only its hash."""
    token, token_hash = new_token()
    rows.record_link(session, x_user_id=x_user_id, handle=handle, lang=lang,
                     token_hash=token_hash, now=now, ttl=ttl)
    return token


def complete(uow: UnitOfWork, sealer: Sealer, *, token_hash: str, pin_hash: str, lang: str,
             now: dt.datetime) -> Joined | SignupRefusal:
    """Spend the link and open (or reopen) the account; commit only when it returns Joined."""
    session = uow.session
    if not spend_link(session, token_hash, PURPOSE, now):
        return (rows.refusal(find_link_token(session, token_hash, PURPOSE), now)
                or SignupRefusal.USED)
    token = find_link_token(session, token_hash, PURPOSE)
    assert token is not None
    x_user_id = token.x_user_id
    existing = rows.member(session, x_user_id)
    if existing is not None and existing.status != "unlinked":
        return SignupRefusal.ALREADY_MEMBER
    contact = session.get(Contact, x_user_id)
    handle = (contact.handle if contact is not None else "") or (
        existing.handle if existing is not None else "")
    user = rows.open_or_reopen(uow, x_user_id=x_user_id, existing=existing, handle=handle,
                               pin_hash=pin_hash, lang=lang, now=now)
    holds = escrow_service.claim(uow, sealer, x_user_id, now)
    return Joined(user_id=user.id, x_user_id=x_user_id, handle=handle,
                  relinked=existing is not None,
                  claimed=Money(sum(h.amount_cents for h in holds)), claimed_count=len(holds))
