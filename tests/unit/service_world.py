"""What the service tests share: a real database (SQLite file or PostgreSQL), the services
as the worker and the web build them, and the fakes of the ports (tests/fakes.py). No HTTP,
no emulator: each test calls a service and reads the rows and balances it left."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cryptography.fernet import Fernet
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.security import PinHasher
from bot.services.confirm import ConfirmationService
from bot.services.handle_event import EventService
from config import load_settings
from config.settings import Settings
from handlers.confirmation import PinPolicy
from handlers.decide import Decision, Event
from handlers.entities import extract_entities
from handlers.grammar import parse
from handlers.money import Money
from storage import accounts
from storage.db import make_session_factory
from storage.ledger import CARD_FUNDING, user_account_code
from storage.models import OutboxMessage, PaymentIntent
from storage.sealing import Sealer
from storage.uow import UnitOfWork

try:
    from tests.fakes import FakeClock
except ImportError:  # tests/ itself on sys.path
    from fakes import FakeClock  # type: ignore[no-redef]

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
BOT = 1
PIN = "246810"
WRONG_PIN = "135790"


@dataclass
class World:
    sessions: sessionmaker[Session]
    settings: Settings
    clock: FakeClock
    sealer: Sealer = field(default_factory=lambda: Sealer([Fernet.generate_key().decode()]))
    pins: PinHasher = field(default_factory=lambda: PinHasher("pepper", time_cost=1,
                                                               memory_kib=8))
    ids: dict[str, int] = field(default_factory=dict)  # handle → X user id
    _events: int = 0

    @property
    def events(self) -> EventService:
        return EventService(self.sessions, self.sealer, self.clock, self.settings)

    def confirmations(self, **kw: object) -> ConfirmationService:
        return ConfirmationService(self.sessions, pin_hasher=self.pins, sealer=self.sealer,
                                   policy=PinPolicy(), clock=self.clock, **kw)  # type: ignore[arg-type]

    # -- people and money ---------------------------------------------------------------

    def user(self, handle: str, x_user_id: int, *, balance: int = 0, pin: str | None = PIN,
             kind: str = "personal", lang: str = "fr", account: bool = True) -> int:
        """An X user the bot knows of; with ``account`` a signed-up one, funded by card."""
        self.ids[handle] = x_user_id
        if not account:
            return x_user_id
        with UnitOfWork(self.sessions, self.clock) as uow:
            accounts.open_user(uow, x_user_id=x_user_id, handle=handle, now=self.clock(),
                               kind=kind, pin_hash=self.pins.hash(pin) if pin else None,
                               lang=lang)
            if balance:
                uow.ledger.post_transfer(idempotency_key=f"seed:{x_user_id}", debit=CARD_FUNDING,
                                         credit=user_account_code(x_user_id),
                                         amount=Money(balance), kind="topup")
            uow.commit()
        return x_user_id

    def balance(self, handle_or_code: str) -> Money:
        code = (user_account_code(self.ids[handle_or_code]) if handle_or_code in self.ids
                else handle_or_code)
        with UnitOfWork(self.sessions) as uow:
            return uow.ledger.balance(code)

    # -- inbound events -----------------------------------------------------------------

    def event(self, author: str, text: str, *, source: str = "mention",
              event_id: str | None = None) -> tuple[Event, object]:
        """``text`` as X would deliver it (entities with ids), parsed as the processor does."""
        if event_id is None:
            self._events += 1
            event_id = str(9000 + self._events)
        api = extract_entities(text).to_api()
        for mention in api.get("mentions", []):
            known = self.ids.get(mention["username"], BOT if mention["username"] ==
                                 self.settings.bot_handle else None)
            if known is not None:
                mention["id"] = str(known)
        author_id = self.ids[author]
        event = Event(source="dm" if source == "dm" else "mention", event_id=event_id,
                      author_id=author_id, author_handle=author,
                      tweet_id=event_id if source == "mention" else None)
        parsed = parse(text, api, bot_user_id=BOT, author_id=author_id,
                       channel="dm" if source == "dm" else "tweet",
                       bot_username=self.settings.bot_handle, author_username=author)
        return event, parsed

    def handle(self, author: str, text: str, **kw: str) -> Decision:
        """One inbound event through the event service, committed."""
        event, parsed = self.event(author, text, **kw)
        with UnitOfWork(self.sessions, self.clock) as uow:
            decision = self.events.handle(uow, event, parsed)  # type: ignore[arg-type]
            uow.commit()
        return decision

    # -- what the rows say --------------------------------------------------------------

    def outbox(self) -> list[OutboxMessage]:
        with self.sessions() as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    def intents(self) -> list[PaymentIntent]:
        with self.sessions() as session:
            return list(session.scalars(select(PaymentIntent).order_by(PaymentIntent.id)))

    def count(self, model: type) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def link_token(self, intent_id: int) -> str:
        """The one-time token of the intent's link DM (the outbox keeps it sealed)."""
        with self.sessions() as session:
            sealed = session.scalars(select(OutboxMessage.sealed_link).where(
                OutboxMessage.intent_id == intent_id,
                OutboxMessage.sealed_link.is_not(None))).first()
        assert sealed, "no link queued for this intent"
        return self.sealer.open(sealed).rsplit("/", 1)[1]


def make_world(engine: Engine, **overrides: object) -> World:
    settings = load_settings(public_base_url="http://testserver", **overrides)
    return World(make_session_factory(engine), settings, FakeClock(NOW))
