"""What a new user meets (issue 11, items 4 and 5): each fix named in the issue, one test."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers import history
from handlers.commands import Cancel, Donate, Help, Recipient, RequestMoney, SendMoney
from handlers.decide import Party, PendingIntent, decide
from handlers.entities import extract_mentions
from handlers.errors import GrammarError
from handlers.grammar import parse
from handlers.history import Movement
from handlers.memos import relayable
from handlers.money import Money
from handlers.outcomes import DirectMessage, PublicReply
from handlers.times import datetime_text

try:
    from decide_world import ACF, BOB, DM, MENTION, facts
except ImportError:  # the repository root on sys.path
    from tests.unit.decide_world import ACF, BOB, DM, MENTION, facts  # type: ignore[no-redef]

NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)


def _dm(decision_outgoing: tuple[object, ...]) -> DirectMessage:
    (dm,) = [o for o in decision_outgoing if isinstance(o, DirectMessage)]
    return dm


# -- no "(—)" without a memo; donations worded as donations ----------------------------------

def test_a_payment_without_memo_has_no_dash_in_parentheses() -> None:
    d = decide(SendMoney(Money(500), Recipient(1002, "bob"), "", "fr"), DM, facts())
    assert "(—)" not in _dm(d.outgoing).text
    assert _dm(d.outgoing).text.startswith("Confirmez le paiement de 5,00\u00a0€ à @bob avec")


def test_a_payment_with_a_memo_quotes_it() -> None:
    d = decide(SendMoney(Money(500), Recipient(1002, "bob"), "resto", "en"), DM, facts())
    assert 'to @bob ("resto") with your secret code' in _dm(d.outgoing).text


def test_a_donation_is_worded_as_a_donation() -> None:
    d = decide(Donate(Money(1000), Recipient(1004, "ACF"), "", "fr"), MENTION,
               facts(counterparty=ACF))
    reply, dm = d.outgoing
    assert isinstance(reply, PublicReply) and "don de 10,00\u00a0€" in reply.text
    assert dm.text.startswith("Confirmez votre don de 10,00\u00a0€ à @ACF")


# -- #historique ---------------------------------------------------------------------------

@pytest.mark.parametrize(("movement", "fr", "en"), [
    (Movement(NOW, Money(-500), "payment", "bob", "resto"),
     "01/12 -5,00\u00a0€ à @bob (« resto »)", '12/01 -€5.00 to @bob ("resto")'),
    (Movement(NOW, Money(500), "payment", "alice"),
     "01/12 +5,00\u00a0€ de @alice", "12/01 +€5.00 from @alice"),
    (Movement(NOW, Money(2000), "topup", memo="card top-up"),
     "01/12 +20,00\u00a0€ recharge par carte", "12/01 +€20.00 card top-up"),
    (Movement(NOW, Money(-300), "escrow_hold", "carol"),
     "01/12 -3,00\u00a0€ en attente pour @carol", "12/01 -€3.00 waiting for @carol"),
    (Movement(NOW, Money(300), "escrow_claim", "alice"),
     "01/12 +3,00\u00a0€ reçu de @alice", "12/01 +€3.00 received from @alice"),
    (Movement(NOW, Money(300), "escrow_return", "carol"),
     "01/12 +3,00\u00a0€ rendu (non réclamé par @carol)",
     "12/01 +€3.00 returned (not claimed by @carol)"),
])
def test_history_lines_name_the_other_party_in_the_users_language(
        movement: Movement, fr: str, en: str) -> None:
    assert history.line(movement, "fr", "Europe/Paris") == fr
    assert history.line(movement, "en", "Europe/Paris") == en


def test_history_dates_are_in_the_users_time_zone() -> None:
    late = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)  # already 1 December in Paris
    assert history.line(Movement(late, Money(100), "topup"), "fr", "Europe/Paris").startswith(
        "01/12 ")
    assert history.line(Movement(late, Money(100), "topup"), "fr", "UTC").startswith("30/11 ")


def test_history_of_one_line_is_singular() -> None:
    from handlers.commands import ShowHistory

    one = decide(ShowHistory("fr", 5), DM, facts(history_lines=("01/12 +1,00\u00a0€ x",)))
    assert one.outgoing[0].text.startswith("Votre dernière opération :\n")
    two = decide(ShowHistory("en", 5), DM, facts(history_lines=("a", "b")))
    assert two.outgoing[0].text.startswith("Your last 2 transactions:\n")


# -- #aide, near misses ----------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["fr", "en"])
def test_help_lists_signup_and_account_and_names_no_one(lang: str) -> None:
    (reply,) = decide(Help(lang), MENTION, facts()).outgoing  # type: ignore[arg-type]
    words = ("#inscription", "#compte") if lang == "fr" else ("#signup", "#account")
    assert all(w in reply.text for w in words)
    assert extract_mentions(reply.text) == []


@pytest.mark.parametrize(("text", "command", "lang"), [
    ("@Smoney #envoyé 5€ @bob", "#envoyer", "fr"),
    ("@Smoney #envoye 5€ @bob", "#envoyer", "fr"),
    ("@Smoney #paye 5€ @bob", "#envoyer", "fr"),
    ("@Smoney #sned €5 @bob", "#send", "en"),
    ("@Smoney #hitsory", "#history", "en"),
    ("@Smoney #inscriptoin", "#inscription", "fr"),
])
def test_a_near_miss_hashtag_gets_did_you_mean(text: str, command: str, lang: str) -> None:
    err = parse(text, None, bot_user_id=1, author_id=2)
    assert isinstance(err, GrammarError) and err.code == "did_you_mean"
    assert err.lang == lang and command in err.text
    assert "@" not in err.text


def test_every_command_has_a_spelling_to_suggest() -> None:
    from handlers.grammar import COMMAND_TAGS
    from handlers.near_miss import CANONICAL

    assert set(COMMAND_TAGS.values()) <= set(CANONICAL)


@pytest.mark.parametrize("text", ["@Smoney #merci", "@Smoney #on 5€", "@Smoney #bonjour"])
def test_a_hashtag_far_from_any_command_is_no_command(text: str) -> None:
    err = parse(text, None, bot_user_id=1, author_id=2)
    assert isinstance(err, GrammarError) and err.code == "no_command"


# -- #annuler ---------------------------------------------------------------------------------

def test_cancelled_says_amount_and_payee_privately() -> None:
    pending = (PendingIntent(1, "D5KJYB", Money(1250), "bob"),
               PendingIntent(2, "R2D2C3", Money(500), "carol", "request"))
    d = decide(Cancel("fr"), MENTION, facts(pending=pending))
    (dm,) = d.outgoing
    assert isinstance(dm, DirectMessage)  # it names people: never in public
    assert dm.text == ("Annulé : 12,50\u00a0€ pour @bob (réf. D5KJYB); demande de 5,00\u00a0€ "
                       "à @carol (réf. R2D2C3).")


def test_cancel_of_an_unknown_reference_does_not_echo_it() -> None:
    d = decide(Cancel("fr", "Insulte42"), MENTION, facts())
    assert "Insulte42" not in d.outgoing[0].text and "insulte42" not in d.outgoing[0].text


# -- times -------------------------------------------------------------------------------------

def test_a_lock_is_told_in_the_users_time_zone() -> None:
    until = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    locked = Party(1001, "alice", locked_until=until)
    d = decide(SendMoney(Money(500), Recipient(1002, "bob"), "", "fr"), DM,
               facts(author=locked))
    assert "01/12/2026 à 11:00" in d.outgoing[0].text and "UTC" not in d.outgoing[0].text
    assert datetime_text(until, "en", "America/New_York") == "2026-12-01 at 05:00"


# -- memos relayed to someone else ---------------------------------------------------------

@pytest.mark.parametrize(("memo", "shown", "stripped"), [
    ("resto", "resto", False),
    ("resto https://evil.com/x", "resto", True),
    ("merci @carol !", "merci !", True),
    ("voir www.evil.com", "voir", True),
    ("écrire à bob@x.com", "écrire à bob", True),
])
def test_a_relayed_memo_loses_links_and_mentions(memo: str, shown: str, stripped: bool) -> None:
    assert relayable(memo) == (shown, stripped)


def test_a_request_relays_the_memo_to_the_payer_without_link_or_mention() -> None:
    cmd = RequestMoney(Money(500), Recipient(1002, "bob"), "pizza https://evil.com @carol", "fr")
    d = decide(cmd, MENTION, facts())
    link = _dm(d.outgoing)
    assert link.recipient_x_user_id == BOB.x_user_id
    assert "(« pizza »)" in link.text and "evil" not in link.text and "@carol" not in link.text
