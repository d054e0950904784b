"""The pure confirmation decision: link checks, the lockout gate, wrong-PIN counting, notices."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from handlers.confirmation import (
    Confirm,
    PinPolicy,
    Refusal,
    Refused,
    Shown,
    WrongPin,
    check_link,
    check_payer,
    confirmation_notices,
    decide,
)
from handlers.money import Money
from handlers.outcomes import (
    PRIORITY_ALERT,
    PRIORITY_NOTICE,
    PRIORITY_RECEIPT,
    DirectMessage,
)

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
POLICY = PinPolicy()


@dataclasses.dataclass
class Token:
    purpose: str = "confirm"
    x_user_id: int = 111
    intent_id: int | None = 7
    amount_cents: int | None = 1299
    payee_x_user_id: int | None = 222
    expires_at: dt.datetime = NOW + dt.timedelta(minutes=10)
    used_at: dt.datetime | None = None


@dataclasses.dataclass
class Intent:
    id: int = 7
    reference: str = "K7QX"
    kind: str = "send"
    lang: str = "fr"
    payer_x_user_id: int = 111
    payee_x_user_id: int = 222
    payee_handle: str = "bob"
    amount_cents: int = 1299
    memo: str = "resto"
    status: str = "awaiting_confirmation"
    wrong_pin_attempts: int = 0
    tweet_id: str | None = "9001"
    expires_at: dt.datetime = NOW + dt.timedelta(minutes=10)


@dataclasses.dataclass
class Payer:
    x_user_id: int = 111
    handle: str = "alice"
    status: str = "active"
    lang: str = "fr"
    pin_hash: str | None = "$argon2id$..."
    failed_pin_attempts: int = 0
    locked_until: dt.datetime | None = None


def test_a_fresh_link_passes() -> None:
    assert check_link(Token(), Intent(), NOW) is None


@pytest.mark.parametrize(
    ("token", "intent", "reason"),
    [
        (None, Intent(), Refusal.UNKNOWN),
        (Token(), None, Refusal.UNKNOWN),
        (Token(purpose="signup"), Intent(), Refusal.UNKNOWN),
        (Token(intent_id=8), Intent(), Refusal.UNKNOWN),
        (Token(used_at=NOW), Intent(status="confirmed"), Refusal.USED),
        (Token(used_at=NOW, expires_at=NOW), Intent(), Refusal.USED),
        (Token(), Intent(status="cancelled"), Refusal.NOT_AWAITING),
        (Token(), Intent(status="expired"), Refusal.NOT_AWAITING),
        (Token(expires_at=NOW), Intent(), Refusal.EXPIRED),
        (Token(), Intent(expires_at=NOW - dt.timedelta(seconds=1)), Refusal.EXPIRED),
        (Token(amount_cents=1300), Intent(), Refusal.MISMATCH),
        (Token(payee_x_user_id=333), Intent(), Refusal.MISMATCH),
        (Token(x_user_id=222), Intent(), Refusal.MISMATCH),
        (Token(amount_cents=None), Intent(), Refusal.MISMATCH),
    ],
)
def test_link_refusals(token: Token | None, intent: Intent | None, reason: Refusal) -> None:
    refused = check_link(token, intent, NOW)
    assert refused is not None and refused.reason is reason


def test_not_awaiting_says_which_state() -> None:
    assert check_link(Token(), Intent(status="failed"), NOW) == Refused(
        Refusal.NOT_AWAITING, intent_status="failed"
    )


def test_what_the_form_showed_must_match_the_intent() -> None:
    assert check_link(Token(), Intent(), NOW, Shown(1299, 222)) is None
    assert check_link(Token(), Intent(), NOW, Shown(1, 222)) == Refused(Refusal.MISMATCH)
    assert check_link(Token(), Intent(), NOW, Shown(1299, 9)) == Refused(Refusal.MISMATCH)


@pytest.mark.parametrize(
    "payer",
    [None, Payer(status="unlinked"), Payer(status="locked"), Payer(pin_hash=None)],
)
def test_inactive_payer(payer: Payer | None) -> None:
    assert check_payer(payer, NOW) == Refused(Refusal.INACTIVE)


def test_locked_until_in_the_future_is_refused_and_in_the_past_is_not() -> None:
    until = NOW + dt.timedelta(minutes=1)
    assert check_payer(Payer(locked_until=until), NOW) == Refused(
        Refusal.LOCKED, locked_until=until
    )
    assert check_payer(Payer(locked_until=NOW), NOW) is None


def test_locked_account_is_refused_whatever_the_pin() -> None:
    payer = Payer(locked_until=NOW + dt.timedelta(minutes=5))
    for matched in (True, False):
        decision = decide(Token(), Intent(), payer, matched, NOW, POLICY)
        assert isinstance(decision, Refused) and decision.reason is Refusal.LOCKED


def test_right_pin_confirms_with_the_intent_id_as_key() -> None:
    assert decide(Token(), Intent(), Payer(), True, NOW, POLICY) == Confirm("intent:7")


def test_right_pin_on_a_dead_link_still_refused() -> None:
    decision = decide(Token(used_at=NOW), Intent(), Payer(), True, NOW, POLICY)
    assert decision == Refused(Refusal.USED, intent_status="awaiting_confirmation")


def test_first_wrong_pin_counts_on_intent_and_account() -> None:
    decision = decide(Token(), Intent(), Payer(), False, NOW, POLICY)
    assert decision == WrongPin(
        intent_attempts=1,
        account_failures=1,
        attempts_left=2,
        cancel_intent=False,
        lock_until=None,
    )


def test_third_wrong_pin_on_one_intent_cancels_it() -> None:
    decision = decide(
        Token(), Intent(wrong_pin_attempts=2), Payer(failed_pin_attempts=2), False, NOW, POLICY
    )
    assert isinstance(decision, WrongPin)
    assert decision.cancel_intent and decision.attempts_left == 0
    assert decision.lock_until is None and decision.alerts == ()


def test_fifth_failure_in_a_row_locks_for_thirty_minutes_with_one_alert() -> None:
    payer = Payer(failed_pin_attempts=4, lang="en")
    decision = decide(Token(), Intent(wrong_pin_attempts=1), payer, False, NOW, POLICY)
    assert isinstance(decision, WrongPin)
    assert decision.lock_until == NOW + dt.timedelta(minutes=30)
    assert decision.account_failures == 0  # the lock records this run of failures
    assert not decision.cancel_intent and decision.attempts_left == 0
    (alert,) = decision.alerts
    assert isinstance(alert, DirectMessage)
    assert alert.recipient_x_user_id == 111 and alert.priority == PRIORITY_ALERT
    # 12:30 UTC, shown in the default time zone (Europe/Paris, UTC+2 in May).
    assert "2024-05-01 at 14:30" in alert.text and alert.text.startswith("Security alert")
    assert "UTC" not in alert.text
    assert alert.dedupe_key == "lockout:111:20240501T123000"


def test_attempts_left_is_the_tighter_of_intent_and_account() -> None:
    decision = decide(Token(), Intent(), Payer(failed_pin_attempts=3), False, NOW, POLICY)
    assert isinstance(decision, WrongPin) and decision.attempts_left == 1


def test_policy_from_settings() -> None:
    from config import load_settings

    policy = PinPolicy.from_settings(
        load_settings(pin_max_attempts_per_intent=2, lockout_minutes=5, dm_receipt_to_sender=True)
    )
    assert policy == PinPolicy(
        2, 5, dt.timedelta(minutes=5), True, limit_24h=Money(50_000), limit_30d=Money(150_000)
    )


def test_notices_for_a_public_intent_are_private() -> None:
    """Nothing public after confirmation: the summons already had its one reply."""
    notices = confirmation_notices(
        Intent(),
        Payer(),
        payee_lang="en",
        payee_reachable=True,
        policy=POLICY,
    )
    (received,) = notices
    assert received == DirectMessage(
        dedupe_key="intent:7:received",
        recipient_x_user_id=222,
        text='You received €12.99 from @alice ("resto"). Ref. K7QX',
        priority=PRIORITY_NOTICE,
        intent_id=7,
    )


def test_notices_for_a_dm_intent_and_the_optional_receipt() -> None:
    notices = confirmation_notices(
        Intent(tweet_id=None, memo=""),
        Payer(),
        payee_lang=None,
        payee_reachable=True,
        policy=PinPolicy(dm_receipt_to_sender=True),
    )
    received, receipt = notices
    # No memo: no "(—)", the sentence simply has no memo part.
    assert isinstance(received, DirectMessage)
    assert received.text == "Vous avez reçu 12,99\u00a0€ de @alice. Réf. K7QX"
    assert isinstance(receipt, DirectMessage)
    assert receipt.recipient_x_user_id == 111 and receipt.priority == PRIORITY_RECEIPT
    assert receipt.text == "Paiement confirmé : 12,99\u00a0€ à @bob. Réf. K7QX"


def test_a_donation_is_worded_as_a_donation() -> None:
    received, receipt = confirmation_notices(
        Intent(kind="donate", payee_handle="ACF", memo=""), Payer(), payee_lang="fr",
        payee_reachable=True, policy=PinPolicy(dm_receipt_to_sender=True))
    assert received.text == "Vous avez reçu un don de 12,99\u00a0€ de @alice. Réf. K7QX"
    assert receipt.text == "Don confirmé : 12,99\u00a0€ à @ACF. Merci ! Réf. K7QX"


def test_an_escrow_receipt_says_it_waits_for_the_sign_up_and_how_long() -> None:
    until = NOW + dt.timedelta(days=14)
    (receipt,) = confirmation_notices(
        Intent(), Payer(), payee_lang=None, payee_reachable=False,
        policy=PinPolicy(dm_receipt_to_sender=True, claim_days=14), escrow_until=until)
    assert receipt.text == (
        "Paiement confirmé : 12,99\u00a0€ pour @bob (« resto »). L'argent l'attend jusqu'à son "
        "inscription, 14 jours au plus (jusqu'au 15/05/2024) ; sinon il vous revient. "
        "Réf. K7QX")


def test_a_memo_relayed_to_the_payee_carries_no_link_and_no_mention() -> None:
    (received,) = confirmation_notices(
        Intent(tweet_id=None, memo="resto https://evil.com/x avec @carol"), Payer(),
        payee_lang="fr", payee_reachable=True, policy=POLICY)
    assert received.text == "Vous avez reçu 12,99\u00a0€ de @alice (« resto avec »). Réf. K7QX"


def test_stopped_users_get_nothing() -> None:
    assert (
        confirmation_notices(
            Intent(),
            Payer(),
            payee_lang="fr",
            payee_reachable=False,
            policy=POLICY,
        )
        == []
    )
