"""The emulator's etcd: objects by (plural, namespace, name), the resourceVersion counter, a bounded
event history, and the open watches each event is handed to."""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class _Event:
    rv: int
    type: str
    plural: str
    namespace: str
    obj: dict[str, Any]
    old: dict[str, Any] | None


CLOSE = object()  # put in a watch's queue to end its stream


class Watch:
    """One watch request: what it selects, and the queue its events are put in."""

    def __init__(self, plural: str, namespace: str | None, labels: Callable, fields: Callable) -> None:
        self.plural, self.namespace, self.labels, self.fields = plural, namespace, labels, fields
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    def matches(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        return self.labels((obj.get("metadata") or {}).get("labels") or {}) and self.fields(obj)

    def translate(self, event: _Event) -> tuple[str, dict[str, Any]] | None:
        if event.plural != self.plural or (self.namespace and event.namespace != self.namespace):
            return None
        now, before = self.matches(event.obj), self.matches(event.old)
        if event.type == "MODIFIED":
            if now and not before:
                return "ADDED", event.obj
            if before and not now:
                return "DELETED", event.obj
        return (event.type, event.obj) if now else None


class Store:
    """Objects by (plural, namespace, name), a resourceVersion counter and a bounded event history."""

    def __init__(self, history: int) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.rv = 0
        self.history: deque[_Event] = deque(maxlen=history)
        self.oldest_rv = 0  # watches from below this are Gone
        self.watches: set[Watch] = set()

    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def record(self, type_: str, plural: str, namespace: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        event = _Event(int(obj["metadata"]["resourceVersion"]), type_, plural, namespace, copy.deepcopy(obj),
                       copy.deepcopy(old) if old is not None else None)
        if len(self.history) == self.history.maxlen:
            self.oldest_rv = self.history[0].rv
        self.history.append(event)
        for watch in list(self.watches):
            watch.queue.put_nowait(event)

    def compact(self) -> None:
        """Forget all history: every resourceVersion seen so far is now too old to watch from."""
        self.history.clear()
        self.oldest_rv = self.rv
