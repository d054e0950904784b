"""Running the emulator: in a background thread (tests, the embedded sandbox) or in the foreground.

``EmulatorServer`` binds 127.0.0.1 on the requested port (0: a free one, read back from the
socket before uvicorn starts, so ``base_url`` is right at once) and serves in a daemon thread.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn

from bot.emulator.app import create_app
from bot.emulator.sandbox import BotCredentials, seed_sandbox
from bot.emulator.state import EmulatorState

HOST = "127.0.0.1"


def _listening_socket(port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on sockets that say they are
    # TCP, and without it every keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    return sock


class EmulatorServer:
    """The emulator on a real localhost socket, in a background thread.

    >>> with EmulatorServer() as server:   # doctest: +SKIP
    ...     server.base_url, server.credentials.access_token
    """

    def __init__(
        self,
        port: int = 0,
        *,
        state: EmulatorState | None = None,
        state_file: str | os.PathLike[str] | None = None,
        seed: bool = True,
        log_level: str = "warning",
    ) -> None:
        self.state = state if state is not None else EmulatorState(state_file)
        self.credentials: BotCredentials | None = seed_sandbox(self.state) if seed else None
        self._socket = _listening_socket(port)
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            create_app(self.state),
            log_level=log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"x-emulator-{self.port}",
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the X API emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.state.activity.close()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def usage(base_url: str, credentials: BotCredentials | None) -> str:
    """What ``tweetpay emulator`` prints: where it is, who the bot is, how to drive it."""
    lines = [
        f"X API v2 emulator on {base_url}",
        "",
        "Point the bot at it:",
        f"  export TWEETPAY_X_API_BASE_URL={base_url}",
    ]
    if credentials is not None:
        lines += [
            f"  export TWEETPAY_X_ACCESS_TOKEN={credentials.access_token}",
            f"  export TWEETPAY_X_ACCESS_TOKEN_SECRET={credentials.access_token_secret}",
            f"  (bot @{credentials.username}, id {credentials.user_id}; consumer key and secret"
            " are the settings defaults)",
        ]
    lines += [
        "",
        "Play the world (control API):",
        f"  curl {base_url}/_control/users",
        f"  curl -X POST {base_url}/_control/tweets -H 'content-type: application/json' \\",
        '       -d \'{"author": "alice", "text": "@Smoney #envoyer 12,99€ @bob"}\'',
        f"  curl -X POST {base_url}/_control/dms -H 'content-type: application/json' \\",
        '       -d \'{"sender": "bob", "text": "#solde"}\'',
        f"  curl {base_url}/_control/bot/posts",
        f"  curl -X POST {base_url}/_control/faults -H 'content-type: application/json' \\",
        '       -d \'{"endpoint": "mentions", "kind": "503", "count": 2}\'',
        f"  curl {base_url}/_control/credentials",
        "Press Ctrl+C to stop.",
    ]
    return "\n".join(lines)


def serve(
    port: int = 8765,
    state_file: str | os.PathLike[str] | None = None,
    *,
    echo: Callable[[str], object] = print,
) -> None:
    """Serve in the foreground until interrupted (``tweetpay emulator``)."""
    state = EmulatorState(state_file)
    credentials = seed_sandbox(state)
    sock = _listening_socket(port)
    echo(usage(f"http://{HOST}:{sock.getsockname()[1]}", credentials))
    config = uvicorn.Config(
        create_app(state), log_level="info", lifespan="off", timeout_graceful_shutdown=1
    )
    uvicorn.Server(config).run(sockets=[sock])
