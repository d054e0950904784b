"""The X Chat frame reader: round trip with the framer, and only ``EnvelopeError`` on junk."""

from __future__ import annotations

import base64
import contextlib

from hypothesis import given
from hypothesis import strategies as st

from bot.xchat import envelope


def test_frame_and_read_round_trip() -> None:
    framed = envelope.frame(sequence_id="3", message_id="m", sender_id="12", conversation_id="5:12",
                            created_at_msec=1700, detail=envelope.union(envelope.KEY_CHANGE,
                                                                        b"\x00"),
                            signature=envelope.signature_struct("s", "1", "7"))
    head = envelope.read(framed)
    assert (head.sequence_id, head.message_id, head.sender_id, head.conversation_id,
            head.created_at_msec, head.kind) == ("3", "m", "12", "5:12", 1700,
                                                 envelope.KEY_CHANGE)


def test_conversation_ids() -> None:
    assert envelope.canonical_conversation_id(20, 3) == "3:20"
    assert envelope.path_conversation_id("3:20") == "3-20"


@given(st.binary(max_size=300))
def test_junk_raises_only_envelope_error(raw: bytes) -> None:
    with contextlib.suppress(envelope.EnvelopeError):
        envelope.read(base64.b64encode(raw).decode())


@given(st.text(max_size=100))
def test_non_base64_raises_only_envelope_error(text: str) -> None:
    with contextlib.suppress(envelope.EnvelopeError):
        envelope.read(text)
