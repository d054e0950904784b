"""Rolling limits at intent creation: the 24-hour and 30-day totals, exact replies FR/EN."""

from __future__ import annotations

from dataclasses import replace

import pytest

from handlers.commands import Donate, Recipient, RequestMoney, SendMoney
from handlers.decide import Facts, decide
from handlers.money import Money
from handlers.outcomes import DirectMessage
from handlers.text_length import fits_in_tweet

try:
    from decide_world import ACF, ALICE, BOB, DM, MENTION
    from decide_world import POLICY as BASE_POLICY
    from decide_world import facts as base_facts
except ImportError:  # the repository root on sys.path
    from tests.unit.decide_world import ACF, ALICE, BOB, DM, MENTION  # type: ignore[no-redef]
    from tests.unit.decide_world import POLICY as BASE_POLICY  # type: ignore[no-redef]
    from tests.unit.decide_world import facts as base_facts  # type: ignore[no-redef]



POLICY = replace(BASE_POLICY, limit_24h=Money(50_000), limit_30d=Money(150_000))


def facts(out_24h: int | None, out_30d: int | None, **kw: object) -> Facts:
    return base_facts(**{"policy": POLICY,
                         "outgoing_24h": None if out_24h is None else Money(out_24h),
                         "outgoing_30d": None if out_30d is None else Money(out_30d), **kw})


def send(cents: int, lang: str = "fr") -> SendMoney:
    return SendMoney(Money(cents), Recipient(BOB.x_user_id, BOB.handle), "", lang)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lang", "out_24h", "out_30d", "cents", "text"),
    [
        ("fr", 48_000, 48_000, 2_001,
         "Plafond de 500,00\u00a0€ sur 24 h atteint : vous pouvez encore envoyer 20,00\u00a0€ "
         "aujourd'hui. Rien n'a été débité."),
        ("en", 48_000, 48_000, 2_001,
         "24-hour limit of €500.00 reached: you can still send €20.00 today. Nothing was "
         "charged."),
        ("fr", 60_000, 60_000, 1, "Plafond de 500,00\u00a0€ sur 24 h atteint : vous pouvez "
         "encore envoyer 0,00\u00a0€ aujourd'hui. Rien n'a été débité."),
        ("fr", 0, 149_000, 1_500,
         "Plafond de 1\u202f500,00\u00a0€ sur 30 jours atteint : vous pouvez encore envoyer "
         "10,00\u00a0€ sur 30 jours glissants. Rien n'a été débité."),
        ("en", 0, 149_000, 1_500,
         "30-day limit of €1,500.00 reached: you can still send €10.00 over the last 30 days. "
         "Nothing was charged."),
    ],
)
def test_over_a_rolling_limit_is_refused_privately_with_what_is_left(
    lang: str, out_24h: int, out_30d: int, cents: int, text: str
) -> None:
    for event in (MENTION, DM):
        d = decide(send(cents, lang), event, facts(out_24h, out_30d))
        assert d.new_intent is None and d.reason == "rolling_limit"
        (dm,) = d.outgoing
        assert isinstance(dm, DirectMessage) and dm.recipient_x_user_id == ALICE.x_user_id
        assert dm.text == text and fits_in_tweet(dm.text)


def test_exactly_the_allowance_left_is_accepted() -> None:
    d = decide(send(2_000), DM, facts(48_000, 148_000))
    assert d.new_intent is not None and d.new_intent.amount == Money(2_000)


def test_donations_count_against_the_limit_too() -> None:
    cmd = Donate(Money(3_000), Recipient(ACF.x_user_id, ACF.handle), "", "fr")  # type: ignore[arg-type]
    d = decide(cmd, DM, facts(48_000, 48_000, counterparty=ACF))
    assert d.reason == "rolling_limit"


def test_no_totals_loaded_or_no_limit_set_means_no_check() -> None:
    assert decide(send(25_000), DM, facts(None, None)).new_intent is not None
    no_limits = replace(POLICY, limit_24h=None, limit_30d=None)
    assert decide(send(25_000), DM, facts(49_000, 149_000, policy=no_limits)).new_intent


def test_a_request_is_not_checked_against_the_payers_totals_when_made() -> None:
    # The requester must not learn what the payer spent: the confirmation checks it.
    cmd = RequestMoney(Money(25_000), Recipient(BOB.x_user_id, BOB.handle), "", "fr")  # type: ignore[arg-type]
    assert decide(cmd, DM, facts(50_000, 150_000)).new_intent is not None
