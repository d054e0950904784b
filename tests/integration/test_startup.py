"""Start-up: a busy port is one clear line naming the port and the setting that moves it; a
worker started while X answers 503 on users/me keeps retrying with backoff and then runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

TWEETPAY = str(Path(sys.executable).parent / "tweetpay")


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("command", "setting"),
    [
        (["web"], "TWEETPAY_WEB_PORT"),
        (["run", "--sandbox"], "TWEETPAY_WEB_PORT"),
        (["run", "--sandbox"], "TWEETPAY_EMULATOR_PORT"),
        (["worker"], "TWEETPAY_EMULATOR_PORT"),
        (["worker"], "TWEETPAY_WORKER_METRICS_PORT"),
        (["emulator", "--memory"], "TWEETPAY_EMULATOR_PORT"),
    ],
)
def test_a_busy_port_is_one_line_naming_port_and_setting(
    busy_port: int, tmp_path: Path, command: list[str], setting: str
) -> None:
    env = {"TWEETPAY_DATA_DIR": str(tmp_path), "TWEETPAY_WEB_PORT": str(_free_port()),
           "TWEETPAY_EMULATOR_PORT": str(_free_port()),
           "TWEETPAY_WORKER_METRICS_PORT": str(_free_port()), setting: str(busy_port)}
    result = CliRunner().invoke(main, command, env=env)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert f"port {busy_port}" in lines[0] and setting in lines[0] and "in use" in lines[0]
    assert "sandbox is running" not in result.output  # nothing started before the refusal


@pytest.mark.slow
def test_worker_waits_for_x_through_503s_and_never_exits(emulator: object,
                                                           tmp_path: Path) -> None:
    emulator.control.fault("users_me", "503", count=3)  # type: ignore[attr-defined]
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        "TWEETPAY_DATA_DIR": str(tmp_path), "TWEETPAY_WORKER_METRICS_PORT": "0",
        "TWEETPAY_LOG_FORMAT": "json",
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [TWEETPAY, "worker", "--emulator-url", emulator.base_url],  # type: ignore[attr-defined]
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while "worker.started" not in log_path.read_text():
                assert proc.poll() is None, f"the worker exited:\n{log_path.read_text()}"
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            assert proc.poll() is None
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
    text = log_path.read_text()
    retries = [line for line in text.splitlines() if "worker.x_unavailable" in line]
    assert len(retries) == 3, text
    assert all('"retry_in_seconds"' in line and "Transient" in line for line in retries)
    delays = [float(line.split('"retry_in_seconds": ')[1].split(",")[0].rstrip("}"))
              for line in retries]
    assert delays[0] < delays[1] < delays[2]  # backoff grows
    assert "Traceback" not in text
