"""Payment intents, contacts and users as the worker sees them: load the facts a decision
needs, then carry the decision out inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, case, insert, or_, select, update
from sqlalchemy.orm import Session

from handlers.binding import INTENT_LABEL, intent_parts
from handlers.decide import NewIntent, NewLinkToken, Party, PendingIntent
from handlers.money import Money
from storage import devices, transitions
from storage.db import insert_for
from storage.models import (
    ConfirmationToken,
    Contact,
    EscrowHold,
    PaymentIntent,
    User,
    UTCDateTime,
)
from storage.outbox import Along
from storage.sealing import Sealer

# Crockford's base32 without look-alikes: a reference people can read back and type.
_REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


_REF_DIGITS = "23456789"


def new_reference() -> str:
    """Six characters, at least one a digit: the grammar reads ``#annuler K7QXMP`` as a
    reference only when it holds a digit (so ``#annuler merci`` is not one)."""
    chars = [secrets.choice(_REF_ALPHABET) for _ in range(5)]
    chars.insert(secrets.randbelow(6), secrets.choice(_REF_DIGITS))
    return "".join(chars)


def find_link_token(session: Session, token_hash: str, purpose: str) -> ConfirmationToken | None:
    """The one-time link row for this hash, if it serves ``purpose`` (confirm/signup/login)."""
    row = session.scalars(
        select(ConfirmationToken).where(ConfirmationToken.token_hash == token_hash)
    ).first()
    return row if row is not None and row.purpose == purpose else None


def spend_link(session: Session, token_hash: str, purpose: str, now: dt.datetime) -> bool:
    """Spend a one-time link (sign-up, login) by a guarded transition: True only for the one
    caller that found it unused and unexpired."""
    spent = session.execute(
        update(ConfirmationToken)
        .where(
            ConfirmationToken.token_hash == token_hash,
            ConfirmationToken.purpose == purpose,
            ConfirmationToken.used_at.is_(None),
            ConfirmationToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(spent.rowcount == 1)  # type: ignore[attr-defined]


def find_user(session: Session, x_user_id: int) -> User | None:
    return session.scalars(select(User).where(User.x_user_id == x_user_id)).first()


def as_party(user: User | None) -> Party | None:
    if user is None:
        return None
    kind: Literal["personal", "pro"] = "pro" if user.kind == "pro" else "personal"
    return Party(user.x_user_id, user.handle, kind, user.status, user.locked_until)


def find_parties(session: Session, now: dt.datetime,
                 *x_user_ids: int) -> tuple[dict[int, Party], set[int]]:
    """``as_party(find_user(...))`` for a few people in one Core query, by X user id (the
    missing ones absent), and which of them are signed in on a device now
    (``devices.has_device``): every inbound event looks up its author and often a
    counterparty, and loading the ORM entities costs more than the SQL."""
    rows = session.connection().execute(_FIND_PARTIES, {"ids": list(x_user_ids), "now": now})
    parties, on_device = {}, set()
    for row in rows:
        kind: Literal["personal", "pro"] = "pro" if row.kind == "pro" else "personal"
        parties[row.x_user_id] = Party(row.x_user_id, row.handle, kind, row.status,
                                       row.locked_until)
        if row.on_device:
            on_device.add(row.x_user_id)
    return parties, on_device


_USERS = User.__table__
_FIND_PARTIES = select(
    _USERS.c.x_user_id, _USERS.c.handle, _USERS.c.kind, _USERS.c.status,
    _USERS.c.locked_until,
    devices.device_clause(_USERS.c.id, bindparam("now", type_=UTCDateTime()))
    .label("on_device"),
).where(_USERS.c.x_user_id.in_(bindparam("ids", expanding=True)))


def touch_contact(session: Session, x_user_id: int, handle: str, *, via_dm: bool,
                  lang: str | None, now: dt.datetime) -> None:
    """Someone wrote to the bot: remember the handle; a DM opts them in to DMs; writing again
    lifts a #stop (docs/design.md X platform rules). One upsert: two events from one new author
    handled at once both go through (the second waits for the first's row lock)."""
    session.flush()
    session.connection().execute(_touch_statement(session, bool(lang)),
                                 {"x_user_id": x_user_id, "handle": handle, "dm_opt_in": via_dm,
                                  "lang": lang or "fr", "now": now})
    # A Contact this session already holds is out of date: reloaded when next used. (Cheaper
    # than RETURNING the entity: this runs for every inbound event.)
    held = session.identity_map.get(session.identity_key(Contact, x_user_id))
    if held is not None:
        session.expire(held)


def _touch_statement(session: Session, with_lang: bool) -> Any:
    """``touch_contact``'s upsert, built once per engine kind (it runs for every event)."""
    return _touch_for(session.get_bind().dialect.name, with_lang)


@functools.cache
def _touch_for(dialect_name: str, with_lang: bool) -> Any:
    columns = Contact.__table__.c
    insert = insert_for(dialect_name, Contact).values(
        x_user_id=bindparam("x_user_id", type_=columns.x_user_id.type),
        handle=bindparam("handle", type_=columns.handle.type),
        dm_opt_in=bindparam("dm_opt_in", type_=columns.dm_opt_in.type), stopped=False,
        lang=bindparam("lang", type_=columns.lang.type),
        updated_at=bindparam("now", type_=columns.updated_at.type),
    )
    new = insert.excluded
    changes: dict[str, Any] = {
        "handle": case((new.handle != "", new.handle), else_=columns.handle),
        "dm_opt_in": or_(columns.dm_opt_in, new.dm_opt_in),
        "stopped": False,
        "updated_at": new.updated_at,
    }
    if with_lang:
        changes["lang"] = new.lang
    return insert.on_conflict_do_update(index_elements=["x_user_id"], set_=changes)


def pending_for(session: Session, x_user_id: int) -> list[PaymentIntent]:
    return list(session.scalars(
        select(PaymentIntent).where(
            PaymentIntent.status == "awaiting_confirmation",
            or_(PaymentIntent.initiator_x_user_id == x_user_id,
                PaymentIntent.payer_x_user_id == x_user_id),
        ).order_by(PaymentIntent.id)
    ))


def as_pending(session: Session, intents: list[PaymentIntent],
               author_id: int) -> tuple[PendingIntent, ...]:
    """The author's pending intents, each with its amount and the other party's handle (for
    a request the author made, the payer's)."""
    payer_ids = {i.payer_x_user_id for i in intents if i.payee_x_user_id == author_id}
    handles: dict[int, str] = {}
    if payer_ids:
        handles = dict(session.execute(
            select(User.x_user_id, User.handle).where(User.x_user_id.in_(payer_ids))).all())
    pending = []
    for i in intents:
        amount = Money(i.amount_cents)
        if i.kind == "request" and i.payee_x_user_id == author_id:
            pending.append(PendingIntent(i.id, i.reference, amount,
                                         handles.get(i.payer_x_user_id, ""), "request"))
        else:
            pending.append(PendingIntent(i.id, i.reference, amount, i.payee_handle, i.kind))
    return tuple(pending)


def held_for_cancel(session: Session, x_user_id: int) -> tuple[PendingIntent, ...]:
    """The author's escrow holds still waiting, named by their intent's reference."""
    rows = session.execute(
        select(EscrowHold.id, PaymentIntent.reference, EscrowHold.amount_cents,
               EscrowHold.recipient_handle)
        .join(PaymentIntent, PaymentIntent.id == EscrowHold.intent_id)
        .where(EscrowHold.sender_x_user_id == x_user_id, EscrowHold.status == "held")
    )
    return tuple(PendingIntent(hold_id, ref, Money(cents), handle)
                 for hold_id, ref, cents, handle in rows)


def bind(intent: PaymentIntent, sealer: Sealer) -> None:
    """Sign the intent's frozen values (``handlers.binding``): every confirmation checks it."""
    intent.binding_mac = sealer.mac(INTENT_LABEL, *intent_parts(intent))


def settled_for_cancel(session: Session, x_user_id: int, reference: str) -> str | None:
    """Why ``#annuler <reference>`` comes too late, if it does: "confirmed" (paid to an
    account) or "claimed" (paid out of escrow); None otherwise (pending, or never paid)."""
    row = session.execute(
        select(PaymentIntent.status, EscrowHold.status)
        .outerjoin(EscrowHold, EscrowHold.intent_id == PaymentIntent.id)
        .where(PaymentIntent.reference == reference.upper(),
               or_(PaymentIntent.initiator_x_user_id == x_user_id,
                   PaymentIntent.payer_x_user_id == x_user_id))
    ).first()
    if row is None or row[0] != "confirmed":
        return None
    if row[1] is None:
        return "confirmed"
    return "claimed" if row[1] == "claimed" else None


def create_intent(session: Session, new: NewIntent, source_event_id: str,
                   now: dt.datetime, sealer: Sealer) -> tuple[PaymentIntent, Along]:
    """The intent and its confirmation token, in the caller's transaction, and the intent's
    signature (``bind``), which the caller writes with its messages (``outbox.enqueue(...,
    along=...)``: on PostgreSQL it rides in the same statement, one round trip less).
    Core statements built once: this runs for every payment command, and the ORM's flushes
    cost more than the SQL. Returns the intent as written (not attached to the session)."""
    fields: dict[str, Any] = dict(
        reference=new.reference, source_event_id=source_event_id, kind=new.kind,
        channel=new.channel, lang=new.lang, initiator_x_user_id=new.initiator_x_user_id,
        payer_x_user_id=new.payer_x_user_id, payee_x_user_id=new.payee_x_user_id,
        payee_handle=new.payee_handle, amount_cents=new.amount.cents, memo=new.memo,
        status="awaiting_confirmation", wrong_pin_attempts=0, tweet_id=new.tweet_id,
        created_at=now, expires_at=new.expires_at,
    )
    session.flush()  # rows the caller added through the ORM go first
    conn = session.connection()  # the Connection: the ORM's bulk-insert path costs more
    intent = PaymentIntent(**fields)
    token = dict(token_hash=new.token_hash, purpose="confirm", x_user_id=new.payer_x_user_id,
                 amount_cents=new.amount.cents, payee_x_user_id=new.payee_x_user_id,
                 created_at=now, expires_at=new.expires_at)
    if conn.dialect.name == "postgresql":  # both rows in one statement, one round trip
        assert fields.keys() == set(_INTENT_FIELDS) and token.keys() == set(_TOKEN_FIELDS)
        intent.id = conn.execute(_PG_INTENT_AND_TOKEN, {
            **{f"i_{key}": value for key, value in fields.items()},
            **{f"t_{key}": value for key, value in token.items()},
        }).scalar_one()
    else:
        intent.id = conn.execute(_INSERT_INTENT, fields).scalar_one()
        conn.execute(_INSERT_TOKEN, {**token, "intent_id": intent.id})
    bind(intent, sealer)  # the id is known now
    return intent, Along(_SIGN_INTENT, {"signed_id": intent.id, "signed_mac": intent.binding_mac})


_INTENTS = cast(Table, PaymentIntent.__table__)
_INSERT_INTENT = insert(_INTENTS).returning(_INTENTS.c.id)
_SIGN_INTENT = (update(_INTENTS).where(_INTENTS.c.id == bindparam("signed_id"))
                .values(binding_mac=bindparam("signed_mac")))
_TOKENS = cast(Table, ConfirmationToken.__table__)
_INSERT_TOKEN = insert(_TOKENS)
_INTENT_FIELDS = ("reference", "source_event_id", "kind", "channel", "lang",
                  "initiator_x_user_id", "payer_x_user_id", "payee_x_user_id", "payee_handle",
                  "amount_cents", "memo", "status", "wrong_pin_attempts", "tweet_id",
                  "created_at", "expires_at")
_TOKEN_FIELDS = ("token_hash", "purpose", "x_user_id", "amount_cents", "payee_x_user_id",
                 "created_at", "expires_at")
_NEW_INTENT = insert(_INTENTS).values({
    name: bindparam(f"i_{name}", type_=_INTENTS.c[name].type) for name in _INTENT_FIELDS
}).returning(_INTENTS.c.id).cte("new_intent")
# WITH new_intent AS (INSERT INTO payment_intents ... RETURNING id)
# INSERT INTO confirmation_tokens (..., intent_id) SELECT ..., new_intent.id FROM new_intent
_PG_INTENT_AND_TOKEN = insert(_TOKENS).from_select(
    [*_TOKEN_FIELDS, "intent_id"],
    select(*(bindparam(f"t_{name}", type_=_TOKENS.c[name].type) for name in _TOKEN_FIELDS),
           _NEW_INTENT.c.id),
).returning(_TOKENS.c.intent_id).add_cte(_NEW_INTENT)


def cancel(session: Session, intent_id: int, now: dt.datetime) -> None:
    """``#annuler``: awaiting → cancelled, guarded (``TransitionLost`` if confirmed, expired
    or cancelled meanwhile)."""
    transitions.move_or_raise(session, transitions.INTENT, intent_id, "awaiting_confirmation",
                              "cancelled", failure_reason="cancelled_by_user", decided_at=now)


def add_link_token(session: Session, new: NewLinkToken, now: dt.datetime) -> None:
    """A sign-up or login link: only its SHA-256 is stored."""
    session.add(ConfirmationToken(
        token_hash=new.token_hash, purpose=new.purpose, x_user_id=new.x_user_id,
        created_at=now, expires_at=new.expires_at,
    ))


def stop_contact(session: Session, x_user_id: int) -> None:
    """``#stop``: no more messages to this user until they write again."""
    session.execute(update(Contact).where(Contact.x_user_id == x_user_id)
                    .values(stopped=True).execution_options(synchronize_session=False))


def due_to_expire(session: Session, now: dt.datetime, limit: int = 500) -> list[PaymentIntent]:
    """Every awaiting intent past its TTL (all of them after an outage: nothing is skipped),
    oldest first; PostgreSQL: locked, those another worker holds skipped."""
    stmt = (
        select(PaymentIntent)
        .where(PaymentIntent.status == "awaiting_confirmation", PaymentIntent.expires_at <= now)
        .order_by(PaymentIntent.expires_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, key_share=True)
    return list(session.scalars(stmt).all())


def expire(session: Session, intent: PaymentIntent, now: dt.datetime) -> bool:
    """awaiting → expired, guarded: False if confirmed or cancelled meanwhile."""
    return transitions.move(session, transitions.INTENT, intent.id, "awaiting_confirmation",
                            "expired", row=intent, decided_at=now)
