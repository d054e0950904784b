"""The guard in tests/network_guard.py refuses anything but loopback."""

from __future__ import annotations

import socket

import pytest


def test_a_test_cannot_reach_beyond_loopback() -> None:
    with socket.socket() as sock, pytest.raises(RuntimeError, match="network"):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never routed, never contacted


def test_loopback_stays_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as client:
            client.connect(server.getsockname())
