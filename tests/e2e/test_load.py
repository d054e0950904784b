"""Two workers and two web processes on one PostgreSQL database, under load.

The real processes (``tweetpay worker --emulator-url``, ``tweetpay web``) run against the X
emulator (in this process, over HTTP) while threads play users for ``TWEETPAY_LOAD_SECONDS``
(default 20; ``TWEETPAY_LOAD_SECONDS=60`` or more for the longer run):

- payers send money by DM, confirm the link on BOTH web processes at once (a double
  submit) and sometimes ``#annuler`` it at the same moment;
- payers pay newcomers, whose money waits in escrow; the newcomer signs up through a web
  process while the payer cancels the hold;
- brand-new authors write two DMs at once (two events from one new author).

Then, once the inbox is drained: every DM sent is in the inbox and handled (none lost, none
failed), ``ledger verify`` is clean (no state overwritten: a cancelled intent has no
transfer, each hold is released once), and every balance is exactly what the final states
say (no money created). The figures are printed; nothing is timed.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from bot.emulator import EmulatorServer
from bot.emulator.client import ControlClient
from bot.security import PinHasher
from config import load_settings
from handlers.money import Money
from storage.accounts import open_user
from storage.db import make_engine, make_session_factory
from storage.ledger import CARD_FUNDING, ESCROW, Ledger, user_account_code
from storage.models import InboxEvent, OutboxMessage, PaymentIntent
from storage.sealing import Sealer
from storage.uow import UnitOfWork

try:
    from tests.integration.races import expected_balances
except ImportError:  # tests/ itself on sys.path
    from integration.races import expected_balances  # type: ignore[no-redef]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SECONDS = float(os.environ.get("TWEETPAY_LOAD_SECONDS", "20"))
PIN = "482916"
FUNDS = 1_000_000
PAYERS, PAYEES = 6, 2
WAIT = 60.0
TWEETPAY = str(Path(sys.executable).with_name("tweetpay"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(condition: Any, what: str, wait: float = WAIT) -> Any:
    deadline = time.monotonic() + wait
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


@dataclass
class Load:
    engine: Engine
    control: ControlClient
    sealer: Sealer
    webs: list[str]
    ids: dict[str, int] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)  # DM event ids we sent
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.sessions = make_session_factory(self.engine)

    def user(self, handle: str) -> int:
        x_id = int(self.control.create_user(handle)["id"])
        self.ids[handle] = x_id
        return x_id

    def dm(self, handle: str, text: str) -> str:
        event_id = str(self.control.dm(handle, text)["id"])
        with self.lock:
            self.sent.append(event_id)
            self.counts["dms"] += 1
        return event_id

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def intent_for(self, event_id: str) -> PaymentIntent:
        def find() -> PaymentIntent | None:
            with self.sessions() as session:
                return session.scalars(select(PaymentIntent).where(
                    PaymentIntent.source_event_id == f"dm:{event_id}")).first()
        try:
            return _until(find, f"the intent of DM {event_id}")
        except AssertionError:
            with self.sessions() as session:
                row = session.scalars(select(InboxEvent).where(
                    InboxEvent.event_id == event_id)).first()
                seen = (row.status, row.error) if row is not None else "not in the inbox"
                said = session.scalars(select(OutboxMessage.text).where(
                    OutboxMessage.dedupe_key.like(f"%{event_id}%"))).all()
            seen = f"{seen}, replied {said}"
            raise AssertionError(f"no intent for DM {event_id}: {seen}") from None

    def link(self, recipient: int, kind: str, intent_id: int | None = None) -> str:
        """The token of the newest one-time link for ``recipient``: sealed in the outbox, or
        already delivered (the emulator's record of the bot's DMs)."""
        def find() -> str | None:
            with self.sessions() as session:
                stmt = select(OutboxMessage.sealed_link).where(
                    OutboxMessage.recipient_x_user_id == recipient,
                    OutboxMessage.sealed_link.is_not(None))
                if intent_id is not None:
                    stmt = stmt.where(OutboxMessage.intent_id == intent_id)
                sealed = session.scalars(stmt.order_by(OutboxMessage.id.desc())).first()
            links = [self.sealer.open(sealed)] if sealed else []
            links += [str(d["text"]) for d in reversed(self.control.bot_posts()["dms"])
                      if str(d.get("recipient_id")) == str(recipient)]
            for text in links:
                marker = f"/{kind}/"
                if marker in text:
                    return text.split(marker, 1)[1].split()[0].rstrip(".")
            return None
        return _until(find, f"a /{kind}/ link for {recipient}")

    def post(self, web: str, path: str, data: dict[str, Any]) -> int:
        response = httpx.post(f"{web}{path}", data=data, timeout=30)
        return response.status_code


def _pay_and_race(load: Load, payer: str, payee: str, rng: random.Random) -> None:
    cents = rng.randint(1, 20) * 100
    event = load.dm(payer, f"#envoyer {cents // 100}€ @{payee} load")
    intent = load.intent_for(event)
    token = load.link(load.ids[payer], "c", intent.id)
    form = {"pin": PIN, "amount_cents": intent.amount_cents, "payee": intent.payee_x_user_id}
    jobs = [lambda w=w: load.post(w, f"/c/{token}", form) for w in load.webs]
    if rng.random() < 0.4:
        jobs.append(lambda: load.dm(payer, f"#annuler {intent.reference}"))
        load.count("cancels")
    threads = [threading.Thread(target=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    load.count("payments")


def _escrow_and_race(load: Load, payer: str, n: int) -> None:
    newcomer = f"newbie{n}"
    load.user(newcomer)
    event = load.dm(payer, f"#envoyer 3€ @{newcomer}")
    intent = load.intent_for(event)
    token = load.link(load.ids[payer], "c", intent.id)
    form = {"pin": PIN, "amount_cents": intent.amount_cents, "payee": intent.payee_x_user_id}
    load.post(load.webs[0], f"/c/{token}", form)
    load.dm(newcomer, "#inscription")
    signup = load.link(load.ids[newcomer], "s")
    jobs = [
        lambda: load.post(load.webs[1], f"/s/{signup}",
                          {"pin": PIN, "pin_again": PIN, "terms": "yes"}),
        lambda: load.dm(payer, f"#annuler {intent.reference}"),
    ]
    threads = [threading.Thread(target=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    load.count("escrow_races")


def _new_author(load: Load, n: int) -> None:
    handle = f"stranger{n}"
    load.user(handle)
    threads = [threading.Thread(target=load.dm, args=(handle, text))
               for text in ("#aide", "#solde")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    load.count("new_author_pairs")


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        # X's read limits, raised (as the sandbox does for DMs); the bot's write budgets
        # (15 DMs per 15 minutes) still apply: links wait in the outbox, sealed.
        for endpoint in ("*", "dm_events", "mentions"):
            server.state.set_rate_limit(endpoint, 1_000_000)
        yield server


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen([TWEETPAY, *args], env=env, stdout=handle, stderr=subprocess.STDOUT)


def test_two_workers_and_two_web_processes_under_load(
        pg_url: str, emulator: EmulatorServer, tmp_path: Path) -> None:
    settings = load_settings(database_url=pg_url)
    engine = make_engine(pg_url)
    sealer = Sealer([k.get_secret_value() for k in settings.data_keys])
    hasher = PinHasher(settings.pin_pepper.get_secret_value())
    control = ControlClient(emulator.base_url)
    ports = [_free_port(), _free_port()]
    webs = [f"http://127.0.0.1:{port}" for port in ports]
    load = Load(engine, control, sealer, webs)
    ledger = Ledger(engine)
    funded: dict[int, int] = {}
    pin_hash = hasher.hash(PIN)
    members = [f"payer{i}" for i in range(PAYERS)] + [f"payee{i}" for i in range(PAYEES)]
    for handle in members:
        x_id = load.user(handle)
        with UnitOfWork(load.sessions) as uow:
            open_user(uow, x_user_id=x_id, handle=handle, now=dt.datetime.now(dt.UTC),
                      pin_hash=pin_hash)
            uow.commit()
        if handle.startswith("payer"):
            ledger.post_transfer(idempotency_key=f"topup:{x_id}", debit=CARD_FUNDING,
                                 credit=user_account_code(x_id), amount=Money(FUNDS),
                                 kind="topup")
            funded[x_id] = FUNDS

    base = {**os.environ, "TWEETPAY_DATABASE_URL": pg_url, "TWEETPAY_ENV": "sandbox",
            "TWEETPAY_DATA_DIR": str(tmp_path), "TWEETPAY_LOG_FORMAT": "json",
            "TWEETPAY_LOG_LEVEL": "WARNING", "TWEETPAY_POLL_MENTIONS_SECONDS": "0.5",
            "TWEETPAY_POLL_DMS_SECONDS": "0.5", "TWEETPAY_OUTBOX_SECONDS": "0.5",
            "TWEETPAY_EXPIRY_SECONDS": "1", "TWEETPAY_WORKER_METRICS_PORT": "0",
            # The rolling limits are not what this test is about: payers pay all along.
            "TWEETPAY_LIMIT_24H": "1000000", "TWEETPAY_LIMIT_30D": "1000000",
            # Nor is the fair share of DMs: a player here writes far more than 10 an hour.
            "TWEETPAY_DM_COMMANDS_PER_HOUR": "0"}
    procs = []
    try:
        for i in range(2):
            procs.append(_spawn(["worker", "--emulator-url", emulator.base_url], {
                **base, "TWEETPAY_PUBLIC_BASE_URL": webs[i % 2]}, tmp_path / f"worker{i}.log"))
        for i, port in enumerate(ports):
            procs.append(_spawn(["web"], {**base, "TWEETPAY_WEB_PORT": str(port),
                                          "TWEETPAY_PUBLIC_BASE_URL": webs[i]},
                                tmp_path / f"web{i}.log"))
        for web in webs:
            _until(lambda w=web: _healthy(w), f"{web} answering")

        started = time.monotonic()
        deadline = started + SECONDS
        errors: list[BaseException] = []
        serial = iter(range(1_000_000))
        serial_lock = threading.Lock()

        def player(i: int) -> None:
            rng = random.Random(i)
            payer = f"payer{i % PAYERS}"
            try:
                while time.monotonic() < deadline:
                    with serial_lock:
                        n = next(serial)
                    story = rng.random()
                    if story < 0.6:
                        _pay_and_race(load, payer, f"payee{rng.randrange(PAYEES)}", rng)
                    elif story < 0.8:
                        _escrow_and_race(load, payer, n)
                    else:
                        _new_author(load, n)
            except BaseException as exc:  # reported below
                errors.append(exc)

        players = [threading.Thread(target=player, args=(i,)) for i in range(PAYERS)]
        for thread in players:
            thread.start()
        for thread in players:
            thread.join(SECONDS + 10 * WAIT)
        assert not errors, errors
        loaded = time.monotonic() - started

        def drained() -> bool:
            with load.sessions() as session:
                seen = set(session.scalars(select(InboxEvent.event_id).where(
                    InboxEvent.source == "dm")))
                pending = session.scalar(select(func.count()).select_from(InboxEvent)
                                         .where(InboxEvent.status == "pending"))
            return set(load.sent) <= seen and pending == 0
        _until(drained, "every DM recorded and handled", wait=3 * WAIT)
        for proc in procs:
            assert proc.poll() is None, f"a process died: see {tmp_path}"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)

    with load.sessions() as session:
        statuses = Counter(session.scalars(select(InboxEvent.status)))
        intents = Counter(session.scalars(select(PaymentIntent.status)))
        expected, escrowed = expected_balances(session, funded)
    print(f"\nload: {SECONDS:.0f} s asked, {loaded:.1f} s of load; {len(load.sent)} DMs sent,"
          f" inbox {dict(statuses)}; intents {dict(intents)}; stories {dict(load.counts)};"
          f" lost 0 of {len(load.sent)}")
    assert statuses["failed"] == 0 and statuses["pending"] == 0
    assert statuses["done"] >= len(load.sent)
    assert ledger.verify() == []
    assert ledger.balance(ESCROW).cents == escrowed
    for x_user_id, cents in expected.items():
        if cents or x_user_id in funded:
            assert ledger.balance(user_account_code(x_user_id)).cents == cents, x_user_id
    assert load.counts["payments"] > 0 and intents["confirmed"] > 0
    engine.dispose()


def _healthy(web: str) -> bool:
    try:
        return httpx.get(f"{web}/healthz", timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False
