"""Forcing a race: two processes on one database, one held at its critical point.

``Pause`` stops the first statement matching a pattern on one engine (that engine's process
is "A"), before or after it runs, until released. ``race`` runs A up to that point, starts B
on its own engine, waits until B is either finished or waiting for a lock A holds
(PostgreSQL: ``pg_stat_activity``; SQLite: B asking for its write transaction, which A's
``BEGIN IMMEDIATE`` holds), then lets A go on. Nothing is timed: each wait is for a fact.

``Bank`` is the world both processes share: account holders, a processor (inbound DMs) and a
confirmation service (the page's POST) per engine, and the one-time links read back from the
outbox the way the sender would (unsealed with the data key).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Engine, event, func, select

from bot.processor import Processor
from bot.security import PinHasher, hash_token
from bot.services import signup as signup_service
from bot.services.confirm import ConfirmationService, Result
from config import load_settings
from handlers.confirmation import PinPolicy
from handlers.money import Money
from storage import inbox
from storage.accounts import open_user
from storage.db import make_session_factory
from storage.ledger import CARD_FUNDING, Ledger, user_account_code
from storage.models import EscrowHold, InboxEvent, OutboxMessage, PaymentIntent
from storage.sealing import Sealer
from storage.uow import UnitOfWork, retrying

try:
    from tests.fakes import FakeClock as Clock
except ImportError:  # tests/ itself on sys.path
    from fakes import FakeClock as Clock  # type: ignore[no-redef]

PIN = "482916"
T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
BOT_ID = 1
WAIT = 60.0  # seconds: only a bound on a wait for a fact, never a measured time


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.005)


class Pause:
    """Holds the first statement on ``engine`` matching ``pattern`` until ``release()``."""

    def __init__(self, engine: Engine, pattern: str, *, after: bool = False) -> None:
        self._pattern = re.compile(pattern, re.IGNORECASE | re.DOTALL)
        self.reached = threading.Event()
        self._go = threading.Event()
        self._fired = False
        self._lock = threading.Lock()
        event.listen(engine, "after_cursor_execute" if after else "before_cursor_execute",
                     self._hook)

    def _hook(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        with self._lock:
            if self._fired or not self._pattern.search(statement):
                return
            self._fired = True
        self.reached.set()
        assert self._go.wait(WAIT), "the paused process was never released"

    def release(self) -> None:
        self._go.set()


class Waiter:
    """Tells whether process B (on ``engine``) may now be waiting for a lock A holds.

    PostgreSQL: a backend of this database waits for a lock (``pg_stat_activity``). SQLite:
    always, from B's start: every transaction begins with ``BEGIN IMMEDIATE`` (storage.db),
    and A holds the write lock at its critical point, so B can read or write nothing before
    A commits; whether B is already blocked or not yet arrived changes nothing."""

    def __init__(self, engine: Engine, observer: Engine) -> None:
        self._postgres = engine.dialect.name == "postgresql"
        self._observer = observer

    def blocked(self) -> bool:
        if not self._postgres:
            return True
        with self._observer.connect() as conn:
            return bool(conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            ).scalar())


class Worker(threading.Thread):
    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self._fn = fn
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self.result = self._fn()
        except BaseException as exc:  # handed to the test by value()
            self.error = exc
        finally:
            self.done.set()

    def value(self) -> Any:
        assert self.done.wait(WAIT), "the worker never finished"
        if self.error is not None:
            raise self.error
        return self.result


def race(first: Callable[[], Any], pause: Pause, second: Callable[[], Any],
         waiter: Waiter) -> tuple[Any, Any]:
    """A (``first``) to its critical point; B (``second``) until done or blocked; A on."""
    a = Worker(first)
    a.start()
    wait_for(lambda: pause.reached.is_set() or a.done.is_set(), "A at its critical point")
    assert pause.reached.is_set(), f"A finished without reaching the pause: {a.error!r}"
    b = Worker(second)
    b.start()
    wait_for(lambda: b.done.is_set() or waiter.blocked(), "B finished or waiting for A")
    pause.release()
    return a.value(), b.value()




@dataclass
class Process:
    """What one worker or web process holds: its engine and the services on it."""

    engine: Engine
    sessions: Any
    processor: Processor
    confirmations: ConfirmationService


@dataclass
class Bank:
    url: str
    engines: list[Engine] = field(default_factory=list)
    clock: Clock = field(default_factory=lambda: Clock(T0))
    handles: dict[str, int] = field(default_factory=dict)
    _events: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        from storage.db import make_engine

        # The rounds exercise races, not X's DM budget: no per-person fair share here.
        self.settings = load_settings(public_base_url="http://testserver", dm_commands_per_hour=0)
        self.sealer = Sealer([k.get_secret_value() for k in self.settings.data_keys])
        self.hasher = PinHasher("test-pepper", time_cost=1, memory_kib=1024)
        self._make_engine = make_engine
        self.main = self.process()
        self.ledger = Ledger(self.main.engine)

    def process(self) -> Process:
        """A new process: its own engine (connections, pool) on the same database."""
        engine = self._make_engine(self.url)
        self.engines.append(engine)
        sessions = make_session_factory(engine)
        processor = Processor(
            sessions, self.sealer, self.clock, self.settings, bot_user_id=BOT_ID,
            bot_handle="Smoney", resolve=self.resolve,
        )
        service = ConfirmationService(
            sessions, pin_hasher=self.hasher, sealer=self.sealer,
            policy=PinPolicy.from_settings(self.settings), clock=self.clock,
            claim_period=dt.timedelta(days=self.settings.claim_period_days),
        )
        return Process(engine, sessions, processor, service)

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()

    def resolve(self, handle: str) -> tuple[int, str] | None:
        x_id = self.handles.get(handle.lower())
        return (x_id, handle.lower()) if x_id is not None else None

    # -- people ---------------------------------------------------------------------------

    def person(self, handle: str, x_user_id: int, *, cents: int = 0,
               member: bool = True) -> int:
        """Someone on X; with ``member`` an account holder with a PIN and ``cents``."""
        self.handles[handle] = x_user_id
        if not member:
            return x_user_id
        with UnitOfWork(self.main.sessions) as uow:
            open_user(uow, x_user_id=x_user_id, handle=handle, now=self.clock(),
                      pin_hash=self.hasher.hash(PIN))
            uow.commit()
        if cents:
            self.ledger.post_transfer(
                idempotency_key=f"topup:{x_user_id}", debit=CARD_FUNDING,
                credit=user_account_code(x_user_id), amount=Money(cents), kind="topup",
            )
        return x_user_id

    def balance(self, x_user_id: int) -> int:
        return self.ledger.balance(user_account_code(x_user_id)).cents

    # -- inbound events -------------------------------------------------------------------

    def dm(self, author: int, text: str) -> int:
        """Record a DM in the inbox (as ingest does); returns the inbox row id."""
        n = next(self._events)
        handle = next((h for h, i in self.handles.items() if i == author), str(author))
        payload = {"event_id": f"dm{n}-{author}", "author_id": author, "author_handle": handle,
                   "text": text, "entities": {}, "dm_conversation_id": f"{BOT_ID}-{author}"}
        with UnitOfWork(self.main.sessions) as uow:
            inbox.record(uow.session, source="dm", event_id=payload["event_id"],
                         author_id=author, payload=payload, now=self.clock())
            row_id = uow.session.scalars(
                select(InboxEvent.id).where(InboxEvent.event_id == payload["event_id"])
            ).one()
            uow.commit()
        return row_id

    def handle(self, row_id: int, proc: Process | None = None) -> bool:
        return (proc or self.main).processor.process(row_id)

    def pay(self, payer: int, text: str) -> tuple[PaymentIntent, str]:
        """``text`` by DM, handled: the new intent and the token of its link."""
        assert self.handle(self.dm(payer, text))
        with self.main.sessions() as session:
            intent = session.scalars(select(PaymentIntent).order_by(PaymentIntent.id.desc())
                                     ).first()
            sealed = session.scalars(select(OutboxMessage.sealed_link).where(
                OutboxMessage.intent_id == intent.id, OutboxMessage.sealed_link.is_not(None))
            ).one()
        return intent, self.sealer.open(sealed).rsplit("/", 1)[1]

    def confirm(self, token: str, proc: Process | None = None, pin: str = PIN) -> Result:
        return (proc or self.main).confirmations.confirm(token, pin)

    def held(self, intent_id: int) -> EscrowHold:
        with self.main.sessions() as session:
            return session.scalars(select(EscrowHold).where(EscrowHold.intent_id == intent_id)
                                   ).one()

    def sign_up(self, x_user_id: int, proc: Process | None = None) -> Any:
        """The recipient completes a sign-up link (the page's POST)."""
        sessions = (proc or self.main).sessions
        with UnitOfWork(self.main.sessions) as uow:
            handle = next(h for h, i in self.handles.items() if i == x_user_id)
            token = signup_service.issue(uow.session, x_user_id=x_user_id, handle=handle,
                                 lang="fr", now=self.clock())
            uow.commit()
        pin_hash = self.hasher.hash(PIN)

        def work() -> Any:  # as the sign-up page does (bot.web.account_signup)
            with UnitOfWork(sessions) as uow:
                joined = signup_service.complete(uow, self.sealer, token_hash=hash_token(token),
                                         pin_hash=pin_hash, lang="fr", now=self.clock())
                uow.commit()
            return joined

        return retrying(work)

    # -- what happened --------------------------------------------------------------------

    def intent(self, intent_id: int) -> PaymentIntent:
        with self.main.sessions() as session:
            found = session.get(PaymentIntent, intent_id)
            assert found is not None
            return found

    def inbox_status(self, row_id: int) -> str:
        with self.main.sessions() as session:
            row = session.get(InboxEvent, row_id)
            assert row is not None
            return row.status

    def texts_to(self, x_user_id: int) -> list[str]:
        with self.main.sessions() as session:
            return list(session.scalars(select(OutboxMessage.text).where(
                OutboxMessage.recipient_x_user_id == x_user_id).order_by(OutboxMessage.id)))

    def count(self, model: type) -> int:
        with self.main.sessions() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0


def expected_balances(session: Any, funded: dict[int, int]) -> tuple[dict[int, int], int]:
    """What every wallet and the escrow account must hold, from the final states alone:
    ``funded`` (topped-up amounts) moved by each confirmed intent to its payee, or to
    escrow, whose hold then sends it to the recipient (claimed), back to the sender
    (cancelled, refunded) or keeps it (held). Returns (by X user id, escrow)."""
    from collections import Counter

    expected: Counter[int] = Counter(funded)
    escrowed = 0
    holds = {h.intent_id: h for h in session.scalars(select(EscrowHold))}
    for intent in session.scalars(select(PaymentIntent).where(
            PaymentIntent.status == "confirmed")):
        expected[intent.payer_x_user_id] -= intent.amount_cents
        hold = holds.get(intent.id)
        if hold is None:
            expected[intent.payee_x_user_id] += intent.amount_cents
        elif hold.status == "held":
            escrowed += hold.amount_cents
        elif hold.status == "claimed":
            expected[hold.recipient_x_user_id] += hold.amount_cents
        else:
            expected[hold.sender_x_user_id] += hold.amount_cents
    return dict(expected), escrowed


class Fault:
    """Raise ``error()`` at the cursor for statements containing ``needle`` whose parameters
    mention ``about`` (any, if None): after ``skip`` such statements, ``times`` times."""

    def __init__(self, engine: Engine, needle: str, error: Callable[[], BaseException], *,
                 about: int | None = None, skip: int = 0, times: int = 1) -> None:
        self.met = 0
        self._args = (needle, error, about, skip, times)
        event.listen(engine, "before_cursor_execute", self._hook)

    def _hook(self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        needle, error, about, skip, times = self._args
        if needle not in statement or (about is not None and str(about) not in repr(parameters)):
            return
        self.met += 1
        if skip < self.met <= skip + times:
            raise error()


def serialization_failure(engine: Engine) -> Callable[[], BaseException]:
    """A failure that ends the whole transaction on PostgreSQL (SQLite: its nearest kin)."""
    if engine.dialect.name == "postgresql":
        return lambda: psycopg.errors.SerializationFailure("could not serialize access")
    return lambda: sqlite3.OperationalError("database is locked")
