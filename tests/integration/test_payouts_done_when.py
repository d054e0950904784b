"""Issue 16's "done when", on the emulator over HTTP and both engines: carol (a newcomer paid
by alice) adds an IBAN, withdraws 20 € instantly and 5 € by standard transfer that settles the
next business day on the sandbox's clock, a test IBAN's return puts the money back with its
reason, and reconciliation is clean."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from bot.payments.sandbox import make_provider
from bot.payments.sepa_sandbox import SETTLE_HOUR_UTC, next_business_day
from bot.services import reconcile
from handlers.money import Money
from storage.ledger import PAYOUTS_IN_FLIGHT, settlement_account_code, user_account_code
from storage.models import Withdrawal

try:
    from tests.integration.bot_world import PIN, World, make_world
except ImportError:  # tests/ itself on sys.path (pytest's rootdir-less import mode)
    from integration.bot_world import PIN, World, make_world

CAROL_PIN = "305817"


@pytest.fixture
def world(engine: Engine, emulator: object, tmp_path: Path) -> Iterator[World]:
    with make_world(engine, emulator, data_dir=tmp_path, payout_cooling_off_hours=0) as built:
        yield built


def link(world: World, kind: str, used: set[str]) -> str:
    posts = world.posts()
    texts = [str(p["text"]) for p in posts["dms"]] + [str(p["text"]) for p in posts["tweets"]]
    for text in reversed(texts):
        for token in re.findall(rf"/{kind}/([A-Za-z0-9_\-]+)", text):
            if token not in used:
                used.add(token)
                return token
    raise AssertionError(f"no /{kind}/ link in {texts}")


def fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', html))


def test_carol_withdraws_instantly_and_by_standard_transfer_and_a_return_comes_back(
        world: World) -> None:
    used: set[str] = set()
    web, origin = world.web, {"Origin": "http://testserver"}
    world.tweet("alice", "@Smoney #envoyer 30€ @carol")
    world.runtime.tick()
    assert world.confirm(link(world, "c", used), PIN["alice"])[0] == 200
    world.dm("carol", "#inscription")
    world.runtime.tick()
    signed = web.post(f"/s/{link(world, 's', used)}", headers=origin,
                      data={"pin": CAROL_PIN, "pin_again": CAROL_PIN, "terms": "yes"})
    assert signed.status_code == 200, signed.text

    def log_in() -> str:  # #compte by DM, then the login link (sessions last 15 minutes)
        world.dm("carol", "#compte")
        world.runtime.tick()
        assert web.post(f"/l/{link(world, 'l', used)}", headers=origin,
                        follow_redirects=False).status_code == 303
        found = re.search(r'name="csrf" value="([0-9a-f]{64})"', web.get("/account/bank").text)
        assert found
        return found.group(1)

    csrf = log_in()
    carol = int(world.emulator.state.find_user("carol").id)  # type: ignore[attr-defined]

    def save_iban(iban: str) -> None:
        saved = web.post("/account/bank", headers=origin, follow_redirects=False, data={
            "csrf": csrf, "iban": iban, "holder_name": "Carol Martin",
            "pin": CAROL_PIN})
        assert saved.status_code == 303, saved.text

    def withdraw(amount: str, scheme: str) -> str:
        asked = web.post("/account/withdraw", headers=origin, follow_redirects=False,
                         data={"csrf": csrf, "amount": amount, "scheme": scheme})
        target = asked.headers["location"]
        form = fields(web.get(target).text) | {"pin": CAROL_PIN, "payee_ack": "1"}
        done = web.post(target, headers=origin, data=form)
        assert done.status_code == 200, done.text
        return done.text

    def statuses() -> list[str]:
        with world.runtime.sessions() as session:
            return list(session.scalars(select(Withdrawal.status).order_by(Withdrawal.id)))

    def next_business_morning() -> dt.datetime:
        day = next_business_day(world.clock.now.date())
        return dt.datetime.combine(day, dt.time(SETTLE_HOUR_UTC), dt.UTC)

    save_iban("de41 3704 0044 0000 0007 77")
    assert "quelques secondes" in withdraw("20", "instant")
    assert "jour ouvré suivant" in withdraw("5", "standard")
    due = next_business_morning()
    world.clock.advance(seconds=10)
    world.runtime.tick()
    assert statuses() == ["settled", "submitted"]  # instant: seconds; standard: waits
    assert world.ledger.balance(user_account_code(carol)) == Money(500)
    world.clock.now = due - dt.timedelta(minutes=1)
    world.runtime.tick()
    assert statuses() == ["settled", "submitted"]
    world.clock.now = due  # 08:00 on the next business day
    world.runtime.tick()
    assert statuses() == ["settled", "settled"]
    assert world.ledger.balance(settlement_account_code("sandbox_sepa")) == Money(2_500)

    csrf = log_in()
    save_iban("DE57 3704 0044 0000 0001 01")  # the sandbox's AC01 test IBAN
    withdraw("3", "standard")
    assert world.ledger.balance(user_account_code(carol)) == Money(200)
    world.clock.now = next_business_morning()
    world.runtime.tick()
    assert statuses()[-1] == "returned"
    assert world.ledger.balance(user_account_code(carol)) == Money(500)
    assert world.ledger.balance(PAYOUTS_IN_FLIGHT) == Money(0)
    told = [str(p["text"]) for p in world.posts()["dms"] + world.posts()["tweets"]
            if "nous est revenu" in str(p["text"])]
    assert told and "le numéro de compte (IBAN) est erroné" in told[-1]
    log_in()
    assert "Revenu sur votre compte tweetpay" in web.get("/account/bank").text

    found = reconcile.reconcile(world.runtime.sessions,
                                make_provider(world.runtime.settings, world.clock),
                                world.runtime.payout_deps().provider)
    assert found == []
    assert world.ledger.verify() == []
