"""Loads what DM consent depends on (``handlers.consent.Reach``) for one person."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.consent import Reach, dm_refusal
from storage.models import Contact, User


def reach(session: Session, x_user_id: int) -> Reach:
    status = session.scalars(select(User.status).where(User.x_user_id == x_user_id)).first()
    contact = session.get(Contact, x_user_id)
    return Reach(account_status=status,
                 wrote_by_dm=bool(contact is not None and contact.dm_opt_in),
                 stopped=bool(contact is not None and contact.stopped))


def dm_refused(session: Session, x_user_id: int) -> str | None:
    """Why this person may not be DMed now (``handlers.consent.dm_refusal``), or None."""
    return dm_refusal(reach(session, x_user_id))


def may_dm(session: Session, x_user_id: int) -> bool:
    return dm_refused(session, x_user_id) is None
