"""One LIST + one WATCH per (connection, kind, namespace) shared by every wait in a process.

A triggerer runs hundreds of waits in one event loop. Giving each its own watch would mean one
open connection and one LIST per wait; the hub opens one watch per kind and namespace, keeps the
latest state of every object, and hands each subscriber the states of the one object it waits for.
Re-lists after ``410 Gone`` reach every subscriber, so no final state is missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

log = logging.getLogger(__name__)

_MISSING = object()


class WatchHub:
    """Shared watch of one kind in one namespace.

    :param hook_factory: builds the async hook (called once per (re)start of the shared watch).
    :param kind: the Flink kind.
    :param namespace: the namespace.
    :param idle_grace: seconds the watch stays open after its last subscriber left.
    """

    _hubs: dict[tuple[Any, ...], WatchHub] = {}

    def __init__(self, hook_factory: Callable[[], Any], kind: str, namespace: str, idle_grace: float = 5.0) -> None:
        self.hook_factory, self.kind, self.namespace, self.idle_grace = hook_factory, kind, namespace, idle_grace
        self.cache: dict[str, dict[str, Any]] = {}
        self.listed = asyncio.Event()
        self.subscribers: dict[str, set[asyncio.Queue[Any]]] = {}
        self.task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None
        self._idle_handle: asyncio.TimerHandle | None = None
        self.loop = asyncio.get_running_loop()

    @classmethod
    def get(cls, key: tuple[Any, ...], hook_factory: Callable[[], Any], kind: str, namespace: str) -> WatchHub:
        """The hub for ``key`` (connection settings, kind, namespace) in the running event loop."""
        loop = asyncio.get_running_loop()
        for stale in [k for k, h in cls._hubs.items() if h.loop.is_closed()]:
            del cls._hubs[stale]
        full_key = (id(loop), *key, kind, namespace)
        hub = cls._hubs.get(full_key)
        if hub is None or (hub.task is not None and hub.task.done()):
            hub = cls(hook_factory, kind, namespace)
            cls._hubs[full_key] = hub
        return hub

    def _ensure_running(self) -> None:
        if self._idle_handle is not None:
            self._idle_handle.cancel()
            self._idle_handle = None
        if self.task is None or self.task.done():
            self.error = None
            self.listed.clear()
            self.task = asyncio.get_running_loop().create_task(self._pump(), name=f"watch-hub-{self.kind}-{self.namespace}")

    async def _pump(self) -> None:
        try:
            async for event, payload in self.hook_factory().watch_kind(self.kind, self.namespace):
                if event == "LIST":
                    fresh = {obj["metadata"]["name"]: obj for obj in payload}
                    gone = set(self.cache) - set(fresh)
                    self.cache = fresh
                    self.listed.set()
                    for name in set(self.subscribers):
                        self._publish(name, fresh.get(name) if name not in gone else None)
                    continue
                name = payload["metadata"]["name"]
                if event == "DELETED":
                    self.cache.pop(name, None)
                    self._publish(name, None)
                else:
                    self.cache[name] = payload
                    self._publish(name, payload)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # tell every subscriber, then let the hub be rebuilt
            self.error = exc
            self.listed.set()
            for queues in self.subscribers.values():
                for queue in queues:
                    queue.put_nowait(_Failure(exc))

    def _publish(self, name: str, obj: dict[str, Any] | None) -> None:
        for queue in self.subscribers.get(name, ()):
            queue.put_nowait(obj)

    async def subscribe(self, name: str) -> AsyncIterator[dict[str, Any] | None]:
        """The object's current state, then every change (``None`` = absent or deleted)."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self.subscribers.setdefault(name, set()).add(queue)
        self._ensure_running()
        try:
            await self.listed.wait()
            if self.error is not None:
                raise self.error
            yield self.cache.get(name)
            while True:
                item = await queue.get()
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            self.subscribers[name].discard(queue)
            if not self.subscribers[name]:
                del self.subscribers[name]
            if not self.subscribers and self.task is not None and not self.task.done():
                self._idle_handle = asyncio.get_running_loop().call_later(self.idle_grace, self._stop_if_idle)

    def _stop_if_idle(self) -> None:
        if not self.subscribers and self.task is not None:
            self.task.cancel()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
