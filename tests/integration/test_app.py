"""The tweetpay app end to end, on SQLite and PostgreSQL: the emulator over HTTP, pushes over
HTTP to the push-service stand-in, the app's pages through the test client. The channel is
chosen per case and each payment's X writes and DMs are counted on the emulator."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from handlers.money import Money
from storage.models import OutboxMessage

try:
    from tests.integration.app_world import ORIGIN, sign_in
    from tests.integration.bot_world import PIN, World, make_world
    from tests.push_service import PushServiceStandIn
except ImportError:  # tests/ itself on sys.path (pytest's rootdir-less import mode)
    from integration.app_world import ORIGIN, sign_in  # type: ignore[no-redef]
    from integration.bot_world import PIN, World, make_world  # type: ignore[no-redef]
    from push_service import PushServiceStandIn  # type: ignore[no-redef]


@pytest.fixture
def world(engine: Engine, emulator: object) -> Iterator[World]:
    with make_world(engine, emulator) as built:
        yield built


def _done_replies(world: World) -> int:
    """Public "done" replies after a confirmation: a second reply to the summons, which the
    one-reply-per-summons work (engineer "xreal") removes; counted apart meanwhile, so these
    tests pin what the app changes. Zero once that lands."""
    with world.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "reply", OutboxMessage.dedupe_key.like("intent:%:done"),
            OutboxMessage.status == "sent")) or 0


def _spent(world: World, before: tuple[int, int]) -> tuple[int, int]:
    """(X posts, DMs) the bot sent since ``before``."""
    posts, dms = _counts(world)
    return posts - before[0], dms - before[1]


def _counts(world: World) -> tuple[int, int]:
    posts = world.posts()
    return len(posts["tweets"]) - _done_replies(world), len(posts["dms"])


def test_an_app_users_public_payment_costs_one_x_write_and_no_dm(
        world: World, stand_in: PushServiceStandIn) -> None:
    alice = sign_in(world, "alice", stand_in)
    bob = sign_in(world, "bob", stand_in)
    assert alice.subscription and bob.subscription
    before = _counts(world)
    world.tweet("alice", "@Smoney #envoyer 12,99€ @bob merci pour le resto")
    world.runtime.tick()
    (reply,) = world.posts()["tweets"]
    (intent,) = world.intents()
    assert _spent(world, before) == (1, 0)
    assert "app tweetpay" in str(reply["text"]) and intent.reference in str(reply["text"])
    assert "http" not in str(reply["text"]) and "@" not in str(reply["text"])
    (push,) = stand_in.for_(alice.subscription)
    assert push["title"] == "Paiement à confirmer" and "12,99" in push["body"]
    assert "http" not in str(push) and "/c/" not in str(push)

    assert alice.to_confirm() == [intent.id]
    status, page = alice.confirm(intent.id, "000000")
    assert status == 400 and "Code erroné" in page
    status, page = alice.confirm(intent.id, PIN["alice"])
    assert status == 200 and "12,99" in page and alice.to_confirm() == []
    world.runtime.tick()
    (received,) = stand_in.for_(bob.subscription)
    assert received["body"] == "Vous avez reçu 12,99\u00a0€ de @alice"
    assert "62,99" in bob.home()
    world.clock.advance(minutes=5)  # past the DM fallback: alice saw it, nothing follows
    world.runtime.tick()
    assert _spent(world, before) == (1, 0)
    assert len(world.posts()["tweets"]) == 1 and _done_replies(world) == 0  # no "done" reply
    assert world.balance("bob") == Money(5_000 + 1299)
    assert world.ledger.verify() == []


def test_an_unseen_push_is_followed_by_the_link_by_dm_once(
        world: World, stand_in: PushServiceStandIn) -> None:
    sign_in(world, "alice", stand_in)
    before = _counts(world)
    world.tweet("alice", "@Smoney #envoyer 5€ @bob")
    world.runtime.tick()
    assert _spent(world, before) == (1, 0)  # the push went; alice does not open the app
    world.clock.advance(minutes=2, seconds=59)
    world.runtime.tick()
    assert _spent(world, before) == (1, 0)
    world.clock.advance(seconds=2)
    world.runtime.tick()
    world.clock.advance(minutes=1)
    world.runtime.tick()
    assert _spent(world, before) == (1, 1)  # the link, once
    status, _ = world.confirm(world.link_for("alice"), PIN["alice"])
    assert status == 200 and world.balance("bob") == Money(5_500)


def test_how_often_the_dm_fallback_fires(world: World, stand_in: PushServiceStandIn) -> None:
    """Six app payments; the payer opens the app (and confirms) for four within the delay: the
    link follows by DM for the two others only (rate printed: 2/6). Opening the app shows
    every payment waiting, so the unopened ones come last."""
    alice = sign_in(world, "alice", stand_in)
    opened = [True, True, True, True, False, False]
    for i, opens in enumerate(opened):
        world.tweet("alice", f"@Smoney #envoyer {i + 1}€ @bob n°{i}")
        world.runtime.tick()
        if opens:
            (intent_id,) = alice.to_confirm()
            assert alice.confirm(intent_id, PIN["alice"])[0] == 200
    world.clock.advance(minutes=4)
    world.runtime.tick()
    fallbacks = sum("/c/" in text for text in world.dms_to("alice"))
    print(f"DM fallback fired for {fallbacks} of {len(opened)} app payments")
    assert fallbacks == opened.count(False)


@pytest.mark.parametrize(
    ("source", "payer_app", "payee_app", "payee_stopped", "expected"),
    [
        # (X posts, DMs) for one whole payment, from the tweet or DM to the payee's notice.
        ("public", False, False, False, (1, 2)),  # link DM + notice DM
        ("public", True, False, False, (1, 1)),  # the notice DM only
        ("public", True, True, False, (1, 0)),  # the target: one reply, nothing else
        ("public", False, True, False, (1, 1)),  # the link DM only
        ("dm", False, False, False, (0, 2)),  # the link (the DM's one reply) + notice
        ("dm", True, True, False, (0, 1)),  # the DM's one reply, no link
        ("dm", True, False, True, (0, 1)),  # bob said #stop: no notice at all
    ],
)
def test_the_channel_is_chosen_per_case(
        world: World, stand_in: PushServiceStandIn, source: str, payer_app: bool,
        payee_app: bool, payee_stopped: bool, expected: tuple[int, int]) -> None:
    alice = sign_in(world, "alice", stand_in) if payer_app else None
    bob = sign_in(world, "bob", stand_in) if payee_app else None
    if payee_stopped:
        world.dm("bob", "#stop")
        world.runtime.tick()
    before = _counts(world)
    if source == "public":
        world.tweet("alice", "@Smoney #envoyer 7€ @bob")
    else:
        world.dm("alice", "#envoyer 7€ @bob")
    world.runtime.tick()
    (intent,) = world.intents()
    if alice is not None:
        status, _ = alice.confirm(intent.id, PIN["alice"])
    else:
        status, _ = world.confirm(world.link_for("alice"), PIN["alice"])
    assert status == 200
    world.runtime.tick()
    world.clock.advance(minutes=5)
    world.runtime.tick()
    assert _spent(world, before) == expected
    pushes = stand_in.for_(bob.subscription) if bob and bob.subscription else []
    assert len(pushes) == (1 if payee_app and not payee_stopped else 0)
    assert world.balance("bob") == Money(5_700)


def test_device_sessions_are_listed_and_revoked_one_by_one_or_all(
        world: World, stand_in: PushServiceStandIn) -> None:
    phone = sign_in(world, "alice", stand_in)
    laptop = sign_in(world, "alice")
    page = laptop.client.get("/account").text
    ids = [int(i) for i in re.findall(r'action="/account/devices/(\d+)/revoke"', page)]
    assert len(ids) == 2 and "cet appareil" in page and "notifications" in page
    phone_id = min(ids)
    response = laptop.client.post(f"/account/devices/{phone_id}/revoke",
                                  data={"csrf": laptop.csrf()}, headers=ORIGIN,
                                  follow_redirects=False)
    assert response.status_code == 303
    assert phone.client.get("/account").status_code == 401  # that session is over
    assert "data-csrf" not in phone.client.get("/").text  # the app greets a stranger
    # A revoked device gets no push; the laptop still shows the payment (no link by DM).
    world.tweet("alice", "@Smoney #envoyer 3€ @bob")
    world.runtime.tick()
    assert stand_in.for_(phone.subscription or {}) == [] and len(laptop.to_confirm()) == 1
    assert not any("/c/" in t for t in world.dms_to("alice"))
    # Every device at once is a sensitive action: a session alone is not enough.
    refused = laptop.client.post("/account/devices/revoke", data={"csrf": laptop.csrf()},
                                 headers=ORIGIN, follow_redirects=False)
    assert refused.status_code == 400 and laptop.client.get("/account").status_code == 200
    response = laptop.client.post("/account/devices/revoke",
                                  data={"csrf": laptop.csrf(), "pin": PIN["alice"]},
                                  headers=ORIGIN, follow_redirects=False)
    assert response.status_code == 303 and laptop.client.get("/account").status_code == 401
    # No device left: alice's next payment gets its link by DM, as before the app.
    world.tweet("alice", "@Smoney #envoyer 4€ @bob")
    world.runtime.tick()
    assert any("/c/" in t for t in world.dms_to("alice"))


def test_requests_escrow_and_cancel_in_the_app(world: World, stand_in: PushServiceStandIn
                                               ) -> None:
    alice = sign_in(world, "alice", stand_in)
    world.dm("bob", "#demander 4€ @alice pizza")  # bob asks alice: it waits in her app
    world.tweet("alice", "@Smoney #envoyer 2€ @carol")  # carol has no account: escrow
    world.runtime.tick()
    home = alice.home()
    assert "Demandes reçues" in home and "pizza" in home and "Refuser" in home
    (request,) = [i for i in world.intents() if i.kind == "request"]
    (to_carol,) = [i for i in world.intents() if i.kind == "send"]
    status, page = alice.confirm(to_carol.id, PIN["alice"])
    assert status == 200 and "sont mis de côté pour @carol" in page  # not "sent to @carol"
    home = alice.home()
    assert "Argent en attente d’un compte" in home and "@carol" in home
    # The claim deadline as the notice wrote it: a French date in the users' time zone.
    (deadline,) = re.findall(r"réclamable jusqu’au ([^<]+)<", home)
    assert re.fullmatch(r"\d\d/\d\d/20\d\d", deadline) and f"jusqu’au {deadline})" in page
    response = alice.client.post(f"/app/cancel/{request.reference}",
                                 data={"csrf": alice.csrf()}, headers=ORIGIN)
    assert response.status_code == 200 and request.reference in response.text
    response = alice.client.post(f"/app/cancel/{to_carol.reference}",
                                 data={"csrf": alice.csrf()}, headers=ORIGIN)
    assert response.status_code == 200
    assert world.balance("alice") == Money(10_000)  # the escrow came back
    assert {i.kind: i.status for i in world.intents()} == {"request": "cancelled",
                                                           "send": "confirmed"}
    # A GET of the app never confirms or cancels anything; a POST without CSRF is refused.
    refused = alice.client.post(f"/app/cancel/{request.reference}", data={}, headers=ORIGIN)
    assert refused.status_code == 403


def test_the_language_chosen_on_a_page_stays_for_what_follows(
        world: World, stand_in: PushServiceStandIn) -> None:
    """alice's account speaks French; on this device she picks English once (the header's
    link, ``?lang=en``): the next pages, the live part and the answer to her confirmation
    speak English, until she picks French again."""
    alice = sign_in(world, "alice", stand_in)
    assert "Vos paiements" in alice.home()
    chosen = alice.client.get("/?lang=en")
    assert "Your payments" in chosen.text and "tp_lang=en" in chosen.headers["set-cookie"]
    world.tweet("alice", "@Smoney #envoyer 6€ @bob")
    world.runtime.tick()
    assert "Your payments" in alice.home() and "To confirm" in alice.client.get("/app/live").text
    (intent,) = world.intents()
    status, page = alice.confirm(intent.id, PIN["alice"])
    assert status == 200 and "€6.00 was sent to @bob" in page
    assert "Vos paiements" in alice.client.get("/?lang=fr").text
    assert "Vos paiements" in alice.home()


def test_the_app_keeps_the_link_pages_pin_rules(world: World,
                                                stand_in: PushServiceStandIn) -> None:
    alice = sign_in(world, "alice", stand_in)
    world.tweet("alice", "@Smoney #envoyer 9€ @bob")
    world.runtime.tick()
    (intent,) = world.intents()
    for said in ("Code erroné. Encore 2 essais.", "Code erroné. Encore un essai."):
        status, page = alice.confirm(intent.id, "111111")
        assert status == 400 and said in page
    status, _ = alice.confirm(intent.id, "111111")
    assert status == 403  # third wrong code: cancelled
    assert world.intents()[0].status == "cancelled"
    # Dynamic linking: a form whose amount differs from the intent's is refused.
    world.tweet("alice", "@Smoney #envoyer 8€ @bob")
    world.runtime.tick()
    second = world.intents()[1]
    response = alice.client.post(f"/app/confirm/{second.id}", headers=ORIGIN, data={
        "csrf": alice.csrf(), "pin": PIN["alice"], "amount_cents": "1",
        "payee": str(world.users["bob"].x_user_id)})
    assert response.status_code == 409 and world.balance("bob") == Money(5_000)
    # Bob cannot confirm alice's payment from his app.
    bob = sign_in(world, "bob")
    response = bob.client.post(f"/app/confirm/{second.id}", headers=ORIGIN, data={
        "csrf": bob.csrf(), "pin": PIN["bob"], "amount_cents": "800",
        "payee": str(world.users["bob"].x_user_id)})
    assert response.status_code == 404 and world.balance("bob") == Money(5_000)
    # Two more wrong codes: five in a row lock the account, and the app says until when.
    alice.confirm(second.id, "111111")
    response = alice.client.post(f"/app/confirm/{second.id}", headers=ORIGIN, data={
        "csrf": alice.csrf(), "pin": "111111", "amount_cents": "800",
        "payee": str(world.users["bob"].x_user_id)})
    assert response.status_code == 429 and "votre compte est bloqué jusqu’au" in response.text
    assert 1790 <= int(response.headers["retry-after"]) <= 1800


def test_the_playground_is_sandbox_only_and_the_app_is_installable(
        engine: Engine) -> None:
    from starlette.testclient import TestClient

    from bot.web.app import create_app
    from config import load_settings
    from storage.db import make_session_factory

    for env, status in (("development", 404), ("sandbox", 502)):
        settings = load_settings(env=env, public_base_url="http://testserver")
        app = create_app(settings, make_session_factory(engine))
        with TestClient(app, base_url="http://testserver") as client:
            # Sandbox: the emulator is not running here, the playground says so.
            assert client.get("/playground").status_code == status
            assert client.post("/playground/app", data={"as": "alice"},
                               headers=ORIGIN).status_code == status
            home = client.get("/")
            assert home.status_code == 200 and "script-src 'self'" in home.headers[
                "content-security-policy"]
            manifest = client.get("/manifest.webmanifest").json()
            assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
            assert {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
            assert client.get("/static/icons/icon-512.png").content[:4] == b"\x89PNG"
            sw = client.get("/sw.js")
            assert sw.headers["content-type"].startswith("text/javascript")
            assert "/offline" in sw.text
