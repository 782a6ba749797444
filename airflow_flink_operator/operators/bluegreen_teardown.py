"""Tear a FlinkBlueGreenDeployment down for good, after a final savepoint of the serving child."""

from __future__ import annotations

from typing import Any

from airflow_flink_operator.assets import redact_uri
from airflow_flink_operator.constants import KIND_DEPLOYMENT
from airflow_flink_operator.models.bluegreen import KIND_BLUE_GREEN
from airflow_flink_operator.operators.base import FlinkBaseOperator
from airflow_flink_operator.operators.bluegreen import COLOURS, _BlueGreenOperator
from airflow_flink_operator.operators.savepoint import SavepointMixin


class FlinkBlueGreenTeardownOperator(SavepointMixin, _BlueGreenOperator):
    """Delete a FlinkBlueGreenDeployment for good, after a final savepoint of the active child.

    As :class:`~airflow_flink_operator.operators.FlinkTeardownOperator`: the savepoint is taken first
    (a FlinkStateSnapshot with ``disposeOnDelete: false``, or ``savepointTriggerNonce`` on operators
    without snapshot resources), and nothing is deleted if it fails. Then the resource is deleted and
    both children with it (explicitly too, for clusters without a garbage collector).

    :param name: the FlinkBlueGreenDeployment. (templated)
    :param savepoint: ``snapshot`` (default) or ``none``.
    :param force: delete even if the final savepoint fails or cannot be taken.
    :return: ``{deleted, name, namespace, active_colour, active_deployment, savepoint_path}``.
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name")

    def __init__(self, *, name: str, savepoint: str = "snapshot", force: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if savepoint not in ("snapshot", "none"):
            raise ValueError(f"savepoint must be 'snapshot' or 'none', not {savepoint!r}")
        self.name, self.savepoint, self.force = name, savepoint, force

    def execute(self, context: Any) -> Any:
        from airflow_flink_operator.models.status import FlinkResourceStatus
        from airflow_flink_operator.models.status_bluegreen import BlueGreenState, bluegreen_summary

        namespace = self.resolved_namespace()
        current = self.hook.get(KIND_BLUE_GREEN, self.name, namespace)
        if current is None:
            self.log.info("%s %s/%s does not exist; nothing to tear down", KIND_BLUE_GREEN, namespace, self.name)
            return {"deleted": False, "existed": False, "savepoint_path": None}
        summary = bluegreen_summary(current)
        carried = {"name": self.name, "namespace": namespace, "active_colour": summary["active_colour"],
                 "active_deployment": summary["active_deployment"]}
        if self.savepoint == "none":
            return self._delete(context, carried, None)
        child = self.hook.get(KIND_DEPLOYMENT, summary["active_deployment"], namespace) \
            if summary["active_deployment"] else None
        running = child is not None and FlinkResourceStatus.from_object(child).job_state == "RUNNING"
        if summary["blue_green_state"] not in (BlueGreenState.ACTIVE_BLUE.value, BlueGreenState.ACTIVE_GREEN.value) \
                or not running:
            message = (f"cannot take a final savepoint of {KIND_BLUE_GREEN} {namespace}/{self.name}: "
                       f"state {summary['blue_green_state']}, active child {summary['active_deployment']} "
                       f"{'running' if running else 'not running'}")
            if not self.force:
                self.fail(f"{message}. Nothing was deleted; pass force=True to delete without a savepoint.",
                          kind=KIND_BLUE_GREEN, name=self.name, namespace=namespace)
            self.log.warning("%s; deleting anyway (force=True)", message)
            return self._delete(context, carried, None)
        wait = self.start_savepoint(context, job_kind=KIND_DEPLOYMENT, job_name=summary["active_deployment"],
                                    namespace=namespace, purpose="final", dispose_on_delete=False)
        return self.wait_or_defer(context, kind=wait["kind"], name=wait["name"], namespace=namespace, mode=wait["mode"],
                                  nonce=wait.get("nonce"), method_name="after_final_savepoint", resume_state=carried)

    def after_final_savepoint(self, context: Any, event: dict[str, Any]) -> Any:
        """Delete only if the final savepoint succeeded (or ``force``)."""
        carried = self.resume_state_of(event)
        namespace = carried["namespace"]
        path = (event.get("result") or {}).get("savepoint_path") if event.get("status") == "success" else None
        if not path:
            message = f"final savepoint of {carried['active_deployment']} failed: {event.get('message')}"
            if not self.force:
                self.fail(f"{message}. Nothing was deleted; pass force=True to delete without a savepoint.",
                          kind=KIND_BLUE_GREEN, name=self.name, namespace=namespace)
            self.log.warning("%s; deleting anyway (force=True)", message)
        else:
            self.log.info("Final savepoint of %s at %s", carried["active_deployment"], redact_uri(path))
        return self._delete(context, carried, path)

    def _delete(self, context: Any, carried: dict[str, Any], path: str | None) -> Any:
        self.hook.delete(KIND_BLUE_GREEN, self.name, carried["namespace"], wait=False)
        return self.wait_or_defer(context, kind=KIND_BLUE_GREEN, name=self.name, namespace=carried["namespace"],
                                  mode="deleted", method_name="parent_deleted", resume_state={**carried, "savepoint_path": path})

    def parent_deleted(self, context: Any, event: dict[str, Any]) -> Any:
        """The resource is gone: delete the children (a no-op where the garbage collector did) and wait for them."""
        from airflow_flink_operator.models.bluegreen import child_name

        carried = self.resume_state_of(event)
        self.check_event(event, kind=KIND_BLUE_GREEN, name=self.name, namespace=carried["namespace"])
        remaining = [child_name(self.name, c) for c in COLOURS
                     if self.hook.delete(KIND_DEPLOYMENT, child_name(self.name, c), carried["namespace"], wait=False)]
        return self._wait_children(context, {**carried, "remaining": remaining})

    def _wait_children(self, context: Any, carried: dict[str, Any]) -> Any:
        if not carried["remaining"]:
            return {"deleted": True, "kind": KIND_BLUE_GREEN, "name": self.name, "namespace": carried["namespace"],
                    "active_colour": carried["active_colour"], "active_deployment": carried["active_deployment"],
                    "savepoint_path": carried.get("savepoint_path")}
        child, *rest = carried["remaining"]
        return self.wait_or_defer(context, kind=KIND_DEPLOYMENT, name=child, namespace=carried["namespace"],
                                  mode="deleted", method_name="child_deleted", resume_state={**carried, "remaining": rest,
                                                                                      "waiting_for": child})

    def child_deleted(self, context: Any, event: dict[str, Any]) -> Any:
        """One child is gone; wait for the next."""
        carried = self.resume_state_of(event)
        self.check_event(event, kind=KIND_DEPLOYMENT, name=carried["waiting_for"], namespace=carried["namespace"])
        return self._wait_children(context, carried)
