"""Reconciliation: the ledger against the providers' own records, line by line.

``reconcile(sessions, card_provider, payout_provider, since)`` lists every mismatch:

- card charges: each ``Charge`` row against the acquirer's charge of the same id (missing on
  one side, another amount, another status), the ledger's top-up transfer against a succeeded
  charge, and any refund the acquirer made that the ledger does not hold;
- payouts: each withdrawal that reached the provider against the provider's payout under
  its idempotency key (missing, amount, state: ``submitted`` ↔ ``pending``, ``settled`` ↔
  ``settled``, ``returned`` ↔ ``returned``), the ledger transfers each state implies, and the
  settlement account's balance against what the provider says it paid out.

``run`` records the count (``service_flags.reconcile_last``) for ``/metrics``
(``ReconcileCollector``: ``tweetpay_reconciliation_mismatches``); ``tweetpay reconcile``
prints the list and exits non-zero on any; the worker runs it daily.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.payments.payouts import PayoutProvider, PayoutState
from storage import payouts
from storage.ledger import settlement_account_code
from storage.models import Account, Charge, Transfer
from storage.uow import UnitOfWork

LAST = "reconcile_last"
OUR_TO_THEIRS = {"submitting": "pending", "submitted": "pending", "settled": "settled",
                 "returned": "returned"}


@dataclass(frozen=True, slots=True)
class Mismatch:
    source: str  # "card" or "payout"
    kind: str  # missing_at_provider, missing_in_ledger, amount, state
    reference: str
    ours: str
    theirs: str

    def line(self) -> str:
        return (f"{self.source} {self.reference}: {self.kind.replace('_', ' ')}"
                f" (ledger: {self.ours}; provider: {self.theirs})")


def _transfer_cents(session: Session, transfer_id: int | None) -> int | None:
    if transfer_id is None:
        return None
    return session.scalar(select(Transfer.amount_cents).where(Transfer.id == transfer_id))


def _cards(session: Session, provider: Any, since: dt.datetime | None) -> Iterator[Mismatch]:
    query = select(Charge)
    if since is not None:
        query = query.where(Charge.created_at >= since)
    # A pending row has not reached the provider yet (or never did: it failed before).
    ours = {c.provider_charge_id: c for c in session.scalars(query) if c.provider_charge_id}
    theirs = {r.id: r for r in provider.charges()
              if since is None or dt.datetime.fromisoformat(r.created_at) >= since}
    for cid, row in ours.items():
        record = theirs.get(cid)
        if record is None:
            yield Mismatch("card", "missing_at_provider", cid, f"{row.amount_cents}c", "none")
            continue
        if record.amount.cents != row.amount_cents:
            yield Mismatch("card", "amount", cid, f"{row.amount_cents}c",
                           f"{record.amount.cents}c")
        # An abandoned 3-D Secure challenge: authorised at the provider, never captured.
        abandoned = row.status == "abandoned" and record.status == "requires_action"
        if record.status != row.status and not abandoned:
            yield Mismatch("card", "state", cid, row.status, record.status)
        credited = _transfer_cents(session, row.transfer_id)
        if row.status == "succeeded" and credited != record.amount.cents:
            yield Mismatch("card", "amount", f"{cid} top-up", f"{credited}c",
                           f"{record.amount.cents}c")
        if record.refunded.cents:  # the ledger posts no card refund (none is ever made)
            yield Mismatch("card", "missing_in_ledger", f"{cid} refund", "0c",
                           f"{record.refunded.cents}c")
    for cid, record in theirs.items():
        if cid not in ours:
            yield Mismatch("card", "missing_in_ledger", cid, "none",
                           f"{record.amount.cents}c {record.status}")


def _payouts(session: Session, provider: PayoutProvider, since: dt.datetime | None
             ) -> Iterator[Mismatch]:
    ours = {payouts.idempotency_key(w.id): w for w in payouts.all_withdrawals(session, since)}
    theirs: dict[str, PayoutState] = {p.idempotency_key: p for p in provider.payouts(since)}
    for key, row in ours.items():
        state = theirs.get(key)
        if row.status in ("failed", "confirmed", "cancelled"):
            if state is not None:  # the provider has what we think it never got
                yield Mismatch("payout", "state", key, row.status, state.status)
            continue
        if state is None:
            yield Mismatch("payout", "missing_at_provider", key, row.status, "none")
            continue
        if state.amount.cents != row.amount_cents:
            yield Mismatch("payout", "amount", key, f"{row.amount_cents}c",
                           f"{state.amount.cents}c")
        if OUR_TO_THEIRS.get(row.status) != state.status:
            yield Mismatch("payout", "state", key, row.status, state.status)
        implied = {"settled": row.settle_transfer_id,
                   "returned": row.return_transfer_id}.get(row.status, row.hold_transfer_id)
        if _transfer_cents(session, implied) != row.amount_cents:
            yield Mismatch("payout", "missing_in_ledger", f"{key} {row.status} transfer",
                           "none", f"{row.amount_cents}c")
    for key, state in theirs.items():
        if key not in ours:
            yield Mismatch("payout", "missing_in_ledger", key, "none",
                           f"{state.amount.cents}c {state.status}")
    if since is None:  # balances hold everything since the start
        code = settlement_account_code(provider.name)
        held = session.scalar(select(Account.balance_cents).where(Account.code == code)) or 0
        paid = sum(p.amount.cents for p in theirs.values() if p.status == "settled")
        if held != paid:
            yield Mismatch("payout", "amount", code, f"{held}c", f"{paid}c settled")


def reconcile(sessions: sessionmaker[Session], card_provider: Any,
              payout_provider: PayoutProvider, since: dt.datetime | None = None
              ) -> list[Mismatch]:
    with sessions() as session:
        return [*_cards(session, card_provider, since),
                *_payouts(session, payout_provider, since)]


def run(sessions: sessionmaker[Session], card_provider: Any, payout_provider: PayoutProvider,
        now: dt.datetime, since: dt.datetime | None = None) -> list[Mismatch]:
    """Reconcile and record the count for ``/metrics``."""
    found = reconcile(sessions, card_provider, payout_provider, since)
    with UnitOfWork(sessions) as uow:
        payouts.set_flag(uow.session, LAST, json.dumps({"at": now.isoformat(),
                                                        "mismatches": len(found)}), now)
        uow.commit()
    return found


class ReconcileCollector(Collector):
    """``tweetpay_reconciliation_mismatches``: the last reconciliation's count, read from
    the database at scrape (any process answers the same)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        gauge = GaugeMetricFamily("tweetpay_reconciliation_mismatches",
                                  "Mismatches the last reconciliation with the providers found.")
        try:
            with self._sessions() as session:
                value = payouts.flag(session, LAST)
        except Exception:  # a scrape must not fail because the database is down
            return
        if value is not None:
            gauge.add_metric([], json.loads(value)["mismatches"])
            yield gauge

