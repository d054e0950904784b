"""The Procfile under honcho, as a newcomer runs it: `.venv/bin/honcho start` with no activated
virtualenv. It must start the emulator, the web pages and the worker, seed the sandbox, keep
running after the one-shot release step, carry one payment from alice to bob, and stop on
Ctrl-C."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
LINK = re.compile(r"http://127\.0\.0\.1:\d+/c/([A-Za-z0-9_\-]+)")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(what: str, check: Callable[[], Any], proc: subprocess.Popen[str],
           seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"honcho exited while waiting for {what}"
        try:
            found = check()
        except requests.RequestException:
            found = None
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def honcho(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, int], Path]]:
    if not (VENV_BIN / "honcho").exists() or not (VENV_BIN / "tweetpay").exists():
        pytest.skip("honcho and tweetpay are installed in the virtualenv by `make`")
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(ROOT / "Procfile", app / "Procfile")
    (app / ".venv").symlink_to(VENV_BIN.parent)  # the Procfile names .venv/bin/...
    ports = {"web": _free_port(), "emulator": _free_port(), "metrics": _free_port()}
    env = {
        "PATH": "/usr/bin:/bin",  # no virtualenv on PATH: as without `source .venv/bin/activate`
        "HOME": str(tmp_path),
        "TWEETPAY_WEB_PORT": str(ports["web"]),
        "TWEETPAY_EMULATOR_PORT": str(ports["emulator"]),
        "TWEETPAY_WORKER_METRICS_PORT": str(ports["metrics"]),
        "TWEETPAY_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['web']}",
    }
    log = (tmp_path / "honcho.log").open("w+")
    proc = subprocess.Popen([str(VENV_BIN / "honcho"), "start"], cwd=app, env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        yield proc, ports, tmp_path / "honcho.log"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_honcho_runs_the_sandbox_and_a_payment_goes_through(
    honcho: tuple[subprocess.Popen[str], dict[str, int], Path],
) -> None:
    proc, ports, log_path = honcho
    emulator = f"http://127.0.0.1:{ports['emulator']}"
    web = f"http://127.0.0.1:{ports['web']}"
    _until("the seeded sandbox", lambda: "tweetpay sandbox is running" in log_path.read_text()
           and "release done" in log_path.read_text(), proc)
    _until("the web pages", lambda: requests.get(f"{web}/healthz", timeout=2).ok, proc)
    _until("a worker heartbeat", lambda: requests.get(f"{web}/healthz", timeout=2)
           .json()["worker"] == "alive", proc)

    requests.post(f"{emulator}/_control/tweets", timeout=5, json={
        "author": "alice", "text": "@Smoney #envoyer 3,50€ @bob pour le café"}).raise_for_status()

    def link() -> str | None:
        for dm in requests.get(f"{emulator}/_control/bot/posts", timeout=2).json()["dms"]:
            match = LINK.search(str(dm["text"]))
            if match:
                return match.group(1)
        return None

    token = _until("alice's confirmation link", link, proc)
    page = requests.get(f"{web}/c/{token}", timeout=5)
    assert page.status_code == 200 and "3,50" in page.text
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    done = requests.post(f"{web}/c/{token}", data={**fields, "pin": "482916"},
                         headers={"Origin": web}, timeout=30)
    assert done.status_code == 200, done.text

    def bob_paid() -> bool:
        dms = requests.get(f"{emulator}/_control/bot/posts", timeout=2).json()["dms"]
        return any(str(d["recipient_id"]) == "1790000000000000003" and "3,50" in str(d["text"])
                   for d in dms)

    _until("bob's notice", bob_paid, proc)
    metrics = requests.get(f"http://127.0.0.1:{ports['metrics']}/metrics", timeout=5).text
    assert 'tweetpay_messages_sent_total{kind="dm"}' in metrics

    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
    assert proc.wait(timeout=30) is not None
    log = log_path.read_text()
    for name in ("release", "emulator", "web", "worker"):
        assert re.search(rf"{name}\.1 +\| .*|{name}\.1 stopped", log), name
        assert f"{name}.1 stopped" in log, f"{name} did not stop:\n{log[-3000:]}"
    assert "Traceback" not in log, log[-3000:]
