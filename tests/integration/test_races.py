"""The races of PostgreSQL, forced one at a time (tests/integration/races.py), on both engines.

Each test holds one process at its critical point while another acts on the same rows, then
checks that exactly one wins, that the balances are exact and that ``ledger verify`` is
clean. SQLite serialises writers, so there B simply waits for A; the outcome must be the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from bot.services import escrow as escrow_service
from bot.services.confirm import Outcome
from storage.models import Contact, EscrowHold
from storage.uow import UnitOfWork

try:
    from tests.integration.races import Bank, Pause, Waiter, race
except ImportError:  # tests/ itself on sys.path
    from integration.races import Bank, Pause, Waiter, race  # type: ignore[no-redef]

ALICE, BOB, CAROL, DAVE = 1001, 1002, 1003, 1004
FUNDS = 10_000


@pytest.fixture
def bank(database_url: str) -> Iterator[Bank]:
    world = Bank(database_url)
    world.person("alice", ALICE, cents=FUNDS)
    world.person("bob", BOB)
    world.person("carol", CAROL, member=False)
    world.person("dave", DAVE, member=False)
    yield world
    world.close()


def _waiter(bank: Bank, engine: object) -> Waiter:
    return Waiter(engine, bank.main.engine)  # type: ignore[arg-type]


# -- #annuler against a confirmation -------------------------------------------------------


def _postgres(bank: Bank) -> bool:
    return bank.main.engine.dialect.name == "postgresql"


def test_a_cancel_does_not_overwrite_a_confirmation_committed_meanwhile(bank: Bank) -> None:
    intent, token = bank.pay(ALICE, "#envoyer 12€ @bob resto")
    row = bank.dm(ALICE, f"#annuler {intent.reference}")
    a, b = bank.process(), bank.process()
    # A has read the pending intents and decided to cancel; B confirms before A writes
    # (PostgreSQL; on SQLite A holds the write lock, so B waits and A's cancel wins).
    pause = Pause(a.engine, r"^\s*UPDATE payment_intents")
    _, confirmed = race(lambda: bank.handle(row, a), pause, lambda: bank.confirm(token, b),
                        _waiter(bank, b.engine))
    assert bank.inbox_status(row) == "done"
    reply = bank.texts_to(ALICE)[-1]
    if _postgres(bank):
        assert confirmed.outcome is Outcome.CONFIRMED
        assert bank.intent(intent.id).status == "confirmed"
        assert (bank.balance(ALICE), bank.balance(BOB)) == (FUNDS - 1200, 1200)
        assert reply == (
            f"Trop tard pour annuler {intent.reference} : ce paiement est déjà confirmé.")
    else:
        assert confirmed.outcome is Outcome.REFUSED
        assert bank.intent(intent.id).status == "cancelled"
        assert (bank.balance(ALICE), bank.balance(BOB)) == (FUNDS, 0)
        assert reply.startswith("Annulé")
    assert bank.ledger.verify() == []


def test_a_confirmation_holding_the_intent_wins_over_a_cancel(bank: Bank) -> None:
    intent, token = bank.pay(ALICE, "#envoyer 12€ @bob resto")
    row = bank.dm(ALICE, f"#annuler {intent.reference}")
    a, b = bank.process(), bank.process()
    # A (the page) has locked the token, the intent and the payer; B's #annuler comes now.
    pause = Pause(a.engine, r"FROM confirmation_tokens JOIN payment_intents", after=True)
    confirmed, _ = race(lambda: bank.confirm(token, a), pause, lambda: bank.handle(row, b),
                        _waiter(bank, b.engine))
    assert confirmed.outcome is Outcome.CONFIRMED
    assert bank.intent(intent.id).status == "confirmed"
    assert (bank.balance(ALICE), bank.balance(BOB)) == (FUNDS - 1200, 1200)
    assert bank.inbox_status(row) == "done"
    assert bank.texts_to(ALICE)[-1] == (
        f"Trop tard pour annuler {intent.reference} : ce paiement est déjà confirmé.")
    assert bank.ledger.verify() == []


# -- an escrow hold released twice ---------------------------------------------------------


def _held_for_carol(bank: Bank) -> int:
    intent, token = bank.pay(ALICE, "#envoyer 5€ @carol")
    assert bank.confirm(token).outcome is Outcome.CONFIRMED
    assert bank.held(intent.id).status == "held"
    return intent.id


def test_sign_up_and_cancel_release_a_hold_once(bank: Bank) -> None:
    intent_id = _held_for_carol(bank)
    row = bank.dm(ALICE, f"#annuler {bank.intent(intent_id).reference}")
    a, b = bank.process(), bank.process()
    # A (carol's sign-up) has read the holds waiting for her; B (alice's #annuler) acts
    # (PostgreSQL: B cancels first; SQLite: B waits for A's write lock, A claims).
    pause = Pause(a.engine, r"FROM escrow_holds", after=True)
    joined, _ = race(lambda: bank.sign_up(CAROL, a), pause, lambda: bank.handle(row, b),
                     _waiter(bank, b.engine))
    assert bank.inbox_status(row) == "done"
    if _postgres(bank):
        assert bank.held(intent_id).status == "cancelled"
        assert joined.claimed_count == 0 and joined.claimed.cents == 0
        assert (bank.balance(ALICE), bank.balance(CAROL)) == (FUNDS, 0)
    else:
        assert bank.held(intent_id).status == "claimed"
        assert joined.claimed_count == 1 and joined.claimed.cents == 500
        assert (bank.balance(ALICE), bank.balance(CAROL)) == (FUNDS - 500, 500)
        assert bank.texts_to(ALICE)[-1].startswith("Trop tard pour annuler")
        assert "le destinataire a déjà reçu l'argent" in bank.texts_to(ALICE)[-1]
    assert bank.ledger.balance("system:escrow").cents == 0
    assert bank.ledger.verify() == []


def test_the_deadline_refund_and_a_sign_up_release_a_hold_once(bank: Bank) -> None:
    intent_id = _held_for_carol(bank)
    bank.clock.now += dt.timedelta(days=bank.settings.claim_period_days, hours=1)
    a, b = bank.process(), bank.process()
    period = dt.timedelta(days=bank.settings.claim_period_days)

    def refund_due() -> tuple[int, int]:
        return escrow_service.process_due(a.sessions, bank.sealer, bank.clock, period)

    # A (the scheduler) has taken the holds past their deadline; B (carol) signs up now.
    pause = Pause(a.engine, r"FROM escrow_holds", after=True)
    (_, refunded), joined = race(refund_due, pause, lambda: bank.sign_up(CAROL, b),
                                 _waiter(bank, b.engine))
    assert refunded == 1 and joined.claimed_count == 0
    assert bank.held(intent_id).status == "refunded"
    assert (bank.balance(ALICE), bank.balance(CAROL)) == (FUNDS, 0)
    assert bank.ledger.balance("system:escrow").cents == 0
    assert bank.ledger.verify() == []


def test_a_claim_holding_the_hold_wins_over_the_deadline(bank: Bank) -> None:
    intent_id = _held_for_carol(bank)
    bank.clock.now += dt.timedelta(days=bank.settings.claim_period_days, hours=1)
    a, b = bank.process(), bank.process()
    period = dt.timedelta(days=bank.settings.claim_period_days)

    def refund_due() -> tuple[int, int]:
        return escrow_service.process_due(b.sessions, bank.sealer, bank.clock, period)

    # A (carol's sign-up) has moved the hold to claimed; B (the scheduler) comes now.
    pause = Pause(a.engine, r"INSERT INTO outbox")
    joined, (_, refunded) = race(lambda: bank.sign_up(CAROL, a), pause, refund_due,
                                 _waiter(bank, b.engine))
    assert joined.claimed_count == 1 and refunded == 0
    assert bank.held(intent_id).status == "claimed"
    assert (bank.balance(ALICE), bank.balance(CAROL)) == (FUNDS - 500, 500)
    assert bank.ledger.balance("system:escrow").cents == 0
    assert bank.ledger.verify() == []


# -- two events from one new author --------------------------------------------------------


def test_two_events_from_one_new_author_handled_at_once_both_go_through(bank: Bank) -> None:
    first, second = bank.dm(DAVE, "#aide"), bank.dm(DAVE, "#solde")
    a, b = bank.process(), bank.process()
    # A is about to write dave's (new) contact row; B handles his other event meanwhile.
    pause = Pause(a.engine, r"^\s*INSERT INTO contacts")
    race(lambda: bank.handle(first, a), pause, lambda: bank.handle(second, b),
         _waiter(bank, b.engine))
    assert (bank.inbox_status(first), bank.inbox_status(second)) == ("done", "done")
    assert len(bank.texts_to(DAVE)) == 2
    with bank.main.sessions() as session:
        contact = session.get(Contact, DAVE)
        assert contact is not None and contact.dm_opt_in and contact.handle == "dave"
    assert bank.count(EscrowHold) == 0 and bank.ledger.verify() == []


# -- two sign-up links of one X account ----------------------------------------------------


def test_two_sign_ups_of_one_x_account_open_it_once(bank: Bank) -> None:
    from bot.security import hash_token
    from bot.services.signup import complete, issue
    from storage.models import User
    from storage.signup import Joined, SignupRefusal
    from storage.uow import retrying

    with UnitOfWork(bank.main.sessions) as uow:
        tokens = [issue(uow.session, x_user_id=DAVE, handle="dave", lang="fr",
                        now=bank.clock()) for _ in range(2)]
        uow.commit()
    a, b = bank.process(), bank.process()
    pins = [bank.hasher.hash("111111"), bank.hasher.hash("222222")]

    def sign_up(proc: object, token: str, pin_hash: str) -> object:
        def work() -> object:
            with UnitOfWork(proc.sessions, bank.clock) as uow:  # type: ignore[attr-defined]
                joined = complete(uow, bank.sealer, token_hash=hash_token(token),
                                  pin_hash=pin_hash, lang="fr", now=bank.clock())
                if isinstance(joined, Joined):
                    uow.commit()
            return joined
        return retrying(work)

    # A has inserted dave's user row, not committed; B completes the other link meanwhile.
    pause = Pause(a.engine, r"^\s*INSERT INTO users", after=True)
    first, second = race(lambda: sign_up(a, tokens[0], pins[0]), pause,
                         lambda: sign_up(b, tokens[1], pins[1]), _waiter(bank, b.engine))
    assert isinstance(first, Joined) and second is SignupRefusal.ALREADY_MEMBER
    with bank.main.sessions() as session:
        (user,) = session.query(User).filter(User.x_user_id == DAVE).all()
        assert user.pin_hash == pins[0]  # the account opened is the winner's, PIN included
    assert bank.ledger.verify() == []
