"""One trigger for every Flink wait: it watches the object (no fixed sleep loop) and decides with
the status model's one step (:func:`airflow_flink_operator.models.waiting.decide`), then yields a
single event with ``status`` and ``message``. Its :meth:`FlinkWaitTrigger.run` is the one async loop
over that step, as :meth:`FlinkKubernetesHook.wait_for <airflow_flink_operator.hooks.waiting.WaitingMixin.wait_for>`
is the one blocking loop.

All triggers of a process share one watch per kind and namespace (:mod:`.watch_hub`). Nothing
blocks the triggerer's event loop: the Kubernetes client libraries are imported in a worker thread
the first time a trigger runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

#: Modules a trigger needs whose import takes a while (httpx2 and lightkube's kubeconfig layer; never a
#: Kubernetes client: a connection lightkube cannot serve imports kubernetes_asyncio in a worker thread
#: too, see AsyncFlinkKubernetesHook._api); imported off the event loop.
_HEAVY_MODULES = (
    "airflow_flink_operator.hooks.flink_kubernetes_async",
    "airflow_flink_operator.hooks.connection",
    "airflow_flink_operator.models.status",
    "airflow_flink_operator.models.savepoints",
    "airflow_flink_operator.models.summary",
    "airflow_flink_operator.models.waiting",
    "airflow_flink_operator.models.status_bluegreen",
    "airflow_flink_operator.triggers.watch_hub",
    "airflow_flink_operator.hooks.kube_http",
    "httpx2",
    "httpcore2",  # what httpx2's first client imports (its transport): some 60 ms of CPU
    "lightkube.config.kubeconfig",
    "lightkube.config.client_adapter",
)
#: Imported where they exist. What httpx2's first request imports (anyio's asyncio backend, private modules
#: that another anyio may name otherwise: some 50 ms of CPU); what the first connection lookup (cncf's
#: ``get_conn_extras``) imports, some 40 ms otherwise (``airflow.sdk.execution_time.cache`` is newer than
#: Airflow 3.0).
_OPTIONAL_HEAVY_MODULES = (
    "anyio._backends._asyncio",
    "anyio.lowlevel",
    "anyio.streams.memory",
    "anyio.streams.stapled",
    "anyio.streams.tls",
    "airflow.sdk.execution_time.supervisor",
    "airflow.sdk.execution_time.cache",
    "asgiref.sync",
)


def _import_heavy_modules(pause: float = 0.0) -> None:
    import importlib

    for module in _HEAVY_MODULES + _OPTIONAL_HEAVY_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            if module not in _OPTIONAL_HEAVY_MODULES:
                raise
        if pause:
            time.sleep(pause)  # hand the GIL back to the event loop between modules
_loaded: asyncio.Future[None] | None = None


def preload() -> None:
    """Import what a Flink trigger needs now, before the triggerer's event loop runs.

    For ``airflow_local_settings.py`` of a triggerer (``if sys.argv[1:2] == ["triggerer"]: preload()``):
    the first trigger then imports nothing at all. Without it the trigger imports these modules in a
    worker thread (:func:`load_heavy_modules`); the Kubernetes clients' largest class bodies still hold
    the GIL for some 60 ms each while they load, once per triggerer process.
    """
    _import_heavy_modules()


async def load_heavy_modules() -> None:
    """Import what the trigger needs in a worker thread, once per process (every caller awaits it)."""
    global _loaded
    if _loaded is None or (_loaded.done() and _loaded.exception() is not None):
        _loaded = asyncio.ensure_future(asyncio.to_thread(_import_heavy_modules, 0.001))
    await asyncio.shield(_loaded)


class FlinkWaitTrigger(BaseTrigger):
    """Wait until a Flink resource reaches a target, a snapshot completes, or a resource is gone.

    Only serialisable primitives: names, paths and connection ids, never credentials.

    :param kind: ``FlinkDeployment``, ``FlinkSessionJob`` or ``FlinkStateSnapshot``.
    :param name: the resource's name.
    :param namespace: its namespace.
    :param mode: a :class:`~airflow_flink_operator.models.waiting.WaitMode` (``resource``, ``snapshot``,
        ``nonce``, ``deleted`` or ``bluegreen``). With ``target``, ``nonce``, ``generation``,
        ``stale_error``, ``pickup_deadline`` and ``failed_checkpoints``: the
        :class:`~airflow_flink_operator.models.waiting.WaitCriteria` (see there), kept as :attr:`criteria` and
        serialised as plain values.
    :param poll_interval: for target ``checkpointed``: seconds between two reads of the job's checkpoints from
        Flink's REST API while it runs (the resource itself is watched, not polled).
    :param timeout_at: epoch seconds after which a ``timeout`` event is sent.
    :param connection: :meth:`KubernetesConnection.serialize` output (connection id, kubeconfig
        path, context, in-cluster switch).
    :param on_kill_action: ``suspend`` or ``delete`` the watched resource when a user kills the
        deferred task (``None``: leave it).
    :param resume_state: small JSON-able state the task needs to resume, given back in the event
        as ``resume_state`` however the deferral kwargs travel.
    :param echo: the name an earlier version stored ``resume_state`` under (read for triggers
        persisted before an upgrade).
    """

    def __init__(
        self,
        *,
        kind: str,
        name: str,
        namespace: str,
        mode: str = "resource",
        target: str | None = None,
        nonce: int | None = None,
        generation: int | None = None,
        stale_error: str | None = None,
        pickup_deadline: float | None = None,
        failed_checkpoints: int | None = None,
        poll_interval: float = 10.0,
        timeout_at: float | None = None,
        connection: dict[str, Any] | None = None,
        kubernetes_conn_id: str | None = "kubernetes_default",
        in_cluster: bool | None = None,
        config_file: str | None = None,
        cluster_context: str | None = None,
        watch_timeout: int = 300,
        on_kill_action: str | None = None,
        resume_state: dict[str, Any] | None = None,
        echo: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        from airflow_flink_operator.models.waiting import WaitCriteria

        self.kind, self.name, self.namespace, self.timeout_at = kind, name, namespace, timeout_at
        #: what is waited for, judged by the status model's one step.
        self.criteria = WaitCriteria(mode=mode, target=target, nonce=nonce,  # type: ignore[arg-type]
                                     generation=generation, stale_error=stale_error, pickup_deadline=pickup_deadline,
                                     failed_checkpoints=failed_checkpoints)
        self.poll_interval = poll_interval
        self._rest_hook: Any = None
        # ``connection`` is the form this version writes; the separate settings are read so that
        # triggers persisted by an earlier version still resume after an upgrade.
        self.connection = dict(connection) if connection is not None else {
            "conn_id": kubernetes_conn_id, "in_cluster": in_cluster, "config_file": config_file,
            "cluster_context": cluster_context}
        self.watch_timeout = watch_timeout
        self.on_kill_action = on_kill_action
        self.resume_state = resume_state if resume_state is not None else (echo or {})

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and keyword arguments, as stored by the triggerer."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "kind": self.kind, "name": self.name, "namespace": self.namespace, **self.criteria.to_kwargs(),
                "poll_interval": self.poll_interval, "timeout_at": self.timeout_at, "connection": self.connection,
                "watch_timeout": self.watch_timeout, "on_kill_action": self.on_kill_action,
                "resume_state": self.resume_state,
            },
        )

    def _connection(self) -> Any:
        from airflow_flink_operator.hooks.connection import KubernetesConnection

        return KubernetesConnection.deserialize(self.connection)

    def _states(self) -> AsyncIterator[dict[str, Any] | None]:
        """The watched object's states, from the process-wide shared watch of its kind and namespace."""
        from airflow_flink_operator.triggers.watch_hub import WatchHub

        connection = self._connection()
        return WatchHub.get(connection.cache_key(), connection.async_hook, self.kind, self.namespace).subscribe(self.name)

    def decide(self, obj: dict[str, Any] | None, checkpoints: Any = None) -> Any:
        """The status model's one step for the object as last seen, now (a
        :class:`~airflow_flink_operator.models.waiting.Decision`); ``checkpoints``: Flink's answer for a
        ``checkpointed`` wait."""
        from airflow_flink_operator.models.waiting import decide

        return decide(obj, self.criteria, kind=self.kind, name=self.name, now=time.time(), checkpoints=checkpoints)

    async def _look(self, obj: dict[str, Any] | None) -> tuple[Any, bool]:
        """:meth:`decide`, reading the job's checkpoints first when the wait needs them; also says whether it
        did (then the loop looks again after ``poll_interval`` even if the object does not change)."""
        from airflow_flink_operator.models.waiting import checkpoints_to_read

        request = checkpoints_to_read(obj, self.criteria)
        if request is None:
            return self.decide(obj), False
        if self._rest_hook is None:  # one hook for every read: the connection is looked up once
            self._rest_hook = self._connection().async_hook(namespace=self.namespace)
        answer = await self._rest_hook.flink_rest_get(request)
        return self.decide(obj, answer), True

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Watch until decided; yield exactly one event."""
        last: dict[str, Any] = {"message": f"{self.kind} {self.name}: no state observed yet"}

        async def follow() -> TriggerEvent:
            pickup_deadline = self.criteria.pickup_deadline
            states = self._states().__aiter__()
            obj: dict[str, Any] | None = None
            # A wait that must look again without a new state (a pick-up deadline, or a running job's
            # checkpoints every poll_interval) needs the next state as a task of its own; the others await
            # it directly: no task, no waiter per wait (memory per wait).
            next_state: asyncio.Future[Any] | None = None
            seen = polling = False
            try:
                while True:
                    if next_state is None and pickup_deadline is None and not polling:
                        try:
                            obj = await states.__anext__()
                        except StopAsyncIteration:
                            raise RuntimeError("the watch ended") from None
                        seen = True
                    else:
                        if next_state is None:
                            next_state = asyncio.ensure_future(states.__anext__())
                        pickup_wait = None
                        if pickup_deadline is not None and seen:
                            pickup_wait = max(pickup_deadline - time.time(), 0.0) + 0.05
                        if polling:  # a running job's checkpoints: read them again after poll_interval
                            pickup_wait = min(pickup_wait if pickup_wait is not None else self.poll_interval,
                                              self.poll_interval)
                        done, _ = await asyncio.wait({next_state}, timeout=pickup_wait)
                        if not done and pickup_deadline is not None and time.time() >= pickup_deadline:
                            pickup_deadline = None  # judged once past the deadline: no need to wake again
                        if done:  # else: no change by the deadline or poll; judge the last state again, now
                            try:
                                obj = next_state.result()
                            except StopAsyncIteration:
                                raise RuntimeError("the watch ended") from None
                            seen = True
                            next_state = asyncio.ensure_future(states.__anext__())
                    decision, polling = await self._look(obj)
                    if decision.message != last.get("message"):
                        self.log.info("%s", decision.message)
                    last.update(message=decision.message, result=decision.result)
                    if decision.status is not None:
                        return TriggerEvent(decision.event())
            finally:
                if next_state is not None:
                    next_state.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await next_state  # let the subscription see its cancellation before closing it
                await states.aclose()
                rest_hook, self._rest_hook = self._rest_hook, None
                if rest_hook is not None:
                    await rest_hook.aclose()  # its client (the service proxy's connection)

        remaining = None if self.timeout_at is None else max(self.timeout_at - time.time(), 0.0)
        started = time.monotonic()
        try:
            await load_heavy_modules()
            if remaining is not None:
                remaining = max(remaining - (time.monotonic() - started), 0.0)
            if hasattr(asyncio, "timeout"):  # Python 3.11+: no task of its own for the wait
                async with asyncio.timeout(remaining):
                    event = await follow()
            else:
                event = await asyncio.wait_for(follow(), remaining)
        except asyncio.TimeoutError:
            event = TriggerEvent({"status": "timeout", "message": f"Timed out: {last['message']}",
                                  "result": last.get("result", {})})
        except Exception as exc:  # surface API failures as a clear task error, not a hung trigger
            event = TriggerEvent({"status": "error", "message": f"Waiting for {self.kind} {self.name} failed: {exc}",
                                  "result": last.get("result", {})})
        event.payload["resume_state"] = self.resume_state
        yield event

    async def on_kill(self) -> None:
        """A user killed the deferred task: apply the operator's ``on_kill_action`` to the resource.

        Airflow 3.3 calls this also for a trigger handed to another triggerer while this one stalled
        (apache/airflow#73454), so the action follows only a kill Airflow confirms
        (:func:`~airflow_flink_operator.triggers.kill_guard.kill_verdict`); otherwise it logs why not.
        Airflow 3.3.2 also repeats the cancellation on every state sync (about a second) until the trigger
        has ended, which would cut this short: the decision and the action run in a task of their own.
        """
        if self.on_kill_action not in ("suspend", "delete"):
            return
        work = asyncio.ensure_future(self._apply_on_kill_action())
        work.add_done_callback(self._log_on_kill_failure)  # also when nobody awaits it any more
        await asyncio.shield(work)

    def _log_on_kill_failure(self, work: asyncio.Future[None]) -> None:
        if not work.cancelled() and work.exception() is not None:
            self.log.warning("on_kill_action=%s on %s %s/%s failed: %s", self.on_kill_action, self.kind,
                             self.namespace, self.name, work.exception())

    async def _apply_on_kill_action(self) -> None:
        from airflow_flink_operator.triggers.kill_guard import TOKEN_KEY, verdict_for

        verdict = await verdict_for(getattr(self, "task_instance", None), self.resume_state.get(TOKEN_KEY))
        if not verdict.killed:
            self.log.info("Trigger cancelled; not applying on_kill_action=%s to %s %s/%s: %s", self.on_kill_action,
                          self.kind, self.namespace, self.name, verdict.reason)
            return
        self.log.info("Trigger cancelled: %s", verdict.reason)
        await load_heavy_modules()
        hook = self._connection().async_hook()
        try:
            if self.on_kill_action == "suspend":
                self.log.info("Task killed: suspending %s %s/%s", self.kind, self.namespace, self.name)
                await hook.merge_patch_object(self.kind, self.name, self.namespace,
                                              {"spec": {"job": {"state": "suspended"}}})
            else:
                self.log.info("Task killed: deleting %s %s/%s", self.kind, self.namespace, self.name)
                await hook.delete_object(self.kind, self.name, self.namespace)
        finally:
            await hook.aclose()
