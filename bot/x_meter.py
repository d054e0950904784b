"""The X cost meter: X's pay-per-use price table (``x_prices.json``) and a counter of calls.

One ``Meter`` class serves both sides, so they cannot disagree on the arithmetic: the emulator
prices every call it answers and every event it pushes (``/_control/usage``), and the bot
counts its own calls in the gateway and the events it ingests. Usage is kept per *operation*
(``owned_read``, ``user_read``, ``summoned_reply``, ``dm_create``, ``event.dm.received``...):

- per-resource operations (reads) count the resources returned; X bills a resource once per
  UTC day however often it comes back, so ``billed`` counts the distinct ones per day;
- per-request operations (posts, DMs) bill every request;
- per-event operations (pushed XAA events) bill an event once per UTC day, keyed by the
  resource it carries (a redelivery or a replay of the same post is not billed twice).

Amounts are integer micro-dollars (1 USD = 1,000,000), never floats. The bot's own figures
also go to Prometheus counters (``bot.metrics``, shown by ``/metrics``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).with_name("x_prices.json")
MICRO = 1_000_000
# What X's link shortener turns into a t.co link (and so a $0.20 post): a scheme or www.
_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S")


@dataclass(frozen=True)
class Price:
    micro_usd: int
    per: str  # "resource", "request" or "event"
    what: str


@dataclass(frozen=True)
class PriceTable:
    source: str
    as_of: str
    prices: dict[str, Price]

    def price(self, operation: str) -> Price:
        return self.prices.get(operation) or Price(0, "request", "not in X's table")


@cache
def load_prices(path: Path = PRICES_FILE) -> PriceTable:
    raw = json.loads(path.read_text())
    prices = {
        name: Price(int(Decimal(row["price"]) * MICRO), row["per"], row.get("what", ""))
        for name, row in raw["operations"].items()
    }
    return PriceTable(raw["source"], raw["as_of"], prices)


def has_url(text: str) -> bool:
    return bool(_URL.search(text))


def post_operation(text: str, *, in_reply_to: bool, summoned: bool = True) -> str:
    """How X bills a post: with a URL $0.20; a summoned reply $0.01; any other post $0.015."""
    if has_url(text):
        return "post_create_url"
    return "summoned_reply" if in_reply_to and summoned else "post_create"


def event_operation(event_type: str) -> str:
    return f"event.{event_type}"


@dataclass
class Usage:
    requests: int = 0
    resources: int = 0
    billed: int = 0  # resources (or requests, events) X charges for
    micro_usd: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "resources": self.resources, "billed": self.billed,
                "cost_micro_usd": self.micro_usd, "cost_usd": usd(self.micro_usd)}


def usd(micro_usd: int) -> str:
    """``1234`` → ``"0.001234"``: exact, for display."""
    return f"{Decimal(micro_usd) / MICRO:f}"


@dataclass
class Meter:
    """Usage per operation with X's per-day deduplication; thread-safe.

    ``clock`` gives epoch seconds (the emulator passes its movable clock). ``on_record`` is
    called with each increment and its UTC day (the bot: Prometheus and the database).
    """

    table: PriceTable = field(default_factory=load_prices)
    clock: Callable[[], float] | None = None
    on_record: Callable[[str, Usage, str], None] | None = None
    _usage: dict[str, Usage] = field(default_factory=dict)
    _seen: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _day(self) -> str:
        now = self.clock() if self.clock else dt.datetime.now(dt.UTC).timestamp()
        return dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()

    def record(self, operation: str, resource_ids: Iterable[str] = (), *,
               request: bool = True) -> Usage:
        """Count one request (unless ``request=False``: resources that came with another call,
        e.g. users in ``includes``) and the resources it returned; return the increment."""
        price = self.table.price(operation)
        ids = [str(i) for i in resource_ids]
        day = self._day()
        with self._lock:
            if any(key[1] != day for key in self._seen):  # a new UTC day: forget the old one
                self._seen = {k: v for k, v in self._seen.items() if k[1] == day}
            seen = self._seen.setdefault((operation, day), set())
            fresh = {i for i in ids if i not in seen}
            seen.update(fresh)
            per_request = price.per == "request"
            billed = (1 if request else 0) if per_request else len(fresh)
            delta = Usage(requests=1 if request else 0, resources=len(ids), billed=billed,
                          micro_usd=billed * price.micro_usd)
            total = self._usage.setdefault(operation, Usage())
            total.requests += delta.requests
            total.resources += delta.resources
            total.billed += delta.billed
            total.micro_usd += delta.micro_usd
        if self.on_record is not None:
            self.on_record(operation, delta, day)
        return delta

    def totals(self) -> dict[str, Usage]:
        with self._lock:
            return {op: Usage(**vars(u)) for op, u in sorted(self._usage.items())}

    def reset(self) -> None:
        with self._lock:
            self._usage.clear()
            self._seen.clear()


def count_in_prometheus(operation: str, delta: Usage, day: str = "") -> None:
    """The bot's ``on_record``: its X usage as Prometheus counters."""
    from bot.metrics import X_COST, X_EVENTS, X_REQUESTS, X_RESOURCES

    if operation.startswith("event."):
        X_EVENTS.labels(operation).inc(delta.requests)
    elif delta.requests:
        X_REQUESTS.labels(operation).inc(delta.requests)
    if delta.resources:
        X_RESOURCES.labels(operation).inc(delta.resources)
    if delta.micro_usd:
        X_COST.labels(operation).inc(delta.micro_usd / MICRO)


def read_usage(endpoint: str, body: dict[str, Any], *,
               owned: bool = True) -> list[tuple[str, list[str], bool]]:
    """What a read answered with, as ``(operation, resource ids, is the request)`` rows.

    ``owned``: a mentions read of the authenticated account itself, which owns the app (X's
    owned-read price). Users that come in ``includes`` are billed as user reads.
    """
    data = body.get("data")
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    ids = [str(item.get("id")) for item in items if isinstance(item, dict)]
    included = [str(u.get("id")) for u in (body.get("includes") or {}).get("users", [])]
    main = {"mentions": "owned_read" if owned else "post_read", "dm_events": "dm_read"}.get(
        endpoint, "user_read")
    rows = [(main, ids, True)]
    if included:
        rows.append(("user_read", included, False))
    return rows


READ_ENDPOINTS = frozenset({"users_me", "user_by_username", "user_by_id", "mentions",
                            "dm_events"})
# XAA management calls: X publishes no price for them (0 in the table, still counted).
MANAGE_ENDPOINTS = {"webhooks": "webhooks", "subscriptions": "subscriptions",
                    "replay": "replay"}


def persisting(sessions: Any) -> Callable[[str, Usage, str], None]:
    """An ``on_record`` that counts in Prometheus and adds to ``x_usage`` (its own short
    transaction, after the call: never inside another one). A failure to write is logged,
    never raised: the X call it describes has happened and must not look failed."""
    from bot.logging import get_logger
    from storage import x_usage
    from storage.uow import UnitOfWork

    log = get_logger(__name__)

    def record(operation: str, delta: Usage, day: str) -> None:
        count_in_prometheus(operation, delta)
        try:
            with UnitOfWork(sessions) as uow:
                x_usage.add(uow.session, day=day, operation=operation,
                            requests=delta.requests, resources=delta.resources,
                            billed=delta.billed, cost_micro_usd=delta.micro_usd)
                uow.commit()
        except Exception as exc:  # the meter must never break a call that went through
            log.warning("x_meter.not_saved", operation=operation, error=type(exc).__name__)

    return record
