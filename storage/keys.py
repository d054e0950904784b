"""Key rotation for everything sealed at rest (``storage.sealing``): saved cards, bank
accounts and the one-time links waiting in the outbox. The caller commits
(``tweetpay keys rotate``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import OutboxMessage, XChatKey
from storage.payouts import rotate_bank_keys
from storage.sealing import Sealer
from storage.topups import rotate_card_keys


def rotate_sealed_links(session: Session, sealer: Sealer) -> int:
    """Re-seal the links not yet sent (a sent link is erased) with the newest key."""
    count = 0
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.sealed_link.is_not(None))
        .order_by(OutboxMessage.id)
    )
    for row in rows:
        assert row.sealed_link is not None
        row.sealed_link = sealer.rotate(row.sealed_link)
        count += 1
    session.flush()
    return count


def rotate_chat_keys(session: Session, sealer: Sealer) -> int:
    """Re-seal the bot's X Chat private key blobs (retired ones too) with the newest key."""
    keys = list(session.scalars(select(XChatKey).order_by(XChatKey.id)))
    for key in keys:
        key.sealed_blob = sealer.rotate(key.sealed_blob)
    session.flush()
    return len(keys)


def rotate_all(session: Session, sealer: Sealer) -> dict[str, int]:
    return {"cards": rotate_card_keys(session, sealer),
            "bank_accounts": rotate_bank_keys(session, sealer),
            "links": rotate_sealed_links(session, sealer),
            "chat_keys": rotate_chat_keys(session, sealer)}
