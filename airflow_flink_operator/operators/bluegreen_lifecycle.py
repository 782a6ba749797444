"""Suspend and resume a FlinkBlueGreenDeployment in place (``SUSPEND`` / ``RESUME``), as upgrades of its
``job.state`` (see :class:`~airflow_flink_operator.operators.bluegreen.FlinkBlueGreenUpgradeOperator`)."""

from __future__ import annotations

import copy
from typing import Any

from airflow_flink_operator.constants import KIND_DEPLOYMENT
from airflow_flink_operator.operators.bluegreen import FlinkBlueGreenUpgradeOperator


class FlinkBlueGreenSuspendOperator(FlinkBlueGreenUpgradeOperator):
    """Suspend a FlinkBlueGreenDeployment in place (``SUSPEND``: the active child's job is suspended, with a
    savepoint in ``savepoint`` upgrade mode); ends at ``ACTIVE_<colour>`` with its job ``SUSPENDED``.

    After a failed change it suspends the spec the serving child runs, not the failed template.

    :param name: the FlinkBlueGreenDeployment. (templated)
    """

    def __init__(self, *, name: str, **kwargs: Any) -> None:
        super().__init__(name=name, template_patch={"job": {"state": "suspended"}}, **kwargs)

    def _desired(self, current: dict[str, Any], name: str, namespace: str) -> Any:
        """After a failed change the parent template holds the failed build: suspend what the serving child runs
        instead (still ``SUSPEND``: ``FlinkBlueGreenDeploymentSpecDiff.compare`` ranks ``job.state`` first)."""
        from airflow_flink_operator.models.bluegreen_diff import template_of_child
        from airflow_flink_operator.models.status_bluegreen import bluegreen_summary, last_transition_error

        summary = bluegreen_summary(current)
        child = self.hook.get(KIND_DEPLOYMENT, summary["active_deployment"], namespace) \
            if last_transition_error(current) and summary["active_deployment"] else None
        if child is None:
            return super()._desired(current, name, namespace)
        spec = copy.deepcopy(current.get("spec") or {})
        spec.setdefault("template", {})["spec"] = template_of_child(
            child.get("spec"), summary["active_colour"] or "blue")["template"]["spec"]
        return super()._desired({**current, "spec": spec}, name, namespace)


class FlinkBlueGreenResumeOperator(FlinkBlueGreenUpgradeOperator):
    """Resume a suspended FlinkBlueGreenDeployment in place (``RESUME``: the same colour runs again, with any
    template change made while suspended); ends at ``ACTIVE_<colour>`` with its job ``RUNNING``.

    :param name: the FlinkBlueGreenDeployment. (templated)
    """

    def __init__(self, *, name: str, **kwargs: Any) -> None:
        super().__init__(name=name, template_patch={"job": {"state": "running"}}, **kwargs)
