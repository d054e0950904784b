"""Strong authentication for what a session alone must not do, on SQLite and PostgreSQL.

- The attack: a stolen session (Sign in with X, a #compte link) tries top-ups without the
  PIN, then with guesses: nothing is charged, and the guesses lock the account.
- The 24-hour top-up cap holds when many top-ups arrive at once.
- 3-D Secure in the sandbox acquirer: success, failure, time-out, abandonment, replay.
- Passkeys without a browser (a software authenticator): a payment confirmed with one on
  either engine; a step-up assertion serves once and for its own action only.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.passkeys import RelyingParty
from bot.payments import PaymentError
from bot.payments.sandbox import SandboxProvider
from bot.services.confirm import ConfirmationService, Outcome
from bot.services.passkeys import Passkeys
from bot.services.step_up import StepUp
from bot.services.topup import ThreeDSPolicy, add_card, complete_challenge, top_up
from handlers.binding import CHALLENGE_LABEL, intent_parts
from handlers.confirmation import PinPolicy, Refusal, Shown
from handlers.money import Money
from storage import accounts
from storage.ledger import user_account_code
from storage.models import Charge, PaymentIntent, User
from storage.sessions import PinCheck
from storage.topups import TopUpLimits, TopUpRefused
from storage.uow import UnitOfWork

try:
    from tests.fakes import FakeClock as Clock
except ImportError:  # tests/ itself on sys.path
    from fakes import FakeClock as Clock  # type: ignore[no-redef]

try:
    from tests.integration.test_web_accounts import PIN, World, _add_card, _nonce, make_world
    from tests.integration.test_web_confirm import ALICE
    from tests.integration.test_web_confirm import World as ConfirmWorld
    from tests.integration.test_web_confirm import make_world as make_confirm_world
    from tests.webauthn_device import SoftPasskey, b64
except ImportError:  # rootdir-less import mode
    from test_web_accounts import PIN, World, _add_card, _nonce, make_world  # type: ignore
    from test_web_confirm import ALICE  # type: ignore
    from test_web_confirm import World as ConfirmWorld  # type: ignore
    from test_web_confirm import make_world as make_confirm_world  # type: ignore
    from webauthn_device import SoftPasskey, b64  # type: ignore

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
BASE = "http://localhost:8000"
VISA = "4242 4242 4242 4242"
NO_3DS = None


@pytest.fixture
def world(engine: Engine) -> Iterator[World]:
    w = make_world(engine)
    with w.client:
        yield w


# -- the attack: a session without the PIN ---------------------------------------------------


def test_a_session_without_the_pin_cannot_top_up(world: World) -> None:
    world.user(ALICE, "alice")
    csrf = world.log_in(ALICE)
    card_page = _add_card(world, csrf, VISA)
    card = re.search(r'<option value="(\d+)">', card_page.text)
    assert card
    charges_before = world.provider.charge_count()
    for pin in ("", "", "", "", ""):  # five 1,000 € top-ups in a row, no PIN
        refused = world.client.post("/account/topup", data={
            "csrf": csrf, "amount": "1000", "card": card.group(1), "nonce": _nonce(world),
            "pin": pin})
        assert refused.status_code == 400 and "code secret" in refused.text
    assert world.provider.charge_count() == charges_before
    assert world.balance(ALICE) == Money(0) and world.count(Charge) == 0
    # Guessing: each wrong PIN counts; the fifth locks the account and ends the session.
    for attempt in range(5):
        guessed = world.client.post("/account/topup", data={
            "csrf": csrf, "amount": "1000", "card": card.group(1), "nonce": _nonce(world)
            if attempt < 4 else "x" * 20, "pin": f"{attempt:06d}"})
        assert guessed.status_code == (400 if attempt < 4 else 429)
    assert world.provider.charge_count() == charges_before
    assert world.row(User, x_user_id=ALICE).locked_until is not None
    assert world.client.get("/account").status_code == 401


# -- the 24-hour cap under concurrency -------------------------------------------------------


def _open(sessions: sessionmaker[Session], provider: SandboxProvider, sealer: Any,
          number: str = VISA) -> tuple[int, int]:
    with UnitOfWork(sessions) as uow:
        user_id = accounts.open_user(uow, x_user_id=ALICE, handle="alice", now=NOW).id
        uow.commit()
    with UnitOfWork(sessions) as uow:
        card = add_card(uow, sealer, provider, user_id=user_id, number=number, exp_month=12,
                        exp_year=2030, cvc="123", now=NOW)
    return user_id, card.id


def _sealer() -> Any:
    from config import load_settings
    from storage.sealing import Sealer

    return Sealer([k.get_secret_value() for k in load_settings().data_keys])


def test_the_daily_cap_holds_under_concurrent_top_ups(
    session_factory: sessionmaker[Session], ledger: Any
) -> None:
    provider, sealer = SandboxProvider(clock=lambda: NOW), _sealer()
    user_id, card_id = _open(session_factory, provider, sealer)
    limits = TopUpLimits(Money(1), Money(100_000), daily=Money(150_000))
    outcomes: list[str] = []
    start = threading.Barrier(8)

    def attempt(i: int) -> None:
        start.wait()
        try:
            with UnitOfWork(session_factory) as uow:
                result = top_up(uow, sealer, provider, user_id=user_id, x_user_id=ALICE,
                                card_id=card_id, amount=Money(50_000), now=NOW,
                                idempotency_key=f"burst-{i}", limits=limits, three_ds=NO_3DS)
            outcomes.append(result.status)
        except TopUpRefused as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["daily_cap"] * 5 + ["succeeded"] * 3
    assert provider.charge_count() == 3
    assert ledger.balance(user_account_code(ALICE)) == Money(150_000)
    # A day later there is room again.
    with UnitOfWork(session_factory) as uow:
        later = top_up(uow, sealer, provider, user_id=user_id, x_user_id=ALICE,
                       card_id=card_id, amount=Money(50_000), now=NOW + dt.timedelta(hours=25),
                       idempotency_key="next-day", limits=limits)
    assert later.status == "succeeded"


# -- 3-D Secure ------------------------------------------------------------------------------

THREE_DS = ThreeDSPolicy(above=Money(3_000), return_url=f"{BASE}/account/topup/3ds")




def _challenged(sessions: sessionmaker[Session], number: str, clock: Clock
                ) -> tuple[SandboxProvider, Any, int, Any]:
    provider, sealer = SandboxProvider(clock=clock), _sealer()
    user_id, card_id = _open(sessions, provider, sealer, number)
    with UnitOfWork(sessions) as uow:
        result = top_up(uow, sealer, provider, user_id=user_id, x_user_id=ALICE,
                        card_id=card_id, amount=Money(2_000), now=clock(),
                        idempotency_key="form-1",
                        three_ds=THREE_DS)
    return provider, sealer, user_id, result


def _answer(provider: SandboxProvider, url: str, approve: bool = True) -> tuple[str, str]:
    back, charge_id, signed = provider.issuer.answer(url.rsplit("/", 1)[1], approve)
    assert back == THREE_DS.return_url
    return charge_id, signed


def _complete(sessions: sessionmaker[Session], provider: SandboxProvider, user_id: int,
              charge_id: str, signed: str, now: dt.datetime) -> Any:
    with UnitOfWork(sessions) as uow:
        return complete_challenge(uow, provider, user_id=user_id, x_user_id=ALICE,
                                  provider_charge_id=charge_id, result=signed, now=now)


def _charge(sessions: sessionmaker[Session]) -> Charge:
    with sessions() as session:
        row = session.scalars(select(Charge)).one()
        session.expunge(row)
        return row


@pytest.mark.parametrize(
    ("number", "approve", "status", "three_ds", "decline"),
    [
        (VISA, True, "succeeded", "authenticated", None),
        (VISA, False, "declined", "failed", "authentication_failed"),
        ("4000 0027 6000 3184", True, "succeeded", "authenticated", None),
        ("4000 0084 0000 1629", True, "declined", "failed", "authentication_failed"),
        ("4000 0000 0000 3220", True, "declined", "timed_out", "authentication_timed_out"),
    ],
)
def test_a_new_cards_top_up_goes_through_the_issuers_challenge(
    session_factory: sessionmaker[Session], ledger: Any, number: str, approve: bool,
    status: str, three_ds: str, decline: str | None,
) -> None:
    clock = Clock(NOW)
    provider, _, user_id, started = _challenged(session_factory, number, clock)
    assert started.status == "requires_action" and started.challenge_url
    assert ledger.balance(user_account_code(ALICE)) == Money(0)  # nothing before the answer
    charge_id, signed = _answer(provider, started.challenge_url, approve)
    done = _complete(session_factory, provider, user_id, charge_id, signed, clock())
    assert (done.status, done.three_ds, done.decline_code) == (status, three_ds, decline)
    row = _charge(session_factory)
    assert (row.status, row.three_ds) == (status, three_ds)
    expected = Money(2_000) if status == "succeeded" else Money(0)
    assert ledger.balance(user_account_code(ALICE)) == expected

    # A replayed result is refused, and moves nothing more.
    with pytest.raises(PaymentError) as replay:
        _complete(session_factory, provider, user_id, charge_id, signed, clock())
    assert replay.value.code == "challenge_replayed"
    assert ledger.balance(user_account_code(ALICE)) == expected


def test_an_abandoned_challenge_charges_nothing(
    session_factory: sessionmaker[Session], ledger: Any
) -> None:
    clock = Clock(NOW)
    provider, sealer, user_id, started = _challenged(session_factory, VISA, clock)
    assert started.status == "requires_action"
    clock.now += dt.timedelta(minutes=20)  # the payer never came back
    with UnitOfWork(session_factory) as uow:
        card_id = _charge(session_factory).card_id
        assert card_id is not None
        small = top_up(uow, sealer, provider, user_id=user_id, x_user_id=ALICE, card_id=card_id,
                       amount=Money(1_000), now=clock(), idempotency_key="form-2",
                       three_ds=THREE_DS)
    assert small.status == "requires_action"  # still the card's first successful charge
    with session_factory() as session:
        first = session.scalars(select(Charge).where(Charge.idempotency_key == "form-1")).one()
        assert (first.status, first.three_ds, first.transfer_id) == (
            "abandoned", "timed_out", None)
    # Answering the abandoned challenge late captures nothing.
    charge_id, signed = _answer(provider, started.challenge_url or "")
    with pytest.raises(PaymentError):
        _complete(session_factory, provider, user_id, charge_id, signed, clock())
    assert ledger.balance(user_account_code(ALICE)) == Money(0)


def test_a_used_card_is_challenged_only_above_the_threshold(
    session_factory: sessionmaker[Session], ledger: Any
) -> None:
    clock = Clock(NOW)
    provider, sealer, user_id, started = _challenged(session_factory, VISA, clock)
    charge_id, signed = _answer(provider, started.challenge_url or "")
    _complete(session_factory, provider, user_id, charge_id, signed, clock())
    card_id = _charge(session_factory).card_id
    assert card_id is not None
    for key, cents, expected in (("small", 3_000, "succeeded"), ("big", 3_001, "requires_action")):
        with UnitOfWork(session_factory) as uow:
            result = top_up(uow, sealer, provider, user_id=user_id, x_user_id=ALICE,
                            card_id=card_id, amount=Money(cents), now=clock(),
                            idempotency_key=key, three_ds=THREE_DS)
        assert result.status == expected, key
    assert ledger.balance(user_account_code(ALICE)) == Money(5_000)


# -- passkeys without a browser --------------------------------------------------------------


@pytest.fixture
def confirm_world(engine: Engine) -> Iterator[ConfirmWorld]:
    yield from make_confirm_world(engine)


def _services(w: ConfirmWorld) -> tuple[Passkeys, StepUp, ConfirmationService]:
    passkeys = Passkeys(w.sessions, rp=RelyingParty(BASE, "Smoney"), sealer=w.sealer,
                        clock=w.clock)
    step_up = StepUp(w.sessions, pins=w.hasher, sealer=w.sealer, policy=PinPolicy(),
                     passkeys=passkeys, clock=w.clock)
    service = ConfirmationService(w.sessions, pin_hasher=w.hasher, sealer=w.sealer,
                                  policy=PinPolicy(), clock=w.clock, passkeys=passkeys)
    return passkeys, step_up, service


def _challenge(w: ConfirmWorld, intent: PaymentIntent | None) -> str:
    """What the page asks the passkey to sign for this intent (as bot/web does)."""
    assert intent is not None
    return b64(w.sealer.mac_bytes(CHALLENGE_LABEL, *intent_parts(intent)))


def _registered(w: ConfirmWorld) -> tuple[ConfirmationService, SoftPasskey]:
    """alice with one passkey registered, and the confirmation service."""
    passkeys, _, service = _services(w)
    device = SoftPasskey("localhost", BASE)
    user_id = _user_id(w)
    passkeys.finish(user_id, device.create(passkeys.begin(user_id)), "Téléphone")
    return service, device


def _user_id(w: ConfirmWorld) -> int:
    with w.sessions() as session:
        return session.scalars(select(User.id).where(User.x_user_id == ALICE)).one()


def test_a_payment_confirmed_with_a_passkey_on_either_engine(confirm_world: ConfirmWorld
                                                             ) -> None:
    w = confirm_world
    service, device = _registered(w)
    token, intent_id = w.intent()
    with w.sessions() as session:
        challenge = _challenge(w, session.get(PaymentIntent, intent_id))
    assertion = device.get(challenge)
    done = service.confirm_with_passkey(token, assertion)
    assert done.outcome is Outcome.CONFIRMED and w.hasher.verified == 0
    assert service.confirm_with_passkey(token, assertion).outcome is Outcome.REFUSED
    # Another intent: the same device, an old challenge → a wrong attempt, counted.
    other, other_id = w.intent()
    assert service.confirm_with_passkey(other, device.get(challenge)).outcome is (
        Outcome.WRONG_PIN)
    # The counter going backwards is refused even over the right challenge.
    with w.sessions() as session:
        right = _challenge(w, session.get(PaymentIntent, other_id))
    device.count = 0
    assert service.confirm_with_passkey(other, device.get(right)).outcome is Outcome.WRONG_PIN
    device.count = 10
    assert service.confirm_with_passkey(other, device.get(right)).outcome is Outcome.CONFIRMED


def test_a_passkey_on_a_dead_link_or_a_locked_account_is_refused_with_nothing_written(
        confirm_world: ConfirmWorld) -> None:
    # The passkey POST makes its checks on the locked rows only (no pre-read): each refusal
    # is the PIN path's, nothing is counted, and the link still works afterwards.
    w = confirm_world
    service, device = _registered(w)
    user_id = _user_id(w)
    token, intent_id = w.intent()
    late, late_id = w.intent()
    with w.sessions() as session:
        intent = session.get(PaymentIntent, intent_id)
        late_intent = session.get(PaymentIntent, late_id)
        assert intent is not None and late_intent is not None
        assertion = device.get(_challenge(w, intent))
        late_assertion = device.get(_challenge(w, late_intent))
        payee = intent.payee_x_user_id

    def counts() -> tuple[int, int]:
        with w.sessions() as session:
            row = session.get(PaymentIntent, intent_id)
            payer = session.get(User, user_id)
            assert row is not None and payer is not None
            return row.wrong_pin_attempts, payer.failed_pin_attempts

    unknown = service.confirm_with_passkey("x" * 43, assertion)
    assert unknown.outcome is Outcome.REFUSED and unknown.refusal is not None
    assert unknown.refusal.reason is Refusal.UNKNOWN and unknown.facts is None
    with w.sessions.begin() as session:
        payer = session.get(User, user_id)
        assert payer is not None
        payer.locked_until = w.clock() + dt.timedelta(minutes=5)
    locked = service.confirm_with_passkey(token, assertion)
    assert locked.outcome is Outcome.LOCKED and counts() == (0, 0)
    with w.sessions.begin() as session:
        payer = session.get(User, user_id)
        assert payer is not None
        payer.locked_until = None
    shown = service.confirm_with_passkey(token, assertion, Shown(1, payee))  # another amount
    assert shown.refusal is not None and shown.refusal.reason is Refusal.MISMATCH
    assert counts() == (0, 0)
    assert service.confirm_with_passkey(token, assertion).outcome is Outcome.CONFIRMED
    w.clock.advance(minutes=11)
    expired = service.confirm_with_passkey(late, late_assertion)
    assert expired.refusal is not None and expired.refusal.reason is Refusal.EXPIRED
    assert expired.facts is not None  # the payer's own payment: shown, as on the PIN path


def test_a_step_up_assertion_serves_once_and_for_its_action(confirm_world: ConfirmWorld
                                                           ) -> None:
    w = confirm_world
    passkeys, step_up, _ = _services(w)
    device = SoftPasskey("localhost", BASE)
    user_id = _user_id(w)
    assert step_up.options(user_id, "topup") is None  # no passkey yet: the PIN it is
    passkeys.finish(user_id, device.create(passkeys.begin(user_id)), "Clé")
    options = step_up.options(user_id, "topup")
    assert options is not None and options["userVerification"] == "required"
    assertion = device.get(options["challenge"])
    assert step_up.check(user_id, "unlink", assertion=assertion).check is PinCheck.WRONG
    assert step_up.check(user_id, "topup", assertion=assertion).check is PinCheck.OK
    assert step_up.check(user_id, "topup", assertion=assertion).check is PinCheck.WRONG
    elsewhere = device.get(step_up.options(user_id, "topup")["challenge"],  # type: ignore[index]
                           origin="http://localhost:9999")
    assert step_up.check(user_id, "topup", assertion=elsewhere).check is PinCheck.WRONG
    assert step_up.check(user_id, "topup", pin="000000").check is PinCheck.WRONG
    assert step_up.check(user_id, "topup", pin=PIN).check is PinCheck.OK
