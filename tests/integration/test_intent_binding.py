"""The intent's frozen values are signed with a server key at creation (PSD2 dynamic linking,
``handlers.binding``): change the memo, the amount, the payee or the expiry of the intent row
itself and the confirmation page refuses it, before any PIN check; on both engines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, update

from handlers.binding import INTENT_LABEL, intent_parts
from storage.models import PaymentIntent
from storage.sealing import Sealer

try:
    from tests.integration.test_web_confirm import BOB, PIN, World, make_world
except ImportError:  # tests/integration itself on sys.path (rootdir-less import mode)
    from test_web_confirm import BOB, PIN, World, make_world  # type: ignore[no-redef]


@pytest.fixture
def world(engine: Engine) -> Iterator[World]:
    yield from make_world(engine)


@pytest.mark.parametrize(
    "change",
    [
        {"memo": "autre chose"},
        {"amount_cents": 1300},
        {"payee_x_user_id": 999},
        {"payer_x_user_id": BOB},
        {"kind": "donate"},
        {"expires_at": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)},
        {"binding_mac": None},
    ],
)
def test_an_intent_changed_after_creation_is_refused(world: World, change: dict[str, Any]
                                                     ) -> None:
    token, intent_id = world.intent(memo="resto")
    with world.sessions.begin() as session:
        session.execute(update(PaymentIntent).where(PaymentIntent.id == intent_id)
                        .values(**change))
    before = world.snapshot()
    page = world.client.get(f"/c/{token}")
    assert page.status_code == 409 and "ne correspond plus" in page.text
    # The form sends back what the row now says, so only the MAC can tell.
    with world.sessions() as session:
        intent = session.get(PaymentIntent, intent_id)
        assert intent is not None
        form = {"pin": PIN, "amount_cents": str(intent.amount_cents),
                "payee": str(intent.payee_x_user_id)}
    response = world.client.post(f"/c/{token}", data=form)
    assert response.status_code == 409
    assert world.snapshot() == before and world.hasher.verified == 0


def test_an_unchanged_intent_confirms_and_its_mac_covers_the_memo(world: World) -> None:
    token, intent_id = world.intent(memo="resto")
    with world.sessions() as session:
        intent = session.get(PaymentIntent, intent_id)
        assert intent is not None and intent.binding_mac
        assert world.sealer.mac_ok(intent.binding_mac, INTENT_LABEL, *intent_parts(intent))
        parts = list(intent_parts(intent))
        parts[5] = "Resto"
        assert not world.sealer.mac_ok(intent.binding_mac, INTENT_LABEL, *parts)
    assert world.post(token, PIN).status_code == 200


def test_a_mac_made_before_a_key_rotation_still_verifies() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    mac = Sealer([old]).mac(INTENT_LABEL, 1, "send", 2, 3, 400, "memo", 5)
    assert Sealer([new, old]).mac_ok(mac, INTENT_LABEL, 1, "send", 2, 3, 400, "memo", 5)
    assert not Sealer([new]).mac_ok(mac, INTENT_LABEL, 1, "send", 2, 3, 400, "memo", 5)
    assert not Sealer([new, old]).mac_ok(mac, INTENT_LABEL, 1, "send", 2, 3, 401, "memo", 5)
