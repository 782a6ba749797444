"""One LIST + one WATCH per (connection, kind, namespace) shared by every wait in a process.

A triggerer runs hundreds of waits in one event loop. Giving each its own watch would mean one
open connection and one LIST per wait; the hub opens one watch per kind and namespace, keeps the
latest state of every object, and hands each subscriber the states of the one object it waits for.
Re-lists after ``410 Gone`` reach every subscriber, so no final state is missed.

What a subscriber can rely on:

- ``None`` means confirmed absent: a ``404`` to a fresh GET, a LIST made after the subscription, or
  a ``DELETED`` event. An object merely not in the shared cache yet (created just before the
  subscription, its event still on the way) is read with a GET, never reported missing.
- A subscriber arriving while an idle watch is being stopped gets a new, live watch at once.
- The shared watch never dies silently: retryable failures (dropped connections, 429/5xx, a
  failure to connect) restart it for every subscriber with a fresh LIST; anything else (403, the
  kind not served, a broken kubeconfig) reaches every subscriber as a :class:`FlinkApiError`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

log = logging.getLogger(__name__)


def _retryable(exc: BaseException) -> bool:
    """Whether restarting the shared watch may help (the API server or the network had a bad moment)."""
    from airflow_flink_operator.hooks.common import RETRYABLE_STATUS, FlinkApiError

    if isinstance(exc, FlinkApiError):
        return exc.status is None or exc.status in RETRYABLE_STATUS
    if isinstance(exc, (OSError, asyncio.TimeoutError)):
        return True
    httpx2 = sys.modules.get("httpx2")  # the hook's client (loaded by then, if it is used)
    if httpx2 is not None and isinstance(exc, httpx2.TransportError):
        return True
    return type(exc).__module__.split(".")[0] == "aiohttp"


def _config_error(exc: BaseException) -> bool:
    """A kubeconfig/credential loading failure (kubernetes_asyncio's ``ConfigException``, lightkube's
    ``ConfigError``), e.g. an exec plugin that failed."""
    name, module = type(exc).__name__, type(exc).__module__
    return ((name == "ConfigException" and module.startswith("kubernetes"))
            or (name == "ConfigError" and module.startswith("lightkube")))


def _rv(obj: dict[str, Any] | None) -> int | None:
    """The object's resourceVersion as a number (etcd's revision), if it is one."""
    try:
        return int(obj["metadata"]["resourceVersion"]) if obj else None
    except (KeyError, TypeError, ValueError):
        return None


class WatchHub:
    """Shared watch of one kind in one namespace.

    :param hook_factory: builds the async hook (called once per (re)start of the shared watch).
    :param kind: the Flink kind.
    :param namespace: the namespace.
    :param idle_grace: seconds the watch stays open after its last subscriber left.
    :param max_backoff: longest wait between restarts of a failing shared watch.
    :param config_retries: how often credentials that fail to load (an exec plugin's hiccup) are
        tried again before the failure reaches the subscribers.
    """

    _hubs: dict[tuple[Any, ...], WatchHub] = {}

    def __init__(self, hook_factory: Callable[[], Any], kind: str, namespace: str, idle_grace: float = 5.0,
                 max_backoff: float = 5.0, config_retries: int = 3) -> None:
        self.hook_factory, self.kind, self.namespace, self.idle_grace = hook_factory, kind, namespace, idle_grace
        self.max_backoff, self.config_retries = max_backoff, config_retries
        self.cache: dict[str, dict[str, Any]] = {}
        #: set once the running shared watch has listed (the cache is then the API's state).
        self.listed = asyncio.Event()
        self.subscribers: dict[str, set[_Inbox]] = {}
        self.task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None
        #: how often the shared watch was (re)started, for logs and tests.
        self.starts = 0
        self._hook: Any = None
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
        if hub is None or hub.loop is not loop:
            hub = cls(hook_factory, kind, namespace)
            cls._hubs[full_key] = hub
        return hub

    # -- the shared watch --

    def _ensure_running(self) -> bool:
        """Start the shared watch unless it runs; ``True`` if this call started it."""
        if self._idle_handle is not None:
            self._idle_handle.cancel()
            self._idle_handle = None
        if self.task is not None and not self.task.done():
            return False
        self.error = None
        self.listed.clear()
        self.cache = {}
        self.starts += 1
        self.task = self.loop.create_task(self._pump(), name=f"watch-hub-{self.kind}-{self.namespace}")
        self.task.add_done_callback(self._on_pump_done)
        return True

    async def _pump(self) -> None:
        """Run the shared watch; restart it (with a fresh LIST) after retryable failures."""
        failures = 0
        while True:
            try:
                self._hook = self.hook_factory()
                async for event, payload in self._hook.watch_kind(self.kind, self.namespace):
                    failures = 0
                    self._apply(event, payload)
                raise RuntimeError("the watch ended")  # watch_kind never ends by itself
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if not (_retryable(exc) or (_config_error(exc) and failures <= self.config_retries)):
                    raise
                log.warning("Shared watch of %s in %s failed (%s); restarting it (attempt %d)",
                            self.kind, self.namespace, exc, failures)
            await asyncio.sleep(min(self.max_backoff, 0.1 * 2 ** (failures - 1)) * (0.5 + random.random() / 2))

    def _apply(self, event: str, payload: Any) -> None:
        if event == "LIST":
            fresh = {obj["metadata"]["name"]: obj for obj in payload}
            self.cache = fresh
            self.listed.set()
            for name in set(self.subscribers):
                obj = fresh.get(name)
                self._publish(name, obj, _rv(obj))
            return
        name = payload["metadata"]["name"]
        if event == "DELETED":
            self.cache.pop(name, None)
            self._publish(name, None, _rv(payload))
        else:
            self.cache[name] = payload
            self._publish(name, payload, _rv(payload))

    def _on_pump_done(self, task: asyncio.Task[None]) -> None:
        """Wake every subscriber of a shared watch that ended other than by an idle stop."""
        exc = None if task.cancelled() else task.exception()  # retrieved, so never "never retrieved"
        if task is not self.task or not self.subscribers:
            return  # stopped while idle, or ended with the event loop: nobody waits on it
        from airflow_flink_operator.hooks.common import FlinkApiError

        action = f"watch {self.kind} in {self.namespace}"
        if task.cancelled():
            error: BaseException = FlinkApiError(action, None, "the shared watch was cancelled")
        elif exc is None:
            return
        elif isinstance(exc, FlinkApiError):
            error = exc
        else:
            error = FlinkApiError(action, None, f"{type(exc).__name__}: {exc}")
            error.__cause__ = exc
        log.error("Shared watch of %s in %s stopped: %s", self.kind, self.namespace, error)
        self.error = error
        for queues in self.subscribers.values():
            for queue in queues:
                queue.put_nowait(_Failure(error))

    def _publish(self, name: str, obj: dict[str, Any] | None, rv: int | None) -> None:
        for queue in self.subscribers.get(name, ()):
            queue.put_nowait((obj, rv))

    def _stop_if_idle(self) -> None:
        self._idle_handle = None
        if self.subscribers or self.task is None:
            return
        task, self.task = self.task, None  # a subscriber arriving now starts a new watch at once
        self.listed.clear()
        self.cache = {}
        task.cancel()

    # -- subscribers --

    async def _fresh_get(self, name: str) -> dict[str, Any] | None:
        """The object read directly (``None`` only on 404), retried on transient failures."""
        failures = 0
        while True:
            shared = self._hook is not None  # the shared watch's hook and client; else one for this GET
            hook = self._hook if shared else self.hook_factory()
            try:
                return await hook.get_object(self.kind, name, self.namespace)
            except Exception as exc:
                failures += 1
                if not (_retryable(exc) or (_config_error(exc) and failures <= self.config_retries)):
                    raise
                log.info("Reading %s %s/%s failed (%s); retrying", self.kind, self.namespace, name, exc)
            finally:
                if not shared and hasattr(hook, "aclose"):
                    await hook.aclose()
            await asyncio.sleep(min(self.max_backoff, 0.1 * 2 ** (failures - 1)) * (0.5 + random.random() / 2))

    async def subscribe(self, name: str) -> AsyncIterator[dict[str, Any] | None]:
        """The object's current state, then every change (``None`` = confirmed absent or deleted).

        :raises FlinkApiError: when the shared watch fails for a reason a restart cannot fix.
        """
        queue = _Inbox()
        self.subscribers.setdefault(name, set()).add(queue)
        try:
            started_here = self._ensure_running()
            if self.listed.is_set():
                first, confirmed = self.cache.get(name), False
            else:
                first, confirmed = _unwrap(await queue.get())[0], started_here  # the LIST, made after we came
            if first is None and not confirmed:
                first = await self._fresh_get(name)
            last_rv = _rv(first)
            yield first
            while True:
                item, rv = _unwrap(await queue.get())
                if rv is not None and last_rv is not None and rv <= last_rv:
                    continue  # older than (or the same as) what a GET already showed
                last_rv = rv
                yield item
        finally:
            queues = self.subscribers.get(name)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self.subscribers[name]
            if not self.subscribers and self.task is not None and not self.task.done() and self._idle_handle is None:
                self._idle_handle = self.loop.call_later(self.idle_grace, self._stop_if_idle)


def _unwrap(item: Any) -> tuple[dict[str, Any] | None, int | None]:
    """A queued ``(state, resourceVersion)``, or the shared watch's failure raised."""
    if isinstance(item, _Failure):
        raise item.error
    return item


class _Inbox:
    """One subscriber's pending states: what it needs of an ``asyncio.Queue`` (``put_nowait``, ``get``)
    at a fraction of its memory (a Queue holds three deques and an Event: some 2.5 KB per wait)."""

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def get(self) -> Any:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.items.pop(0)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
