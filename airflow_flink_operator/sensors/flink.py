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

    Same decision as the operators: every poke is one look through ``hook.decide`` (the status
    model's one step, :func:`airflow_flink_operator.models.waiting.decide`), and the deferrable mode
    hands the same criteria to the trigger. A READY JobManager with a FAILED job fails the sensor at
    once, with the operator's error, events and log; ``RESTARTING`` keeps waiting; failure fields of
    an older generation mean waiting until the operator has picked up the latest one. Works in
    ``poke``, ``reschedule`` and deferrable modes.

    :param name: the resource (for ``target="savepoint_completed"``: the FlinkStateSnapshot). (templated)
    :param kind: ``FlinkDeployment`` (default), ``FlinkSessionJob`` or ``FlinkBlueGreenDeployment``.
    :param target: ``running``, ``stable``, ``finished``, ``suspended``, ``ready``, ``checkpointed`` (running, and a
        checkpoint of this start completed, read from Flink's REST API through the service proxy; the Role
        needs ``get`` on ``services/proxy``; deferred, read every ``poke_interval``) or ``savepoint_completed``;
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
        elif target not in ("running", "stable", "finished", "suspended", "ready", "checkpointed",
                            "savepoint_completed"):
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

    def _wait(self) -> tuple[str, Any]:
        """The kind looked at and the :class:`~airflow_flink_operator.models.waiting.WaitCriteria`: a
        resource is judged on the generation it has when looked at (older generations' failures mean waiting)."""
        from airflow_flink_operator.models.waiting import LATEST_GENERATION, WaitCriteria, WaitMode

        if self.target == "savepoint_completed":
            return KIND_STATE_SNAPSHOT, WaitCriteria(mode=WaitMode.SNAPSHOT)
        if self.kind == KIND_BLUE_GREEN:
            return self.kind, WaitCriteria(mode=WaitMode.BLUEGREEN, target=self.target)
        return self.kind, WaitCriteria(mode=WaitMode.RESOURCE, target=self.target, generation=LATEST_GENERATION)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from dataclasses import replace

        from airflow_flink_operator.triggers import FlinkWaitTrigger

        kind, criteria = self._wait()
        namespace = self.hook.resolve_namespace()
        decision = self.hook.look(kind, self.name, namespace, criteria)
        status, message, result = decision.status, decision.message, decision.result
        if status is not None:  # known already: no round trip through the triggerer
            return self.execute_complete(context, {"status": status, "message": message, "result": result})
        if criteria.generation is not None:  # the trigger judges the generation seen now
            criteria = replace(criteria, generation=result.get("generation"))
        self.log.info("Deferring: waiting in the triggerer (timeout %ss). Now: %s", self.timeout, message)
        self.defer(trigger=FlinkWaitTrigger(kind=kind, name=self.name, namespace=namespace,
                                            timeout_at=time.time() + float(self.timeout),
                                            connection=self.connection.serialize(),
                                            poll_interval=float(self.poke_interval), **criteria.to_kwargs()),
                   method_name="execute_complete", timeout=timedelta(seconds=float(self.timeout) + 60))

    def poke(self, context: Any) -> Any:
        """Reached: a ``PokeReturnValue`` carrying the resource summary (its XCom); raise at once when it failed."""
        from airflow.sdk import PokeReturnValue

        kind, criteria = self._wait()
        namespace = self.hook.resolve_namespace()
        decision = self.hook.look(kind, self.name, namespace, criteria)
        status, message, result = decision.status, decision.message, decision.result
        self.log.info("%s", message)
        if status == "error":
            raise FlinkTaskError(f"{message}\n{self.hook.diagnostics(kind, self.name, namespace)}")
        return PokeReturnValue(is_done=status == "success", xcom_value=result if status == "success" else None)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """Return the result, or raise with diagnostics."""
        if event.get("status") == "success":
            self.log.info("%s", event.get("message"))
            return event.get("result") or {}
        kind, _ = self._wait()
        namespace = self.hook.resolve_namespace()
        raise FlinkTaskError(f"{event.get('message')}\n{self.hook.diagnostics(kind, self.name, namespace)}")
