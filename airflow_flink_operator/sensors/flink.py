"""Wait for an existing Flink resource to reach a state, failing fast when it fails."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseSensorOperator

from airflow_flink_operator.constants import KIND_BLUE_GREEN, KIND_DEPLOYMENT, KIND_STATE_SNAPSHOT
from airflow_flink_operator.operators.base import FlinkTaskError, default_deferrable

#: What the sensor can wait for on a FlinkBlueGreenDeployment (``models.status_bluegreen``).
BLUE_GREEN_TARGETS = ("active", "active_blue", "active_green")


class FlinkJobSensor(BaseSensorOperator):
    """Wait until a FlinkDeployment / FlinkSessionJob reaches ``target``, or a savepoint completes.

    Same decision as the operators (the status model): a READY JobManager with a FAILED job fails
    the sensor at once, with the operator's error, events and log; ``RESTARTING`` keeps waiting.
    Works in ``poke``, ``reschedule`` and deferrable modes.

    :param name: the resource (for ``target="savepoint_completed"``: the FlinkStateSnapshot). (templated)
    :param kind: ``FlinkDeployment`` (default), ``FlinkSessionJob`` or ``FlinkBlueGreenDeployment``.
    :param target: ``running``, ``stable``, ``finished``, ``suspended``, ``ready`` or ``savepoint_completed``;
        for a FlinkBlueGreenDeployment ``active`` (a colour active with its job running; ``running`` means
        the same), ``active_blue`` or ``active_green``.
    :param namespace: namespace. (templated)
    :param kubernetes_conn_id: the Kubernetes connection.
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``).
    """

    template_fields = ("name", "namespace")
    ui_color = "#e6522c"

    def __init__(self, *, name: str, kind: str = KIND_DEPLOYMENT, target: str = "running", namespace: str | None = None,
                 kubernetes_conn_id: str | None = "kubernetes_default", in_cluster: bool | None = None,
                 config_file: str | None = None, cluster_context: str | None = None, deferrable: bool | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if kind == KIND_BLUE_GREEN:
            if target == "running":
                target = "active"
            if target not in BLUE_GREEN_TARGETS:
                raise ValueError(f"unknown target {target!r} for a {kind}; use one of {', '.join(BLUE_GREEN_TARGETS)}")
        elif target not in ("running", "stable", "finished", "suspended", "ready", "savepoint_completed"):
            raise ValueError(f"unknown target {target!r}")
        self.name, self.kind, self.target, self.namespace = name, kind, target, namespace
        self.kubernetes_conn_id, self.in_cluster = kubernetes_conn_id, in_cluster
        self.config_file, self.cluster_context = config_file, cluster_context
        self.deferrable = default_deferrable() if deferrable is None else deferrable

    @property
    def connection(self) -> Any:
        """How this sensor reaches the Kubernetes API (names and paths only)."""
        from airflow_flink_operator.hooks.connection import KubernetesConnection

        return KubernetesConnection(conn_id=self.kubernetes_conn_id, in_cluster=self.in_cluster,
                                    config_file=self.config_file, cluster_context=self.cluster_context)

    @cached_property
    def hook(self) -> Any:
        """The hook, built on first use."""
        return self.connection.sync_hook(namespace=self.namespace)

    def _wait_args(self) -> dict[str, Any]:
        if self.target == "savepoint_completed":
            return {"kind": KIND_STATE_SNAPSHOT, "mode": "snapshot", "target": None}
        if self.kind == KIND_BLUE_GREEN:
            return {"kind": self.kind, "mode": "bluegreen", "target": self.target}
        return {"kind": self.kind, "mode": "resource", "target": self.target}

    def _criteria(self, obj: dict[str, Any] | None) -> dict[str, Any]:
        """The generation to judge: the resource's current one (older generations' failures mean waiting)."""
        if self.target == "savepoint_completed" or self.kind == KIND_BLUE_GREEN or obj is None:
            return {}
        return {"generation": (obj.get("metadata") or {}).get("generation")}

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from airflow_flink_operator.models.status import Phase, evaluate
        from airflow_flink_operator.triggers import FlinkWaitTrigger

        args = self._wait_args()
        namespace = self.hook.resolve_namespace()
        obj = self.hook.get(args["kind"], self.name, namespace)
        criteria = self._criteria(obj)
        phase, message, result = evaluate(args["mode"], obj, kind=args["kind"], name=self.name,
                                          target=args["target"], **criteria)
        if phase is not Phase.WAITING:  # known already: no round trip through the triggerer
            return self.execute_complete(context, {"status": "success" if phase is Phase.DONE else "error",
                                                   "message": message, "result": result})
        self.log.info("Deferring: waiting in the triggerer (timeout %ss). Now: %s", self.timeout, message)
        self.defer(trigger=FlinkWaitTrigger(name=self.name, namespace=namespace,
                                            timeout_at=time.time() + float(self.timeout),
                                            connection=self.connection.serialize(), **args, **criteria),
                   method_name="execute_complete", timeout=timedelta(seconds=float(self.timeout) + 60))

    def poke(self, context: Any) -> Any:
        """Reached: a ``PokeReturnValue`` carrying the resource summary (its XCom); raise at once when it failed."""
        from airflow.sdk import PokeReturnValue

        from airflow_flink_operator.models.status import Phase, evaluate

        args = self._wait_args()
        namespace = self.hook.resolve_namespace()
        obj = self.hook.get(args["kind"], self.name, namespace)
        phase, message, result = evaluate(args["mode"], obj, kind=args["kind"], name=self.name, target=args["target"],
                                          **self._criteria(obj))
        self.log.info("%s", message)
        if phase is Phase.FAILED:
            raise FlinkTaskError(f"{message}\n{self.hook.diagnostics(args['kind'], self.name, namespace)}")
        return PokeReturnValue(is_done=phase is Phase.DONE, xcom_value=result if phase is Phase.DONE else None)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """Return the result, or raise with diagnostics."""
        if event.get("status") == "success":
            self.log.info("%s", event.get("message"))
            return event.get("result") or {}
        args = self._wait_args()
        namespace = self.hook.resolve_namespace()
        raise FlinkTaskError(f"{event.get('message')}\n{self.hook.diagnostics(args['kind'], self.name, namespace)}")
