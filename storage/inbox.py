"""The inbox (each inbound event stored once) and the ingest cursors."""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any, cast

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.orm import Session

from handlers.errors import TransitionLost
from storage.db import dialect_insert, insert_for
from storage.models import Cursor, InboxEvent


def record(session: Session, *, source: str, event_id: str, author_id: int,
           payload: dict[str, Any], now: dt.datetime, status: str = "pending") -> bool:
    """Store an inbound event unless (source, event_id) is already there; True if new.

    ``status="done"`` records an event already handled where it arrived (a revoked
    authorisation, a handle change), kept for the record and for exactly-once.

    The unique constraint, not a prior SELECT, decides: two pollers racing on the same event
    cannot both store it.
    """
    inserted = session.connection().execute(_record_statement(session), dict(
        source=source, event_id=event_id, author_x_user_id=author_id,
        payload=json.dumps(payload, ensure_ascii=False, sort_keys=True), status=status,
        received_at=now, processed_at=None if status == "pending" else now,
    )).first()
    # RETURNING yields a row only for an insert that happened (rowcount is not reliable for
    # ON CONFLICT DO NOTHING across drivers).
    return inserted is not None


def _record_statement(session: Session) -> Any:
    """``record``'s insert, built once per engine kind and run on the Connection: ingest
    records every event of a burst (the ORM's insert path costs more than the SQL)."""
    return _record_for(session.get_bind().dialect.name)


@functools.cache
def _record_for(dialect_name: str) -> Any:
    table = cast(Table, InboxEvent.__table__)
    return insert_for(dialect_name, table).on_conflict_do_nothing().returning(table.c.id)


# A row hit by a transient error (a lost race, a deadlock) is tried again this many times in
# all, waiting 2, 4, 8... seconds (at most RETRY_CAP) between tries; then it is failed.
MAX_ATTEMPTS = 8
RETRY_CAP = dt.timedelta(minutes=5)


def pending(session: Session, limit: int = 100, now: dt.datetime | None = None,
            after_id: int = 0) -> list[InboxEvent]:
    """Pending rows in arrival order; with ``now``, not those waiting for a retry; with
    ``after_id``, only later rows than that one (a worker moving past rows others hold)."""
    stmt = select(InboxEvent).where(InboxEvent.status == "pending")
    if after_id:
        stmt = stmt.where(InboxEvent.id > after_id)
    if now is not None:
        stmt = stmt.where(or_(InboxEvent.next_attempt_at.is_(None),
                              InboxEvent.next_attempt_at <= now))
    return list(session.scalars(stmt.order_by(InboxEvent.id).limit(limit)))


def retry_delay(attempts: int) -> dt.timedelta:
    return min(RETRY_CAP, dt.timedelta(seconds=2 ** max(1, attempts)))


def defer(session: Session, row_id: int, now: dt.datetime, error: str) -> str:
    """A transient error: the row stays pending, tried again later; after MAX_ATTEMPTS it
    is failed. Returns the row's status now."""
    row = session.get(InboxEvent, row_id, with_for_update=True)
    if row is None or row.status != "pending":
        return row.status if row is not None else "missing"
    row.attempts = (row.attempts or 0) + 1
    if row.attempts >= MAX_ATTEMPTS:
        mark(row, "failed", now, f"gave up after {row.attempts} transient errors: {error}")
    else:
        row.next_attempt_at = now + retry_delay(row.attempts)
        row.error = error
    return row.status


def wait_for_x(session: Session, row_id: int, until: dt.datetime, error: str) -> str:
    """X could not answer for this row (a 429, a 5xx, a timeout during a look-up): the row
    stays pending until ``until``, however often that happens; it is never failed for it
    (no attempt is counted). Returns the row's status now."""
    row = session.get(InboxEvent, row_id, with_for_update=True)
    if row is None or row.status != "pending":
        return row.status if row is not None else "missing"
    row.next_attempt_at = until
    row.error = error[:500]
    return row.status


def count_by_status(session: Session) -> dict[str, int]:
    """Rows per status (failed ones are bugs to look at: status and metrics show them)."""
    rows = session.execute(
        select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
    )
    return {status: int(n) for status, n in rows}


def claim(session: Session, row_id: int) -> InboxEvent | None:
    """Lock one pending row for handling (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
    already serialises writers). None if another worker handled it meanwhile."""
    stmt = select(InboxEvent).where(InboxEvent.id == row_id, InboxEvent.status == "pending")
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalars(stmt).first()


def claim_many(session: Session, row_ids: list[int]) -> dict[int, int]:
    """``claim`` for a batch, in one query: the rows still pending, locked (rows another
    worker holds are skipped on PostgreSQL, left to it); their authors, by row id."""
    if not row_ids:
        return {}
    stmt = select(InboxEvent.id, InboxEvent.author_x_user_id).where(
        InboxEvent.id.in_(row_ids), InboxEvent.status == "pending")
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.order_by(InboxEvent.id).with_for_update(skip_locked=True)
    return {row_id: author for row_id, author in session.execute(stmt)}


def mark_done(session: Session, row_ids: list[int], now: dt.datetime,
              error: str | None = None) -> None:
    """Claimed rows handled, in one statement; guarded: a row that is no longer pending
    means the claim did not hold, and the caller's transaction must not commit."""
    if not row_ids:
        return
    done = session.execute(
        update(InboxEvent)
        .where(InboxEvent.id.in_(row_ids), InboxEvent.status == "pending")
        .values(status="done", processed_at=now, error=error)
        .execution_options(synchronize_session=False)
    )
    missing = len(row_ids) - done.rowcount  # type: ignore[attr-defined]
    if missing:
        raise TransitionLost(f"{missing} inbox row(s) no longer pending")


def mark(row: InboxEvent, status: str, now: dt.datetime, error: str | None = None) -> None:
    row.status = status
    row.processed_at = now
    row.error = error


def get_cursor(session: Session, name: str) -> str | None:
    row = session.get(Cursor, name)
    return row.value if row else None


def set_cursor(session: Session, name: str, value: str, now: dt.datetime) -> None:
    """One upsert: two processes saving the same new cursor both go through."""
    insert = dialect_insert(session, Cursor).values(name=name, value=value, updated_at=now)
    session.execute(insert.on_conflict_do_update(
        index_elements=["name"],
        set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
    ))
