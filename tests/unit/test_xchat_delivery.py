"""``chat.received`` deliveries: validated strictly before anything is recorded; the inbox row
is keyed by the signed message id from the clear envelope and holds no text."""

from __future__ import annotations

import json

import pytest

from bot.activity.envelope import MalformedDelivery, chat_items, event_of, parse
from bot.xchat import envelope

BOT, ALICE = "1790000000000000001", "1790000000000000002"
CONV = envelope.canonical_conversation_id(BOT, ALICE)


def frame(sender: str = ALICE, conversation: str = CONV, message_id: str = "m-1") -> str:
    return envelope.frame(sequence_id="7", message_id=message_id, sender_id=sender,
                          conversation_id=conversation, created_at_msec=1_790_000_000_000,
                          detail=envelope.union(envelope.MESSAGE_CREATE, b"\x0b\x00d\x00\x00"
                                                b"\x00\x02ab\x00"),
                          signature=envelope.signature_struct("sig", "1", "7"))


def delivery(**payload: object) -> dict:
    base = {"id": "e4f4d3fc-8bbf-4928-92eb-e5058d6bb6f6", "created_at_msec": "1790000000000",
            "sender_id": ALICE, "conversation_id": CONV, "encoded_event": frame()}
    base.update(payload)
    return {"data": {"event_uuid": "8511582263942905822", "filter": {"user_id": BOT},
                     "event_type": "chat.received", "payload": base}}


def test_a_chat_delivery_becomes_one_inbox_item_without_text() -> None:
    (item,) = chat_items(event_of(delivery()), BOT)  # type: ignore[arg-type]
    assert (item.source, item.event_id, item.author_id) == ("chat", "m-1", int(ALICE))
    assert "text" not in item.payload and item.payload["encoded_event"] == frame()


@pytest.mark.parametrize("payload", [
    {"encoded_event": "not base64 at all!"},
    {"encoded_event": "AAAAAAAAAAAA"},  # base64, not a frame
    {"sender_id": 123},  # a number, not a string
    {"sender_id": str(2**63)},  # does not fit in BIGINT
    {"conversation_id": "a:b"},
    {"created_at_msec": "1e400"},
    {"encoded_event": frame(sender="1790000000000000003")},  # frame and payload disagree
])
def test_odd_signed_content_is_refused(payload: dict) -> None:
    with pytest.raises(MalformedDelivery):
        event = event_of(delivery(**payload))
        chat_items(event, BOT)  # type: ignore[arg-type]


def test_numbers_out_of_range_are_refused_before_validation() -> None:
    raw = json.dumps(delivery()).replace('"1790000000000"', "1e400").encode()
    with pytest.raises(MalformedDelivery):
        parse(raw)


def test_the_bots_own_messages_and_foreign_conversations_are_skipped() -> None:
    own = delivery(sender_id=BOT, encoded_event=frame(sender=BOT))
    assert chat_items(event_of(own), BOT) == []  # type: ignore[arg-type]
    other = envelope.canonical_conversation_id(ALICE, "1790000000000000003")
    foreign = delivery(conversation_id=other, encoded_event=frame(conversation=other))
    assert chat_items(event_of(foreign), BOT) == []  # type: ignore[arg-type]
