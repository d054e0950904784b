"""``tweetpay x ...``: what the operator sets up on X for the bot (X Chat keys)."""

from __future__ import annotations

import datetime as dt

import click


@click.group("x")
def x() -> None:
    """Set-up on X: the bot's X Chat keys."""


@x.group("chat-keys")
def chat_keys() -> None:
    """The bot's X Chat (encrypted DM) keys: private half sealed in the database."""


def _keys(rotate: bool) -> None:
    from bot.cli import _settings, x_gateway
    from bot.xchat.api import ChatApi
    from bot.xchat.keys import init_keys
    from handlers.errors import GatewayError
    from storage.db import make_engine, make_session_factory
    from storage.sealing import Sealer

    settings = _settings()
    gateway = x_gateway(settings)
    sessions = make_session_factory(make_engine(settings.sqlalchemy_url))
    sealer = Sealer([key.get_secret_value() for key in settings.data_keys])
    try:
        me = gateway.me()
        state = init_keys(sessions, sealer, ChatApi(gateway), int(me.id),
                          lambda: dt.datetime.now(dt.UTC), rotate=rotate)
    except GatewayError as exc:
        raise click.ClickException(f"X refused or is unreachable: {exc}") from exc
    verb = "registered" if state.created else "already registered"
    click.echo(f"X Chat keys {verb} for @{me.username}: public key version {state.version}")


@chat_keys.command("init")
def chat_keys_init() -> None:
    """Make the bot's key pair and register its public half with X (idempotent)."""
    _keys(rotate=False)


@chat_keys.command("rotate")
def chat_keys_rotate() -> None:
    """Make a new key pair under a new version; conversations re-key on their next message."""
    _keys(rotate=True)
