"""The sandbox SEPA provider and the webhook signature: business days, the payee name check,
idempotent submissions, state persisted in its file, signatures checked and dated."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.payments.payouts import PayoutError, PayoutRequest, WebhookRefused, sign, verify
from bot.payments.sepa_sandbox import SandboxSepaProvider, is_business_day, next_business_day
from handlers.money import Money

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("day", "expected"), [
    (dt.date(2026, 11, 25), dt.date(2026, 11, 26)),  # Wednesday → Thursday
    (dt.date(2026, 11, 27), dt.date(2026, 11, 30)),  # Friday → Monday
    (dt.date(2026, 12, 24), dt.date(2026, 12, 28)),  # Christmas and Boxing Day, a weekend
    (dt.date(2026, 4, 2), dt.date(2026, 4, 7)),  # Good Friday 3 April, Easter Monday 6 April
    (dt.date(2026, 4, 30), dt.date(2026, 5, 4)),  # 1 May, then a weekend
])
def test_next_business_day(day: dt.date, expected: dt.date) -> None:
    assert next_business_day(day) == expected
    assert is_business_day(expected)


@pytest.mark.parametrize(("name", "result", "suggested"), [
    ("Carol Martin", "match", None),
    ("  carol   MARTIN ", "match", None),
    ("Carôl Martin", "match", None),
    ("Martin Carol", "close_match", "Carol Martin"),
    ("Carol Martn", "close_match", "Carol Martin"),
    ("Bob Dupont", "no_match", None),
])
def test_payee_name_check(name: str, result: str, suggested: str | None) -> None:
    check = SandboxSepaProvider(clock=lambda: NOW).check_payee("DE41370400440000000777", name)
    assert (check.result, check.suggested_name) == (result, suggested)


def request(key: str = "withdrawal:1", cents: int = 100) -> PayoutRequest:
    return PayoutRequest(key, "DE89 3704 0044 0532 0130 00", "Carol Martin", Money(cents),
                         "instant", "tweetpay W1")


def test_state_survives_a_restart_and_the_offset_moves_time(tmp_path: Path) -> None:
    path = tmp_path / "payouts.json"
    first = SandboxSepaProvider(clock=lambda: NOW, state_file=path)
    state = first.submit(request())
    assert state.status == "pending" and "DE89" not in repr(request())
    again = SandboxSepaProvider(clock=lambda: NOW, state_file=path)
    again.advance(dt.timedelta(seconds=6))
    assert first.status("withdrawal:1").status == "settled"  # type: ignore[union-attr]
    assert first.submit(request()).payout_id == state.payout_id
    with pytest.raises(PayoutError) as reused:
        first.submit(request(cents=101))
    assert reused.value.code == "idempotency_key_reused"
    assert first.status("withdrawal:2") is None


def test_invalid_requests() -> None:
    provider = SandboxSepaProvider(clock=lambda: NOW)
    for bad, code in ((request(cents=0), "invalid_amount"), (request(key=""),
                                                             "missing_idempotency_key")):
        with pytest.raises(PayoutError) as refused:
            provider.submit(bad)
        assert refused.value.code == code
    from dataclasses import replace

    with pytest.raises(PayoutError) as refused:
        provider.submit(replace(request(), iban="DE89 3704 0044 0532 0130 01"))
    assert refused.value.code == "invalid_iban"


def test_signature_is_checked_and_dated() -> None:
    body = b'{"event_id": "evt_1"}'
    header = sign(b"secret", body, NOW)
    assert verify(b"secret", body, header, NOW + dt.timedelta(minutes=4)) == {"event_id": "evt_1"}
    for secret, when, code in ((b"other", NOW, "bad_signature"),
                               (b"secret", NOW + dt.timedelta(minutes=6), "stale"),
                               (b"secret", NOW - dt.timedelta(minutes=6), "stale")):
        with pytest.raises(WebhookRefused) as refused:
            verify(secret, body, header, when)
        assert refused.value.code == code
    for header in ("", "t=abc,v1=00", "t=1"):
        with pytest.raises(WebhookRefused):
            verify(b"secret", body, header, NOW)
