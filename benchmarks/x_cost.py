"""What a payment costs on X, from the meter's figures (``bot.x_meter``): the table that
``benchmarks.bot`` prints.

For each completed payment: the X calls by operation, the DMs and posts written, the cost in
USD by X's price table (with X's once-a-day deduplication of resources, and without it: what
the first payment of a day pays), and the payments per hour and per day the bot's X write
limits allow with that mix (DMs: 15 per 15 minutes and 1,440 per day; posts: 100 per 15
minutes and 10,000 per day). The baseline is the payment as it was before the app carried
confirmations: 2 DMs and 2 posts per public payment, about 30 an hour under the DM limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.x_meter import Usage, load_prices, usd

DM_LIMITS = ((15, 4), (1_440, 1))  # (limit, windows per reference period): 15/15 min → 60/h
POST_LIMITS = ((100, 4), (10_000, 1))
DM_OPERATIONS = ("dm_create",)
POST_OPERATIONS = ("summoned_reply", "post_create", "post_create_url")
BASELINE = {"DMs": 2, "posts": 2}


@dataclass
class PaymentCost:
    usage: dict[str, Usage] = field(default_factory=dict)

    @property
    def dms(self) -> int:
        return sum(self.usage[op].requests for op in DM_OPERATIONS if op in self.usage)

    @property
    def posts(self) -> int:
        return sum(self.usage[op].requests for op in POST_OPERATIONS if op in self.usage)

    @property
    def billed_micro_usd(self) -> int:
        return sum(u.micro_usd for u in self.usage.values())

    @property
    def undeduplicated_micro_usd(self) -> int:
        table = load_prices()
        total = 0
        for op, u in self.usage.items():
            price = table.price(op)
            total += price.micro_usd * (u.requests if price.per == "request" else u.resources)
        return total


def delta(before: dict[str, Usage], after: dict[str, Usage]) -> PaymentCost:
    """What happened between two ``Meter.totals()`` snapshots."""
    out: dict[str, Usage] = {}
    for op, now in after.items():
        was = before.get(op, Usage())
        diff = Usage(now.requests - was.requests, now.resources - was.resources,
                     now.billed - was.billed, now.micro_usd - was.micro_usd)
        if diff.requests or diff.resources:
            out[op] = diff
    return PaymentCost(out)


def stored(sessions: Any) -> dict[str, Usage]:
    """The bot's own count so far, from ``x_usage`` (gateway calls and pushed events)."""
    from storage import x_usage

    totals: dict[str, Usage] = {}
    with sessions() as session:
        for row in x_usage.totals(session):
            u = totals.setdefault(row.operation, Usage())
            u.requests += row.requests
            u.resources += row.resources
            u.billed += row.billed
            u.micro_usd += row.cost_micro_usd
    return totals


def per_hour_and_day(dms: int, posts: int) -> tuple[float, float]:
    """Payments the bot's write limits allow per hour and per day with this mix."""
    hour, day = float("inf"), float("inf")
    for used, limits in ((dms, DM_LIMITS), (posts, POST_LIMITS)):
        if not used:
            continue
        (window_limit, per_hour), (daily, _) = limits
        hour = min(hour, window_limit * per_hour / used)
        day = min(day, daily / used)
    day = min(day, hour * 24)
    return hour, day


def _rate(value: float) -> str:
    return "no limit" if value == float("inf") else f"{value:,.0f}"


def table(costs: dict[str, PaymentCost]) -> str:
    prices = load_prices()
    channels = list(costs)
    ops = sorted({op for cost in costs.values() for op in cost.usage})
    width = 26
    lines = [f"X cost per completed payment (price table of {prices.as_of}; received by"
             " polling, as the worker does by default, or by X Activity API push)",
             f"{'':<{width}}" + "".join(f"{c:>22}" for c in channels) + f"{'baseline':>22}"]

    def row(label: str, values: list[str], baseline: str = "") -> None:
        lines.append(f"{label:<{width}}" + "".join(f"{v:>22}" for v in values)
                     + f"{baseline:>22}")

    for op in ops:
        cells = []
        for c in channels:
            u = costs[c].usage.get(op)
            cells.append(f"{u.requests} calls, {u.resources} res" if u else "-")
        row(op, cells)
    row("DMs written", [str(costs[c].dms) for c in channels], str(BASELINE["DMs"]))
    row("posts written", [str(costs[c].posts) for c in channels], str(BASELINE["posts"]))
    row("USD, X's daily dedup", [usd(costs[c].billed_micro_usd) for c in channels])
    row("USD, first of the day", [usd(costs[c].undeduplicated_micro_usd) for c in channels])
    base_hour, base_day = per_hour_and_day(BASELINE["DMs"], BASELINE["posts"])
    rates = [per_hour_and_day(costs[c].dms, costs[c].posts) for c in channels]
    row("payments/hour (X limits)", [_rate(h) for h, _ in rates], _rate(base_hour))
    row("payments/day (X limits)", [_rate(d) for _, d in rates], _rate(base_day))
    row("ratio to baseline, /hour",
        ["∞" if h == float("inf") else f"{h / base_hour:.1f}x" for h, _ in rates], "1.0x")
    return "\n".join(lines)
