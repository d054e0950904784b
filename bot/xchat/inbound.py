"""Turn an X Chat inbox row into the DM the handlers read, in memory only.

The handlers do not know which transport carried a message: an opened chat is a DM payload
(``text``, no entities: the grammar computes them) with ``transport: xchat``. A message that
does not verify is a ``ChatRefused``: the row is closed without a reply and the reason (never
the content) is logged.
"""

from __future__ import annotations

from typing import Any

from bot.xchat.bot_chat import BotChat, ChatRefused


def open_payload(chat: BotChat | None, payload: dict[str, Any]) -> dict[str, Any]:
    if chat is None:
        raise ChatRefused("the bot has no X Chat keys loaded")
    encoded = payload.get("encoded_event")
    if not isinstance(encoded, str):
        raise ChatRefused("no encoded event")
    message = chat.open(encoded, [k for k in payload.get("key_events") or []
                                  if isinstance(k, str)])
    if message.message_id != payload.get("event_id") or message.sender_id != int(
            payload.get("author_id", -1)):
        raise ChatRefused("the inbox row does not match the signed event")
    return {**payload, "text": message.text, "entities": {}, "transport": "xchat",
            "conversation_id": message.conversation_id}
