"""App devices: the live device sessions of an account holder and their Web Push
subscriptions.

A device session is a ``WebSession`` (``storage.sessions`` opens it at sign-in, for
``settings.device_session_days``); it is listed on the account page by its label and last
use, and revoked one by one or all at once. A payer "has an app device" when they have a live device
session (``has_device``): their payment waits in the app, pushed to whatever subscriptions they
hold, and its link follows by DM only if the app has not shown it in time. A payee is told by
push instead of DM only when a live session holds a push subscription (``has_app``): nothing
else would tell them. A subscription's endpoint and keys are
sealed at rest (whoever holds them can push to the device); its SHA-256 keeps it unique.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, exists, select, update
from sqlalchemy.orm import Session

from storage.models import (
    ConfirmationToken,
    PaymentIntent,
    PushSubscription,
    User,
    WebSession,
)
from storage.sealing import Sealer

TOUCH_EVERY = dt.timedelta(minutes=1)  # last use is shown to the minute: no write per request

_PS = PushSubscription.__table__
_WS = WebSession.__table__


def has_app_clause(x_user_id: Any, now: Any) -> ColumnElement[bool]:
    """SQL: does ``x_user_id`` have a live device session with a push subscription?"""
    return exists().where(
        _PS.c.x_user_id == x_user_id, _WS.c.id == _PS.c.session_id,
        _WS.c.revoked_at.is_(None), _WS.c.expires_at > now,
    )


_HAS_APP = select(has_app_clause(bindparam("x_user_id"), bindparam(
    "now", type_=_WS.c.expires_at.type)))


def has_app(session: Session, x_user_id: int, now: dt.datetime) -> bool:
    return bool(session.execute(_HAS_APP, {"x_user_id": x_user_id, "now": now}).scalar())


def device_clause(user_id: Any, now: Any) -> ColumnElement[bool]:
    """SQL: does the user of id ``user_id`` (``users.id``) have a live device session (the
    app signed in), with or without push?"""
    return exists().where(_WS.c.user_id == user_id, _WS.c.revoked_at.is_(None),
                          _WS.c.expires_at > now)


def has_device(session: Session, x_user_id: int, now: dt.datetime) -> bool:
    """A live device session (the app signed in), with or without push."""
    return bool(session.connection().scalar(_HAS_DEVICE, {"x_user_id": x_user_id, "now": now}))


# Built once, as _HAS_APP.
_USERS = User.__table__
_HAS_DEVICE = select(device_clause(_USERS.c.id, bindparam(
    "now", type_=_WS.c.expires_at.type))).where(_USERS.c.x_user_id == bindparam("x_user_id"))


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    label: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    push: bool
    current: bool


def live_devices(session: Session, user_id: int, current_id: int,
                 now: dt.datetime) -> list[Device]:
    rows = session.execute(
        select(WebSession.id, WebSession.label, WebSession.created_at, WebSession.last_used_at,
               exists().where(_PS.c.session_id == WebSession.id).label("push"))
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None),
               WebSession.expires_at > now)
        .order_by(WebSession.id.desc())
    ).all()
    return [Device(r.id, r.label, r.created_at, r.last_used_at, bool(r.push),
                   r.id == current_id) for r in rows]


def touch(session: Session, session_id: int, label: str, now: dt.datetime) -> None:
    """Record a use of the device (at most once a minute) and name it on first use."""
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id,
               (WebSession.last_used_at.is_(None)) | (WebSession.last_used_at < now - TOUCH_EVERY))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if label:
        session.execute(
            update(WebSession).where(WebSession.id == session_id, WebSession.label == "")
            .values(label=label[:100]).execution_options(synchronize_session=False)
        )


def revoke(session: Session, user_id: int, session_id: int, now: dt.datetime) -> bool:
    """End one device session of this user (and forget its push subscription)."""
    done = session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.user_id == user_id,
               WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(PushSubscription).where(PushSubscription.session_id == session_id))
    return bool(done.rowcount)  # type: ignore[attr-defined]


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


def subscribe(session: Session, sealer: Sealer, *, session_id: int, x_user_id: int,
              subscription: dict[str, Any], now: dt.datetime) -> None:
    """Keep this device's subscription (a browser re-subscribing replaces its old one)."""
    key = endpoint_hash(subscription["endpoint"])
    sealed = sealer.seal(json.dumps(subscription, separators=(",", ":")))
    row = session.scalars(select(PushSubscription).where(
        PushSubscription.endpoint_hash == key)).first()
    session.execute(delete(PushSubscription).where(PushSubscription.session_id == session_id,
                                                   PushSubscription.endpoint_hash != key))
    if row is None:
        session.add(PushSubscription(session_id=session_id, x_user_id=x_user_id,
                                     endpoint_hash=key, sealed=sealed, created_at=now))
    else:
        row.session_id, row.x_user_id, row.sealed = session_id, x_user_id, sealed
    session.flush()


def unsubscribe(session: Session, session_id: int) -> None:
    session.execute(delete(PushSubscription).where(PushSubscription.session_id == session_id))


def live_subscriptions(session: Session, sealer: Sealer, x_user_id: int,
                       now: dt.datetime) -> list[tuple[int, dict[str, Any]]]:
    """(id, subscription info) of this user's live devices, for the push sender."""
    rows = session.execute(
        select(PushSubscription.id, PushSubscription.sealed)
        .join(WebSession, WebSession.id == PushSubscription.session_id)
        .where(PushSubscription.x_user_id == x_user_id, WebSession.revoked_at.is_(None),
               WebSession.expires_at > now)
        .order_by(PushSubscription.id)
    ).all()
    return [(r.id, json.loads(sealer.open(r.sealed))) for r in rows]


def remove_subscription(session: Session, subscription_id: int) -> None:
    """The push service says the subscription is gone (404/410)."""
    session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id))


def mark_seen(session: Session, intent_ids: list[int], now: dt.datetime) -> None:
    """The payer's app showed these payments: the link DM that would follow is not needed."""
    if intent_ids:
        session.execute(
            update(PaymentIntent)
            .where(PaymentIntent.id.in_(intent_ids), PaymentIntent.seen_in_app_at.is_(None))
            .values(seen_in_app_at=now)
            .execution_options(synchronize_session=False)
        )


def confirm_token_hash(session: Session, intent_id: int, payer_x_user_id: int) -> str | None:
    """The confirmation token of an intent, if it is this user's to confirm: the app confirms
    in place through it (``ConfirmationService.confirm_hash``: the link page's rules)."""
    return session.scalars(
        select(ConfirmationToken.token_hash).where(
            ConfirmationToken.intent_id == intent_id, ConfirmationToken.purpose == "confirm",
            ConfirmationToken.x_user_id == payer_x_user_id)
    ).first()
