"""A small, faithful Kubernetes API server on 127.0.0.1 for tests, over real HTTP.

The official ``kubernetes`` and ``kubernetes_asyncio`` clients talk to it unchanged through the
kubeconfig it hands out. It serves the Flink kinds (FlinkDeployment, FlinkSessionJob,
FlinkStateSnapshot, FlinkBlueGreenDeployment) plus ConfigMaps, Secrets, Events and Pods (with a log
endpoint), and behaves as the real API server does where our code depends on it:

- numbers decoded and stored as the API server does for custom resources: ``1.0`` in a request is a
  float64, ``1`` an int64, and what is stored and returned is Go's JSON (``1.0`` comes back as ``1``);
- ``resourceVersion`` on every write, ``409 Conflict`` on a stale update, ``409 AlreadyExists``;
- ``metadata.generation`` bumped when the spec is not semantically DeepEqual (type-strict: ``1.0`` is
  not ``1``, ``true`` is not ``1``); a ``status`` subresource that alone writes status;
- finalizers and ``deletionTimestamp``; ``propagationPolicy`` Foreground / Background / Orphan with the
  ``foregroundDeletion`` and ``orphan`` finalizers, and a garbage collector for ``ownerReferences``
  that can be switched off (a bare kube-apiserver, as envtest runs it, has none);
- ``GET /version`` as a real kube-apiserver answers it;
- list/watch with label and field selectors, ``resourceVersion`` resume, bookmarks, and
  ``410 Gone`` (an ERROR event) once a version has left the retained history;
- discovery (``/api``, ``/apis``...), so a client can detect whether FlinkStateSnapshot is served;
- merge patch and JSON patch; strategic merge patch on core kinds (as merge), ``415`` on custom
  resources as the real server answers;
- with ``crd_dir``, the CRDs' schemas: ``422 Invalid`` naming the field, unknown fields pruned
  (``400`` with ``fieldValidation=Strict``).

Fault knobs (:class:`Faults`) make it misbehave on purpose: answer 410/409/500 for a while, drop
connections, forget history, restart.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from aiohttp import web

from airflow_flink_operator.constants import GROUP, KIND_BLUE_GREEN, PLURALS, VERSION
from airflow_flink_operator.manifests import merge_patch

# --- what is served ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceType:
    """One kind of object the server serves."""

    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    short_names: tuple[str, ...] = ()
    status_subresource: bool = False
    log_subresource: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


CORE_TYPES = (
    ResourceType("", "v1", "configmaps", "ConfigMap", ("cm",)),
    ResourceType("", "v1", "secrets", "Secret"),
    ResourceType("", "v1", "events", "Event", ("ev",)),
    ResourceType("", "v1", "pods", "Pod", ("po",), status_subresource=True, log_subresource=True),
)
FLINK_TYPES = (
    ResourceType(GROUP, VERSION, "flinkdeployments", "FlinkDeployment", ("flinkdep",), status_subresource=True),
    ResourceType(GROUP, VERSION, "flinksessionjobs", "FlinkSessionJob", ("sessionjob",), status_subresource=True),
    ResourceType(GROUP, VERSION, "flinkstatesnapshots", "FlinkStateSnapshot", ("flinksnp",), status_subresource=True),
    # CRD flinkbluegreendeployments.flink.apache.org (in the operator 1.15.0 helm chart and on main):
    # shortName flinkbgdep, served version v1beta1, ``subresources: status: {}``.
    ResourceType(GROUP, VERSION, PLURALS[KIND_BLUE_GREEN], KIND_BLUE_GREEN, ("flinkbgdep",), status_subresource=True),
)
SNAPSHOT_PLURAL = "flinkstatesnapshots"
BLUE_GREEN_PLURAL = PLURALS[KIND_BLUE_GREEN]

#: What ``GET /version`` answers: a real kube-apiserver's ``version.Info`` (k8s.io/apimachinery
#: pkg/version/types.go), here the v1.34.1 release build as ``kubectl version -o json`` prints it.
#: Since 1.33 the server also reports its emulation and minimum compatibility versions
#: (KEP-4330, compatibility versions).
SERVER_VERSION: dict[str, str] = {
    "major": "1",
    "minor": "34",
    "emulationMajor": "1",
    "emulationMinor": "34",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "33",
    "gitVersion": "v1.34.1",
    "gitCommit": "93248f9ae092f571eb870b7664c534bfc7d00f03",
    "gitTreeState": "clean",
    "buildDate": "2025-09-09T19:44:50Z",
    "goVersion": "go1.24.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}

#: Finalizers the API server adds for the garbage collector (metav1.FinalizerDeleteDependents and
#: metav1.FinalizerOrphanDependents).
FOREGROUND_FINALIZER = "foregroundDeletion"
ORPHAN_FINALIZER = "orphan"
PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")


def now_iso() -> str:
    """The current time as Kubernetes writes timestamps."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- JSON as the API server decodes, stores and compares it ------------------------------------
#
# A custom resource is unstructured JSON in the API server (map[string]interface{}). Its request
# body is decoded by k8s.io/apimachinery pkg/util/json (``convertNumber``; sigs.k8s.io/json
# ``UnmarshalCaseSensitivePreserveInts`` in newer releases): a number is an int64 when
# ``json.Number.Int64()`` parses it, else a float64 — so ``1`` is int64(1) and ``1.0`` or ``1e3`` are
# float64. What is stored in etcd and returned is Go's ``encoding/json`` output, which writes
# float64(1) as ``1``; read back, that is int64(1). Python's ``json`` keeps ``1.0`` a float and
# Python's ``==`` says ``1 == 1.0`` and ``True == 1``: neither is what the API server does.

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _go_int(text: str) -> int | float:
    """A JSON integer literal as convertNumber makes it: int64 when it fits, else float64."""
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else _go_float(text)


def _go_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text} is out of the float64 range")
    return value


def _no_constant(text: str) -> Any:
    raise ValueError(f"invalid character in JSON: {text}")


def decode_json(data: str | bytes) -> Any:
    """Decode a request body as the API server decodes a custom resource (int64 or float64)."""
    return json.loads(data, parse_int=_go_int, parse_float=_go_float, parse_constant=_no_constant)


def stored_form(value: Any) -> Any:
    """``value`` after a round trip through Go's JSON encoder and the decoder above, as etcd holds it.

    Go writes a float64 below 1e21 without exponent and without a fraction when it has none
    (strconv 'f' format, shortest repr), so an integral float64 comes back as an int64 if it fits.
    """
    if isinstance(value, dict):
        return {key: stored_form(item) for key, item in value.items()}
    if isinstance(value, list):
        return [stored_form(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return _go_int(format(Decimal(repr(value)).to_integral_value(), "f"))
    return value


def semantically_equal(a: Any, b: Any) -> bool:
    """``apiequality.Semantic.DeepEqual`` on unstructured content: equal values of the same Go type.

    int64(1) and float64(1) differ, as do bool and int64; maps compare by keys, lists in order.
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(semantically_equal(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(semantically_equal(x, y) for x, y in zip(a, b))
    return a == b


def _non_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    """customResourceStrategy's ``copyNonMetadata``: everything but ``metadata``."""
    return {key: value for key, value in obj.items() if key != "metadata"}


# --- selectors and patches -------------------------------------------------------------------

_SET_EXPR = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_selector(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def label_selector_matcher(text: str | None) -> Callable[[dict[str, str]], bool]:
    """A predicate over labels for a Kubernetes label selector (equality- and set-based)."""
    if not text:
        return lambda labels: True
    tests: list[Callable[[dict[str, str]], bool]] = []
    for raw in _split_selector(text):
        term = raw.strip()
        match = _SET_EXPR.match(term)
        if match:
            key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
            if op == "in":
                tests.append(lambda l, k=key, v=values: l.get(k) in v)
            else:
                tests.append(lambda l, k=key, v=values: l.get(k) not in v)
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            tests.append(lambda l, k=key, v=value: l.get(k) != v)
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            tests.append(lambda l, k=key, v=value: l.get(k) == v)
        elif term.startswith("!"):
            tests.append(lambda l, k=term[1:].strip(): k not in l)
        else:
            tests.append(lambda l, k=term: k in l)
    return lambda labels: all(test(labels) for test in tests)


def field_selector_matcher(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate over objects for a field selector (``a.b=c``, ``a.b!=c``)."""
    if not text:
        return lambda obj: True
    tests = []
    for term in text.split(","):
        negate = "!=" in term
        path, value = term.split("!=" if negate else "=", 1)
        path = path.strip().lstrip("=")

        def test(obj: dict[str, Any], p: str = path, v: str = value.strip().lstrip("="), n: bool = negate) -> bool:
            current: Any = obj
            for part in p.split("."):
                current = current.get(part) if isinstance(current, dict) else None
            return (str(current) == v) != n if current is not None else n

        tests.append(test)
    return lambda obj: all(test(obj) for test in tests)


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in path.lstrip("/").split("/")]


def json_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    doc = copy.deepcopy(document)

    def parent(parts: list[str]) -> tuple[Any, str]:
        node = doc
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node, parts[-1]

    def get(parts: list[str]) -> Any:
        node = doc
        for part in parts:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    for op in operations:
        parts = _pointer(op["path"])
        kind = op["op"]
        if kind == "test":
            if get(parts) != op["value"]:
                raise ValueError(f"test operation failed at {op['path']}")
            continue
        value = copy.deepcopy(op.get("value"))
        if kind in ("move", "copy"):
            source = _pointer(op["from"])
            value = copy.deepcopy(get(source))
            if kind == "move":
                node, last = parent(source)
                node.pop(int(last)) if isinstance(node, list) else node.pop(last)
            kind = "add"
        if not parts:
            doc = value
            continue
        node, last = parent(parts)
        if kind == "add":
            if isinstance(node, list):
                node.insert(len(node) if last == "-" else int(last), value)
            else:
                node[last] = value
        elif kind == "replace":
            if isinstance(node, list):
                node[int(last)] = value
            else:
                if last not in node:
                    raise KeyError(op["path"])
                node[last] = value
        elif kind == "remove":
            node.pop(int(last)) if isinstance(node, list) else node.pop(last)
        else:
            raise ValueError(f"unknown JSON patch op {kind!r}")
    return doc


# --- errors ----------------------------------------------------------------------------------


class ApiError(Exception):
    """An API error answered as a ``Status`` object."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _not_found(rt: ResourceType, name: str) -> ApiError:
    group = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
    return ApiError(404, "NotFound", f'{group} "{name}" not found',
                    {"name": name, "group": rt.group, "kind": rt.plural})


# --- faults ----------------------------------------------------------------------------------


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


# --- the store -------------------------------------------------------------------------------


@dataclass
class _Event:
    rv: int
    type: str
    plural: str
    namespace: str
    obj: dict[str, Any]
    old: dict[str, Any] | None


_CLOSE = object()  # put in a watch's queue to end its stream
_UNRESOLVABLE = object()  # an owner reference to a kind the server does not serve


class _Watch:
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
        self.watches: set[_Watch] = set()

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


# --- the server ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _schemas(crd_dir: str) -> Any:
    from airflow_flink_operator.crd_schema import CrdSchemas

    return CrdSchemas(crd_dir)


class KubeApiEmulator:
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
        self.request_count = 0
        self.requests_by_verb: dict[str, int] = {}
        self._schemas = _schemas(str(crd_dir)) if crd_dir else None
        self._types = {rt.plural: rt for rt in CORE_TYPES + FLINK_TYPES}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._streams: set[web.StreamResponse] = set()

    # -- lifecycle --

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
            watch.queue.put_nowait(_CLOSE)
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

    # -- kubeconfig --

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

    # -- direct access for tests and the simulated cluster --

    def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A copy of a stored object, or ``None``."""
        obj = self.store.objects.get((plural, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def list_objects(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Copies of the stored objects of a kind."""
        return [copy.deepcopy(o) for (p, ns, _), o in sorted(self.store.objects.items())
                if p == plural and (namespace is None or ns == namespace)]

    # -- HTTP --

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        is_watch = request.query.get("watch", "").lower() in ("true", "1")
        fault = self.faults._take(request.method, request.path, is_watch)
        self.request_count += 1
        verb = "WATCH" if is_watch else request.method
        self.requests_by_verb[verb] = self.requests_by_verb.get(verb, 0) + 1
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        if fault == -1:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        try:
            if fault is not None:
                if fault == 410 and is_watch:
                    return await self._gone_stream(request)
                raise ApiError(fault, {409: "Conflict", 410: "Expired", 429: "TooManyRequests",
                                       500: "InternalError", 503: "ServiceUnavailable"}.get(fault, "Unknown"),
                               f"injected fault {fault}")
            return await self._dispatch(request, is_watch)
        except ApiError as err:
            return web.json_response(err.status(), status=err.code)

    def stats(self) -> dict[str, Any]:
        """Request counts by verb, open watch streams and DELETE requests with their propagation policy
        (also served at ``/_emulator/stats``)."""
        by_policy: dict[str, int] = {}
        for deletion in self.deletions:
            policy = deletion["propagationPolicy"] or "unset"
            by_policy[policy] = by_policy.get(policy, 0) + 1
        return {"requests": self.request_count, "by_verb": dict(self.requests_by_verb),
                "open_watches": len(self._streams), "objects": len(self.store.objects),
                "deletions": [dict(d) for d in self.deletions], "deletions_by_propagation": by_policy}

    async def _dispatch(self, request: web.Request, is_watch: bool) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if parts == ["_emulator", "stats"]:
            return web.json_response(self.stats())
        if parts == ["version"]:
            return web.json_response(SERVER_VERSION)
        if not parts:
            return web.json_response({"paths": ["/api", "/api/v1", "/apis", "/version"]})
        discovery = self._discovery(parts)
        if discovery is not None:
            return web.json_response(discovery)
        if parts[0] == "api" and len(parts) >= 3 and parts[1] == "v1":
            group, version, rest = "", "v1", parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({request.path})")
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)
        rt = self._types.get(plural)
        if rt is None or rt.group != group or rt.version != version or not self._served(rt):
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({request.path})")
        self._authorize(request, rt, namespace, name, sub, is_watch)
        method = request.method
        if name is None:
            if method == "GET":
                return await (self._watch(request, rt, namespace) if is_watch else self._list(request, rt, namespace))
            if method == "POST" and namespace:
                return await self._create(request, rt, namespace)
            if method == "DELETE" and namespace:
                return await self._delete_collection(request, rt, namespace)
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on a collection")
        if namespace is None:
            raise ApiError(404, "NotFound", "namespaced resource requested without a namespace")
        if sub == "log" and rt.log_subresource and method == "GET":
            return self._log(request, namespace, name)
        if sub not in (None, "status") or (sub == "status" and not rt.status_subresource):
            raise ApiError(404, "NotFound", f"subresource {sub!r} not found")
        if method == "GET":
            return web.json_response(self._get(rt, namespace, name))
        if method == "PUT":
            return await self._replace(request, rt, namespace, name, status=sub == "status")
        if method == "PATCH":
            return await self._patch(request, rt, namespace, name, status=sub == "status")
        if method == "DELETE" and sub is None:
            return await self._delete(request, rt, namespace, name)
        raise ApiError(405, "MethodNotAllowed", f"{method} not allowed here")

    def _authorize(self, request: web.Request, rt: ResourceType, namespace: str | None, name: str | None,
                   sub: str | None, is_watch: bool) -> None:
        """RBAC for restricted tokens: the verb on (group, resource[/subresource]) in the Role's namespace."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if token and token in self.expired_tokens:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        role = self.roles.get(token)
        if role is None:
            return
        verb = {"GET": "watch" if is_watch else ("get" if name else "list"), "POST": "create", "PUT": "update",
                "PATCH": "patch", "DELETE": "delete" if name else "deletecollection"}.get(request.method, "unknown")
        resource = f"{rt.plural}/{sub}" if sub else rt.plural
        role_ns = (role.get("metadata") or {}).get("namespace")
        allowed = namespace is not None and namespace == role_ns and any(
            (rt.group in rule.get("apiGroups", []) or "*" in rule.get("apiGroups", []))
            and (resource in rule.get("resources", []) or "*" in rule.get("resources", []))
            and (verb in rule.get("verbs", []) or "*" in rule.get("verbs", []))
            for rule in role.get("rules", []))
        if not allowed:
            where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            self.denied.append(f"{verb} {resource} {where}")
            raise ApiError(403, "Forbidden", f'{resource}{"." + rt.group if rt.group else ""} is forbidden: '
                           f'User "restricted" cannot {verb} resource "{resource}" in API group "{rt.group}" {where}')

    def _served(self, rt: ResourceType) -> bool:
        if rt.plural == SNAPSHOT_PLURAL:
            return self.serve_snapshots
        if rt.plural == BLUE_GREEN_PLURAL and self._schemas is not None:
            # with a CRD folder, served only when that operator version has the CRD
            return (rt.api_version, rt.kind) in self._schemas.kinds
        return True

    def _discovery(self, parts: list[str]) -> dict[str, Any] | None:
        served = [rt for rt in self._types.values() if self._served(rt)]
        if parts == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if parts == ["apis"]:
            groups = sorted({rt.group for rt in served if rt.group})
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{VERSION}", "version": VERSION}],
                 "preferredVersion": {"groupVersion": f"{g}/{VERSION}", "version": VERSION}} for g in groups]}
        if len(parts) == 2 and parts[0] == "apis":
            if not any(rt.group == parts[1] for rt in served):
                raise ApiError(404, "NotFound", f"group {parts[1]} not found")
            return {"kind": "APIGroup", "apiVersion": "v1", "name": parts[1],
                    "versions": [{"groupVersion": f"{parts[1]}/{VERSION}", "version": VERSION}],
                    "preferredVersion": {"groupVersion": f"{parts[1]}/{VERSION}", "version": VERSION}}
        group_version = None
        if parts == ["api", "v1"]:
            group_version = ("", "v1")
        elif len(parts) == 3 and parts[0] == "apis":
            group_version = (parts[1], parts[2])
        if group_version is None:
            return None
        resources = []
        for rt in served:
            if (rt.group, rt.version) != group_version:
                continue
            verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
            resources.append({"name": rt.plural, "singularName": rt.kind.lower(), "namespaced": True, "kind": rt.kind,
                              "verbs": verbs, "shortNames": list(rt.short_names)})
            if rt.status_subresource:
                resources.append({"name": f"{rt.plural}/status", "singularName": "", "namespaced": True,
                                  "kind": rt.kind, "verbs": ["get", "patch", "update"]})
            if rt.log_subresource:
                resources.append({"name": f"{rt.plural}/log", "singularName": "", "namespaced": True,
                                  "kind": "Pod", "verbs": ["get"]})
        if not resources:
            raise ApiError(404, "NotFound", f"{'/'.join(parts)} not found")
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": "/".join(p for p in group_version if p), "resources": resources}

    async def _body(self, request: web.Request) -> Any:
        try:
            return await request.json(loads=decode_json)
        except ValueError as exc:
            raise ApiError(400, "BadRequest", f"invalid JSON body: {exc}") from None

    # -- verbs --

    def _get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.objects.get((rt.plural, namespace, name))
        if obj is None:
            raise _not_found(rt, name)
        return obj

    async def _list(self, request: web.Request, rt: ResourceType, namespace: str | None) -> web.Response:
        labels = label_selector_matcher(request.query.get("labelSelector"))
        fields = field_selector_matcher(request.query.get("fieldSelector"))
        items = [o for (p, ns, _), o in sorted(self.store.objects.items())
                 if p == rt.plural and (namespace is None or ns == namespace)
                 and labels((o["metadata"].get("labels") or {})) and fields(o)]
        return web.json_response({"kind": f"{rt.kind}List", "apiVersion": rt.api_version,
                                  "metadata": {"resourceVersion": str(self.store.rv)}, "items": items})

    def _prune(self, rt: ResourceType, obj: dict[str, Any], request: web.Request) -> dict[str, Any]:
        """Drop fields the CRD schema does not declare, as the API server's decoder does."""
        if self._schemas is None or not rt.group:
            return obj
        pruned, dropped = self._schemas.prune(obj)
        if dropped and request.query.get("fieldValidation") == "Strict":
            raise ApiError(400, "BadRequest", "strict decoding error: " + ", ".join(
                f'unknown field "{path}"' for path in dropped))
        return pruned

    def _check_schema(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        """``422 Invalid`` naming each field that breaks the CRD schema."""
        if self._schemas is None or not rt.group:
            return
        # kube-openapi takes an integral float64 (``2.0``) for ``type: integer`` (go-openapi
        # swag.IsFloat64AJSONInteger); the stored form turns it into the int the Python validator wants.
        problems = self._schemas.errors(stored_form(obj), strict=False)
        if problems:
            name = obj["metadata"].get("name", "")
            causes = [{"reason": "FieldValueInvalid", "message": p.message, "field": p.field} for p in problems]
            raise ApiError(422, "Invalid", f'{rt.kind}.{rt.group} "{name}" is invalid: '
                           + "; ".join(f"{p.field}: {p.message}" for p in problems),
                           {"name": name, "group": rt.group, "kind": rt.kind, "causes": causes})

    async def _create(self, request: web.Request, rt: ResourceType, namespace: str) -> web.Response:
        body = await self._body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "body must be an object")
        metadata = dict(body.get("metadata") or {})
        name = metadata.get("name")
        if not name and metadata.get("generateName"):
            name = metadata["generateName"] + uuid.uuid4().hex[:5]
        if not name:
            raise ApiError(422, "Invalid", "metadata.name: Required value: name or generateName is required")
        if metadata.get("namespace") not in (None, namespace):
            raise ApiError(400, "BadRequest", "the namespace of the object does not match the namespace on the request")
        key = (rt.plural, namespace, name)
        if key in self.store.objects:
            raise ApiError(409, "AlreadyExists", f'{rt.plural}.{rt.group or "core"} "{name}" already exists',
                           {"name": name, "group": rt.group, "kind": rt.plural})
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        for transient in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp", "generation",
                          "managedFields", "selfLink"):
            metadata.pop(transient, None)
        metadata.update(name=name, namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=now_iso(),
                        generation=1)
        obj["metadata"] = metadata
        if rt.status_subresource and rt.group:
            obj.pop("status", None)
        obj = self._prune(rt, obj, request)
        self._check_schema(rt, obj)
        obj = stored_form(obj)
        obj["metadata"]["resourceVersion"] = self.store.next_rv()
        self.store.objects[key] = obj
        self.store.record("ADDED", rt.plural, namespace, obj, None)
        if obj["metadata"].get("ownerReferences"):
            self._schedule_gc()  # the collector also deletes dependents whose owners do not exist
        return web.json_response(obj, status=201)

    def _check_rv(self, current: dict[str, Any], body: dict[str, Any], rt: ResourceType, name: str) -> None:
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict",
                           f'Operation cannot be fulfilled on {rt.plural}.{rt.group or "core"} "{name}": '
                           "the object has been modified; please apply your changes to the latest version and try again",
                           {"name": name, "group": rt.group, "kind": rt.plural})

    def _store_update(self, rt: ResourceType, namespace: str, current: dict[str, Any], new: dict[str, Any],
                      request: web.Request, status: bool) -> dict[str, Any]:
        """Write an update with the main resource's or the status subresource's semantics.

        As customResourceStrategy.PrepareForUpdate (k8s.io/apiextensions-apiserver
        pkg/registry/customresource/strategy.go): an update of the main resource keeps the stored
        status, and ``metadata.generation`` goes up by one when everything but ``metadata`` is not
        ``apiequality.Semantic.DeepEqual`` to the stored object — compared as decoded, so ``1.0`` sent
        against ``1`` stored is a change. The status subresource's strategy copies the stored object
        and takes only ``status`` from the request (no generation change). A write whose stored form
        is the stored object's is a no-op (the same resourceVersion), as the storage layer's
        byte comparison of the encoded objects makes it.
        """
        if status:
            merged = copy.deepcopy(current)
            merged["status"] = copy.deepcopy(new.get("status"))
            if merged["status"] is None:
                merged.pop("status")
        else:
            keep = {k: current["metadata"][k] for k in ("uid", "creationTimestamp", "namespace", "name", "generation",
                                                        "deletionTimestamp", "deletionGracePeriodSeconds")
                    if k in current["metadata"]}
            merged = {k: copy.deepcopy(v) for k, v in new.items() if k != "status" or not rt.status_subresource}
            if rt.status_subresource and "status" in current:
                merged["status"] = copy.deepcopy(current["status"])
            merged["metadata"] = {**copy.deepcopy(new.get("metadata") or {}), **keep}
            merged["apiVersion"], merged["kind"] = rt.api_version, rt.kind
            self._check_new_finalizers(rt, current, merged)
            merged = self._prune(rt, merged, request)
            if rt.group and not semantically_equal(_non_metadata(merged), _non_metadata(current)):
                merged["metadata"]["generation"] = int(current["metadata"].get("generation", 1)) + 1
            self._check_schema(rt, merged)
        merged["metadata"].pop("managedFields", None)
        merged = stored_form(merged)
        if self._same(merged, current):
            return current
        return self._commit(rt.plural, namespace, current, merged)

    @staticmethod
    def _check_new_finalizers(rt: ResourceType, current: dict[str, Any], new: dict[str, Any]) -> None:
        """ValidateObjectMetaUpdate: no finalizer may be added to an object that is being deleted."""
        if not current["metadata"].get("deletionTimestamp"):
            return
        before = set(current["metadata"].get("finalizers") or [])
        added = [f for f in new["metadata"].get("finalizers") or [] if f not in before]
        if added:
            name = current["metadata"]["name"]
            raise ApiError(422, "Invalid", f'{rt.kind} "{name}" is invalid: metadata.finalizers: Forbidden: '
                           "no new finalizers can be added if the object is being deleted, found new finalizers "
                           + "[]string{" + ", ".join(json.dumps(f) for f in added) + "}",
                           {"name": name, "group": rt.group, "kind": rt.kind})

    def _commit(self, plural: str, namespace: str, current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        """Store ``new`` over ``current`` with a new resourceVersion and tell the watches.

        An object that is being deleted and has no finalizer left is removed instead.
        """
        new["metadata"]["resourceVersion"] = self.store.next_rv()
        key = (plural, namespace, current["metadata"]["name"])
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            self._remove(key, new, current)
            return new
        self.store.objects[key] = new
        self.store.record("MODIFIED", plural, namespace, new, current)
        if new["metadata"].get("deletionTimestamp") or (
                new["metadata"].get("ownerReferences") != current["metadata"].get("ownerReferences")):
            self._schedule_gc()
        return new

    def _remove(self, key: tuple[str, str, str], gone: dict[str, Any], before: dict[str, Any]) -> None:
        plural, namespace, name = key
        self.store.objects.pop(key, None)
        self.store.record("DELETED", plural, namespace, gone, before)
        if plural == "pods":
            self.pod_logs.pop((namespace, name), None)
        self._schedule_gc()

    @staticmethod
    def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
        strip = lambda o: {**o, "metadata": {k: v for k, v in o["metadata"].items() if k != "resourceVersion"}}  # noqa: E731
        return semantically_equal(strip(a), strip(b))

    async def _replace(self, request: web.Request, rt: ResourceType, namespace: str, name: str,
                       status: bool) -> web.Response:
        body = await self._body(request)
        current = self._get(rt, namespace, name)
        self._check_rv(current, body, rt, name)
        return web.json_response(self._store_update(rt, namespace, current, body, request, status))

    async def _patch(self, request: web.Request, rt: ResourceType, namespace: str, name: str,
                     status: bool) -> web.Response:
        """Merge and JSON patches. The values a patch carries are decoded as a request body is, the
        rest of the object is the stored form — as the API server applies the patch to the stored
        object's JSON and decodes the result — so ``{"spec": {"cpu": 1.0}}`` over a stored ``1`` is a
        spec change."""
        content_type = request.content_type
        if content_type == "application/strategic-merge-patch+json" and rt.group:
            # custom resources have no patch strategy: the CRD handler accepts JSON, merge and apply
            # patches only (apiextensions-apiserver pkg/apiserver/customresource_handler.go)
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/json-patch+json, "
                           "application/merge-patch+json, application/apply-patch+yaml")
        body = await self._body(request)
        current = self._get(rt, namespace, name)
        if content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "a merge patch must be an object")
            self._check_rv(current, body, rt, name)
            new = merge_patch(current, body)
        elif content_type == "application/json-patch+json":
            if not isinstance(body, list):
                raise ApiError(400, "BadRequest", "a JSON patch must be a list of operations")
            try:
                new = json_patch(current, body)
            except (KeyError, IndexError, ValueError, TypeError) as exc:
                raise ApiError(422, "Invalid", f"the JSON patch could not be applied: {exc}") from None
        else:
            raise ApiError(415, "UnsupportedMediaType", f"the patch content type {content_type!r} is not supported")
        if not status:
            new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return web.json_response(self._store_update(rt, namespace, current, new, request, status))

    # -- deletion and the garbage collector --

    @staticmethod
    def _propagation(query: Any, options: dict[str, Any] | None) -> str | None:
        """The propagation policy a DELETE asks for: DeleteOptions in the body win over the query;
        the deprecated ``orphanDependents`` maps to Orphan / Background."""
        policy = query.get("propagationPolicy")
        orphan = query.get("orphanDependents")
        if options:
            policy = options.get("propagationPolicy") or policy
            if options.get("orphanDependents") is not None:
                orphan = str(options["orphanDependents"]).lower()
        if policy is None and orphan is not None:
            policy = "Orphan" if orphan in ("true", "1") else "Background"
        if policy is not None and policy not in PROPAGATION_POLICIES:
            raise ApiError(422, "Invalid", f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: '
                           f'Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan"')
        return policy

    async def _delete_options(self, request: web.Request) -> dict[str, Any] | None:
        if not request.can_read_body:
            return None
        raw = await request.read()
        if not raw.strip():
            return None
        try:
            options = decode_json(raw)
        except ValueError as exc:
            raise ApiError(400, "BadRequest", f"invalid DeleteOptions: {exc}") from None
        return options if isinstance(options, dict) else None

    async def _delete(self, request: web.Request, rt: ResourceType, namespace: str, name: str) -> web.Response:
        options = await self._delete_options(request)
        policy = self._propagation(request.query, options)
        current = self._get(rt, namespace, name)
        preconditions = (options or {}).get("preconditions") or {}
        for field_name in ("uid", "resourceVersion"):
            wanted = preconditions.get(field_name)
            if wanted and wanted != current["metadata"].get(field_name):
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {rt.plural}.{rt.group or "core"} '
                               f'"{name}": Precondition failed: {field_name}: {wanted}, '
                               f'ObjectMeta.{field_name[0].upper() + field_name[1:]}: {current["metadata"].get(field_name)}',
                               {"name": name, "group": rt.group, "kind": rt.plural})
        self.deletions.append({"plural": rt.plural, "namespace": namespace, "name": name, "propagationPolicy": policy})
        return web.json_response(self.delete_now(rt.plural, namespace, name, policy) or current)

    def delete_now(self, plural: str, namespace: str, name: str, policy: str | None = None) -> dict[str, Any] | None:
        """Delete as the API server does (k8s.io/apiserver pkg/registry/generic/registry/store.go,
        ``Delete`` and ``deletionFinalizersForGarbageCollection``).

        ``Foreground`` adds the ``foregroundDeletion`` finalizer and ``Orphan`` the ``orphan``
        finalizer (replacing whichever of the two was there); with no policy, one already on the
        object is kept, and the default for every kind served here is Background. An object with
        finalizers gets ``deletionTimestamp`` and stays until they are gone; one without is removed
        at once. Dependents are the garbage collector's business (:meth:`_collect_garbage`). Call on
        the server's loop (:meth:`call`) when not in a request.

        :param policy: ``Foreground``, ``Background``, ``Orphan`` or ``None`` (the request named none).
        :return: the object as it is after the request, or ``None`` when there was none.
        """
        key = (plural, namespace, name)
        current = self.store.objects.get(key)
        if current is None:
            return None
        finalizers = list(current["metadata"].get("finalizers") or [])
        orphan = policy == "Orphan" or (policy is None and ORPHAN_FINALIZER in finalizers)
        foreground = policy == "Foreground" or (policy is None and not orphan and FOREGROUND_FINALIZER in finalizers)
        wanted = [f for f in finalizers if f not in (ORPHAN_FINALIZER, FOREGROUND_FINALIZER)]
        wanted += [ORPHAN_FINALIZER] * orphan + [FOREGROUND_FINALIZER] * foreground
        if not wanted:
            gone = copy.deepcopy(current)
            gone["metadata"].pop("finalizers", None)  # a GC finalizer dropped by this request's policy
            gone["metadata"]["resourceVersion"] = self.store.next_rv()
            self._remove(key, gone, current)
            return gone
        if current["metadata"].get("deletionTimestamp") and set(wanted) == set(finalizers):
            return current
        new = copy.deepcopy(current)
        new["metadata"]["finalizers"] = wanted
        new["metadata"].setdefault("deletionTimestamp", now_iso())
        new["metadata"].setdefault("deletionGracePeriodSeconds", 0)
        return self._commit(plural, namespace, current, new)

    def _schedule_gc(self) -> None:
        if not self.garbage_collector or self._gc_scheduled or self._in_gc or self._loop is None:
            return
        self._gc_scheduled = True
        self._loop.call_soon_threadsafe(self._collect_garbage)

    def _collect_garbage(self) -> None:
        """The garbage collector of kube-controller-manager, run after the writes that concern it
        (k8s.io/kubernetes pkg/controller/garbagecollector/garbagecollector.go and the
        "Garbage Collection" concept page, kubernetes.io/docs/concepts/architecture/garbage-collection/).

        It acts as a separate client would, after the request that triggered it has been answered,
        until nothing is left to do:

        - an owner with ``deletionTimestamp`` and the ``orphan`` finalizer: its ownerReferences are
          removed from its dependents, then the finalizer (``attemptToOrphan``);
        - an owner with ``deletionTimestamp`` and ``foregroundDeletion``: its dependents are deleted;
          once no dependent with ``blockOwnerDeletion: true`` exists any more, the finalizer is removed
          (``processDeletingDependentsItem``);
        - a dependent (``attemptToDeleteItem`` / ``classifyReferences``): owners resolved by kind, name
          and uid in its namespace are *solid*, *dangling* (absent, or another uid) or *waiting*
          (deleting in foreground). With a solid owner it stays and loses its dangling and waiting
          references; otherwise it is deleted — in Foreground if an owner waits and it has dependents
          itself, else with the policy its own finalizers name, else Background. An owner of a kind
          the server does not serve cannot be resolved, and the dependent is left alone.
        """
        self._gc_scheduled = False
        self._in_gc = True
        try:
            for _ in range(10_000):
                if not self._gc_step():
                    break
        finally:
            self._in_gc = False

    def _gc_step(self) -> bool:
        """One change by the garbage collector; ``False`` when there is nothing to do."""
        objects = list(self.store.objects.items())
        dependents: dict[str, list[tuple[tuple[str, str, str], dict[str, Any]]]] = {}
        for key, obj in objects:
            for uid in {ref.get("uid") for ref in obj["metadata"].get("ownerReferences") or []}:
                dependents.setdefault(uid, []).append((key, obj))
        for key, obj in objects:
            meta = obj["metadata"]
            if meta.get("deletionTimestamp") and ORPHAN_FINALIZER in (meta.get("finalizers") or []):
                for dep_key, dep in dependents.get(meta["uid"], []):
                    self._drop_owner_refs(dep_key, dep, {meta["uid"]})
                self._drop_finalizer(key, obj, ORPHAN_FINALIZER)
                return True
        for key, obj in objects:
            if obj["metadata"].get("ownerReferences") and self._attempt_to_delete(key, obj, dependents):
                return True
        for key, obj in objects:
            if self._deleting_dependents(obj):
                blocking = [dep for _, dep in dependents.get(obj["metadata"]["uid"], [])
                            if any(ref.get("uid") == obj["metadata"]["uid"] and ref.get("blockOwnerDeletion")
                                   for ref in dep["metadata"].get("ownerReferences") or [])]
                if not blocking:
                    self._drop_finalizer(key, obj, FOREGROUND_FINALIZER)
                    return True
        return False

    @staticmethod
    def _deleting_dependents(obj: dict[str, Any]) -> bool:
        meta = obj["metadata"]
        return bool(meta.get("deletionTimestamp")) and FOREGROUND_FINALIZER in (meta.get("finalizers") or [])

    def _attempt_to_delete(self, key: tuple[str, str, str], obj: dict[str, Any],
                           dependents: dict[str, list[Any]]) -> bool:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            return False  # being deleted already (its own foreground deletion is handled apart)
        solid, gone = [], set()
        for ref in meta["ownerReferences"]:
            owner = self._resolve_owner(ref, key[1])
            if owner is _UNRESOLVABLE:
                return False  # the collector retries such an item, it never deletes it
            if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
                gone.add(ref.get("uid"))  # dangling
            elif self._deleting_dependents(owner):
                gone.add(ref.get("uid"))  # waiting for its dependents' deletion
            else:
                solid.append(ref)
        if solid:
            if gone:
                self._drop_owner_refs(key, obj, gone)
                return True
            return False
        waiting = any(self._deleting_dependents(o) for ref in meta["ownerReferences"]
                      if (o := self._resolve_owner(ref, key[1])) not in (None, _UNRESOLVABLE))
        finalizers = meta.get("finalizers") or []
        if waiting and dependents.get(meta["uid"]):
            policy = "Foreground"
        elif ORPHAN_FINALIZER in finalizers:
            policy = "Orphan"
        elif FOREGROUND_FINALIZER in finalizers:
            policy = "Foreground"
        else:
            policy = "Background"
        self.delete_now(key[0], key[1], key[2], policy)
        return True

    def _resolve_owner(self, ref: dict[str, Any], namespace: str) -> Any:
        group, _, version = (ref.get("apiVersion") or "").rpartition("/")
        for rt in self._types.values():
            if (rt.group, rt.version, rt.kind) == (group, version, ref.get("kind")) and self._served(rt):
                return self.store.objects.get((rt.plural, namespace, ref.get("name")))
        return _UNRESOLVABLE

    def _drop_owner_refs(self, key: tuple[str, str, str], obj: dict[str, Any], uids: set[str]) -> None:
        new = copy.deepcopy(obj)
        refs = [ref for ref in new["metadata"].get("ownerReferences") or [] if ref.get("uid") not in uids]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        self._commit(key[0], key[1], obj, new)

    def _drop_finalizer(self, key: tuple[str, str, str], obj: dict[str, Any], finalizer: str) -> None:
        new = copy.deepcopy(obj)
        new["metadata"]["finalizers"] = [f for f in new["metadata"].get("finalizers") or [] if f != finalizer]
        if not new["metadata"]["finalizers"]:
            new["metadata"].pop("finalizers")
        self._commit(key[0], key[1], obj, new)

    async def _delete_collection(self, request: web.Request, rt: ResourceType, namespace: str) -> web.Response:
        options = await self._delete_options(request)
        policy = self._propagation(request.query, options)
        self.deletions.append({"plural": rt.plural, "namespace": namespace, "name": None, "propagationPolicy": policy})
        labels = label_selector_matcher(request.query.get("labelSelector"))
        for (plural, ns, name), obj in list(self.store.objects.items()):
            if plural == rt.plural and ns == namespace and labels(obj["metadata"].get("labels") or {}):
                self.delete_now(plural, ns, name, policy)
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}})

    def _log(self, request: web.Request, namespace: str, name: str) -> web.Response:
        self._get(self._types["pods"], namespace, name)
        lines = self.pod_logs.get((namespace, name), [])
        tail = request.query.get("tailLines")
        if tail:
            lines = lines[-int(tail):]
        return web.Response(text="".join(line + "\n" for line in lines), content_type="text/plain")

    # -- watch --

    async def _gone_stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        status = ApiError(410, "Expired", "too old resource version").status()
        await response.write(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
        await response.write_eof()
        return response

    async def _watch(self, request: web.Request, rt: ResourceType, namespace: str | None) -> web.StreamResponse:
        query = request.query
        since = query.get("resourceVersion")
        watch = _Watch(rt.plural, namespace, label_selector_matcher(query.get("labelSelector")),
                       field_selector_matcher(query.get("fieldSelector")))
        if since not in (None, "", "0") and int(since) < self.store.oldest_rv:
            return await self._gone_stream(request)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json",
                                                           "Transfer-Encoding": "chunked"})
        await response.prepare(request)
        self._streams.add(response)
        self.store.watches.add(watch)
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
        deadline = time.monotonic() + timeout if timeout else None
        bookmarks = query.get("allowWatchBookmarks", "").lower() in ("true", "1")
        try:
            if since in (None, "", "0"):
                for (p, ns, _), obj in sorted(self.store.objects.items()):
                    if p == rt.plural and (namespace is None or ns == namespace) and watch.matches(obj):
                        await self._send(response, "ADDED", obj)
            else:
                for event in list(self.store.history):
                    if event.rv > int(since):
                        translated = watch.translate(event)
                        if translated:
                            await self._send(response, *translated)
            last_bookmark = time.monotonic()
            while True:
                wait = self.bookmark_interval if bookmarks else 30.0
                if deadline is not None:
                    wait = min(wait, max(deadline - time.monotonic(), 0))
                try:
                    event = await asyncio.wait_for(watch.queue.get(), timeout=max(wait, 0.001))
                except asyncio.TimeoutError:
                    event = None
                if event is _CLOSE or (deadline is not None and time.monotonic() >= deadline):
                    break
                if event is not None:
                    translated = watch.translate(event)
                    if translated:
                        await self._send(response, *translated)
                if bookmarks and time.monotonic() - last_bookmark >= self.bookmark_interval:
                    last_bookmark = time.monotonic()
                    await self._send(response, "BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version,
                                                            "metadata": {"resourceVersion": str(self.store.rv)}})
            await response.write_eof()
        except (ConnectionResetError, RuntimeError, asyncio.CancelledError):
            pass
        finally:
            self.store.watches.discard(watch)
            self._streams.discard(response)
        return response

    @staticmethod
    async def _send(response: web.StreamResponse, type_: str, obj: dict[str, Any]) -> None:
        await response.write(json.dumps({"type": type_, "object": obj}).encode() + b"\n")


def main() -> None:
    """``python -m airflow_flink_operator.testing.apiserver``: serve until interrupted, print the URL."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--crd-dir")
    args = parser.parse_args()
    server = KubeApiEmulator(crd_dir=args.crd_dir, port=args.port).start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
