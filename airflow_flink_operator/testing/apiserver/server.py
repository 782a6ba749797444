"""The emulator itself: :class:`KubeApiEmulator` runs an aiohttp server on its own thread and loop; the
verbs come from the mixins of this package."""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from typing import Any

from aiohttp import web

from airflow_flink_operator.testing.apiserver.admission import AdmissionMixin, crd_schemas
from airflow_flink_operator.testing.apiserver.deletion import DeletionMixin
from airflow_flink_operator.testing.apiserver.faults import Faults
from airflow_flink_operator.testing.apiserver.garbage import GarbageCollectorMixin
from airflow_flink_operator.testing.apiserver.proxy import ProxyMixin
from airflow_flink_operator.testing.apiserver.resources import CORE_TYPES, FLINK_TYPES
from airflow_flink_operator.testing.apiserver.routing import RoutingMixin
from airflow_flink_operator.testing.apiserver.store import CLOSE, Store
from airflow_flink_operator.testing.apiserver.watch import WatchMixin
from airflow_flink_operator.testing.apiserver.writes import WritesMixin


class KubeApiEmulator(RoutingMixin, AdmissionMixin, WritesMixin, DeletionMixin, GarbageCollectorMixin, WatchMixin,
                      ProxyMixin):
    """The API server. Start it with :meth:`start` (a background thread) and stop with :meth:`stop`.

    :param crd_dir: CRD folder for schema validation (default: none, no schema checks).
    :param serve_snapshots: serve FlinkStateSnapshot (operator 1.10+); ``False`` mimics a cluster
        without that CRD, so clients must fall back to ``savepointTriggerNonce``.
    :param history: how many events to keep for watches resuming from a resourceVersion.
    :param bookmark_interval: seconds between BOOKMARK events on watches that allow them.
    :param garbage_collector: run a garbage collector (kube-controller-manager's) next to the API:
        dependents of deleted owners are collected, and ``foregroundDeletion`` / ``orphan`` finalizers
        are processed and removed. ``False`` is a bare kube-apiserver with etcd, as envtest runs it:
        the API server still adds those finalizers on delete, but nobody ever removes them, and
        ``ownerReferences`` are never collected.
    """

    def __init__(self, *, crd_dir: str | None = None, serve_snapshots: bool = True, history: int = 10_000,
                 bookmark_interval: float = 1.0, host: str = "127.0.0.1", port: int = 0,
                 roles: dict[str, dict[str, Any]] | None = None, garbage_collector: bool = True) -> None:
        self.host, self.port = host, port
        self.serve_snapshots = serve_snapshots
        self.garbage_collector = garbage_collector
        #: one entry per DELETE request: plural, namespace, name (``None`` for a collection) and the
        #: ``propagationPolicy`` asked for (``None`` when the request named none).
        self.deletions: list[dict[str, Any]] = []
        self._gc_scheduled = False
        self._in_gc = False
        self.bookmark_interval = bookmark_interval
        self.faults = Faults()
        #: bearer token → namespaced Role (as a dict); requests with such a token are authorised
        #: against that Role alone; any other token is a cluster admin.
        self.roles = roles or {}
        self.denied: list[str] = []
        #: bearer tokens the server no longer accepts (``401 Unauthorized``), as when a short-lived
        #: exec-plugin token (EKS, GKE) has expired.
        self.expired_tokens: set[str] = set()
        self.store = Store(history)
        self.pod_logs: dict[tuple[str, str], list[str]] = {}
        #: Services reachable through ``services/<id>/proxy`` (:meth:`register_service`), and who is asked for
        #: the others (:mod:`.proxy`).
        self._service_backends: dict[tuple[str, str], Any] = {}
        self.service_resolver: Any = None
        self.request_count = 0
        self.requests_by_verb: dict[str, int] = {}
        self._schemas = crd_schemas(str(crd_dir)) if crd_dir else None
        self._types = {rt.plural: rt for rt in CORE_TYPES + FLINK_TYPES}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._streams: set[web.StreamResponse] = set()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> KubeApiEmulator:
        """Serve in a background thread; returns when the port is listening."""
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="kube-api-emulator", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the API emulator did not start")
        return self

    async def _serve(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        """Stop serving and end the thread."""
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        asyncio.run_coroutine_threadsafe(self._cancel_pending(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)
        self._loop.close()
        self._loop = None

    async def _shutdown(self) -> None:
        await self._close_streams()
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    @staticmethod
    async def _cancel_pending() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def restart(self, downtime: float = 0.0) -> None:
        """Stop listening (dropping every connection), wait ``downtime``, listen again on the same port.

        Objects survive, as with a real API server backed by etcd.
        """
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        time.sleep(downtime)
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)

    def drop_watches(self) -> None:
        """Abort every open watch stream now (a dropped connection, as a proxy or LB would)."""
        self.call(self._close_streams())

    async def _close_streams(self) -> None:
        for watch in list(self.store.watches):
            watch.queue.put_nowait(CLOSE)
        for stream in list(self._streams):
            transport = stream._req.transport if stream._req is not None else None  # type: ignore[attr-defined]
            if transport is not None:
                transport.abort()
        self._streams.clear()

    def expire_history(self) -> None:
        """Forget the event history: watches resuming from any earlier version get ``410 Gone``."""
        self.call(self._compact())

    async def _compact(self) -> None:
        self.store.compact()

    def call(self, coro: Any) -> Any:
        """Run a coroutine on the server's loop and return its result (for test helpers)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def set_serve_snapshots(self, serve: bool) -> None:
        """Switch the FlinkStateSnapshot CRD on or off (as installing/removing the CRD would)."""
        self.serve_snapshots = serve

    def __enter__(self) -> KubeApiEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kubeconfig(self, namespace: str = "default") -> dict[str, Any]:
        """A kubeconfig dict pointing at this server (for ``load_kube_config_from_dict`` / hooks)."""
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": "emulator-token"}}],
            "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "tester",
                                                          "namespace": namespace}}],
            "current-context": "emulator",
        }

    def write_kubeconfig(self, path: str, namespace: str = "default") -> str:
        """Write :meth:`kubeconfig` as YAML to ``path``; returns the path."""
        import yaml

        with open(path, "w") as handle:
            yaml.safe_dump(self.kubeconfig(namespace), handle)
        return path

    def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A copy of a stored object, or ``None``."""
        obj = self.store.objects.get((plural, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def list_objects(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Copies of the stored objects of a kind."""
        return [copy.deepcopy(o) for (p, ns, _), o in sorted(self.store.objects.items())
                if p == plural and (namespace is None or ns == namespace)]
