"""An account's latest movements with the other party of each (``handlers.history.Movement``):
the ledger's lines, the handles of the people on the other side, and what an escrow line was
(money set aside for someone, claimed from someone, or returned)."""

from __future__ import annotations

from sqlalchemy import or_, select

from handlers.history import Movement, Role
from storage.ledger import CARD_FUNDING, ESCROW, user_account_code
from storage.models import Contact, EscrowHold, User
from storage.uow import UnitOfWork


def _handles(uow: UnitOfWork, ids: set[int]) -> dict[int, str]:
    """Handles by numeric id: account holders first, then people we only know as contacts."""
    if not ids:
        return {}
    found = dict(uow.session.execute(
        select(User.x_user_id, User.handle).where(User.x_user_id.in_(ids))).all())
    found |= dict(uow.session.execute(
        select(Contact.x_user_id, Contact.handle).where(Contact.x_user_id.in_(ids - set(found)))
    ).all())
    return {x: h for x, h in found.items() if h}


def statement(uow: UnitOfWork, x_user_id: int, limit: int) -> list[Movement]:
    """The account's ``limit`` latest movements, newest first."""
    entries = uow.ledger.history(user_account_code(x_user_id), limit)
    escrow_ids = [e.transfer_id for e in entries if e.counterparty == ESCROW]
    holds: dict[int, EscrowHold] = {}
    hold: EscrowHold | None
    if escrow_ids:
        for hold in uow.session.scalars(select(EscrowHold).where(or_(
                EscrowHold.hold_transfer_id.in_(escrow_ids),
                EscrowHold.release_transfer_id.in_(escrow_ids)))):
            holds[hold.hold_transfer_id] = hold
            if hold.release_transfer_id is not None:
                holds[hold.release_transfer_id] = hold
    people = {int(e.counterparty.split(":", 1)[1]) for e in entries
              if e.counterparty.startswith("user:")}
    people |= {h.sender_x_user_id for h in holds.values()}
    handles = _handles(uow, people)

    movements = []
    for e in entries:
        role: Role = "other"
        other = ""
        if e.counterparty == CARD_FUNDING:
            role = "topup"
        elif e.counterparty.startswith("user:"):
            role, other = "payment", handles.get(int(e.counterparty.split(":", 1)[1]), "")
        elif (hold := holds.get(e.transfer_id)) is not None:
            if hold.hold_transfer_id == e.transfer_id:
                role, other = "escrow_hold", hold.recipient_handle
            elif hold.recipient_x_user_id == x_user_id:
                role, other = "escrow_claim", handles.get(hold.sender_x_user_id, "")
            else:
                role, other = "escrow_return", hold.recipient_handle
        movements.append(Movement(at=e.created_at, amount=e.amount, role=role,
                                  other_handle=other, memo=e.memo))
    return movements
