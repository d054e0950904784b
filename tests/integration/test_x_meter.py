"""The X cost meter: what the bot counts of its own X usage (``x_usage``, fed by the gateway
and the push ingest) equals what the emulator bills by the same price table, call for call,
on SQLite and PostgreSQL; ``tweetpay status`` shows it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.metrics import render as render_metrics
from bot.status import read_status, render
from bot.x_meter import load_prices, usd
from storage.models import XUsage

try:
    from tests.integration.bot_world import PIN, World, make_world
    from tests.integration.test_activity_push import Push, push
except ImportError:  # tests/ itself on sys.path (pytest's rootdir-less import mode)
    from integration.bot_world import PIN, World, make_world
    from integration.test_activity_push import Push, push  # noqa: F401 (fixture)


@pytest.fixture
def world(engine: Engine, emulator: object) -> Iterator[World]:
    with make_world(engine, emulator) as built:
        yield built


def _bot_side(world: World) -> dict[str, dict[str, int]]:
    with world.runtime.sessions() as session:
        rows = session.scalars(select(XUsage)).all()
        totals: dict[str, dict[str, int]] = {}
        for row in rows:
            seen = totals.setdefault(row.operation, dict.fromkeys(
                ("requests", "resources", "billed", "cost_micro_usd"), 0))
            for key in seen:
                seen[key] += getattr(row, key)
    return totals


def _emulator_side(world: World) -> dict[str, dict[str, int]]:
    usage: dict[str, Any] = world.emulator.control.usage()  # type: ignore[attr-defined]
    assert usage["as_of"] == load_prices().as_of
    return {op: {k: u[k] for k in ("requests", "resources", "billed", "cost_micro_usd")}
            for op, u in usage["operations"].items()}


def test_the_bots_meter_and_the_emulators_bill_agree_over_polled_payments(world: World) -> None:
    world.tweet("alice", "@Smoney #envoyer 12,99€ @bob merci")
    world.runtime.tick()
    assert world.confirm(world.link_for("alice"), PIN["alice"])[0] == 200
    world.dm("alice", "#envoyer 3€ @bob")
    world.runtime.tick()
    assert world.confirm(world.link_for("alice"), PIN["alice"])[0] == 200
    world.runtime.tick()
    world.runtime.tick()  # a second pass re-reads the same DMs: billed once a day
    bot, emulator = _bot_side(world), _emulator_side(world)
    assert bot == emulator
    assert {"owned_read", "dm_read", "user_read", "summoned_reply", "dm_create"} <= set(bot)
    assert bot["dm_read"]["resources"] > bot["dm_read"]["billed"]
    with world.runtime.sessions() as session:
        text = render(read_status(session, world.clock(), heartbeat_seconds=30))
    total = sum(u["cost_micro_usd"] for u in bot.values())
    assert "X usage today" in text and "summoned_reply" in text
    assert f"total ${usd(total)}" in text
    metrics = render_metrics().decode()  # /metrics shows the default registry
    assert 'tweetpay_x_requests_total{operation="summoned_reply"}' in metrics
    assert 'tweetpay_x_cost_usd_total{operation="dm_create"}' in metrics


def test_pushed_events_are_metered_alike_on_both_sides(push: Push) -> None:
    world = push.world
    world.tweet("alice", "@Smoney #envoyer 2€ @bob")
    world.dm("bob", "#solde")
    push.settle()
    bot, emulator = _bot_side(world), _emulator_side(world)
    assert bot == emulator
    assert bot["event.post.mention.create"]["billed"] == 1
    assert bot["event.dm.received"]["billed"] == 1
