"""Tear a job down for good, after a final savepoint; refuse to delete if that savepoint fails."""

from __future__ import annotations

from typing import Any

from airflow_flink_operator.assets import redact_uri
from airflow_flink_operator.constants import KIND_DEPLOYMENT
from airflow_flink_operator.operators.base import FlinkBaseOperator
from airflow_flink_operator.operators.savepoint import SavepointMixin
from airflow_flink_operator.operators.spec_change import SpecChangeMixin


class FlinkTeardownOperator(SavepointMixin, SpecChangeMixin, FlinkBaseOperator):
    """Delete a job for good, after a final savepoint; refuse to delete if that savepoint fails.

    Guarantees, in the Flink operator's terms:

    - ``savepoint="snapshot"`` (default): a FlinkStateSnapshot of the job that runs now, created
      with ``disposeOnDelete: false`` so it outlives the job (the operator's default, true, would
      make deleting it later hang once the job is gone). A retry of the task reattaches to it; a
      re-run after a redeploy takes a new one. Deleted only once it is COMPLETED with a path.
    - ``savepoint="suspend"``: stop-with-savepoint; the path is the savepoint the operator recorded
      for that stop.
    - A job already suspended is deleted only if it was suspended with a savepoint of its last run
      (that path is returned); else ``force`` is needed.
    - Nothing is deleted once Airflow has told the task to stop. With ``savepoint="snapshot"``, a retry
      after the deletion went through returns the final savepoint from its snapshot; with ``suspend``
      the resource that recorded it is gone, so such a retry reports none.

    :param name: the FlinkDeployment or FlinkSessionJob. (templated)
    :param kind: its kind.
    :param savepoint: ``snapshot``, ``suspend`` or ``none``.
    :param force: delete even if the final savepoint fails or cannot be taken.
    :return: ``{deleted, savepoint_path}``.
    """

    template_fields = (*FlinkBaseOperator.template_fields, "name")

    def __init__(self, *, name: str, kind: str = KIND_DEPLOYMENT, savepoint: str = "snapshot", force: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if savepoint not in ("snapshot", "suspend", "none"):
            raise ValueError(f"savepoint must be 'snapshot', 'suspend' or 'none', not {savepoint!r}")
        self.name, self.kind, self.savepoint, self.force = name, kind, savepoint, force

    def execute(self, context: Any) -> Any:
        from airflow_flink_operator.models.status import FlinkResourceStatus, stale_error_of

        namespace = self.resolved_namespace()
        current = self.hook.get(self.kind, self.name, namespace)
        if current is None:
            return self._already_gone(context, namespace)
        status = FlinkResourceStatus.from_object(current)
        if self.savepoint == "none" or current.get("spec", {}).get("job") is None:
            return self._delete(context, namespace, None)
        if status.lifecycle_state == "SUSPENDED" or (current.get("spec", {}).get("job") or {}).get("state") == "suspended":
            path = self.savepoint_of_stop(self.kind, self.name, namespace, None)
            if path:
                self.log.info("Suspended with savepoint %s of its last run; that is its final state", redact_uri(path))
                return self._delete(context, namespace, path)
            message = (f"{self.kind} {namespace}/{self.name} is suspended without a savepoint of its last run "
                       "(a last-state or stateless suspend keeps its state elsewhere)")
            self._refuse_unless_forced(message, namespace, "resume it first, or pass force=True to delete anyway.")
            return self._delete(context, namespace, None)
        if status.job_state != "RUNNING":
            message = (f"cannot take a final savepoint of {self.kind} {namespace}/{self.name}: the job is not running "
                       f"({status.describe()})")
            self._refuse_unless_forced(message, namespace, "pass force=True to delete without a savepoint.")
            return self._delete(context, namespace, None)
        carried = {"kind": self.kind, "name": self.name, "namespace": namespace}
        if self.savepoint == "suspend":
            stored, baseline = self.begin_stop(context, current, {"state": "suspended", "upgradeMode": "savepoint"})
            return self.wait_or_defer(context, kind=self.kind, name=self.name, namespace=namespace, target="suspended",
                                      generation=stored["metadata"].get("generation"),
                                      stale_error=stale_error_of(stored),
                                      method_name="after_suspend", resume_state={**carried, "baseline": baseline})
        wait = self.start_savepoint(context, job_kind=self.kind, job_name=self.name, namespace=namespace,
                                    purpose="final", dispose_on_delete=False)
        return self.wait_for_savepoint(context, wait, "after_final_savepoint", carried)

    def _already_gone(self, context: Any, namespace: str) -> dict[str, Any]:
        """The resource is gone: if an earlier try of this task deleted it, return that try's final savepoint."""
        from airflow_flink_operator.models.savepoints import savepoint_records
        from airflow_flink_operator.naming import LABEL_PURPOSE, ti_labels

        if self.savepoint == "snapshot" and self.hook.snapshot_resources_served():
            selector = ",".join(f"{k}={v}" for k, v in {**ti_labels(context), LABEL_PURPOSE: "final"}.items())
            finals = savepoint_records(None, self.hook.list_snapshots(self.name, namespace, self.kind,
                                                                      label_selector=selector))
            if finals:
                self.log.info("%s %s/%s was deleted by an earlier try of this task; its final savepoint is %s",
                              self.kind, namespace, self.name, redact_uri(finals[0].path))
                return {"deleted": True, "existed": True, "kind": self.kind, "name": self.name, "namespace": namespace,
                        "savepoint_path": finals[0].path, "snapshot": finals[0].snapshot}
        self.log.info("%s %s/%s does not exist; nothing to tear down", self.kind, namespace, self.name)
        return {"deleted": False, "existed": False, "savepoint_path": None}

    def after_final_savepoint(self, context: Any, event: dict[str, Any]) -> Any:
        """Delete only if the final savepoint succeeded (or ``force``)."""
        carried = self.resume_state_of(event)
        namespace = carried["namespace"]
        if event.get("status") != "success" and not (event.get("result") or {}).get("no_snapshot_controller"):
            message = f"final savepoint failed: {event.get('message')}"
            self._refuse_unless_forced(message, namespace, "pass force=True to delete without a savepoint.")
            return self._delete(context, namespace, None)
        path, continued = self.savepoint_outcome(context, event, "after_final_savepoint")
        if path is None:
            return continued
        self.log.info("Final savepoint at %s", redact_uri(path))
        return self._delete(context, namespace, path)

    def after_suspend(self, context: Any, event: dict[str, Any]) -> Any:
        """Suspended: delete only if the operator recorded a savepoint for this stop (or ``force``)."""
        carried = self.resume_state_of(event)
        namespace = carried["namespace"]
        if event.get("status") == "success":
            path = self.savepoint_of_stop(self.kind, self.name, namespace, carried.get("baseline"))
            message = None if path else "the job was suspended but the operator recorded no savepoint for this stop"
        else:
            path, message = None, f"suspending with a savepoint failed: {event.get('message')}"
        if message:
            self._refuse_unless_forced(message, namespace, "pass force=True to delete without a savepoint.")
        else:
            self.log.info("Final savepoint (suspend) at %s", redact_uri(path))
        return self._delete(context, namespace, path)

    def _refuse_unless_forced(self, message: str, namespace: str, advice: str) -> None:
        """Fail, deleting nothing, with ``message`` and ``advice``; with ``force``, warn and go on."""
        if not self.force:
            self.fail(f"{message}. Nothing was deleted; {advice}", kind=self.kind, name=self.name, namespace=namespace)
        self.log.warning("%s; deleting anyway (force=True)", message)

    def _delete(self, context: Any, namespace: str, path: str | None) -> Any:
        self.ensure_may_continue(context, f"delete {self.kind} {namespace}/{self.name}")
        self.hook.delete(self.kind, self.name, namespace, wait=False)
        return self.wait_or_defer(context, kind=self.kind, name=self.name, namespace=namespace, mode="deleted",
                                  method_name="deleted", resume_state={"kind": self.kind, "name": self.name,
                                                                "namespace": namespace, "savepoint_path": path})

    def deleted(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        """The resource is gone."""
        carried = self.resume_state_of(event)
        self.check_event(event, kind=self.kind, name=self.name, namespace=carried["namespace"])
        if carried.get("savepoint_path"):
            from airflow_flink_operator.assets import record_savepoint

            record_savepoint(context, self.outlets, savepoint_path=carried["savepoint_path"], job=self.name,
                             namespace=carried["namespace"], resource_kind=self.kind, trigger_type=None, final=True)
        return {"deleted": True, "kind": self.kind, "name": self.name, "namespace": carried["namespace"],
                "savepoint_path": carried.get("savepoint_path")}
