"""The inbox (each inbound event stored once) and the ingest cursors."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Cursor, InboxEvent


def _insert_ignore(session: Session, model: type, **values: Any) -> Insert:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).values(**values).on_conflict_do_nothing()


def record(session: Session, *, source: str, event_id: str, author_id: int,
           payload: dict[str, Any], now: dt.datetime, status: str = "pending") -> bool:
    """Store an inbound event unless (source, event_id) is already there; True if new.

    ``status="done"`` records an event already handled where it arrived (a revoked
    authorisation, a handle change), kept for the record and for exactly-once.

    The unique constraint, not a prior SELECT, decides: two pollers racing on the same event
    cannot both store it.
    """
    inserted = session.execute(_insert_ignore(
        session, InboxEvent, source=source, event_id=event_id, author_x_user_id=author_id,
        payload=json.dumps(payload, ensure_ascii=False, sort_keys=True), status=status,
        received_at=now, processed_at=None if status == "pending" else now,
    ).returning(InboxEvent.id)).first()
    # RETURNING yields a row only for an insert that happened (rowcount is not reliable for
    # ON CONFLICT DO NOTHING across drivers).
    return inserted is not None


def pending(session: Session, limit: int = 100) -> list[InboxEvent]:
    return list(session.scalars(
        select(InboxEvent).where(InboxEvent.status == "pending").order_by(InboxEvent.id)
        .limit(limit)
    ))


def claim(session: Session, row_id: int) -> InboxEvent | None:
    """Lock one pending row for handling (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
    already serialises writers). None if another worker handled it meanwhile."""
    stmt = select(InboxEvent).where(InboxEvent.id == row_id, InboxEvent.status == "pending")
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalars(stmt).first()


def mark(row: InboxEvent, status: str, now: dt.datetime, error: str | None = None) -> None:
    row.status = status
    row.processed_at = now
    row.error = error


def get_cursor(session: Session, name: str) -> str | None:
    row = session.get(Cursor, name)
    return row.value if row else None


def set_cursor(session: Session, name: str, value: str, now: dt.datetime) -> None:
    changed = session.execute(
        update(Cursor).where(Cursor.name == name).values(value=value, updated_at=now)
    ).rowcount
    if not changed:
        session.execute(_insert_ignore(session, Cursor, name=name, value=value, updated_at=now))
