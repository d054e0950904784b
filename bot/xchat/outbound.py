"""DMs to users who last wrote in X Chat go back encrypted into the same conversation.

``ChatOutbound.deliver`` is called by the outbox sender for a DM row. Which transport a reply
uses follows the conversation the user wrote in (``storage.xchat.route_of``). The encrypted
payload is committed before the POST and reused on retry, so a crash or a timeout after X
accepted it never makes a second message: before resending, the conversation is read back for
that ``message_id``. When the bot cannot encrypt to the user (no conversation key it can
unwrap), nothing goes into the chat — in particular no link token travels there in clear —
and the row goes by legacy DM as before X Chat (``None`` is returned).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot.logging import get_logger
from bot.xchat import envelope
from bot.xchat.api import ChatApi
from bot.xchat.bot_chat import BotChat, ChatRefused
from storage import xchat as repo
from storage.uow import UnitOfWork

log = get_logger(__name__)


class ChatOutbound:
    def __init__(self, sessions: sessionmaker[Session], chat: BotChat, api: ChatApi,
                 clock: Callable[[], dt.datetime]) -> None:
        self._sessions = sessions
        self._chat = chat
        self._api = api
        self._clock = clock

    def conversation_for(self, recipient_id: int) -> str | None:
        with self._sessions() as session:
            route = repo.route_of(session, recipient_id)
            if route is None or route.transport != "xchat":
                return None
            return route.conversation_id

    def deliver(self, outbox_id: int, recipient_id: int, text: str) -> str | None:
        """Send by X Chat and return the message id; None when this DM is not for X Chat."""
        with self._sessions() as session:
            previous = repo.pending_send(session, outbox_id)
            sealed = json.loads(previous.sealed) if previous else None
            conversation = previous.conversation_id if previous else None
        if sealed is None:
            conversation = self.conversation_for(recipient_id)
            if conversation is None:
                return None
            try:
                sealed = self._chat.seal(conversation, text)
            except (ChatRefused, ValueError) as exc:
                log.warning("xchat.cannot_encrypt", outbox_id=outbox_id,
                            error=type(exc).__name__)
                return None
            with UnitOfWork(self._sessions, self._clock) as uow:
                repo.save_send(uow.session, outbox_id, conversation, sealed["message_id"],
                               json.dumps(sealed), self._clock())
                uow.commit()
        elif conversation and self._already_there(conversation, sealed["message_id"]):
            return str(sealed["message_id"])
        assert conversation is not None
        return self._chat.send(conversation, sealed)

    def _already_there(self, conversation: str, message_id: str) -> bool:
        """After a crash or a timeout: did X take our message? Read the newest page back."""
        page = self._api.events(conversation)
        for item in page.get("data") or []:
            try:
                if envelope.read(item.get("encoded_event")).message_id == message_id:
                    return True
            except envelope.EnvelopeError:
                continue
        return False
