"""The `tweetpay` command: one place that lists every entry point.

Each command reads the settings once, configures logging once, then hands over to the module
that does the work; the imports are inside the commands so `tweetpay --help` stays fast and a
command only loads what it uses.
"""

from __future__ import annotations

import sys

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


@click.group()
def main() -> None:
    """tweetpay: pay by tweet."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create the schema or upgrade it to the latest migration."""
    from storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.sqlalchemy_url, revision)
    click.echo(f"schema at {revision} on {settings.sqlalchemy_url.split(':', 1)[0]}")


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
    click.echo("ledger ok: balances sum to 0, each equals its postings, none overdrawn")


@main.command("worker")
@click.option("--sandbox", is_flag=True, help="Seed the sandbox users and print how to play.")
def worker(sandbox: bool) -> None:
    """Run ingest, the outbox sender and the scheduler (the Procfile's worker)."""
    from bot.app import run_worker

    run_worker(_settings(), sandbox=sandbox)


@main.command("web")
def web() -> None:
    """Run the web app (confirmation pages) under uvicorn (the Procfile's web)."""
    from bot.app import run_web

    run_web(_settings())


@main.command("run")
@click.option("--sandbox", is_flag=True, help="Seed the sandbox users and print how to play.")
def run(sandbox: bool) -> None:
    """Run the worker and the web app in one process (with the emulator by default)."""
    from bot.app import run_all

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

    settings = _settings()
    if not memory and state_file is None:
        state_file = str(settings.data_dir / "x-emulator.json")
    serve(settings.emulator_port if port is None else port, None if memory else state_file)


if __name__ == "__main__":
    main()
