"""X Chat's server framing of a message event, Thrift binary protocol, base64.

What a sender POSTs (an encrypted ``MessageCreateEvent`` or a conversation key change, and its
signature) is wrapped by X's server into a ``MessageEvent`` that the receiver decrypts:

    1 sequence_id  2 message_id  3 sender_id  4 conversation_id  6 created_at_msec (strings)
    7 detail: union {1 MessageCreateEvent, 3 ConversationKeyChangeEvent}
    9 MessageEventSignature {1 signature, 2 public_key_version, 3 signature_version}

X does not document the layout; it was read off the Chat XDK (which accepts exactly these
frames). The emulator builds frames with ``frame``; the bot reads the clear envelope fields
with ``read`` (to deduplicate push and poll before decrypting). The envelope is metadata only:
the text stays ciphertext, and the XDK's signature check covers message id, sender and
conversation, so a forged envelope fails to decrypt.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass

from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.Thrift import TType
from thrift.transport.TTransport import TMemoryBuffer, TTransportException

MESSAGE_CREATE = 1
KEY_CHANGE = 3
_STRING_FIELDS = {1: "sequence_id", 2: "message_id", 3: "sender_id", 4: "conversation_id",
                  6: "created_at_msec"}
MAX_EVENT_BYTES = 256 * 1024


class EnvelopeError(ValueError):
    """The bytes are not a MessageEvent frame (bad base64, truncated, missing fields)."""


@dataclass(frozen=True)
class Envelope:
    sequence_id: str
    message_id: str
    sender_id: str
    conversation_id: str
    created_at_msec: int
    kind: int  # MESSAGE_CREATE or KEY_CHANGE (0 when the detail is another union member)


def _struct(fields: list[tuple[int, str | bytes]]) -> bytes:
    """A Thrift struct of string fields (``str``) and already-serialised structs (``bytes``)."""
    buf = TMemoryBuffer()
    proto = TBinaryProtocol(buf)
    proto.writeStructBegin("s")
    for field_id, value in fields:
        if isinstance(value, str):
            proto.writeFieldBegin("f", TType.STRING, field_id)
            proto.writeString(value)
        else:
            proto.writeFieldBegin("f", TType.STRUCT, field_id)
            buf.write(value)
        proto.writeFieldEnd()
    proto.writeFieldStop()
    proto.writeStructEnd()
    return buf.getvalue()


def signature_struct(signature: str, public_key_version: str, signature_version: str) -> bytes:
    return _struct([(1, signature), (2, public_key_version), (3, signature_version)])


def union(member: int, raw_struct: bytes) -> bytes:
    """A Thrift union holding one already-serialised struct."""
    return _struct([(member, raw_struct)])


def frame(*, sequence_id: str, message_id: str, sender_id: str, conversation_id: str,
          created_at_msec: int, detail: bytes, signature: bytes) -> str:
    """The base64 MessageEvent X's server makes; ``detail`` is a serialised union."""
    raw = _struct([(1, sequence_id), (2, message_id), (3, sender_id), (4, conversation_id),
                   (6, str(created_at_msec)), (7, detail), (9, signature)])
    return base64.b64encode(raw).decode("ascii")


def decode_b64(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise EnvelopeError("not base64") from exc
    if len(raw) > MAX_EVENT_BYTES:
        raise EnvelopeError("event too large")
    return raw


def _skip(proto: TBinaryProtocol, ftype: int, depth: int = 0) -> None:
    """Skip one value; strings as bytes (thrift's own skip decodes them as UTF-8, and the
    ciphertext inside a frame is not text)."""
    if depth > 16:
        raise EnvelopeError("nested too deep")
    if ftype == TType.STRING:
        proto.readBinary()
    elif ftype == TType.STRUCT:
        proto.readStructBegin()
        while True:
            _, inner, _ = proto.readFieldBegin()
            if inner == TType.STOP:
                break
            _skip(proto, inner, depth + 1)
            proto.readFieldEnd()
        proto.readStructEnd()
    elif ftype in (TType.LIST, TType.SET):
        element, size = proto.readListBegin()
        if size > MAX_EVENT_BYTES:
            raise EnvelopeError("list too long")
        for _ in range(size):
            _skip(proto, element, depth + 1)
        proto.readListEnd()
    elif ftype == TType.MAP:
        key, value, size = proto.readMapBegin()
        if size > MAX_EVENT_BYTES:
            raise EnvelopeError("map too long")
        for _ in range(size):
            _skip(proto, key, depth + 1)
            _skip(proto, value, depth + 1)
        proto.readMapEnd()
    elif ftype in (TType.BOOL, TType.BYTE, TType.I16, TType.I32, TType.I64, TType.DOUBLE):
        proto.skip(ftype)
    else:
        raise EnvelopeError(f"unknown field type {ftype}")


def read(encoded_event: str) -> Envelope:
    """The clear fields of a framed event; raises EnvelopeError on anything malformed."""
    if not isinstance(encoded_event, str):
        raise EnvelopeError("not a string")
    proto = TBinaryProtocol(TMemoryBuffer(decode_b64(encoded_event)))
    values: dict[str, str] = {}
    kind = 0
    try:
        proto.readStructBegin()
        while True:
            _, ftype, fid = proto.readFieldBegin()
            if ftype == TType.STOP:
                break
            if ftype == TType.STRING and fid in _STRING_FIELDS:
                values[_STRING_FIELDS[fid]] = proto.readString()
            elif ftype == TType.STRUCT and fid == 7:
                proto.readStructBegin()
                _, member_type, member = proto.readFieldBegin()
                kind = member if member in (MESSAGE_CREATE, KEY_CHANGE) else 0
                if member_type != TType.STOP:
                    _skip(proto, member_type)
                    proto.readFieldBegin()  # the union's stop
            else:
                _skip(proto, ftype)
            proto.readFieldEnd()
    except (TTransportException, UnicodeDecodeError, EOFError, struct.error) as exc:
        raise EnvelopeError("truncated or malformed frame") from exc
    missing = [name for name in _STRING_FIELDS.values() if name not in values]
    if missing:
        raise EnvelopeError(f"missing {', '.join(missing)}")
    if not values["created_at_msec"].isdigit() or not values["sender_id"].isdigit():
        raise EnvelopeError("non-numeric sender or time")
    return Envelope(values["sequence_id"], values["message_id"], values["sender_id"],
                    values["conversation_id"], int(values["created_at_msec"]), kind)


def canonical_conversation_id(a: str | int, b: str | int) -> str:
    """The signed 1:1 form: both ids in numeric ascending order, joined by a colon."""
    low, high = sorted((int(a), int(b)))
    return f"{low}:{high}"


def path_conversation_id(conversation_id: str) -> str:
    """The URL form X's routes want: ``A-B`` (never the colon form events use)."""
    return conversation_id.replace(":", "-")
