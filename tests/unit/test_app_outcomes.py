"""What the app says after a confirmation in place (bot.web.app_outcomes): the link page's
rules, in a notice: a donation thanks, escrow says until when, one attempt left is singular
(PIN and passkey), a lock ends at a time in the users' zone, and no "this page is your
receipt" (the app's page is not one)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.services.confirm import Facts, Outcome, Result
from bot.web.app_outcomes import outcome_text, retry_after
from config import load_settings
from handlers.confirmation import Refusal, Refused
from handlers.money import Money

SETTINGS = load_settings()  # Europe/Paris, 14 days to claim


def _facts(kind: str = "send", payee: str = "bob") -> Facts:
    return Facts(reference="K7QX2M", kind=kind, lang="fr", amount=Money(1299),
                 payee_x_user_id=2, payee_handle=payee, payer_handle="alice", memo="",
                 expires_at=dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC), status="confirmed")


def test_a_payment_a_donation_and_money_set_aside_each_say_what_happened() -> None:
    sent = outcome_text(Result(Outcome.CONFIRMED, _facts()), "fr", SETTINGS)
    assert sent == (200, "ok", "12,99\u00a0€ ont été envoyés à @bob (réf. K7QX2M). Le paiement "
                                "figure dans vos derniers mouvements.")
    gift = outcome_text(Result(Outcome.CONFIRMED, _facts("donate", "ACF")), "en", SETTINGS)
    assert gift[2] == "Your donation of €12.99 to @ACF is done, thank you! (ref. K7QX2M)"
    until = dt.datetime(2026, 12, 15, 23, 30, tzinfo=dt.UTC)  # 16/12 in Paris
    held = outcome_text(Result(Outcome.CONFIRMED, _facts(payee="carol"), escrow_until=until),
                        "fr", SETTINGS)[2]
    assert "mis de côté pour @carol" in held and "14 jours" in held and "16/12/2026" in held
    assert "envoyés" not in held
    for _, _, text in (sent, gift, ("", "", held)):
        assert "reçu" not in text and "receipt" not in text


@pytest.mark.parametrize(("passkey", "two", "one"), [
    (False, "Code erroné. Encore 2 essais.", "Code erroné. Encore un essai."),
    (True, "Clé d’accès refusée. Encore 2 essais, avec une clé ou votre code.",
     "Clé d’accès refusée. Encore un essai, avec une clé ou votre code."),
])
def test_attempts_left_are_counted_in_words(passkey: bool, two: str, one: str) -> None:
    for left, text in ((2, two), (1, one)):
        result = Result(Outcome.WRONG_PIN, _facts(), attempts_left=left)
        assert outcome_text(result, "fr", SETTINGS, passkey=passkey) == (400, "bad", text)


def test_a_lock_ends_at_a_time_in_the_users_zone_and_says_when_to_retry() -> None:
    until = dt.datetime(2026, 12, 1, 14, 5, tzinfo=dt.UTC)  # 15:05 in Paris
    now = until - dt.timedelta(minutes=14, seconds=30)
    by_this = Result(Outcome.LOCKED, None, locked_until=until)
    status, tone, text = outcome_text(by_this, "fr", SETTINGS)
    assert (status, tone) == (429, "bad") and "01/12/2026 à 15:05" in text
    assert "prévenu par message privé" in text  # this attempt locked it: the alert DM went
    before = Result(Outcome.LOCKED, None, Refused(Refusal.LOCKED, locked_until=until),
                    locked_until=until)
    assert outcome_text(before, "en", SETTINGS)[2] == (
        "Your account is locked until 2026-12-01 at 15:05 after too many wrong codes.")
    assert retry_after(by_this, now) == retry_after(before, now) == "870"
    assert retry_after(by_this, until + dt.timedelta(seconds=5)) == "1"
