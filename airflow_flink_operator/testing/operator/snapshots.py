"""The FlinkStateSnapshot controller (``FlinkStateSnapshotController``, ``StateSnapshotReconciler``):
TRIGGER_PENDING → IN_PROGRESS → COMPLETED, FAILED (retried up to ``backoffLimit``) or ABANDONED; labels;
disposal of a deleted savepoint's data behind the finalizer."""

from __future__ import annotations

import copy
import random
import uuid
from typing import Any

from airflow_flink_operator.constants import GROUP, KIND_DEPLOYMENT, KIND_STATE_SNAPSHOT, PLURALS, VERSION
from airflow_flink_operator.testing.flink_rest import FlinkRestError
from airflow_flink_operator.testing.operator.state import ResourceTraits, SimTimings, _SimulationState
from airflow_flink_operator.testing.operator.status import FINALIZERS, exception_json


class SnapshotMixin:
    """Part of :class:`~.core.SimulatedFlinkOperator`: the FlinkStateSnapshot controller."""

    def _snapshot_target(self, snap: dict[str, Any], resources: dict[tuple[str, str, str], dict[str, Any]]
                         ) -> dict[str, Any] | None:
        ref = (snap.get("spec") or {}).get("jobReference") or {}
        return resources.get((ref.get("kind", KIND_DEPLOYMENT), snap["metadata"]["namespace"], ref.get("name") or ""))

    def _update_snapshot_labels(self, snap: dict[str, Any], state: str | None,
                                target: dict[str, Any] | None) -> dict[str, Any] | None:
        """``FlinkStateSnapshotController.updateLabels`` (``FlinkStateSnapshotUtils.getSnapshotLabels``).

        :return: the updated object, or ``None`` if nothing changed (or it could not be updated).
        """
        spec = snap.get("spec") or {}
        labels = dict(snap["metadata"].get("labels") or {})
        labels["snapshot.type"] = "SAVEPOINT" if spec.get("savepoint") is not None else "CHECKPOINT"
        labels.setdefault("snapshot.trigger-type", "MANUAL")
        if state:
            labels["snapshot.state"] = state
        if target is not None:
            labels.update({"job-reference.kind": target["kind"], "job-reference.name": target["metadata"]["name"]})
        if labels == (snap["metadata"].get("labels") or {}):
            return None
        fresh = self._get(snap)
        if fresh is None or fresh["metadata"].get("deletionTimestamp"):
            return None
        fresh["metadata"]["labels"] = {**(fresh["metadata"].get("labels") or {}), **labels}
        try:
            return self._custom.replace_namespaced_custom_object(
                GROUP, VERSION, snap["metadata"]["namespace"], PLURALS[KIND_STATE_SNAPSHOT], snap["metadata"]["name"],
                fresh, _request_timeout=5)
        except Exception as exc:
            self.errors.append(f"labels: {exc!r}")
            return None

    def _cleanup_snapshot(self, snap: dict[str, Any], target: dict[str, Any] | None) -> None:
        """``StateSnapshotReconciler.cleanup``, behind the snapshot's finalizer (reference h).

        Checkpoints, savepoints with ``disposeOnDelete: false`` (default true, ``SavepointSpec``) and ones
        without a job reference just go. IN_PROGRESS keeps the finalizer — and since JOSDK only calls
        ``cleanup`` for a resource being deleted, the observer that would complete it never runs again: the
        delete hangs until someone removes the finalizer. FAILED / TRIGGER_PENDING / ABANDONED go without
        disposal. A COMPLETED savepoint is disposed of through the referenced job, which must
        exist and be RUNNING; otherwise the cleanup throws, the operator records a ``CleanupFailed``
        Warning Event with the message (``FlinkStateSnapshotController.cleanup``; the status is not
        touched) and keeps the finalizer: the delete hangs and is retried every reconcile interval.
        """
        spec = snap.get("spec") or {}
        savepoint = spec.get("savepoint")
        state = (snap.get("status") or {}).get("state")
        sim = self._sim_state(snap)
        if savepoint is None or savepoint.get("disposeOnDelete", True) is False \
                or not (spec.get("jobReference") or {}).get("name"):
            self._finish_deletion(snap)
            return
        if state == "IN_PROGRESS":
            return
        if state != "COMPLETED":
            self._finish_deletion(snap)
            return
        if target is None:
            message = "Cannot dispose of snapshot because referenced Flink job cannot be found!"
        elif ((target.get("status") or {}).get("jobStatus") or {}).get("state") != "RUNNING":
            message = "Cannot dispose of snapshot because referenced Flink job is not running!"
        else:
            path = (snap.get("status") or {}).get("path")
            failure = self.real.dispose(path) if path and self._is_real(target, self._sim_state(target)) else None
            if failure:
                message = f"Cannot dispose of snapshot {path}: {failure}"
                if sim.cleanup_message != message:
                    sim.cleanup_message = message
                    self.event(snap, "CleanupFailed", message, "Warning")
                return
            if path and path not in self.disposed_savepoints:
                self.disposed_savepoints.append(path)
                self._jm_log(target, f"Disposing savepoint {path}")
            self._finish_deletion(snap)
            return
        if sim.cleanup_message != message:
            sim.cleanup_message = message
            self.event(snap, "CleanupFailed", message, "Warning")

    def _reconcile_snapshot(self, snap: dict[str, Any], resources: dict[tuple[str, str, str], dict[str, Any]]) -> None:
        meta, spec = snap["metadata"], snap.get("spec") or {}
        status = copy.deepcopy(snap.get("status") or {})
        sim = self._sim_state(snap)
        job_name = (spec.get("jobReference") or {}).get("name") or ""
        traits = self._traits.get(job_name, ResourceTraits())
        t = self.timings
        target = self._snapshot_target(snap, resources)
        if meta.get("deletionTimestamp"):
            if FINALIZERS[KIND_STATE_SNAPSHOT] in (meta.get("finalizers") or []):
                self._cleanup_snapshot(snap, target)
            return
        if not self._ensure_finalizer(snap):
            return
        state = status.get("state")
        snap = self._update_snapshot_labels(snap, state, target) or snap
        if state in ("COMPLETED", "ABANDONED") or (state == "FAILED" and not self._retry(snap, status, sim, t)):
            return
        ref = spec.get("jobReference") or {}
        savepoint = spec.get("savepoint")
        if state is None:
            if (savepoint is None) == (spec.get("checkpoint") is None):
                status.update(state="FAILED", error=exception_json("ValidationException",
                              "Exactly one of checkpoint or savepoint configurations has to be set."))
                self._write_status(snap, status)
                return
            if savepoint and savepoint.get("alreadyExists"):
                # FlinkStateSnapshotUtils.snapshotSuccessful(..., setTriggerTimestamp=true): one instant for both.
                now = self._now_iso()
                status.update(state="COMPLETED", path=savepoint.get("path"), triggerTimestamp=now,
                              resultTimestamp=now, failures=0)
                self._write_status(snap, status)
                return
            status.update(state="TRIGGER_PENDING", failures=status.get("failures", 0))
            if self._write_status(snap, status):
                self._touch(sim)
            return
        job_state = ((target or {}).get("status") or {}).get("jobStatus", {}).get("state")
        if state == "TRIGGER_PENDING":
            if target is None:
                status.update(state="FAILED", error=exception_json("ValidationException",
                              f"Target for snapshot {meta['namespace']}/{ref.get('name')} was not found"))
            elif job_state != "RUNNING":
                # FlinkStateSnapshotUtils.snapshotAbandoned: no path, the error, a result timestamp.
                status.pop("path", None)
                status.update(state="ABANDONED", resultTimestamp=self._now_iso(), error=exception_json(
                    "ReconciliationException", f"Job {ref.get('name')} is not running (state {job_state}); snapshot abandoned"))
            elif savepoint is not None and not (savepoint.get("path") or self._savepoint_dir(target["spec"])):
                status.update(state="FAILED", error=exception_json(
                    "ReconciliationException", "Savepoint path was not given and state.savepoints.dir is not set"))
            elif self._is_real(target, self._sim_state(target)):
                # AbstractFlinkService.triggerSavepoint: the trigger id is Flink's.
                job_id = target["status"]["jobStatus"]["jobId"]
                try:
                    trigger = self.real.rest.trigger_savepoint(job_id, self._real_savepoint_dir(savepoint, target))
                    sim.flink_trigger = f"{job_id}/{trigger}"
                    status.update(state="IN_PROGRESS", triggerId=trigger, triggerTimestamp=self._now_iso())
                    status.pop("error", None)
                except FlinkRestError as exc:
                    status.update(state="FAILED", failures=int(status.get("failures", 0)) + 1,
                                  error=exception_json("ReconciliationException", str(exc)))
            else:
                status.update(state="IN_PROGRESS", triggerId=uuid.uuid4().hex, triggerTimestamp=self._now_iso())
                status.pop("error", None)
            if self._write_status(snap, status):
                self._touch(sim)
                if status["state"] != "IN_PROGRESS":
                    self.event(snap, "SavepointError", status.get("error", ""), "Warning")
            return
        if state == "IN_PROGRESS":
            if job_state not in ("RUNNING", None) and target is not None:
                status.pop("path", None)
                status.update(state="ABANDONED", resultTimestamp=self._now_iso(), error=exception_json(
                    "ReconciliationException", f"Job {ref.get('name')} stopped while the snapshot was in progress"))
                self._write_status(snap, status)
                return
            if sim.flink_trigger is not None:
                self._progress_real_snapshot(snap, status, sim, target)
                return
            if traits.savepoint == "hang" or not self._elapsed(sim, t.savepoint):
                return
            if traits.savepoint == "fail" and self._savepoint_should_fail(traits, sim):
                status.update(state="FAILED", failures=int(status.get("failures", 0)) + 1, error=exception_json(
                    "ReconciliationException", "Savepoint failed: simulated checkpoint coordinator failure"))
                if self._write_status(snap, status):
                    self._touch(sim)
                    self.event(snap, "SavepointError", "Savepoint failed: simulated checkpoint coordinator failure",
                               "Warning")
                return
            base = (savepoint or {}).get("path") or self._savepoint_dir(target["spec"]) if target else None
            path = f"{(base or 'file:///flink-data/checkpoints').rstrip('/')}/savepoint-{uuid.uuid4().hex[:12]}"
            status.update(state="COMPLETED", path=path, resultTimestamp=self._now_iso())
            status.pop("error", None)
            if self._write_status(snap, status):
                self._update_snapshot_labels(snap, "COMPLETED", target)
                if target is not None:
                    self._jm_log(target, f"Savepoint completed at {path}")
                    self.event(snap, "SavepointCompleted", f"Savepoint completed at {path}")

    def _retry(self, snap: dict[str, Any], status: dict[str, Any], sim: _SimulationState, t: SimTimings) -> bool:
        """A FAILED snapshot is retried while failures <= backoffLimit (-1: forever)."""
        limit = (snap.get("spec") or {}).get("backoffLimit", -1)
        if limit is None:
            limit = -1
        failures = int(status.get("failures", 0))
        if limit != -1 and failures > limit:
            return False
        if "Target for snapshot" in (status.get("error") or "") or "Exactly one of" in (status.get("error") or ""):
            return False
        if not self._elapsed(sim, t.snapshot_retry * random.uniform(1, 1.5)):
            return False
        status.update(state="TRIGGER_PENDING")
        if self._write_status(snap, status):
            self._touch(sim)
        return False

    def _real_savepoint_dir(self, savepoint: dict[str, Any] | None, target: dict[str, Any]) -> str:
        """Where a savepoint of a job on the local Flink goes: a ``file:`` / absolute path as given, else the
        resource's directory under the cluster's work dir (an ``s3://`` bucket is not reachable here)."""
        given = (savepoint or {}).get("path") or ""
        if given.startswith(("file:", "/")):
            return given
        return self.real.savepoint_dir(target["metadata"]["namespace"], target["metadata"]["name"])

    def _progress_real_snapshot(self, snap: dict[str, Any], status: dict[str, Any], sim: _SimulationState,
                                target: dict[str, Any] | None) -> None:
        """``SnapshotObserver``: the savepoint's result from Flink — its location, or Flink's reason it failed."""
        job_id, trigger = sim.flink_trigger.split("/", 1)
        try:
            state, location, reason = self.real.rest.savepoint_result(job_id, trigger)
        except FlinkRestError as exc:
            state, location, reason = "COMPLETED", None, str(exc)
        if state != "COMPLETED":
            return
        sim.flink_trigger = None
        if reason or not location:
            message = f"Savepoint failed: {reason or 'no location'}"
            status.update(state="FAILED", failures=int(status.get("failures", 0)) + 1,
                          error=exception_json("ReconciliationException", message))
            if self._write_status(snap, status):
                self._touch(sim)
                self.event(snap, "SavepointError", message.splitlines()[0], "Warning")
            return
        status.update(state="COMPLETED", path=location, resultTimestamp=self._now_iso())
        status.pop("error", None)
        if self._write_status(snap, status):
            self._update_snapshot_labels(snap, "COMPLETED", target)
            if target is not None:
                self._jm_log(target, f"Savepoint completed at {location}")
            self.event(snap, "SavepointCompleted", f"Savepoint completed at {location}")
