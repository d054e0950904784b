"""Users and their wallets: opening an account binds a wallet to a numeric X user id."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from handlers.money import Money
from storage.db import dialect_insert
from storage.ledger import CARD_FUNDING, user_account_code
from storage.models import Contact, User
from storage.uow import UnitOfWork


def open_user(uow: UnitOfWork, *, x_user_id: int, handle: str, now: dt.datetime,
              kind: str = "personal", pin_hash: str | None = None, display_name: str = "",
              lang: str = "fr", terms_accepted: bool = True) -> User:
    """Create the user and its wallet (idempotent on the X user id). The row is inserted
    with ``ON CONFLICT DO NOTHING``: two processes opening the same user both go through,
    and both get the one row."""
    session = uow.session
    session.flush()
    session.execute(dialect_insert(session, User).values(
        x_user_id=x_user_id, handle=handle, display_name=display_name or handle,
        kind=kind, status="active", lang=lang, pin_hash=pin_hash, failed_pin_attempts=0,
        terms_accepted_at=now if terms_accepted else None, created_at=now,
    ).on_conflict_do_nothing(index_elements=["x_user_id"]))
    user = session.scalars(select(User).where(User.x_user_id == x_user_id)).one()
    uow.ledger.open_account(user_account_code(x_user_id), "pro" if kind == "pro" else "user",
                            user.id)
    return user


def top_up(uow: UnitOfWork, *, x_user_id: int, amount: Money, charge_id: str) -> int:
    """Card funding → wallet, idempotent on the provider's charge id. No fee: the whole
    amount reaches the wallet."""
    result = uow.ledger.post_transfer(
        idempotency_key=f"topup:{charge_id}", debit=CARD_FUNDING,
        credit=user_account_code(x_user_id), amount=amount, kind="topup",
        memo="card top-up",
    )
    return result.transfer_id


def rename(session: Session, *, x_user_id: int, before: str, after: str,
           now: dt.datetime) -> bool:
    """The handle X shows for ``x_user_id`` changed from ``before`` to ``after``: update the
    handle we display (users and contacts), never the identity. Guarded on ``before`` so a
    late or replayed change never undoes a newer one; True if a row changed."""
    changed = 0
    for model in (User, Contact):
        changed += session.execute(
            update(model)
            .where(model.x_user_id == x_user_id, func.lower(model.handle) == before.lower())
            .values(handle=after)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    return changed > 0


def user_id_of(session: Session, x_user_id: int) -> int | None:
    return session.scalars(select(User.id).where(User.x_user_id == x_user_id)).first()


def holder_ids(session: Session) -> list[int]:
    """X user ids of every active account holder."""
    return list(session.scalars(select(User.x_user_id).where(User.status == "active")))
