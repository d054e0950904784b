"""The `tweetpay` command: one place that lists every entry point.

Each command reads the settings once, configures logging once, then hands over to the module
that does the work; the imports are inside the commands so `tweetpay --help` stays fast and a
command only loads what it uses.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import click

from bot.logging import configure_logging
from config import Settings, SettingsError, load_settings


def _settings(**overrides: object) -> Settings:
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    configure_logging(settings.log_level, settings.log_format, settings.env == "production")
    return settings


@contextlib.contextmanager
def _one_line_on_busy_port() -> Iterator[None]:
    from bot.ports import PortBusy

    try:
        yield
    except PortBusy as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(package_name="tweetpay", prog_name="tweetpay")
def main() -> None:
    """tweetpay: pay by tweet."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.option("--stay", is_flag=True,
              help="Then keep running until stopped: honcho stops every process as soon as"
                   " one exits, so the Procfile's one-shot release step must not exit.")
def db_upgrade(revision: str, stay: bool) -> None:
    """Create the schema or upgrade it to the latest migration."""
    from storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.sqlalchemy_url, revision)
    click.echo(f"schema at {revision} on {settings.sqlalchemy_url.split(':', 1)[0]}")
    if stay:
        import signal
        import threading

        click.echo("release done; staying idle until stopped (Ctrl-C)")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()


@main.group()
def ledger() -> None:
    """The double-entry ledger."""


@ledger.command("verify")
def ledger_verify() -> None:
    """Check every ledger invariant; exit 1 on any finding."""
    from storage.db import make_engine
    from storage.ledger import Ledger

    settings = _settings()
    findings = Ledger(make_engine(settings.sqlalchemy_url)).verify()
    for finding in findings:
        click.echo(f"FINDING: {finding}")
    if findings:
        click.echo(f"{len(findings)} finding(s)")
        sys.exit(1)
    click.echo("ledger ok: balances sum to 0, each equals its postings, none overdrawn;"
               " escrow holds exactly the held holds, each released at most once;"
               " every intent's state agrees with its transfers")


@main.command("worker")
@click.option("--sandbox", is_flag=True, help="Seed the sandbox users and print how to play.")
@click.option("--emulator-url", default=None, metavar="URL",
              help="Use the X emulator already running there (`tweetpay emulator`) instead of"
                   " starting one; its control API gives the bot's credentials.")
def worker(sandbox: bool, emulator_url: str | None) -> None:
    """Run ingest, the outbox sender and the scheduler (the Procfile's worker)."""
    from bot.app import run_worker

    with _one_line_on_busy_port():
        run_worker(_settings(), sandbox=sandbox, emulator_url=emulator_url)


@main.command("web")
def web() -> None:
    """Run the web app (confirmation pages) under uvicorn (the Procfile's web)."""
    from bot.app import run_web

    with _one_line_on_busy_port():
        run_web(_settings())


@main.command("run")
@click.option("--sandbox", is_flag=True, help="Seed the sandbox users and print how to play.")
def run(sandbox: bool) -> None:
    """Run the worker and the web app in one process (with the emulator by default)."""
    from bot.app import run_all

    with _one_line_on_busy_port():
        run_all(_settings(), sandbox=sandbox)


@main.command("emulator")
@click.option("--port", type=int, default=None, help="Default: TWEETPAY_EMULATOR_PORT (8765).")
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Persist the emulator's world here (default: <data_dir>/x-emulator.json).",
)
@click.option("--memory", is_flag=True, help="Keep the world in memory only.")
def emulator(port: int | None, state_file: str | None, memory: bool) -> None:
    """Run the local X API v2 emulator alone, in the foreground."""
    from bot.emulator import serve
    from bot.ports import check_free

    settings = _settings()
    if not memory and state_file is None:
        state_file = str(settings.data_dir / "x-emulator.json")
    with _one_line_on_busy_port():
        check_free("127.0.0.1", settings.emulator_port if port is None else port,
                   "emulator_port", "the X emulator")
    serve(settings.emulator_port if port is None else port, None if memory else state_file)


@main.group()
def keys() -> None:
    """Encryption keys for data at rest (TWEETPAY_DATA_KEYS, newest first)."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-seal every saved card, bank account and pending link with the newest key.

    Put the new key first in TWEETPAY_DATA_KEYS (keep the old ones after it), run this,
    then remove the old keys.
    """
    from storage.db import make_engine, make_session_factory
    from storage.keys import rotate_all
    from storage.sealing import Sealer
    from storage.uow import UnitOfWork

    settings = _settings()
    sessions = make_session_factory(make_engine(settings.sqlalchemy_url))
    sealer = Sealer([key.get_secret_value() for key in settings.data_keys])
    with UnitOfWork(sessions) as uow:
        counts = rotate_all(uow.session, sealer)
        uow.commit()
    click.echo(
        f"re-sealed with the newest key: {counts['cards']} card(s),"
        f" {counts['bank_accounts']} bank account(s), {counts['links']} pending link(s)"
    )


@keys.command("vapid")
def keys_vapid() -> None:
    """Make a Web Push (VAPID) key pair for the app's push notifications.

    Put the private key in TWEETPAY_VAPID_PRIVATE_KEY (a secret); the public key is derived
    from it and served to the app, nothing else to configure.
    """
    from bot.push import new_vapid_key

    private, public = new_vapid_key()
    click.echo(f"TWEETPAY_VAPID_PRIVATE_KEY={private}")
    click.echo(f"# public key (applicationServerKey, served by the app): {public}")


@main.group()
def pro() -> None:
    """Pro accounts (NGOs, crowdfunding pots)."""


@pro.command("create")
@click.argument("handle")
@click.option("--name", default="", help="Display name, e.g. \"Action contre la Faim\".")
@click.option("--x-user-id", type=int, default=None,
              help="The account's numeric X user id (skips the lookup on X).")
def pro_create(handle: str, name: str, x_user_id: int | None) -> None:
    """Open a Pro account for @HANDLE (idempotent): its X id is looked up on X (or on the
    sandbox emulator when no X API base URL is configured)."""
    import datetime as dt

    from storage.db import make_engine, make_session_factory
    from storage.pro import ProRefused, create_pro
    from storage.uow import UnitOfWork

    settings = _settings()
    handle = handle.lstrip("@")
    if x_user_id is None:
        x_user_id, handle = _look_up(settings, handle)
    sessions = make_session_factory(make_engine(settings.sqlalchemy_url))
    with UnitOfWork(sessions) as uow:
        try:
            user, created = create_pro(uow, x_user_id=x_user_id, handle=handle, name=name,
                                       now=dt.datetime.now(dt.UTC))
        except ProRefused as exc:
            raise click.ClickException(str(exc)) from exc
        uow.commit()
        summary = f"@{user.handle} (X id {user.x_user_id}, \"{user.display_name}\")"
    if created:
        click.echo(f"created Pro account {summary} with its pro wallet user:{x_user_id}")
    else:
        click.echo(f"Pro account {summary} already exists: nothing changed")


class XUnreachable(click.ClickException):
    def __init__(self, base_url: str, exc: Exception) -> None:
        super().__init__(f"cannot reach {base_url} ({type(exc).__name__})")
        self.base_url = base_url


def x_gateway(settings: Settings) -> Any:
    """The gateway to X (the emulator in the sandbox, its credentials from its control API)."""
    from bot.emulator.client import ControlClient
    from bot.gateway import make_gateway

    base_url, credentials = settings.x_api_base_url, None
    try:
        if settings.uses_emulator:
            base_url = f"http://127.0.0.1:{settings.emulator_port}"
            credentials = ControlClient(base_url, timeout=settings.x_timeout_seconds).credentials()
    except (OSError, RuntimeError) as exc:  # RuntimeError: control API
        raise XUnreachable(base_url, exc) from exc
    return make_gateway(settings, base_url=base_url, credentials=credentials)


def _look_up(settings: Settings, handle: str) -> tuple[int, str]:
    """The numeric X id of @handle through the gateway (the emulator in the sandbox)."""
    from handlers.errors import GatewayError

    try:
        gateway = x_gateway(settings)
        user = gateway.user_by_handle(handle)
    except (XUnreachable, GatewayError, OSError) as exc:
        base_url = getattr(exc, "base_url", None) or settings.x_api_base_url
        cause = exc.__cause__ if isinstance(exc, XUnreachable) else exc
        raise click.ClickException(
            f"cannot look up @{handle} on {base_url} ({type(cause).__name__}); is the X API"
            " (or `tweetpay emulator`) running? --x-user-id skips the lookup"
        ) from exc
    if user is None:
        raise click.ClickException(f"no X account named @{handle}")
    return int(user.id), user.username


@main.command("status")
def status_cmd() -> None:
    """Queues, what waits for which X budget and until when, failed rows, last polls, and
    whether a worker is alive (read from the database)."""
    import datetime as dt

    from bot.status import read_status, render
    from storage.db import make_engine, make_session_factory

    settings = _settings()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with make_session_factory(engine)() as session:
            status = read_status(session, dt.datetime.now(dt.UTC),
                                 heartbeat_seconds=settings.heartbeat_seconds)
    finally:
        engine.dispose()
    click.echo(render(status))


@main.command("settings")
@click.option("--markdown", "fmt", flag_value="markdown", help="docs/settings.md's content.")
@click.option("--env-example", "fmt", flag_value="env", help=".env.example's content.")
def settings_cmd(fmt: str | None) -> None:
    """Every TWEETPAY_* setting: name, default and description (from config/settings.py)."""
    from config import reference

    if fmt == "markdown":
        click.echo(reference.markdown(), nl=False)
    elif fmt == "env":
        click.echo(reference.env_example(), nl=False)
    else:
        click.echo(reference.text_table())


from bot.cli_x import x  # noqa: E402  (the `tweetpay x ...` commands, in their own module)

main.add_command(x)

from bot.activity.cli import COMMANDS as ACTIVITY_COMMANDS  # noqa: E402 (x subscribe...)

for _command in ACTIVITY_COMMANDS:
    x.add_command(_command)

from bot.cli_payouts import COMMANDS as PAYOUT_COMMANDS  # noqa: E402 (reconcile, wind-down...)

for _command in PAYOUT_COMMANDS:
    main.add_command(_command)

if __name__ == "__main__":
    main()
