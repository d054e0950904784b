"""Money out with a passkey instead of the PIN, over HTTP on both engines (a software
authenticator): register one through the account routes, add the IBAN with a step-up
assertion (which serves once), confirm a withdrawal with an assertion over the challenge
bound to its amount and bank account (any other amount refused)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from bot.payments.sandbox import SandboxProvider
from bot.payments.sepa_sandbox import SandboxSepaProvider
from bot.web.app import create_app
from config import load_settings
from handlers.money import Money
from storage.db import make_session_factory
from storage.ledger import Ledger
from storage.models import BankAccount, Passkey, Withdrawal
from storage.sealing import Sealer
from tests.integration.test_web_accounts import CAROL, PIN, T0, Clock, World, cheap_hasher
from tests.payout_fixtures import CAROL_IBAN
from tests.webauthn_device import SoftPasskey

BASE = "http://localhost:8000"  # WebAuthn needs a host name


@pytest.fixture
def world(engine: Engine) -> Iterator[World]:
    clock = Clock(T0)
    hasher = cheap_hasher()
    settings = load_settings(public_base_url=BASE, payout_cooling_off_hours=0)
    app = create_app(settings, make_session_factory(engine), clock=clock, pin_hasher=hasher,
                     sealer=Sealer([k.get_secret_value() for k in settings.data_keys]),
                     payment_provider=SandboxProvider(clock=clock),
                     payout_provider=SandboxSepaProvider(clock=clock))
    w = World(engine=engine, sessions=make_session_factory(engine), ledger=Ledger(engine),
              clock=clock, hasher=hasher, client=TestClient(app, base_url=BASE),
              provider=SandboxProvider(clock=clock))
    with w.client:
        yield w


def register(world: World, csrf: str) -> SoftPasskey:
    device = SoftPasskey("localhost", BASE)
    wrong = world.client.post("/account/passkeys/options",
                              data={"csrf": csrf, "name": "Tél", "pin": "000001"})
    assert wrong.status_code == 400 and "Code erroné" in wrong.json()["error"]
    options = world.client.post("/account/passkeys/options",
                                data={"csrf": csrf, "name": "Tél", "pin": PIN})
    assert options.status_code == 200 and options.json()["authenticatorSelection"][
        "userVerification"] == "required"
    created = world.client.post("/account/passkeys", data={
        "csrf": csrf, "name": "Tél", "credential": device.create(options.json())})
    assert created.json() == {"redirect": "/account?done=passkey_added"}
    replayed = world.client.post("/account/passkeys", data={
        "csrf": csrf, "name": "Tél", "credential": device.create(options.json())})
    assert replayed.status_code == 400  # the registration challenge served once
    assert world.count(Passkey) == 1
    return device


def test_iban_and_withdrawal_with_a_passkey(world: World) -> None:
    world.user(CAROL, "carol", cents=10_000)
    csrf = world.log_in(CAROL)
    device = register(world, csrf)

    options = world.client.post("/account/step-up", data={"csrf": csrf, "action": "add_iban"})
    assertion = device.get(options.json()["challenge"])
    form = {"csrf": csrf, "iban": CAROL_IBAN, "holder_name": "Carol Martin",
            "assertion": assertion}
    saved = world.client.post("/account/bank", data=form, follow_redirects=False)
    assert saved.status_code == 303 and world.count(BankAccount) == 1
    again = world.client.post("/account/bank", data=form)
    assert again.status_code == 400 and world.count(BankAccount) == 1  # served once

    link = world.client.post("/account/withdraw", data={
        "csrf": csrf, "amount": "20", "scheme": "instant"}, follow_redirects=False
    ).headers["location"]
    page = world.client.get(link)
    match = re.search(r'data-passkey-options="([^"]+)"', page.text)
    assert match, "the withdrawal page offers the passkey"
    challenge = json.loads(html.unescape(match.group(1)))["challenge"]
    bank_id = world.row(BankAccount).id
    signed = device.get(challenge)
    post = {"assertion": signed, "amount_cents": "2000", "bank_account": str(bank_id),
            "payee_ack": "1"}
    assert world.client.post(link, data={**post, "amount_cents": "3000"}).status_code != 200
    done = world.client.post(link, data=post)
    assert done.status_code == 200, done.text
    assert world.balance(CAROL) == Money(8_000)
    assert world.row(Withdrawal).status in ("confirmed", "submitted")
    assert world.client.post(link, data=post).status_code == 410
