"""May the bot send this person a direct message? One rule, asked by everything that DMs:
the decisions that queue a DM and the outbox at send time (consent can end in between).

docs/design.md: the bot DMs account holders (they agreed at sign-up) and people who wrote to
it by DM; ``#stop`` ends it for anyone, and unlinking an account withdraws the consent that
came with it. The answer says why not, so a refused row can record it.
"""

from __future__ import annotations

from dataclasses import dataclass

# User.status values that carry the sign-up consent ('locked' is still a holder: the lockout
# alert must reach them).
HOLDER_STATUSES = frozenset({"active", "locked"})


@dataclass(frozen=True, slots=True)
class Reach:
    """What consent depends on: the account (None: none), the contact row's flags."""

    account_status: str | None = None
    wrote_by_dm: bool = False  # Contact.dm_opt_in
    stopped: bool = False  # Contact.stopped: said #stop


def dm_refusal(reach: Reach) -> str | None:
    """Why the bot may not DM this person, or None when it may."""
    if reach.stopped:
        return "recipient said #stop"
    if reach.account_status in HOLDER_STATUSES or reach.wrote_by_dm:
        return None
    if reach.account_status == "unlinked":
        return "account unlinked: DM consent withdrawn"
    return "no account and never wrote to the bot by DM"


def may_dm(reach: Reach) -> bool:
    return dm_refusal(reach) is None
