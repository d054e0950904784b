"""Several web processes on one port (``TWEETPAY_WEB_WORKERS``): ``tweetpay web`` spawns them,
they all answer, ``/metrics`` sums their counters, and SIGTERM stops every one of them."""

from __future__ import annotations

import multiprocessing
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.web.server import worker_app_kwargs, worker_count
from config import load_settings

TWEETPAY = str(Path(sys.executable).parent / "tweetpay")
POSTS = 24


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return found


def _refused_count(text: str) -> float:
    match = re.search(r'^tweetpay_confirmations_total\{outcome="refused"\} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def test_worker_count_resolves_zero_per_engine() -> None:
    sqlite = load_settings(database_url="sqlite:////tmp/x.sqlite3", web_workers=0)
    postgres = load_settings(database_url="postgresql+psycopg://u@127.0.0.1/db", web_workers=0)
    assert worker_count(sqlite) == 1  # one writer at a time: a second process only waits
    assert worker_count(postgres) == (os.cpu_count() or 1)
    assert worker_count(load_settings(database_url="sqlite:////tmp/x.sqlite3",
                                      web_workers=3)) == 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_two_web_workers_answer_and_metrics_sum_them(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        "TWEETPAY_DATA_DIR": str(tmp_path), "TWEETPAY_WEB_PORT": str(port),
        "TWEETPAY_WEB_WORKERS": "2", "TWEETPAY_LOG_FORMAT": "json",
    }
    log_path = tmp_path / "web.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([TWEETPAY, "web"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the web process exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, log_path.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        workers = [pid for pid in _children(proc.pid)
                   if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2

        # Each POST on a new connection: the kernel hands connections to either worker.
        form = {"pin": "123456", "amount_cents": "100", "payee": "1"}
        for _ in range(POSTS):
            response = httpx.post(f"{base}/c/{secrets.token_urlsafe(32)}", data=form,
                                  headers={"Sec-Fetch-Site": "same-origin"}, timeout=10)
            assert response.status_code == 404  # an unknown link, counted as refused
        # Whichever worker answers the scrape, it reports all of them.
        for _ in range(6):
            assert _refused_count(httpx.get(f"{base}/metrics", timeout=10).text) == POSTS
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    time.sleep(0.5)
    assert all(not Path(f"/proc/{pid}").exists() or
               "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
               for pid in workers)


def _take_a_permit(kwargs: dict[str, Any], taken: Any) -> None:
    assert kwargs["pin_gate"].acquire(timeout=5)
    taken.set()  # and the process ends holding it, as a killed worker would


def test_the_workers_share_one_pin_permit_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    # Twice a worker's share of the cores, up to all of them: what the threads can hold of
    # memory (19 MiB each) stays within 2 x cores checks' worth.
    for cpus, workers, threads in ((2, 2, 2), (8, 8, 2), (8, 2, 8), (16, 3, 10), (1, 4, 1)):
        monkeypatch.setattr(os, "cpu_count", lambda cpus=cpus: cpus)
        assert worker_app_kwargs({}, workers)["pin_threads"] == threads
    monkeypatch.undo()
    kwargs = worker_app_kwargs({"bot_user_id": 7}, 2)
    cores = os.cpu_count() or 1
    assert kwargs["bot_user_id"] == 7
    # The permits cross to spawned workers (uvicorn's) and are the same ones there.
    spawn = multiprocessing.get_context("spawn")
    taken = spawn.Event()
    child = spawn.Process(target=_take_a_permit, args=(kwargs, taken))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 0 and taken.is_set()
    gate = kwargs["pin_gate"]
    assert [gate.acquire(timeout=0) for _ in range(cores)] == [True] * (cores - 1) + [False]
