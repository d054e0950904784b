"""A fair share of X's DM budget (the bot may send 15 DMs per 15 minutes in all). Pure.

Commands that cost a DM (a reply by DM, a one-time link) are limited per person: beyond
``limit`` DMs to them in the last hour, one last notice says so, then nothing more until the
hour has passed. One person sending ``#inscription`` sixteen times no longer takes the whole
window and leaves someone else's confirmation link to expire in the queue.
"""

from __future__ import annotations

import datetime as dt

from handlers.decisions import Decision, Event
from handlers.money import Lang
from handlers.outcomes import PRIORITY_REPLY, DirectMessage
from handlers.texts import render

WINDOW = dt.timedelta(hours=1)


def costs_dm_to(decision: Decision, x_user_id: int) -> bool:
    """A DM to the author, the app's conditional link DM aside (sent only if the app was not
    opened in time)."""
    return any(isinstance(item, DirectMessage) and item.recipient_x_user_id == x_user_id
               and not item.dedupe_key.endswith(":app-fallback")
               for item in decision.outgoing)


def share(decision: Decision, event: Event, lang: Lang, *, sent_last_hour: int, limit: int,
          now: dt.datetime) -> Decision:
    """``decision`` itself while the author is within their share; else one notice (the first
    time), then nothing. Nothing else of the decision happens (no intent, no link)."""
    if limit <= 0 or sent_last_hour < limit or not costs_dm_to(decision, event.author_id):
        return decision
    if sent_last_hour > limit:
        return Decision(reason="fair_share_silent")
    # One notice per person and hour, whatever the number of events that hit the limit.
    hour = now.replace(minute=0, second=0, microsecond=0).strftime("%Y%m%d%H")
    notice = DirectMessage(f"fair-share:{event.author_id}:{hour}", event.author_id,
                           render("fair_share_dm", lang, limit=limit),
                           priority=PRIORITY_REPLY)
    return Decision(outgoing=(notice,), reason="fair_share_notice")
