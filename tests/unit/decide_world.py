"""The people, events and facts the pure decision tests share (``handlers.decide``)."""

from __future__ import annotations

import datetime as dt

from handlers.decide import Event, Facts, Party, Policy
from handlers.money import Money

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
POLICY = Policy(Money(25_000), Money(50_000), dt.timedelta(minutes=10))
ALICE = Party(1001, "alice")
BOB = Party(1002, "bob")
ACF = Party(1004, "ACF", kind="pro")
MENTION = Event("mention", "555", 1001, "alice", tweet_id="555")
DM = Event("dm", "777", 1001, "alice")


def facts(**kw: object) -> Facts:
    """alice writing about bob, with a link and a reference ready; ``kw`` overrides."""
    base: dict[str, object] = dict(now=NOW, policy=POLICY, author=ALICE, counterparty=BOB,
                                   link="https://pay.example/c/SECRET", token_hash="h" * 64,
                                   reference="K7QX2M")
    base.update(kw)
    return Facts(**base)  # type: ignore[arg-type]
