"""What the outbox may send, to whom (docs/design.md's X platform rules): pure reads of the
database, no call to X."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import consent
from storage.models import Contact, InboxEvent, OutboxMessage, PaymentIntent


def why_skip(session: Session, row: OutboxMessage, bot_user_id: int | None) -> str | None:
    """Why the row must not go out now (it is cancelled with that reason), or None."""
    if row.recipient_x_user_id is not None and not row.dedupe_key.endswith(":reply"):
        contact = session.get(Contact, row.recipient_x_user_id)
        if contact is not None and contact.stopped:
            return "recipient said #stop"
    if row.sealed_link and row.intent_id is not None:
        intent = session.get(PaymentIntent, row.intent_id)
        if intent is not None and intent.status != "awaiting_confirmation":
            return f"link no longer useful: intent {intent.status}"
        if (intent is not None and intent.seen_in_app_at is not None
                and row.dedupe_key.endswith(":app-fallback")):
            return "the payer saw the payment in the app"  # the push did its job
    if row.kind == "dm":
        # Consent is asked again at send time: it may have ended since the row was queued
        # (an unlinked account, a #stop). Refused: nothing is sent, the row says why.
        refused = (consent.dm_refused(session, row.recipient_x_user_id)
                   if row.recipient_x_user_id is not None else "no recipient")
        if refused:
            return f"no DM consent: {refused}"
    if row.kind == "reply" and not summoned(session, row.in_reply_to_tweet_id, bot_user_id):
        return "not a mention of the bot: X allows replies to summons only"
    return None


def summoned(session: Session, tweet_id: str | None, bot_user_id: int | None) -> bool:
    """The reply's parent is a mention we ingested whose own text mentions the bot."""
    if bot_user_id is None:
        return tweet_id is not None
    payload = session.scalar(select(InboxEvent.payload).where(
        InboxEvent.source == "mention", InboxEvent.event_id == str(tweet_id)))
    if payload is None:
        return False
    mentions = (json.loads(payload).get("entities") or {}).get("mentions") or []
    return any(str(m.get("id")) == str(bot_user_id) for m in mentions)


def row_lang(session: Session, row: OutboxMessage) -> str:
    if row.intent_id is not None:
        intent = session.get(PaymentIntent, row.intent_id)
        if intent is not None:
            return intent.lang
    return "fr"
