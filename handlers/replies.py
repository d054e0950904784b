"""The replies every decision shares: one answer in the event's own channel, the refusals of
an author who cannot act (no account, locked, inactive), private-only commands."""

from __future__ import annotations

import re

from handlers.decisions import Decision, Event, Facts
from handlers.money import Lang
from handlers.outcomes import (
    PRIORITY_REPLY,
    DirectMessage,
    Outgoing,
    PublicReply,
    unique_public_text,
)
from handlers.texts import render
from handlers.times import datetime_text


def answer(event: Event, lang: Lang, text: str, *, private: bool, reason: str) -> Decision:
    """One reply in the event's own channel: a DM for a DM, a public reply for a mention."""
    return Decision(outgoing=(reply(event, text, private=private),), reason=reason)


# "Réf. K7QXMP", "(ref. K7QXMP)": a text carrying an intent's reference is unique already.
_REFERENCED = re.compile(r"(?i)\br[ée]f\. [A-Z0-9]{6}\b")


def reply(event: Event, text: str, *, private: bool = False, suffix: str = "reply") -> Outgoing:
    """The event's one reply. A public text without an intent's reference gets the event's
    code (X refuses a post identical to an earlier one: "help" would reach one person)."""
    key = f"{event.key}:{suffix}"
    if event.source == "dm" or private:
        return DirectMessage(key, event.author_id, text, priority=PRIORITY_REPLY)
    assert event.tweet_id is not None
    if not _REFERENCED.search(text):
        text = unique_public_text(text, event.tweet_id)
    return PublicReply(key, event.tweet_id, text, priority=PRIORITY_REPLY)


def with_app_hint(text: str, lang: Lang, key: str = "get_app_hint") -> str:
    """How to get the app, for people without an app device (no URL: public texts). The hint is
    a sentence of its own: after a text that ends on its reference ("Réf. 4647DH"), a full
    stop comes first."""
    stop = "" if text.rstrip().endswith((".", "!", "?", "…")) else "."
    return f"{text}{stop} {render(key, lang)}"


def refuse_author(event: Event, facts: Facts, lang: Lang) -> Decision | None:
    author = facts.author
    if author is None:
        if event.source == "dm":
            return answer(event, lang, render("signup_needed_dm", lang), private=True,
                          reason="no_account")
        return answer(event, lang, with_app_hint(render("invite_signup_public", lang), lang,
                                                  "get_app_hint_stranger"),
                      private=False, reason="no_account")
    if author.locked_until is not None and author.locked_until > facts.now:
        until = datetime_text(author.locked_until, lang, facts.policy.timezone)
        return answer(event, lang, render("account_locked", lang, until=until), private=True,
                      reason="locked")
    if author.status != "active":
        return answer(event, lang, render("account_inactive", lang), private=True,
                      reason="inactive")
    return None


def private_only(event: Event, lang: Lang) -> Decision:
    return answer(event, lang, render("dm_only", lang), private=False,
                  reason="private_only")
