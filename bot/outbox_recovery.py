"""Was it sent? Looking on X for a message whose delivery is in doubt.

A message is in doubt from the moment a call may reach X until X answers: a crash, a timeout
or a lost connection leaves it so. Before sending it again the outbox looks for it on X:

- a DM in the one-to-one conversation with its recipient (not among the bot's recent DMs in
  general, where a busy bot's other messages push it out of sight);
- a reply among the bot's own latest replies, by its parent tweet (one reply per summons).

A message is recognised by its identity, not by its text alone: the recipient (or parent),
the exact text it carries (a link, a reference), a time window that starts with the attempt
in doubt, and an X id no other outbox row has already claimed. So a second identical message
to the same person is never taken for this one, and an old one is never taken for a new one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.gateway.values import SentMessage
from storage.models import OutboxMessage

# X's clock and ours may differ a little: the window opens this much before the attempt.
CLOCK_SLACK = dt.timedelta(seconds=30)


class LooksUp(Protocol):
    def sent_dms(self, recipient_id: int | str) -> list[SentMessage]: ...
    def sent_replies(self) -> list[SentMessage]: ...


@dataclass(frozen=True, slots=True)
class Doubt:
    """What identifies the message in doubt."""

    row_id: int
    kind: str  # "dm" or "reply"
    recipient_x_user_id: int | None
    reply_to: str | None  # the parent of a reply, or of a DM's public link fallback
    text: str
    since: dt.datetime  # when the attempt in doubt began
    may_have_fallen_back: bool  # a DM whose public link fallback may have been posted


def _claimed(sessions: sessionmaker[Session], ids: Iterable[str], row_id: int) -> set[str]:
    ids = list(ids)
    if not ids:
        return set()
    with sessions() as session:
        return set(session.scalars(select(OutboxMessage.remote_id).where(
            OutboxMessage.remote_id.in_(ids), OutboxMessage.id != row_id)))


def _in_window(message: SentMessage, since: dt.datetime) -> bool:
    # X gives millisecond times; one without a time cannot be placed, so it cannot match.
    return message.created_at is not None and message.created_at >= since - CLOCK_SLACK


def find_on_x(gateway: LooksUp, sessions: sessionmaker[Session],
              doubt: Doubt) -> tuple[str, str] | None:
    """(X id, "dm" or "reply") of the message if X has it, else None. Raises the gateway's
    errors (a rate limit on the look-up means: try again after the reset)."""
    if doubt.kind == "dm" and doubt.recipient_x_user_id is not None:
        candidates = [m for m in gateway.sent_dms(doubt.recipient_x_user_id)
                      if m.text == doubt.text and _in_window(m, doubt.since)]
        taken = _claimed(sessions, (m.id for m in candidates), doubt.row_id)
        # Oldest first: of two identical messages in flight, this one is the earlier send.
        for message in sorted(candidates, key=lambda m: int(m.id)):
            if message.id not in taken:
                return message.id, "dm"
        if not doubt.may_have_fallen_back:
            return None
    if doubt.reply_to is None:
        return None
    candidates = [m for m in gateway.sent_replies()
                  if m.in_reply_to == doubt.reply_to and _in_window(m, doubt.since)]
    taken = _claimed(sessions, (m.id for m in candidates), doubt.row_id)
    for message in sorted(candidates, key=lambda m: int(m.id)):
        if message.id not in taken:
            return message.id, "reply"
    return None
