"""The emulator as a process and as a file: `tweetpay emulator`, persistence, the control API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from bot.emulator import EmulatorServer
from bot.emulator.client import ControlClient

TWEETPAY = Path(sys.executable).with_name("tweetpay")


def test_tweetpay_emulator_serves_and_prints_how_to_use_it(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TWEETPAY_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [str(TWEETPAY), "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        first = process.stdout.readline()
        match = re.search(r"X API v2 emulator on (http://127\.0\.0\.1:\d+)", first)
        assert match, first
        base_url = match.group(1)
        printed = "".join(process.stdout.readline() for _ in range(6))
        assert f"TWEETPAY_X_API_BASE_URL={base_url}" in printed
        assert "TWEETPAY_X_ACCESS_TOKEN=1790000000000000001-" in printed
        control = ControlClient(base_url)
        for _ in range(100):  # uvicorn may still be starting
            try:
                users = control.users()
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert {u["username"] for u in users} == {"Smoney", "alice", "bob", "carol", "ACF"}
        assert control.credentials().username == "Smoney"
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert (tmp_path / "x-emulator.json").exists()


def test_state_file_survives_a_restart(tmp_path):
    state_file = tmp_path / "emulator.json"
    with EmulatorServer(state_file=state_file) as server:
        control = ControlClient(server.base_url)
        control.create_user("dave", accepts_dms=False)
        tweet = control.tweet("dave", "@Smoney #inscription")
        control.dm("dave", "#inscription")
        credentials = server.credentials
    with EmulatorServer(state_file=state_file) as server:
        control = ControlClient(server.base_url)
        assert server.credentials == credentials
        assert any(u["username"] == "dave" and not u["accepts_dms"] for u in control.users())
        assert [t["id"] for t in control.tweets()] == [tweet["id"]]
        assert [d["text"] for d in control.dms()] == ["#inscription"]
        assert int(control.tweet("dave", "encore")["id"]) > int(tweet["id"])


def test_control_api_errors_are_readable(emulator):
    base = f"{emulator.base_url}/_control"
    assert requests.post(f"{base}/tweets", json={"text": "x"}, timeout=5).status_code == 400
    missing = requests.post(f"{base}/tweets", json={"author": "zed", "text": "x"}, timeout=5)
    assert missing.status_code == 404 and "zed" in missing.json()["error"]
    bad = requests.post(f"{base}/faults", json={"endpoint": "nope", "kind": "500"}, timeout=5)
    assert bad.status_code == 400 and "unknown endpoint" in bad.json()["error"]
    taken = requests.post(f"{base}/users", json={"username": "alice"}, timeout=5)
    assert taken.status_code == 400


def test_fault_endpoints_by_name_or_route_and_listing(emulator):
    emulator.control.fault("GET /2/users/:id/mentions", "503", count=2)
    listed = requests.get(f"{emulator.base_url}/_control/faults", timeout=5).json()
    assert listed["faults"] == [{"endpoint": "mentions", "kind": "503", "count": 2, "delay": 5.0}]
    emulator.control.clear_faults()
    assert emulator.state.faults == []


def test_unknown_paths_answer_in_x_error_format(emulator):
    response = requests.get(f"{emulator.base_url}/2/nothing", timeout=5)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "Not Found"
