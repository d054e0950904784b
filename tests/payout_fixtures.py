"""Shared set-up of the money-out tests: a movable clock, the sandbox SEPA provider on it,
the services' collaborators over a real database, and carol with a PIN and a balance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from bot.payments.sepa_sandbox import SandboxSepaProvider
from bot.security import PinHasher
from bot.services.payout_common import PayoutDeps, PayoutPolicy, PinProof
from config import load_settings
from handlers.confirmation import PinPolicy
from handlers.money import Money
from storage import accounts
from storage.sealing import Sealer
from storage.uow import UnitOfWork
from tests.integration.bot_world import FakeClock

# A Wednesday, mid-morning: a standard transfer settles Thursday 08:00.
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
CAROL = 3003
STARTING_BALANCE = Money(10_000)
PIN = "482915"
CAROL_IBAN = "DE41 3704 0044 0000 0007 77"  # "Carol Martin" on file at the sandbox bank
RETURN_IBANS = {
    "AC01": "DE57 3704 0044 0000 0001 01",
    "AC04": "DE73 3704 0044 0000 0001 04",
    "AM04": "DE24 3704 0044 0000 0004 04",
    "MS03": "DE35 3704 0044 0000 0003 03",
}


@dataclass
class World:
    deps: PayoutDeps
    clock: FakeClock
    provider: SandboxSepaProvider
    carol_id: int

    @property
    def proof(self) -> PinProof:
        return PinProof(PIN)


def make_world(sessions: sessionmaker[Session], *, balance: Money = STARTING_BALANCE,
               cooling_off: dt.timedelta = dt.timedelta(0), **policy: object) -> World:
    clock = FakeClock(NOW)
    provider = SandboxSepaProvider(clock=clock)
    pins = PinHasher("test-pepper", time_cost=1, memory_kib=1024)
    deps = PayoutDeps(
        sessions=sessions, sealer=Sealer([Fernet.generate_key().decode()]), pins=pins,
        pin_policy=PinPolicy.from_settings(load_settings()), provider=provider,
        policy=PayoutPolicy(cooling_off=cooling_off, **policy),  # type: ignore[arg-type]
        clock=clock)
    carol_id = open_funded(sessions, pins, CAROL, "carol", balance)
    return World(deps, clock, provider, carol_id)


def open_funded(sessions: sessionmaker[Session], pins: PinHasher, x_user_id: int, handle: str,
                balance: Money, kind: str = "personal") -> int:
    with UnitOfWork(sessions) as uow:
        user = accounts.open_user(uow, x_user_id=x_user_id, handle=handle, now=NOW,
                                  pin_hash=pins.hash(PIN), kind=kind)
        if balance.cents:
            accounts.top_up(uow, x_user_id=x_user_id, amount=balance,
                            charge_id=f"seed-{x_user_id}")
        uow.commit()
        return user.id
