"""Money out when things go wrong, on both engines: a crash or a lost answer between the
provider call and our record (never a second payout, the state recovered from the provider),
forged, stale, replayed and out-of-order status webhooks, concurrent withdrawals that would
overdraw, and a withdrawal racing a payment that waits for its PIN."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from bot.payments.payouts import WebhookRefused, sign
from bot.services import withdraw
from bot.services import withdraw_provider as provider_flow
from handlers.money import Money
from storage import payouts
from storage.ledger import PAYOUTS_IN_FLIGHT, Ledger, user_account_code
from storage.models import PayoutNotification, Withdrawal
from storage.uow import UnitOfWork
from tests.integration.test_withdrawals import add_iban, balance, status_of, withdraw_now
from tests.payout_fixtures import CAROL, World, make_world


@pytest.fixture
def world(session_factory) -> World:
    w = make_world(session_factory)
    add_iban(w)
    return w


def key(withdrawal_id: int) -> str:
    return payouts.idempotency_key(withdrawal_id)


def test_lost_answer_is_recovered_without_a_second_payout(world: World) -> None:
    world.provider.lose_answers(1)  # the provider records the payout, its answer is lost
    req, result = withdraw_now(world, Money(2_000))
    assert result.submit_now
    assert status_of(world, req.withdrawal_id) == "submitting"
    provider_flow.recover(world.deps)  # inside the grace period: left to its caller
    assert status_of(world, req.withdrawal_id) == "submitting"
    world.clock.advance(seconds=31)
    provider_flow.recover(world.deps)
    assert status_of(world, req.withdrawal_id) == "settled"
    assert world.provider.submissions(key(req.withdrawal_id)) == 1
    assert balance(world, user_account_code(CAROL)) == Money(8_000)
    assert Ledger(world.deps.sessions.kw["bind"]).verify() == []


def test_call_that_never_arrived_is_sent_again_once(world: World) -> None:
    world.provider.fail_before(1)  # the request never reached the provider
    req, _ = withdraw_now(world, Money(2_000))
    assert world.provider.submissions(key(req.withdrawal_id)) == 0
    world.clock.advance(seconds=31)
    provider_flow.recover(world.deps)
    assert world.provider.submissions(key(req.withdrawal_id)) == 1
    world.clock.advance(seconds=10)
    provider_flow.recover(world.deps)
    assert status_of(world, req.withdrawal_id) == "settled"


def test_crash_after_the_call_before_the_record(world: World) -> None:
    """The process dies right after the provider accepted: nothing of the answer recorded."""
    req = withdraw.request(world.deps, user_id=world.carol_id, amount=Money(1_500),
                           scheme="instant", channel="web", lang="fr")
    withdraw.confirm(world.deps, req.token, world.proof, shown_amount_cents=1_500,
                     shown_bank_account_id=req.account.id, payee_ack=True)
    with UnitOfWork(world.deps.sessions) as uow:  # step 1 of submit: the attempt recorded
        assert payouts.transition(uow.session, req.withdrawal_id, "confirmed", "submitting",
                                  attempts=1, submitted_at=world.clock())
        row = provider_flow._loaded(uow, req.withdrawal_id)
        uow.commit()
    world.provider.submit(provider_flow._request(world.deps, row))  # step 2, then the crash
    # A restarted worker: the submit job finds nothing to send; recovery asks the provider.
    assert provider_flow.submit_due(world.deps) == 0
    world.clock.advance(seconds=60)
    provider_flow.recover(world.deps)
    assert status_of(world, req.withdrawal_id) == "settled"
    assert world.provider.submissions(key(req.withdrawal_id)) == 1
    assert balance(world, PAYOUTS_IN_FLIGHT) == Money(0)


def test_the_timing_out_test_iban(world: World) -> None:
    add_iban(world, iban="DE13 3704 0044 0000 0004 08")
    req, _ = withdraw_now(world, Money(100))
    with world.deps.sessions() as session:
        row = session.get(Withdrawal, req.withdrawal_id)
        assert row is not None and (row.status, row.last_error) == ("submitting", "timeout")
    world.clock.advance(seconds=31)
    provider_flow.recover(world.deps)
    assert status_of(world, req.withdrawal_id) == "settled"
    assert world.provider.submissions(key(req.withdrawal_id)) == 1


def test_duplicate_submission_with_other_content_is_refused(world: World) -> None:
    from dataclasses import replace

    from bot.payments.payouts import PayoutError

    req, _ = withdraw_now(world, Money(100))
    with world.deps.sessions() as session:
        row = session.get(Withdrawal, req.withdrawal_id)
        assert row is not None
        session.expunge(row)
    request = provider_flow._request(world.deps, row)
    assert world.provider.submit(request).payout_id  # the same: the same payout back
    with pytest.raises(PayoutError) as refused:
        world.provider.submit(replace(request, amount=Money(101)))
    assert refused.value.code == "idempotency_key_reused"
    assert world.provider.submissions(request.idempotency_key) == 1


def test_webhooks_forged_stale_replayed_and_out_of_order(world: World) -> None:
    req, _ = withdraw_now(world, Money(900))
    world.clock.advance(seconds=10)
    notes = world.provider.drain_notifications()
    assert len(notes) == 2  # pending, then settled
    (pending_body, pending_sig), (settled_body, settled_sig) = notes

    with pytest.raises(WebhookRefused) as forged:
        provider_flow.notification(world.deps, settled_body, sign(b"not-the-secret",
                                                                  settled_body, world.clock()))
    assert forged.value.code == "bad_signature"
    tampered = settled_body.replace(b'"amount_cents": 900', b'"amount_cents": 9')
    with pytest.raises(WebhookRefused):
        provider_flow.notification(world.deps, tampered, settled_sig)
    with pytest.raises(WebhookRefused) as malformed:
        provider_flow.notification(world.deps, settled_body, "v1=abc")
    assert malformed.value.code == "malformed"

    # Out of order: "settled" first, then the older "pending", which changes nothing.
    assert provider_flow.notification(world.deps, settled_body, settled_sig) == "applied"
    assert status_of(world, req.withdrawal_id) == "settled"
    assert provider_flow.notification(world.deps, pending_body, pending_sig) == "applied"
    assert status_of(world, req.withdrawal_id) == "settled"
    # Replayed within the tolerance: recognised by its event id.
    assert provider_flow.notification(world.deps, settled_body, settled_sig) == "duplicate"
    # Replayed later, even re-signed by an attacker who lacks the key: stale.
    world.clock.advance(minutes=6)
    with pytest.raises(WebhookRefused) as stale:
        provider_flow.notification(world.deps, settled_body, settled_sig)
    assert stale.value.code == "stale"
    with world.deps.sessions() as session:
        assert len(session.scalars(select(PayoutNotification)).all()) == 2
    assert balance(world, PAYOUTS_IN_FLIGHT) == Money(0)
    assert Ledger(world.deps.sessions.kw["bind"]).verify() == []


def test_webhook_for_a_return(world: World) -> None:
    add_iban(world, iban="DE73 3704 0044 0000 0001 04")
    req, _ = withdraw_now(world, Money(400))
    world.clock.advance(seconds=10)
    for body, signature in world.provider.drain_notifications():
        provider_flow.notification(world.deps, body, signature)
    assert status_of(world, req.withdrawal_id) == "returned"
    assert json.loads(body)["payout"]["return_code"] == "AC04"
    assert balance(world, user_account_code(CAROL)) == Money(10_000)


def test_concurrent_withdrawals_never_overdraw(world: World) -> None:
    requests = [withdraw.request(world.deps, user_id=world.carol_id, amount=Money(6_000),
                                 scheme="instant", channel="web", lang="fr") for _ in range(4)]
    results: list[withdraw.Result] = []
    barrier = threading.Barrier(len(requests))

    def run(req: withdraw.Requested) -> None:
        barrier.wait()
        results.append(withdraw.confirm(world.deps, req.token, world.proof,
                                        shown_amount_cents=6_000,
                                        shown_bank_account_id=req.account.id, payee_ack=True))

    threads = [threading.Thread(target=run, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = sorted(r.outcome.value for r in results)
    assert outcomes == ["confirmed", "failed", "failed", "failed"]
    assert {r.failure for r in results if r.failure} == {"insufficient_funds"}
    assert balance(world, user_account_code(CAROL)) == Money(4_000)
    assert Ledger(world.deps.sessions.kw["bind"]).verify() == []
