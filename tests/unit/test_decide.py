"""The pure decision layer: one inbound event and its facts in, messages and intents out."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from handlers.commands import (
    Cancel,
    Donate,
    Help,
    Recipient,
    RequestMoney,
    SendMoney,
    ShowAccount,
    ShowBalance,
    SignUp,
    Stop,
)
from handlers.decide import Event, Party, PendingIntent, decide
from handlers.money import Money
from handlers.outcomes import LINK_PLACEHOLDER, PRIORITY_LINK, DirectMessage, PublicReply
from handlers.text_length import fits_in_tweet

try:
    from decide_world import ACF, ALICE, BOB, DM, MENTION, NOW, facts
except ImportError:  # the repository root on sys.path
    from tests.unit.decide_world import ACF, ALICE, BOB, DM, MENTION, NOW, facts  # type: ignore[no-redef]



def send(cents: int = 1299, to: Party = BOB, lang: str = "fr") -> SendMoney:
    return SendMoney(Money(cents), Recipient(to.x_user_id, to.handle), "resto", lang)  # type: ignore[arg-type]


def test_public_send_acknowledges_publicly_and_sends_link_by_dm() -> None:
    d = decide(send(), MENTION, facts())
    reply, dm = d.outgoing
    assert isinstance(reply, PublicReply) and reply.in_reply_to_tweet_id == "555"
    assert "http" not in reply.text and "@" not in reply.text and fits_in_tweet(reply.text)
    assert "12,99" in reply.text
    # The app's hint is a sentence of its own after the reference: "Réf. K7QX2M. Confirmez…".
    assert re.search(r"Réf\. [A-Z0-9]+\. Confirmez sans attendre", reply.text), reply.text
    assert isinstance(dm, DirectMessage) and dm.recipient_x_user_id == ALICE.x_user_id
    assert dm.priority == PRIORITY_LINK and LINK_PLACEHOLDER in dm.text
    assert dm.link == "https://pay.example/c/SECRET" and "SECRET" not in dm.text
    assert dm.fallback_tweet_id == "555"
    intent = d.new_intent
    assert intent is not None
    assert (intent.payer_x_user_id, intent.payee_x_user_id) == (1001, 1002)
    assert intent.amount == Money(1299) and intent.expires_at == NOW + dt.timedelta(minutes=10)
    assert intent.channel == "tweet" and intent.tweet_id == "555"


def test_dm_send_writes_nothing_public() -> None:
    d = decide(send(lang="en"), DM, facts())
    assert all(isinstance(o, DirectMessage) for o in d.outgoing)
    assert len(d.outgoing) == 1 and d.new_intent is not None and d.new_intent.channel == "dm"
    assert "€12.99" in d.outgoing[0].text
    assert re.search(r"Ref\. [A-Z0-9]+\. Confirm without waiting", d.outgoing[0].text)


def test_unknown_sender_public_gets_invitation_without_link() -> None:
    d = decide(send(), MENTION, facts(author=None))
    (reply,) = d.outgoing
    assert isinstance(reply, PublicReply) and "#inscription" in reply.text
    assert "http" not in reply.text and d.new_intent is None


def test_unknown_sender_by_dm_is_pointed_to_signup_by_dm() -> None:
    d = decide(send(), DM, facts(author=None))
    (dm,) = d.outgoing
    assert isinstance(dm, DirectMessage) and "#inscription" in dm.text and d.new_intent is None


def test_recipient_without_account_gets_escrow_and_is_not_mentioned_publicly() -> None:
    d = decide(send(), MENTION, facts(counterparty=None))
    reply, link = d.outgoing
    assert isinstance(reply, PublicReply) and "@" not in reply.text
    assert isinstance(link, DirectMessage) and "#inscription" in link.text and "14" in link.text
    assert d.new_intent is not None and d.new_intent.payee_x_user_id == BOB.x_user_id
    assert d.reason == "intent_send_escrow"


def test_donation_to_someone_without_account_is_refused() -> None:
    cmd = Donate(Money(1000), Recipient(BOB.x_user_id, "bob"), "", "fr")
    d = decide(cmd, MENTION, facts(counterparty=None))
    assert d.new_intent is None and d.reason == "recipient_no_account"


def test_signup_by_dm_sends_a_link_and_publicly_only_an_invitation() -> None:
    d = decide(SignUp("fr"), Event("dm", "9", 1003, "carol"), facts(author=None))
    (dm,) = d.outgoing
    assert isinstance(dm, DirectMessage) and dm.link and LINK_PLACEHOLDER in dm.text
    assert d.new_token is not None and d.new_token.purpose == "signup"
    assert d.new_token.x_user_id == 1003
    d = decide(SignUp("fr"), Event("mention", "9", 1003, "carol", "9"), facts(author=None))
    (reply,) = d.outgoing
    assert isinstance(reply, PublicReply) and reply.link is None and "http" not in reply.text
    assert d.new_token is None


def test_account_link_only_by_dm_for_holders() -> None:
    d = decide(ShowAccount("en"), DM, facts())
    assert d.new_token is not None and d.new_token.purpose == "login"
    d = decide(ShowAccount("en"), MENTION, facts())
    assert d.new_token is None and "http" not in d.outgoing[0].text


def test_cancel_takes_back_a_held_escrow_only_by_reference() -> None:
    held = (PendingIntent(7, "HELD77"),)
    assert decide(Cancel("fr"), DM, facts(held=held)).cancel_hold_ids == ()
    assert decide(Cancel("fr", "held77"), DM, facts(held=held)).cancel_hold_ids == (7,)


@pytest.mark.parametrize(("to", "cents", "ok"), [
    (BOB, 25_000, True), (BOB, 25_001, False), (ACF, 50_000, True), (ACF, 50_001, False),
])
def test_caps_depend_on_the_recipient_kind(to: Party, cents: int, ok: bool) -> None:
    d = decide(send(cents, to), MENTION, facts(counterparty=to))
    assert (d.new_intent is not None) is ok
    if not ok:
        assert "250,00" in d.outgoing[0].text or "500,00" in d.outgoing[0].text


def test_donation_to_a_person_is_refused_with_the_reason() -> None:
    cmd = Donate(Money(1000), Recipient(BOB.x_user_id, "bob"), "", "fr")
    d = decide(cmd, MENTION, facts())
    assert d.new_intent is None and "#envoyer" in d.outgoing[0].text


def test_locked_author_is_refused() -> None:
    locked = Party(1001, "alice", locked_until=NOW + dt.timedelta(minutes=5))
    d = decide(send(), DM, facts(author=locked))
    assert d.new_intent is None and d.reason == "locked"


def test_request_sends_the_link_to_the_payer() -> None:
    cmd = RequestMoney(Money(500), Recipient(BOB.x_user_id, "bob"), "pizza", "fr")
    d = decide(cmd, MENTION, facts())
    link = [o for o in d.outgoing if isinstance(o, DirectMessage)]
    assert len(link) == 1 and link[0].recipient_x_user_id == BOB.x_user_id
    assert link[0].fallback_tweet_id is None  # bob did not summon the bot in this thread
    assert d.new_intent is not None and d.new_intent.payer_x_user_id == BOB.x_user_id
    assert d.new_intent.payee_x_user_id == ALICE.x_user_id


def test_balance_is_never_disclosed_publicly() -> None:
    d = decide(ShowBalance("fr"), MENTION, facts(balance=Money(4242)))
    assert "42" not in d.outgoing[0].text
    d = decide(ShowBalance("fr"), DM, facts(balance=Money(4242)))
    assert "42,42" in d.outgoing[0].text


def test_cancel_by_reference_and_all() -> None:
    pending = (PendingIntent(1, "AAAA22"), PendingIntent(2, "BBBB33"))
    assert decide(Cancel("fr", "bbbb33"), DM, facts(pending=pending)).cancel_intent_ids == (2,)
    assert decide(Cancel("fr"), DM, facts(pending=pending)).cancel_intent_ids == (1, 2)
    assert decide(Cancel("fr", "ZZZZ99"), DM, facts(pending=pending)).cancel_intent_ids == ()


def test_stop_marks_the_contact() -> None:
    assert decide(Stop("en"), DM, facts()).stop_contact


def test_every_public_text_fits_a_tweet() -> None:
    for lang in ("fr", "en"):
        for cmd in (Help(lang), send(99_999_999, ACF, lang)):  # type: ignore[arg-type]
            for o in decide(cmd, MENTION, facts(counterparty=ACF)).outgoing:
                if isinstance(o, PublicReply):
                    assert fits_in_tweet(o.text), o.text


def test_every_reference_reads_back_as_a_reference() -> None:
    from handlers.grammar import parse
    from storage.intents import new_reference

    for _ in range(500):
        ref = new_reference()
        parsed = parse(f"#annuler {ref}", bot_user_id=1, author_id=2, channel="dm")
        assert parsed == Cancel("fr", ref), ref
