"""The bot's X usage per UTC day and operation: added to, never rewritten."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import XUsage


def add(session: Session, *, day: str, operation: str, requests: int, resources: int,
        billed: int, cost_micro_usd: int) -> None:
    """One upsert that adds the increment: concurrent writers (web, workers) never lose one."""
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {"requests": requests, "resources": resources, "billed": billed,
              "cost_micro_usd": cost_micro_usd}
    stmt = insert(XUsage).values(day=day, operation=operation, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "operation"],
        set_={key: getattr(XUsage, key) + getattr(stmt.excluded, key) for key in values},
    )
    session.execute(stmt)


def totals(session: Session, day: str | None = None) -> list[XUsage]:
    """Usage rows, per operation, for ``day`` (every day when None), sorted."""
    query = select(XUsage).order_by(XUsage.day, XUsage.operation)
    if day is not None:
        query = query.where(XUsage.day == day)
    return list(session.scalars(query))
