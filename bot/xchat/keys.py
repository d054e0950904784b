"""The bot's X Chat keys: made once, public half registered with X, private blob sealed at rest.

``init_keys`` is idempotent (a second run reuses the key in use) unless ``rotate`` is asked:
then a new pair is registered under a new version and the old row is retired. The blob is the
XDK's opaque export, base64 then Fernet-sealed with the data keys (``tweetpay keys rotate``
re-seals it like cards and links); it is never logged and never leaves the process in clear.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from chat_xdk import Chat
from sqlalchemy.orm import Session, sessionmaker

from bot.logging import get_logger
from bot.xchat.api import ChatApi
from bot.xchat.bot_chat import BotChat
from storage import xchat as repo
from storage.sealing import Sealer
from storage.uow import UnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True)
class KeyState:
    version: str
    created: bool  # False: an existing key was reused


def init_keys(sessions: sessionmaker[Session], sealer: Sealer, api: ChatApi, bot_user_id: int,
              clock: Callable[[], dt.datetime], *, rotate: bool = False) -> KeyState:
    with sessions() as session:
        current = repo.active_key(session)
        version_in_use = current.public_key_version if current else None
    if version_in_use and not rotate:
        registered = {str(r.get("public_key_version")) for r in api.public_keys(bot_user_id)}
        if version_in_use in registered:
            return KeyState(version_in_use, created=False)
        log.warning("xchat.key_not_registered", version=version_in_use)  # X lost it: anew
    chat = Chat()
    registration = chat.generate_keypairs()
    version = api.register_keys(bot_user_id, registration)  # X's answer is the version to use
    blob = chat.export_keys()
    if blob is None:
        raise RuntimeError("the Chat XDK exported no key")
    sealed = sealer.seal(base64.b64encode(bytes(blob)).decode("ascii"))
    with UnitOfWork(sessions, clock) as uow:
        repo.add_key(uow.session, version, sealed, clock())
        uow.commit()
    log.info("xchat.keys_registered", version=version, rotated=version_in_use is not None)
    return KeyState(version, created=True)


def load_bot_chat(sessions: sessionmaker[Session], sealer: Sealer, api: ChatApi,
                  bot_user_id: int) -> BotChat | None:
    """The bot's X Chat client from the key in use; None when no key was made yet."""
    with sessions() as session:
        key = repo.active_key(session)
        if key is None:
            return None
        version, sealed = key.public_key_version, key.sealed_blob
    blob = base64.b64decode(sealer.open(sealed))
    return BotChat(bot_user_id, blob, version, api)
