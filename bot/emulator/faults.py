"""Injected faults, applied before anything else so they look like X (or the network) failing.

An outermost ASGI middleware: for a request to an emulated endpoint it takes the next queued
fault (``EmulatorState.take_fault``) and answers with it instead of the endpoint:

    429        Too Many Requests, x-rate-limit-remaining 0, reset ``delay`` seconds from now
    500, 503   X's problem body for that status
    slow       waits ``delay`` seconds, then answers normally (a client timeout fires first)
    malformed  200 with a truncated JSON body
    reset      closes the TCP connection with an RST (SO_LINGER 0), no response at all
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from bot.emulator.endpoints import endpoint_name
from bot.emulator.state import EmulatorState

_TITLES = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


class FaultInjector:
    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = endpoint_name(scope["method"], scope["path"]) if scope["type"] == "http" else None
        fault = self.state.take_fault(name) if name else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
        elif fault.kind == "malformed":
            marker = [(b"x-emulator-fault", b"malformed")]  # so schema checks can skip it
            await _respond(send, 200, "application/json", b'{"data": {"id": "12', marker)
        elif fault.kind == "reset":
            _reset_connection(receive)
            # uvicorn notices the lost connection on the next loop turn and then drops what
            # is sent; sending keeps it from logging "returned without starting response".
            await asyncio.sleep(0.05)
            await _respond(send, 500, "text/plain", b"", [])
        else:
            status = int(fault.kind)
            headers = []
            if status == 429:
                reset = int(self.state.now() + max(fault.delay, 0))
                headers = [
                    (b"x-rate-limit-limit", b"1"),
                    (b"x-rate-limit-remaining", b"0"),
                    (b"x-rate-limit-reset", str(reset).encode()),
                ]
            title = _TITLES[status]
            body = (
                f'{{"title":"{title}","detail":"{title}","type":"about:blank","status":{status}}}'
            )
            await _respond(send, status, "application/problem+json", body.encode(), headers)


async def _respond(
    send: Send, status: int, content_type: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _reset_connection(receive: Receive) -> None:
    """Abort the socket under this request so the client sees ECONNRESET.

    uvicorn's ``receive`` is a bound method of its per-request cycle, which holds the asyncio
    transport: setting SO_LINGER to 0 before aborting makes the kernel send an RST.
    """
    transport: Any = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionResetError("fault injection: reset (no transport to abort)")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
