"""What the bot is doing, read from the database: ``tweetpay status``, /healthz and /ops.

Queues (inbox and outbox by status), the messages waiting for an X budget and until when
(the bot's own budget counted from the outbox, or a reset time X gave with a 429), failed
rows with their errors, the last poll of each kind and each worker's heartbeat. Values only:
the CLI and the pages render them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.heartbeat import WorkerState, workers
from bot.outbox_sender import Budgets, available, free_at
from storage import x_usage
from storage.models import InboxEvent, OutboxMessage, XUsage

POLL_JOBS = ("poll_mentions", "poll_dms")
FAILED_SHOWN = 20


@dataclass(frozen=True, slots=True)
class BudgetWait:
    kind: str
    waiting: int  # pending rows of this kind due now but held back
    room: int  # messages the budget allows right now
    until: dt.datetime | None  # when the next one may go (None: not held)
    reason: str  # "bot budget" | "X said 429"


@dataclass(frozen=True, slots=True)
class FailedRow:
    table: str  # inbox | outbox
    id: int
    kind: str
    error: str
    at: dt.datetime | None
    attempts: int = 0


@dataclass
class Status:
    now: dt.datetime
    inbox: dict[str, int] = field(default_factory=dict)
    outbox: dict[tuple[str, str], int] = field(default_factory=dict)
    oldest_pending: dict[str, dt.datetime] = field(default_factory=dict)
    waits: list[BudgetWait] = field(default_factory=list)
    failed: list[FailedRow] = field(default_factory=list)
    workers: list[WorkerState] = field(default_factory=list)
    last_polls: dict[str, str | None] = field(default_factory=dict)
    x_usage: list[XUsage] = field(default_factory=list)  # today (UTC), by operation

    @property
    def worker_alive(self) -> bool:
        return any(w.alive for w in self.workers)


def budget_waits(session: Session, now: dt.datetime, budgets: Budgets | None = None
                 ) -> list[BudgetWait]:
    """What waits for which X budget, and until when."""
    budgets = budgets or Budgets()
    room = available(session, now, budgets)
    found: list[BudgetWait] = []
    for kind in ("dm", "reply"):
        due = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == kind, OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now)) or 0
        if due and room[kind] <= 0:
            found.append(BudgetWait(kind, due, 0, free_at(session, kind, now, budgets),
                                    "bot budget"))
        # X refused with a 429: the row waits for X's reset time (the sender stored it).
        held = session.execute(select(func.count(), func.max(OutboxMessage.next_attempt_at))
                               .where(OutboxMessage.kind == kind,
                                      OutboxMessage.status == "pending",
                                      OutboxMessage.next_attempt_at > now,
                                      OutboxMessage.last_error.like("RateLimited%"))).one()
        if held[0]:
            found.append(BudgetWait(kind, held[0], room[kind], held[1], "X said 429"))
    return found


def read_status(session: Session, now: dt.datetime, *, heartbeat_seconds: float,
                budgets: Budgets | None = None) -> Status:
    status = Status(now)
    for name, n in session.execute(select(InboxEvent.status, func.count())
                                   .group_by(InboxEvent.status)):
        status.inbox[name] = n
    for kind, name, n in session.execute(
        select(OutboxMessage.kind, OutboxMessage.status, func.count())
        .where(OutboxMessage.status.in_(("pending", "sending", "failed")))
        .group_by(OutboxMessage.kind, OutboxMessage.status)
    ):
        status.outbox[(kind, name)] = n
    for kind, first in session.execute(
        select(OutboxMessage.kind, func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status == "pending").group_by(OutboxMessage.kind)
    ):
        if first is not None:
            status.oldest_pending[kind] = first
    status.waits = budget_waits(session, now, budgets)
    for row in session.scalars(select(InboxEvent).where(InboxEvent.status == "failed")
                               .order_by(InboxEvent.id.desc()).limit(FAILED_SHOWN)):
        status.failed.append(FailedRow("inbox", row.id, row.source, row.error or "",
                                       row.processed_at or row.received_at))
    for out in session.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed")
                               .order_by(OutboxMessage.id.desc()).limit(FAILED_SHOWN)):
        status.failed.append(FailedRow("outbox", out.id, out.kind, out.last_error or "",
                                       out.next_attempt_at, out.attempts))
    status.x_usage = x_usage.totals(session, now.astimezone(dt.UTC).date().isoformat())
    status.workers = workers(session, now, heartbeat_seconds)
    for job in POLL_JOBS:
        runs = [w.jobs[job]["last_run"] for w in status.workers if job in w.jobs]
        status.last_polls[job] = max(runs) if runs else None
    return status


def _ago(now: dt.datetime, then: dt.datetime) -> str:
    seconds = int((now - then).total_seconds())
    return f"{seconds}s ago" if seconds >= 0 else f"in {-seconds}s"


def _x_lines(status: Status) -> list[str]:
    """The bot's X calls by operation today and what they cost by X's price table."""
    from bot.x_meter import load_prices, usd

    table = load_prices()
    lines = [f"X usage today (UTC; prices as of {table.as_of}):"]
    for row in status.x_usage:
        lines.append(f"  {row.operation:<28} {row.requests:>6} calls {row.resources:>6}"
                     f" resources {row.billed:>6} billed  ${usd(row.cost_micro_usd)}")
    total = sum(row.cost_micro_usd for row in status.x_usage)
    lines.append(f"  total ${usd(total)}" if status.x_usage else "  no X call yet")
    return lines


def render(status: Status) -> str:
    """The text ``tweetpay status`` prints."""
    now = status.now
    stamp = now.strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [f"tweetpay status at {stamp}", ""]
    inbox = ", ".join(f"{k} {v}" for k, v in sorted(status.inbox.items())) or "empty"
    lines.append(f"inbox: {inbox}")
    outbox = ", ".join(f"{kind} {name} {n}" for (kind, name), n in sorted(status.outbox.items()))
    lines.append(f"outbox: {outbox or 'nothing pending or failed'}")
    for kind, first in sorted(status.oldest_pending.items()):
        lines.append(f"  oldest pending {kind}: created {_ago(now, first)}")
    lines.append("")
    if status.waits:
        lines.append("waiting for X's budget:")
        for w in status.waits:
            until = w.until.strftime("%H:%M:%S UTC") if w.until else "?"
            lines.append(f"  {w.waiting} {w.kind} message(s) ({w.reason}) until {until}"
                         f" ({_ago(now, w.until) if w.until else '?'})")
    else:
        lines.append("waiting for X's budget: nothing")
    lines.append("")
    lines.append(f"failed rows: {len(status.failed)}" + (" (latest first)" if status.failed
                                                          else ""))
    for f in status.failed:
        extra = f", {f.attempts} attempts" if f.table == "outbox" else ""
        lines.append(f"  {f.table} #{f.id} {f.kind}{extra}: {f.error[:160]}")
    lines.append("")
    for job in POLL_JOBS:
        last = status.last_polls.get(job)
        seen = _ago(now, dt.datetime.fromisoformat(last)) if last else "never (no worker seen)"
        lines.append(f"last {job}: {seen}")
    lines.append("")
    if not status.workers:
        lines.append("workers: none has ever written a heartbeat")
    for worker in status.workers:
        state = "alive" if worker.alive else "DEAD"
        lines.append(f"worker {worker.worker}: {state}, last heartbeat"
                     f" {_ago(now, worker.beat_at)},"
                     f" up since {worker.started_at.strftime('%Y-%m-%d %H:%M:%S UTC')}")
    lines += ["", *_x_lines(status)]
    return "\n".join(lines)
