"""The bot's world for end-to-end tests: the emulator over real HTTP, the real tweepy gateway,
the worker's runtime under a controllable clock, and the confirmation pages through
Starlette's test client on the same database (shared by the bot-flow test modules).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from bot.sandbox import SandboxUser, sandbox_users, seed_accounts
from bot.web.app import create_app
from bot.worker import Runtime, build_runtime
from config import load_settings
from handlers.money import Money
from storage.ledger import Ledger, user_account_code
from storage.models import PaymentIntent

try:
    from tests.fakes import FakeClock
except ImportError:  # tests/ itself on sys.path
    from fakes import FakeClock  # type: ignore[no-redef]

PIN = {"alice": "482916", "bob": "739251"}
LINK = re.compile(r"https?://\S+/c/([A-Za-z0-9_\-]+)")




@dataclass
class World:
    runtime: Runtime
    emulator: object
    web: TestClient
    clock: FakeClock
    ledger: Ledger
    users: dict[str, SandboxUser]
    engine: Engine

    def tweet(self, author: str, text: str, **links: object) -> str:
        return str(self.emulator.control.tweet(author, text, **links)["id"])  # type: ignore[attr-defined]

    def dm(self, sender: str, text: str) -> str:
        return str(self.emulator.control.dm(sender, text)["id"])  # type: ignore[attr-defined]

    def posts(self) -> dict[str, list[dict[str, object]]]:
        return self.emulator.control.bot_posts()  # type: ignore[attr-defined,no-any-return]

    def dms_to(self, handle: str) -> list[str]:
        uid = str(self.users[handle].x_user_id) if handle in self.users else handle
        return [str(d["text"]) for d in self.posts()["dms"] if str(d.get("recipient_id")) == uid]

    def link_for(self, handle: str) -> str:
        texts = [t for t in self.dms_to(handle) if LINK.search(t)]
        assert texts, f"no link DM to {handle}"
        match = LINK.search(texts[-1])
        assert match
        return match.group(1)

    def confirm(self, token: str, pin: str) -> tuple[int, str]:
        page = self.web.get(f"/c/{token}")
        if page.status_code != 200:
            return page.status_code, page.text  # a person sees this page and stops there
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
        fields["pin"] = pin
        response = self.web.post(f"/c/{token}", data=fields,
                                 headers={"Origin": "http://testserver"})
        return response.status_code, response.text

    def balance(self, handle: str) -> Money:
        return self.ledger.balance(user_account_code(self.users[handle].x_user_id))

    def intents(self) -> list[PaymentIntent]:
        with self.runtime.sessions() as session:
            return list(session.scalars(select(PaymentIntent).order_by(PaymentIntent.id)))

    def count(self, model: type) -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0


@contextmanager
def make_world(engine: Engine, emulator: Any, **overrides: Any) -> Iterator[World]:
    settings = load_settings(public_base_url="http://testserver", **overrides)
    clock = FakeClock()
    state = emulator.state
    # Tests poll DMs on every tick; the emulator otherwise keeps X's 15 per 15 minutes.
    state.set_rate_limit("dm_events", 10_000)
    runtime = build_runtime(settings, base_url=emulator.base_url,
                            credentials=emulator.credentials, clock=clock, engine=engine)
    users = sandbox_users(state)
    seed_accounts(runtime.sessions, settings, users, clock())
    app = create_app(settings, runtime.sessions, clock=clock, sealer=runtime.sealer)
    with TestClient(app, base_url="http://testserver") as web:
        yield World(runtime, emulator, web, clock, Ledger(engine),
                    {u.handle: u for u in users}, engine)
