"""One trigger for every Flink wait: it watches the object (no fixed sleep loop) and decides with
the status model, then yields a single event with ``status`` and ``message``.

All triggers of a process share one watch per kind and namespace (:mod:`.watch_hub`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class FlinkWaitTrigger(BaseTrigger):
    """Wait until a Flink resource reaches a target, a snapshot completes, or a resource is gone.

    Only serialisable primitives: names and connection settings, never credentials.

    :param kind: ``FlinkDeployment``, ``FlinkSessionJob`` or ``FlinkStateSnapshot``.
    :param name: the resource's name.
    :param namespace: its namespace.
    :param mode: ``resource``, ``snapshot``, ``nonce`` or ``deleted`` (see ``models.status.evaluate``).
    :param target: for ``resource``: ``running``, ``stable``, ``finished``, ``suspended`` or ``ready``.
    :param nonce: for ``nonce``: the savepoint trigger nonce.
    :param timeout_at: epoch seconds after which a ``timeout`` event is sent.
    :param kubernetes_conn_id: the Kubernetes connection.
    :param echo: small JSON-able state returned in the event as ``echo``, so the task resumes with
        it however the deferral kwargs travel.
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
        timeout_at: float | None = None,
        kubernetes_conn_id: str | None = "kubernetes_default",
        in_cluster: bool | None = None,
        config_file: str | None = None,
        cluster_context: str | None = None,
        watch_timeout: int = 300,
        echo: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.kind, self.name, self.namespace = kind, name, namespace
        self.mode, self.target, self.nonce, self.timeout_at = mode, target, nonce, timeout_at
        self.kubernetes_conn_id, self.in_cluster = kubernetes_conn_id, in_cluster
        self.config_file, self.cluster_context = config_file, cluster_context
        self.watch_timeout = watch_timeout
        self.echo = echo or {}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and keyword arguments, as stored by the triggerer."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "kind": self.kind, "name": self.name, "namespace": self.namespace, "mode": self.mode,
                "target": self.target, "nonce": self.nonce, "timeout_at": self.timeout_at,
                "kubernetes_conn_id": self.kubernetes_conn_id, "in_cluster": self.in_cluster,
                "config_file": self.config_file, "cluster_context": self.cluster_context,
                "watch_timeout": self.watch_timeout, "echo": self.echo,
            },
        )

    def _hook(self) -> Any:
        from airflow_flink_operator.hooks import AsyncFlinkKubernetesHook

        return AsyncFlinkKubernetesHook(conn_id=self.kubernetes_conn_id, in_cluster=self.in_cluster,
                                        config_file=self.config_file, cluster_context=self.cluster_context)

    def _states(self) -> AsyncIterator[dict[str, Any] | None]:
        """The watched object's states, from the process-wide shared watch of its kind and namespace."""
        from airflow_flink_operator.triggers.watch_hub import WatchHub

        key = (self.kubernetes_conn_id, self.in_cluster, self.config_file, self.cluster_context)
        return WatchHub.get(key, self._hook, self.kind, self.namespace).subscribe(self.name)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Watch until decided; yield exactly one event."""
        from airflow_flink_operator.models.status import Phase, evaluate

        last: dict[str, Any] = {"message": f"{self.kind} {self.name}: no state observed yet"}

        async def decide() -> TriggerEvent:
            async for obj in self._states():
                phase, message, result = evaluate(self.mode, obj, kind=self.kind, name=self.name,
                                                  target=self.target, nonce=self.nonce)
                if message != last.get("message"):
                    self.log.info("%s", message)
                last.update(message=message, result=result)
                if phase is Phase.DONE:
                    return TriggerEvent({"status": "success", "message": message, "result": result})
                if phase is Phase.FAILED:
                    return TriggerEvent({"status": "error", "message": message, "result": result})
            raise RuntimeError("the watch ended")  # watch_object never ends by itself

        remaining = None if self.timeout_at is None else max(self.timeout_at - time.time(), 0.0)
        try:
            event = await asyncio.wait_for(decide(), remaining)
        except asyncio.TimeoutError:
            event = TriggerEvent({"status": "timeout", "message": f"Timed out: {last['message']}",
                                  "result": last.get("result", {})})
        except Exception as exc:  # surface API failures as a clear task error, not a hung trigger
            event = TriggerEvent({"status": "error", "message": f"Waiting for {self.kind} {self.name} failed: {exc}",
                                  "result": last.get("result", {})})
        event.payload["echo"] = self.echo
        yield event
