"""The outbox: messages to send on X, written in the caller's transaction.

``enqueue`` is idempotent on ``dedupe_key`` (one reply per event, whatever the retries): the
unique key decides, in one ``INSERT … ON CONFLICT DO NOTHING`` for all the messages (no ORM
on this hot path: it runs in every decision and every confirmation). Any one-time link is
sealed with the data key so the database never holds it in clear.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Insert,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    literal,
    select,
)
from sqlalchemy import func as sql_func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase

from handlers.outcomes import Outgoing, PublicReply, PushNotice
from storage.models import OutboxMessage
from storage.sealing import Sealer

_TABLE = cast(Table, OutboxMessage.__table__)

# PostgreSQL: the messages go in as one array per column, unnested by the server. One
# statement whatever the number of messages, so SQLAlchemy compiles it once and psycopg
# prepares it once per connection (a multi-row VALUES is a new statement for each row count,
# which SQLAlchemy does not cache at all; executemany runs a psycopg pipeline per call).
_ARRAYS = (
    ("dedupe_key", "dedupe_keys", String),
    ("kind", "kinds", String),
    ("priority", "priorities", Integer),
    ("recipient_x_user_id", "recipients", BigInteger),
    ("in_reply_to_tweet_id", "reply_tos", String),
    ("text", "texts", Text),
    ("sealed_link", "sealed_links", Text),
    ("intent_id", "intent_ids", Integer),
)
_UNNEST = (
    sql_func.unnest(*(bindparam(param, type_=ARRAY(kind)) for _, param, kind in _ARRAYS),
                    bindparam("delays", type_=ARRAY(Integer)))
    .table_valued(*(column for column, _, _ in _ARRAYS), "delay")
    .render_derived(name="m")
)
_NOW = bindparam("now", type_=_TABLE.c.created_at.type)
_PG_INSERT = postgresql.insert(_TABLE).from_select(
    [*(column for column, _, _ in _ARRAYS), "status", "attempts", "next_attempt_at",
     "created_at"],
    select(*(_UNNEST.c[column] for column, _, _ in _ARRAYS), literal("pending"), literal(0),
           (_NOW + sql_func.make_interval(0, 0, 0, 0, 0, 0, _UNNEST.c.delay)).label("due"),
           _NOW),
).on_conflict_do_nothing(index_elements=["dedupe_key"])


# Built once, as the PostgreSQL one (a new statement per call cost its construction and its
# cache key every time).
_SQLITE_INSERT = sqlite.insert(_TABLE).on_conflict_do_nothing(index_elements=["dedupe_key"])


@dataclass(frozen=True, slots=True)
class Along:
    """A write of the caller's to make with the messages, in the same transaction.

    ``statement`` is built once (bind parameters only, so it stays cacheable) and ``params``
    fills it; their names must not clash with the outbox's (``now``, the ``_ARRAYS``)."""

    statement: UpdateBase
    params: dict[str, Any]


@functools.lru_cache(maxsize=16)
def _pg_insert_along(statement: UpdateBase) -> Insert:
    """The insert carrying ``statement`` as a CTE: built once per (module-level) statement."""
    return _PG_INSERT.add_cte(statement.cte("along"))


def _row(item: Outgoing, sealer: Sealer, now: dt.datetime) -> dict[str, Any]:
    public = isinstance(item, PublicReply)
    if isinstance(item, PushNotice):  # the push sender's rows: no thread, no link
        return {"dedupe_key": item.dedupe_key, "kind": "push", "priority": item.priority,
                "recipient_x_user_id": item.recipient_x_user_id, "in_reply_to_tweet_id": None,
                "text": item.text, "sealed_link": None, "intent_id": item.intent_id,
                "status": "pending", "attempts": 0, "next_attempt_at": now,
                "created_at": now, "delay": 0}
    delay = 0 if public else item.delay_seconds  # type: ignore[union-attr]
    return {
        "dedupe_key": item.dedupe_key,
        "kind": "reply" if public else "dm",
        "priority": item.priority,
        "recipient_x_user_id": None if public else item.recipient_x_user_id,  # type: ignore[union-attr]
        # A DM's thread is where its public fallback goes (docs/design.md: links only by DM).
        "in_reply_to_tweet_id": (item.in_reply_to_tweet_id if public  # type: ignore[union-attr]
                                 else item.fallback_tweet_id),  # type: ignore[union-attr]
        "text": item.text,
        "sealed_link": sealer.seal(item.link) if item.link else None,
        "intent_id": item.intent_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now + dt.timedelta(seconds=delay),
        "created_at": now,
        "delay": delay,
    }


def enqueue(
    session: Session,
    sealer: Sealer,
    items: Iterable[Outgoing],
    now: dt.datetime,
    *,
    along: Along | None = None,
) -> int:
    """Add the messages not already queued under their dedupe key; return how many were new.

    ``along``: a write of the caller's (an UPDATE) that belongs to the same transaction. On
    PostgreSQL it rides in the same statement, as a data-modifying CTE (one round trip
    instead of two); elsewhere, or when there is no message, it runs first, on its own.
    """
    rows = [_row(item, sealer, now) for item in items]
    if not rows and along is None:
        return 0
    session.flush()  # rows the caller added through the ORM (an intent) must exist first
    conn = session.connection()
    if not rows:
        assert along is not None
        conn.execute(along.statement, along.params)
        return 0
    if conn.dialect.name == "postgresql":
        params: dict[str, Any] = {
            param: [row[column] for row in rows] for column, param, _ in _ARRAYS
        }
        params["now"] = now
        params["delays"] = [row["delay"] for row in rows]
        if along is None:
            return max(0, conn.execute(_PG_INSERT, params).rowcount)
        params |= along.params
        return max(0, conn.execute(_pg_insert_along(along.statement), params).rowcount)
    if along is not None:
        conn.execute(along.statement, along.params)
    rows = [{k: v for k, v in row.items() if k != "delay"} for row in rows]
    return max(0, conn.execute(_SQLITE_INSERT, rows).rowcount)


def dms_caused_since(session: Session, x_user_id: int, since: dt.datetime) -> int:
    """DMs queued to ``x_user_id`` since ``since`` in answer to their own commands (keys of
    inbound events and of the fair-share notice; other people's payments not counted).
    Table-level SQL: this runs for every command that costs a DM."""
    table = _TABLE
    return session.execute(
        select(sql_func.count()).select_from(table).where(
            table.c.recipient_x_user_id == x_user_id, table.c.created_at >= since,
            table.c.kind == "dm",
            table.c.dedupe_key.like("dm:%") | table.c.dedupe_key.like("mention:%")
            | table.c.dedupe_key.like("fair-share:%"),
            # Not counted: what was never sent, and the app's conditional link DM (it goes
            # only if the payer did not open the app in time).
            table.c.status != "cancelled", ~table.c.dedupe_key.like("%:app-fallback"),
        )
    ).scalar_one()
