"""A holder's statement as CSV: every movement of their wallet, oldest first. Pure.

Cells a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR at the start)
are quoted with a leading apostrophe, as ``storage.pro.donations_csv`` does (OWASP CSV
injection); amounts are euros with a dot, signed from the holder's point of view.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass

from handlers.money import Money

HEADER = ("date_utc", "transfer_id", "kind", "counterparty", "amount_eur", "balance_eur", "memo")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class StatementLine:
    created_at: dt.datetime
    transfer_id: int
    kind: str
    counterparty: str
    amount: Money  # signed
    memo: str


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _euros(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def statement_csv(lines: Iterable[StatementLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    running = 0
    for line in sorted(lines, key=lambda x: x.transfer_id):
        running += line.amount.cents
        writer.writerow((line.created_at.astimezone(dt.UTC).isoformat(), line.transfer_id,
                         line.kind, _cell(line.counterparty), _euros(line.amount.cents),
                         _euros(running), _cell(line.memo)))
    return out.getvalue()
