"""``/webhooks/xaa``: X Activity API deliveries into the inbox (the push path).

    GET  ?crc_token=T   X's challenge, answered with the consumer secret (``crc_response``)
    POST (JSON body)    one signed event: the signature is checked in constant time on the
                        raw bytes before anything is parsed

Each delivery is one transaction: its inbox rows (``mention``/``dm``, keyed by the post or
DM id, so a redelivery, a replay and the poller's copy of one event are one row), what it
changes (a revoked authorisation closes that user's sessions; a handle change updates the
handle we show, guarded on the old one, never the identity), the event itself for the record
(``revoke``/``handle`` rows, done at once) and its cost in ``x_usage``. A signed delivery with
odd content is refused with 400 and logged, and changes nothing. The legacy Account
Activity path (``bot.webhook``, ``/webhooks/x``) stays for an app still on AAA.

Every accepted delivery also refreshes the ``xaa_alive`` cursor: the heartbeat
``bot.activity.recovery`` reads to find the window to replay after an outage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.activity.envelope import (
    ChatEvent,
    DmEvent,
    Event,
    HandleEvent,
    MalformedDelivery,
    PostEvent,
    RevokeEvent,
    chat_items,
    dm_items,
    event_of,
    parse,
    post_item,
)
from bot.logging import get_logger
from bot.webhook import MAX_BODY_BYTES, InboxItem, Webhook
from bot.x_meter import Meter, count_in_prometheus, event_operation
from storage import accounts, inbox, sessions, x_usage
from storage.uow import UnitOfWork

log = get_logger(__name__)
Clock = Callable[[], dt.datetime]
ALIVE_CURSOR = "xaa_alive"


def _resource(event: Event) -> str:
    """What X bills the event for (once a day): the post, the DM, the user."""
    if isinstance(event, PostEvent):
        return event.payload.id
    if isinstance(event, DmEvent):
        return event.payload.direct_message_events[0].id
    if isinstance(event, RevokeEvent):
        return f"revoke:{event.payload.user_id}"
    if isinstance(event, ChatEvent):
        return event.payload.id
    return f"{event.filter.user_id}:{event.payload.after}"


class ActivityWebhook(Webhook):
    """The legacy door's CRC answer and signature check, with XAA's events behind them."""

    def __init__(self, settings: Any, session_factory: sessionmaker[Session], clock: Clock,
                 *, bot_user_id: int | None = None, max_body: int = MAX_BODY_BYTES) -> None:
        super().__init__(settings, session_factory, clock, bot_user_id=bot_user_id,
                         max_body=max_body)
        self._bot = str(bot_user_id) if bot_user_id is not None else None
        self.meter = Meter(clock=lambda: clock().timestamp())

    async def events(self, request: Request) -> Response:
        raw = await self.signed_body(request, "xaa.refused")
        if isinstance(raw, Response):
            return raw
        try:
            body = parse(raw)
            if "replay_job_status" in body:
                log.info("xaa.replay_done", status=str(body["replay_job_status"])[:300])
                return JSONResponse({"received": 0})
            event = event_of(body)
        except MalformedDelivery as exc:
            log.warning("xaa.refused", reason="malformed", error=str(exc)[:200])
            return JSONResponse({"error": "malformed delivery"}, 400)
        if event is None:
            log.info("xaa.ignored", event_type=str(body["data"]["event_type"])[:64])
            return JSONResponse({"received": 0})
        new = await run_in_threadpool(self._record_event, event)
        log.info("xaa.received", event_type=event.event_type, new=new)
        return JSONResponse({"received": new})

    def _record_event(self, event: Event) -> int:
        """The whole delivery in one transaction; returns how many inbox rows are new."""
        now = self._clock()
        cost = self.meter.record(event_operation(event.event_type), [_resource(event)])
        day = now.astimezone(dt.UTC).date().isoformat()
        with UnitOfWork(self._sessions, self._clock) as uow:
            session = uow.session
            new = sum(inbox.record(session, source=item.source, event_id=item.event_id,
                                   author_id=item.author_id, payload=item.payload, now=now)
                      for item in self._items(session, event, now))
            x_usage.add(session, day=day, operation=event_operation(event.event_type),
                        requests=cost.requests, resources=cost.resources, billed=cost.billed,
                        cost_micro_usd=cost.micro_usd)
            inbox.set_cursor(session, ALIVE_CURSOR, now.isoformat(), now)
            uow.commit()
        count_in_prometheus(event_operation(event.event_type), cost)
        return new

    def _items(self, session: Session, event: Event, now: dt.datetime) -> list[InboxItem]:
        if isinstance(event, PostEvent):
            item = post_item(event, self._bot)
            return [item] if item else []
        if isinstance(event, DmEvent):
            return dm_items(event, self._bot)
        if isinstance(event, ChatEvent):
            return chat_items(event, self._bot)
        if isinstance(event, RevokeEvent):
            x_user_id = int(event.payload.user_id)
            user_id = accounts.user_id_of(session, x_user_id)
            if user_id is not None:
                sessions.revoke_all(session, user_id, now)
            self._done(session, "revoke", event, x_user_id, now)
            log.info("xaa.revoked", x_user_id=x_user_id, had_account=user_id is not None)
            return []
        assert isinstance(event, HandleEvent)
        x_user_id = int(event.filter.user_id)
        before, after = event.payload.before.lstrip("@"), event.payload.after.lstrip("@")
        changed = accounts.rename(session, x_user_id=x_user_id, before=before, after=after,
                                  now=now)
        self._done(session, "handle", event, x_user_id, now)
        log.info("xaa.handle_changed", x_user_id=x_user_id, updated=changed)
        return []

    def _done(self, session: Session, source: str, event: Event, x_user_id: int,
              now: dt.datetime) -> None:
        inbox.record(session, source=source, event_id=event.event_uuid, author_id=x_user_id,
                     payload=event.model_dump(mode="json"), now=now, status="done")


def activity_routes(settings: Any, session_factory: sessionmaker[Session], clock: Clock,
                    *, bot_user_id: int | None = None) -> list[Route]:
    if bot_user_id is None:
        # X's user access tokens start with the account's id: the bot's, when configured.
        prefix = settings.x_access_token.get_secret_value().partition("-")[0]
        bot_user_id = int(prefix) if prefix.isdigit() else None
    hook = ActivityWebhook(settings, session_factory, clock, bot_user_id=bot_user_id)
    return [
        Route("/webhooks/xaa", hook.crc, methods=["GET"]),
        Route("/webhooks/xaa", hook.events, methods=["POST"]),
    ]
