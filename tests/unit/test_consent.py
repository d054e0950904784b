"""The one DM consent rule (handlers.consent)."""

from __future__ import annotations

import pytest

from handlers.consent import Reach, dm_refusal, may_dm


@pytest.mark.parametrize(("reach", "refusal"), [
    (Reach("active"), None),
    (Reach("locked"), None),  # still a holder: the lockout alert must reach them
    (Reach(None, wrote_by_dm=True), None),
    (Reach("unlinked", wrote_by_dm=True), None),  # wrote to us again after unlinking
    (Reach("unlinked"), "account unlinked: DM consent withdrawn"),
    (Reach(None), "no account and never wrote to the bot by DM"),
    (Reach("active", stopped=True), "recipient said #stop"),
    (Reach(None, wrote_by_dm=True, stopped=True), "recipient said #stop"),
])
def test_who_may_be_dmed(reach: Reach, refusal: str | None) -> None:
    assert dm_refusal(reach) == refusal
    assert may_dm(reach) is (refusal is None)
