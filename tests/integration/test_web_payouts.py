"""Money out over HTTP (Starlette's TestClient) on real SQLite and PostgreSQL: the bank page
(IBAN added with the PIN, shown masked, refusals in words), a withdrawal confirmed on its
one-time link, the provider's signed webhook route, the statement, and the wind-down."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from bot.payments.payouts import sign
from bot.payments.sepa_sandbox import SandboxSepaProvider
from bot.services import wind_down
from bot.web.app import create_app
from config import load_settings
from handlers.money import Money
from storage.db import make_session_factory
from storage.models import BankAccount, OutboxMessage, Withdrawal
from storage.sealing import Sealer
from tests.integration.test_web_accounts import BASE, CAROL, PIN, T0, Clock, World, cheap_hasher
from tests.payout_fixtures import CAROL_IBAN


class PayoutWorld(World):
    payouts: SandboxSepaProvider

    def bank_form(self, csrf: str, iban: str = CAROL_IBAN, name: str = "Carol Martin",
                  pin: str = PIN) -> dict[str, str]:
        return {"csrf": csrf, "iban": iban, "holder_name": name, "pin": pin}


@pytest.fixture
def world(engine: Engine) -> Iterator[PayoutWorld]:
    from bot.payments.sandbox import SandboxProvider
    from storage.ledger import Ledger

    clock = Clock(T0)
    hasher = cheap_hasher()
    payouts = SandboxSepaProvider(clock=clock)
    settings = load_settings(public_base_url=BASE, payout_cooling_off_hours=0)
    app = create_app(settings, make_session_factory(engine), clock=clock, pin_hasher=hasher,
                     sealer=Sealer([k.get_secret_value() for k in settings.data_keys]),
                     payment_provider=SandboxProvider(clock=clock), payout_provider=payouts)
    w = PayoutWorld(engine=engine, sessions=make_session_factory(engine), ledger=Ledger(engine),
                    clock=clock, hasher=hasher, client=TestClient(app, base_url=BASE),
                    provider=SandboxProvider(clock=clock))
    w.payouts = payouts
    with w.client:
        yield w


def link_of(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/w/[A-Za-z0-9_-]{43}", location)
    return location


def test_add_iban_then_withdraw_on_the_link(world: PayoutWorld) -> None:
    world.user(CAROL, "carol", cents=10_000)
    csrf = world.log_in(CAROL)
    page = world.client.get("/account/bank")
    assert page.status_code == 200 and "Aucun compte bancaire" in page.text

    bad = world.client.post("/account/bank", data=world.bank_form(
        csrf, iban="DE41 3704 0044 0000 0007 78"))
    assert bad.status_code == 400 and "faute de frappe" in bad.text
    wrong = world.client.post("/account/bank", data=world.bank_form(csrf, pin="000001"))
    assert wrong.status_code == 400 and "Code erroné" in wrong.text
    assert world.count(BankAccount) == 0
    saved = world.client.post("/account/bank", data=world.bank_form(csrf,
                                                                    iban="de41370400440000000777"),
                              follow_redirects=False)
    assert saved.status_code == 303
    page = world.client.get(saved.headers["location"])
    assert "DE41 •••• 0777" in page.text and "DE41370400440000000777" not in page.text
    assert "La banque confirme le nom" in page.text
    # The alert says until when, in the users' zone (this world has no security delay: T0,
    # 12:00 UTC, is 14:00 in Paris).
    alert = world.row(OutboxMessage).text
    assert "DE41 •••• 0777" in alert and "avant le 01/05/2024 à 14:00." in alert, alert

    unreadable = world.client.post("/account/withdraw", data={"csrf": csrf, "amount": "vingt"})
    assert unreadable.status_code == 400 and "Montant illisible" in unreadable.text
    too_much = world.client.post("/account/withdraw", data={"csrf": csrf, "amount": "200"})
    assert too_much.status_code == 400 and "votre solde ne suffit pas" in too_much.text

    link = link_of(world.client.post("/account/withdraw", data={
        "csrf": csrf, "amount": "20", "scheme": "instant"}, follow_redirects=False))
    form = world.client.get(link)
    assert form.status_code == 200 and "20,00" in form.text and "payee_ack" in form.text
    bank_id = world.row(BankAccount).id
    post = {"pin": PIN, "amount_cents": "2000", "bank_account": str(bank_id)}
    assert world.client.post(link, data=post).status_code == 400  # the name check not ticked
    done = world.client.post(link, data={**post, "payee_ack": "1"})
    assert done.status_code == 200, done.text
    assert "arrive en quelques secondes" in done.text
    assert world.balance(CAROL) == Money(8_000)
    assert world.row(Withdrawal).status == "submitted"
    again = world.client.post(link, data={**post, "payee_ack": "1"})
    assert again.status_code == 410
    assert world.balance(CAROL) == Money(8_000)

    # The provider tells us it settled, by its signed webhook.
    world.clock.advance(seconds=10)
    (_, _), (settled, _) = world.payouts.drain_notifications()
    forged = world.client.post("/webhooks/payouts", content=settled,
                               headers={"payout-signature": sign(b"x", settled, world.clock())})
    assert forged.status_code == 400 and forged.json() == {"error": "bad_signature"}
    good = sign(b"tweetpay-sandbox-payout-webhooks", settled, world.clock())
    ok = world.client.post("/webhooks/payouts", content=settled,
                           headers={"payout-signature": good})
    assert ok.status_code == 200 and ok.json() == {"status": "applied"}
    replay = world.client.post("/webhooks/payouts", content=settled,
                               headers={"payout-signature": good})
    assert replay.json() == {"status": "duplicate"}
    assert world.row(Withdrawal).status == "settled"
    bank = world.client.get("/account/bank").text
    assert "Arrivé sur votre compte bancaire" in bank
    assert "01/05/2024 à 14:00" in bank and "UTC" not in bank  # T0 (12:00 UTC), Paris time

    csv = world.client.get("/account/statement.csv")
    assert csv.status_code == 200 and "attachment" in csv.headers["content-disposition"]
    rows = csv.text.splitlines()
    assert rows[0].startswith("date_utc,transfer_id")
    assert rows[-1].endswith(",-20.00,80.00,withdrawal to DE41 •••• 0777")


def test_link_refusals(world: PayoutWorld) -> None:
    assert world.client.get("/w/not-a-token").status_code == 404
    assert world.client.get("/w/" + "a" * 43).status_code == 410
    world.user(CAROL, "carol", cents=1_000)
    csrf = world.log_in(CAROL)
    world.client.post("/account/bank", data=world.bank_form(csrf))
    link = link_of(world.client.post("/account/withdraw", data={"csrf": csrf, "all": "1"},
                                     follow_redirects=False))
    bank_id = str(world.row(BankAccount).id)
    changed = world.client.post(link, data={"pin": PIN, "amount_cents": "999",
                                            "bank_account": bank_id, "payee_ack": "1"})
    assert changed.status_code == 409
    cross = world.client.post(link, data={"pin": PIN, "amount_cents": "1000",
                                          "bank_account": bank_id, "payee_ack": "1"},
                              headers={"sec-fetch-site": "cross-site"})
    assert cross.status_code == 403
    assert world.balance(CAROL) == Money(1_000)


def test_wind_down_refuses_top_ups_and_keeps_withdrawals(world: PayoutWorld) -> None:
    world.user(CAROL, "carol", cents=1_000)
    csrf = world.log_in(CAROL)
    world.client.post("/account/bank", data=world.bank_form(csrf))
    assert wind_down.start(world.sessions, world.clock())
    page = world.client.get("/account/bank")
    assert "Le service ferme" in page.text
    topup = world.client.post("/account/topup", data={"csrf": csrf, "amount": "10", "card": "1",
                                                      "nonce": "n" * 20})
    assert topup.status_code == 403 and "plus de nouveaux paiements" in topup.text
    link = link_of(world.client.post("/account/withdraw", data={"csrf": csrf, "all": "1"},
                                     follow_redirects=False))
    done = world.client.post(link, data={"pin": PIN, "amount_cents": "1000", "payee_ack": "1",
                                         "bank_account": str(world.row(BankAccount).id)})
    assert done.status_code == 200 and world.balance(CAROL) == Money(0)
    with world.sessions() as session:
        assert session.scalars(select(Withdrawal.status)).all() == ["submitted"]


def test_a_pro_account_withdraws_its_donations_and_sees_them_in_its_csv(
        world: PayoutWorld) -> None:
    ACF = 444
    world.user(ACF, "ACF", cents=12_000, kind="pro")
    csrf = world.log_in(ACF)
    world.client.post("/account/bank", data=world.bank_form(
        csrf, iban="FR76 3000 6000 0112 3456 7890 189", name="Action contre la Faim"))
    link = link_of(world.client.post("/account/withdraw", data={
        "csrf": csrf, "amount": "100", "scheme": "standard"}, follow_redirects=False))
    done = world.client.post(link, data={"pin": PIN, "amount_cents": "10000", "payee_ack": "1",
                                         "bank_account": str(world.row(BankAccount).id)})
    assert done.status_code == 200 and "jour ouvré suivant" in done.text
    assert world.balance(ACF) == Money(2_000)
    csv = world.client.get("/account/donations.csv")
    assert csv.status_code == 200
    last = csv.text.splitlines()[-1]
    assert last.endswith(",W1,,,-100.00,payout to FR76 •••• 0189 (submitted)")


def test_a_held_withdrawal_is_cancelled_from_the_bank_page(engine: Engine) -> None:
    from bot.payments.sandbox import SandboxProvider
    from storage.ledger import Ledger

    clock = Clock(T0)
    settings = load_settings(public_base_url=BASE)  # the 24-hour cooling-off
    app = create_app(settings, make_session_factory(engine), clock=clock,
                     pin_hasher=cheap_hasher(),
                     sealer=Sealer([k.get_secret_value() for k in settings.data_keys]),
                     payment_provider=SandboxProvider(clock=clock),
                     payout_provider=SandboxSepaProvider(clock=clock))
    w = PayoutWorld(engine=engine, sessions=make_session_factory(engine), ledger=Ledger(engine),
                    clock=clock, hasher=cheap_hasher(), client=TestClient(app, base_url=BASE),
                    provider=SandboxProvider(clock=clock))
    with w.client:
        w.user(CAROL, "carol", cents=3_000)
        csrf = w.log_in(CAROL)
        w.client.post("/account/bank", data=w.bank_form(csrf))
        assert "24 h" in w.client.get("/account/bank").text
        link = link_of(w.client.post("/account/withdraw", data={"csrf": csrf, "amount": "25"},
                                     follow_redirects=False))
        done = w.client.post(link, data={"pin": PIN, "amount_cents": "2500", "payee_ack": "1",
                                         "bank_account": str(w.row(BankAccount).id)})
        assert done.status_code == 200 and "à la fin du délai" in done.text
        page = w.client.get("/account/bank").text
        assert "Annuler ce retrait" in page and "En attente d’envoi" in page
        withdrawal = str(w.row(Withdrawal).id)
        forged = w.client.post("/account/withdraw/cancel",
                               data={"csrf": "0" * 64, "withdrawal": withdrawal})
        assert forged.status_code == 403
        cancelled = w.client.post("/account/withdraw/cancel",
                                  data={"csrf": csrf, "withdrawal": withdrawal})
        assert cancelled.status_code == 200 and "Retrait annulé" in cancelled.text
        assert w.balance(CAROL) == Money(3_000)
        again = w.client.post("/account/withdraw/cancel",
                              data={"csrf": csrf, "withdrawal": withdrawal})
        assert again.status_code == 409
