"""Ports checked before anything starts, so a busy one gives one clear line, not a traceback
half-way through start-up (the sandbox used to print its banner, then die on the web port)."""

from __future__ import annotations

import errno
import socket

from config.settings import ENV_PREFIX


class PortBusy(RuntimeError):
    """A port this process needs is taken; the message names it and the setting."""


def check_free(host: str, port: int, setting: str, what: str) -> None:
    """Raise ``PortBusy`` if ``host:port`` cannot be bound (port 0 means any: always free)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn and the emulator bind: SO_REUSEADDR, so a socket in TIME_WAIT is no
        # obstacle, only a listening one.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                why = "already in use" if exc.errno == errno.EADDRINUSE else "not allowed"
                raise PortBusy(
                    f"port {port} on {host} ({what}) is {why}: stop what holds it, or set"
                    f" {ENV_PREFIX}{setting.upper()} to another port"
                ) from None
            raise
