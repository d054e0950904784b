"""Faults to inject and per-user rate-limit windows: the part of the state that refuses calls."""

from __future__ import annotations

import dataclasses
import threading

from bot.emulator.endpoints import FIFTEEN_MINUTES, resolve_endpoint
from bot.emulator.records import Fault

FAULT_KINDS = ("429", "500", "503", "slow", "malformed", "reset")


class Limits:
    """Mixed into ``EmulatorState``: uses its lock, clock, ``faults``, ``rate_limits``."""

    _lock: threading.RLock
    faults: list[Fault]
    rate_limits: dict[str, list[tuple[int, int]]]
    _windows: dict[tuple[str, str, int], list[float]]

    def now(self) -> float:
        raise NotImplementedError

    def add_fault(self, endpoint: str, kind: str, count: int = 1, delay: float = 5.0) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = Fault(endpoint=resolve_endpoint(endpoint), kind=kind, count=count, delay=delay)
        with self._lock:
            self.faults.append(fault)
            return fault

    def take_fault(self, endpoint: str) -> Fault | None:
        """Consume one occurrence of the first fault aimed at ``endpoint`` (or ``*``)."""
        with self._lock:
            for fault in self.faults:
                if fault.endpoint in (endpoint, "*"):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return dataclasses.replace(fault)
            return None

    def set_rate_limit(self, endpoint: str, limit: int, window: int = FIFTEEN_MINUTES) -> None:
        name = resolve_endpoint(endpoint)
        with self._lock:
            self.rate_limits[name] = [(limit, window)]
            self._windows = {k: v for k, v in self._windows.items() if k[0] != name}

    def hit(self, endpoint: str, subject: str) -> tuple[bool, int, int, int]:
        """Count one call; return (allowed, limit, remaining, reset epoch seconds).

        Every window of the endpoint must have room; the headers describe the first window,
        unless another one is the one refusing.
        """
        with self._lock:
            now = self.now()
            limits = self.rate_limits.get(endpoint, [])
            if not limits:
                return True, 0, 0, 0
            states = []
            for limit, window in limits:
                slot = self._windows.setdefault((endpoint, subject, window), [now, 0])
                if now >= slot[0] + window:
                    slot[0], slot[1] = now, 0
                states.append((limit, window, slot))
            blocked = [s for s in states if s[2][1] >= s[0]]
            if blocked:
                limit, window, slot = blocked[0]
                return False, limit, 0, int(slot[0] + window)
            for _, _, slot in states:
                slot[1] += 1
            limit, window, slot = states[0]
            return True, limit, limit - int(slot[1]), int(slot[0] + window)
