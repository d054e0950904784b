"""The X API emulator for integration tests: real HTTP on a free localhost port.

- ``emulator``: one emulator per session (started in-process), reset and re-seeded with the
  sandbox for each test; yields an ``Emulator`` with ``base_url``, the bot's ``credentials``,
  ``control`` (a ``ControlClient``), ``state`` (direct access) and ``bot_id``.
- ``x_schema``: X's OpenAPI description loaded once, bound to the emulator's URL.
- ``gateway``: the real ``TweepyGateway`` pointed at the emulator (2 s timeout); every answer
  it receives is validated against X's OpenAPI description when the test ends.
- ``stand_in``: a local Web Push service (``tests/push_service.py``) that records what it gets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.emulator import BotCredentials, EmulatorServer, EmulatorState, seed_sandbox
from bot.emulator.client import ControlClient
from bot.gateway import TweepyGateway, make_gateway
from config import load_settings

try:
    from tests.push_service import PushServiceStandIn
    from tests.x_openapi import XApiSchema
except ImportError:  # tests/ itself on sys.path (pytest's rootdir-less import mode)
    from push_service import PushServiceStandIn  # type: ignore[no-redef]
    from x_openapi import XApiSchema


@dataclass
class Emulator:
    base_url: str
    credentials: BotCredentials
    control: ControlClient
    state: EmulatorState
    server: EmulatorServer

    @property
    def bot_id(self) -> str:
        return self.credentials.user_id


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> Emulator:
    state = emulator_server.state
    state.reset()
    credentials = seed_sandbox(state)
    return Emulator(
        base_url=emulator_server.base_url,
        credentials=credentials,
        control=ControlClient(emulator_server.base_url),
        state=state,
        server=emulator_server,
    )


@pytest.fixture(scope="session")
def x_schema(emulator_server: EmulatorServer) -> XApiSchema:
    return XApiSchema(emulator_server.base_url)


@pytest.fixture
def gateway(emulator: Emulator, x_schema: XApiSchema) -> Iterator[TweepyGateway]:
    gateway = make_gateway(
        load_settings(), base_url=emulator.base_url, credentials=emulator.credentials, timeout=2.0
    )
    seen = x_schema.record(gateway.session)
    yield gateway
    for response in seen:
        x_schema.check(response)


@pytest.fixture
def stand_in() -> Iterator[PushServiceStandIn]:
    service = PushServiceStandIn()
    yield service
    service.close()
