"""Fault knobs: make the emulator answer errors, drop connections or slow down on purpose."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class _FailRule:
    status: int
    remaining: int
    method: str | None
    path_contains: str | None
    watch: bool | None
    until: float | None


@dataclass
class Faults:
    """Misbehaviour on demand. Thread-safe enough for tests: set from any thread."""

    rules: list[_FailRule] = field(default_factory=list)
    drop_next: int = 0
    latency: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, status: int, times: int = 1, *, method: str | None = None, path_contains: str | None = None,
             watch: bool | None = None, for_seconds: float | None = None) -> None:
        """Answer the next ``times`` matching requests (or all for ``for_seconds``) with ``status``.

        A watch request failed with 410 gets a 200 stream holding one ERROR event, as Kubernetes does.
        """
        until = time.monotonic() + for_seconds if for_seconds is not None else None
        with self._lock:
            self.rules.append(_FailRule(status, times if for_seconds is None else 10**9, method, path_contains,
                                        watch, until))

    def drop(self, times: int = 1) -> None:
        """Abort the connection of the next ``times`` requests without answering."""
        with self._lock:
            self.drop_next += times

    def clear(self) -> None:
        """Stop misbehaving."""
        with self._lock:
            self.rules.clear()
            self.drop_next = 0
            self.latency = 0.0

    def _take(self, method: str, path: str, is_watch: bool) -> int | None:
        with self._lock:
            if self.drop_next > 0:
                self.drop_next -= 1
                return -1
            now = time.monotonic()
            for rule in list(self.rules):
                if rule.until is not None and now > rule.until:
                    self.rules.remove(rule)
                    continue
                if rule.method and rule.method.upper() != method:
                    continue
                if rule.path_contains and rule.path_contains not in path:
                    continue
                if rule.watch is not None and rule.watch != is_watch:
                    continue
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.rules.remove(rule)
                return rule.status
        return None
