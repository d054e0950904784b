"""The chaos run, short (benchmarks/chaos.py has the long one): real web and worker processes
killed with SIGKILL every 1–4 s for 20 s under load with X faults on and off and a short
outage, then drained and checked (ledger, money, one transfer per confirmed intent, one reply
per mention, nothing doubled, lost or stuck). SQLite; PostgreSQL in the long run."""

from __future__ import annotations

import pytest

from benchmarks.chaos import run


@pytest.mark.slow
def test_short_chaos_run_keeps_every_invariant(capsys: pytest.CaptureFixture[str]) -> None:
    status = run(20, None, 1, 1, (1.0, 4.0), outage=3.0, seed=7)
    out = capsys.readouterr().out
    print(out)
    assert status == 0, out
    assert "kills" in out and "doubled: 0" in out and "lost: 0" in out
