"""The sandbox: the bot @Smoney and @alice, @bob, @carol, @ACF with fixed ids and credentials.

Ids and secrets match the settings defaults (``config.settings``), so a sandbox bot finds the
emulator with no configuration at all.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bot.emulator.records import App
from bot.emulator.state import EmulatorState

SANDBOX_BOT_ID = "1790000000000000001"
SANDBOX_USERS = (
    # (id, username, name, accepts DMs from the bot, description)
    ("1790000000000000002", "alice", "Alice", True, "Sandbox user"),
    ("1790000000000000003", "bob", "Bob", True, "Sandbox user"),
    ("1790000000000000004", "carol", "Carol", False, "Sandbox user whose DMs are closed"),
    ("1790000000000000005", "ACF", "Action contre la faim", True, "NGO (Pro account)"),
)


@dataclass(frozen=True)
class BotCredentials:
    """What the bot needs to talk to the emulator (or to X): OAuth 1.0a user context."""

    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str
    user_id: str = ""
    username: str = ""
    bearer_token: str = ""
    client_id: str = ""
    client_secret: str = ""

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def seed_sandbox(
    state: EmulatorState,
    *,
    consumer_key: str = "sandbox-consumer-key",
    consumer_secret: str = "sandbox-consumer-secret",
    client_id: str = "sandbox-client-id",
    client_secret: str = "sandbox-client-secret",
    bot_handle: str = "Smoney",
) -> BotCredentials:
    """Create the bot and the sandbox users (idempotent); return the bot's credentials.

    Ids and secrets are fixed and the consumer key/secret match the settings defaults, so a
    sandbox bot needs no configuration and a persisted sandbox keeps working after a restart.
    """
    with state._lock:
        if state.find_user(bot_handle) is None:
            state.add_user(bot_handle, "S-Money", user_id=SANDBOX_BOT_ID, description="The bot")
        bot = state.require_user(bot_handle)
        state.bot_user_id = bot.id
        for user_id, username, name, accepts_dms, description in SANDBOX_USERS:
            if state.find_user(username) is None and user_id not in state.users:
                state.add_user(
                    username,
                    name,
                    accepts_dms=accepts_dms,
                    description=description,
                    user_id=user_id,
                )
        app = state.apps.get(consumer_key) or state.add_app(
            App(
                consumer_key=consumer_key,
                consumer_secret=consumer_secret,
                client_id=client_id,
                client_secret=client_secret,
                bearer_token="sandbox-app-bearer-token",
            )
        )
        token = f"{bot.id}-sandbox-access-token"
        access = state.tokens.get(token) or state.add_access_token(
            bot.id, token, "sandbox-access-token-secret"
        )
        state._save()
        return BotCredentials(
            consumer_key=app.consumer_key,
            consumer_secret=app.consumer_secret,
            access_token=access.token,
            access_token_secret=access.secret,
            user_id=bot.id,
            username=bot.username,
            bearer_token=app.bearer_token,
            client_id=app.client_id,
            client_secret=app.client_secret,
        )
