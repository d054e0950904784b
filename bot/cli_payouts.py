"""`tweetpay reconcile`, `tweetpay wind-down start|status` and `tweetpay payouts
sandbox-advance`: money out's commands (``bot.cli`` adds them to the main group)."""

from __future__ import annotations

import sys

import click
from sqlalchemy.orm import Session, sessionmaker

from config import Settings


def _settings() -> Settings:
    from bot.cli import _settings as read

    return read()


def _sessions(settings: Settings) -> sessionmaker[Session]:
    from storage.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.sqlalchemy_url))


@click.command("reconcile")
@click.option("--since", default=None, help="Only records from this date (YYYY-MM-DD, UTC).")
def reconcile_cmd(since: str | None) -> None:
    """Compare the ledger with the providers' records (card charges and refunds, payouts
    and returns); list every mismatch; exit 1 on any."""
    import datetime as dt

    from bot.payments.sandbox import make_provider
    from bot.payments.sepa_sandbox import make_payout_provider
    from bot.services import reconcile

    settings = _settings()
    start = None
    if since is not None:
        try:
            start = dt.datetime.combine(dt.date.fromisoformat(since), dt.time(), dt.UTC)
        except ValueError as exc:
            raise click.BadParameter("a date such as 2026-12-01", param_hint="--since") from exc
    found = reconcile.run(_sessions(settings), make_provider(settings),
                          make_payout_provider(settings), dt.datetime.now(dt.UTC), start)
    for mismatch in found:
        click.echo(f"MISMATCH: {mismatch.line()}")
    if found:
        click.echo(f"{len(found)} mismatch(es)")
        sys.exit(1)
    click.echo("reconciled: the ledger and the providers agree")


@click.group("wind-down")
def wind_down_group() -> None:
    """Close the service: no new payments, everyone withdraws."""


@wind_down_group.command("start")
def wind_down_start() -> None:
    """Refuse new payments, requests and top-ups; tell every holder to withdraw."""
    import datetime as dt

    from bot.services import wind_down

    started = wind_down.start(_sessions(_settings()), dt.datetime.now(dt.UTC))
    click.echo("wind-down started: new payments, requests and top-ups are refused; holders"
               " are told to withdraw" if started else "wind-down was already on")


@wind_down_group.command("status")
def wind_down_status() -> None:
    """What remains held, and by whom."""
    from bot.services import wind_down

    state = wind_down.status(_sessions(_settings()))
    click.echo(f"wind-down: {'since ' + state.started_at if state.started_at else 'off'}")
    click.echo(f"held in wallets: {state.total.format('en')} by {len(state.holders)} holder(s);"
               f" in escrow: {state.escrow.format('en')}; withdrawals in flight:"
               f" {state.in_flight.format('en')}; reminders queued: {state.notices_queued}")
    for holder in state.holders:
        click.echo(f"  {holder.balance.format('en'):>14}  @{holder.handle} (X id"
                   f" {holder.x_user_id}, {holder.kind})")


@click.group("payouts")
def payouts_group() -> None:
    """The payout provider."""


@payouts_group.command("sandbox-advance")
@click.option("--hours", type=float, default=24.0, show_default=True)
def payouts_sandbox_advance(hours: float) -> None:
    """Move the sandbox SEPA provider's clock forward (standard transfers settle on the next
    business day); the worker's payout job then records what settled."""
    import datetime as dt

    from bot.payments.sepa_sandbox import make_payout_provider

    now = make_payout_provider(_settings()).advance(dt.timedelta(hours=hours))
    click.echo(f"sandbox SEPA clock now {now.strftime('%Y-%m-%d %H:%M UTC (%A)')}")


COMMANDS = [reconcile_cmd, wind_down_group, payouts_group]
