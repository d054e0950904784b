"""``tweetpay x subscribe | subscriptions | unsubscribe``: the bot's X Activity API set-up
(added to the ``tweetpay x`` group of ``bot.cli_x``).

All three talk to X (or, with no X API base URL configured, to the sandbox emulator on
``TWEETPAY_EMULATOR_PORT``) with the bot's own keys; ``subscribe`` is idempotent.
"""

from __future__ import annotations

import functools
from typing import Any

import click


def _gateway(settings: Any) -> Any:
    from bot.cli import x_gateway

    return x_gateway(settings)


def _holders(settings: Any) -> list[int]:
    from storage import accounts
    from storage.db import make_engine, make_session_factory

    sessions = make_session_factory(make_engine(settings.sqlalchemy_url))
    with sessions() as session:
        return accounts.holder_ids(session)


def _settings() -> Any:
    from bot.cli import _settings as load

    return load()


def _x_errors(fn: Any) -> Any:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        from handlers.errors import GatewayError

        try:
            return fn(*args, **kwargs)
        except GatewayError as exc:
            raise click.ClickException(f"X refused: {exc}") from exc

    return run


@click.command("subscribe")
@_x_errors
def x_subscribe() -> None:
    """Register our webhook and the bot's subscriptions (run twice: nothing doubles)."""
    from bot.activity.subscriptions import subscribe

    settings = _settings()
    x = _gateway(settings)
    report = subscribe(x, url=settings.activity_webhook_url, bot_user_id=int(x.me().id),
                       holders=_holders(settings))
    assert report.webhook is not None
    made = "created" if report.webhook_created else "kept"
    click.echo(f"webhook {report.webhook.id} {report.webhook.url} ({made})")
    for sub in report.created:
        click.echo(f"created {sub.event_type} for user {sub.user_id} ({sub.id})")
    click.echo(f"{len(report.created)} created, {len(report.kept)} already there")


@click.command("subscriptions")
@_x_errors
def x_subscriptions() -> None:
    """List our webhook and every subscription of the app."""
    from bot.activity.subscriptions import our_webhook

    settings = _settings()
    x = _gateway(settings)
    hook = our_webhook(x, settings.activity_webhook_url)
    if hook is None:
        click.echo(f"no webhook for {settings.activity_webhook_url}")
    else:
        click.echo(f"webhook {hook.id} {hook.url} valid={str(hook.valid).lower()}")
    subs = x.subscriptions()
    for sub in subs:
        click.echo(f"{sub.id} {sub.event_type} user={sub.user_id} webhook={sub.webhook_id}"
                   f" tag={sub.tag or '-'}")
    click.echo(f"{len(subs)} subscription(s)")


@click.command("unsubscribe")
@_x_errors
def x_unsubscribe() -> None:
    """Remove the subscriptions on our webhook, then the webhook (run twice: no error)."""
    from bot.activity.subscriptions import unsubscribe

    settings = _settings()
    report = unsubscribe(_gateway(settings), url=settings.activity_webhook_url)
    if report.webhook is None:
        click.echo(f"no webhook for {settings.activity_webhook_url}: nothing to remove")
        return
    click.echo(f"removed {len(report.removed)} subscription(s) and webhook {report.webhook.id}")


COMMANDS = [x_subscribe, x_subscriptions, x_unsubscribe]
