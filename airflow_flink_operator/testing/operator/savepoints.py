"""Savepoints of FlinkDeployments and FlinkSessionJobs: where they go, upgrade savepoints (recorded as
FlinkStateSnapshots or in ``savepointInfo``), savepoints by ``savepointTriggerNonce``, the legacy
``savepointInfo`` flow, and the savepoint on deletion."""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

from airflow_flink_operator.constants import GROUP, KIND_DEPLOYMENT, KIND_STATE_SNAPSHOT, PLURALS, VERSION
from airflow_flink_operator.testing.operator.clock import epoch_ms, epoch_ms_text, kubernetes_timestamp
from airflow_flink_operator.testing.operator.state import ResourceTraits, _SimulationState
from airflow_flink_operator.testing.operator.status import (
    TERMINAL_JOB_STATES,
    compute_lifecycle,
    exception_json,
    flat_conf,
    spec_json,
    without_nonces,
)


class SavepointMixin:
    """Part of :class:`~.core.SimulatedFlinkOperator`: savepoints taken through a job."""

    def _snapshot_resources_for(self, obj: dict[str, Any]) -> bool:
        """``FlinkStateSnapshotUtils.isSnapshotResourceEnabled``: the operator's setting and the job's own."""
        enabled = flat_conf(obj.get("spec") or {}).get("kubernetes.operator.snapshot.resource.enabled", "true")
        return self.snapshot_resources and enabled.strip().lower() != "false" and self._snapshots_served()

    def _now_iso(self) -> str:
        return kubernetes_timestamp(digits=self.clock_digits)

    def _savepoint_dir(self, spec: dict[str, Any]) -> str | None:
        conf = flat_conf(spec)
        return conf.get("state.savepoints.dir") or conf.get("execution.checkpointing.savepoint-dir")

    def _savepoint_path(self, spec: dict[str, Any], job_id: str | None) -> str:
        base = (self._savepoint_dir(spec) or "file:///flink-data/savepoints").rstrip("/")
        return f"{base}/savepoint-{(job_id or 'unknown')[:6]}-{uuid.uuid4().hex[:12]}"

    def _savepoint_should_fail(self, traits: ResourceTraits, sim: _SimulationState) -> bool:
        """With ``savepoint_failures=N`` the job's first N savepoints fail (counted per job)."""
        if traits.savepoint_failures is None:
            return True
        if traits.failed_savepoints < traits.savepoint_failures:
            traits.failed_savepoints += 1
            return True
        return False

    def _record_upgrade_savepoint(self, obj: dict[str, Any], status: dict[str, Any], path: str,
                                  cancel_ts: int | None = None) -> None:
        """``AbstractJobReconciler.setUpgradeSavepointPath``: the path goes to ``upgradeSavepointPath``, and an
        UPGRADE snapshot is recorded — a FlinkStateSnapshot where snapshot resources are on, else
        ``savepointInfo.lastSavepoint`` (timeStamp: when the stop was triggered, epoch-ms number)."""
        job_status = status.setdefault("jobStatus", {})
        if self._snapshot_resources_for(obj):
            self._create_operator_snapshot(obj, "upgrade", path=path)
        else:
            info = job_status.setdefault("savepointInfo", {})
            savepoint = {"timeStamp": cancel_ts or epoch_ms(), "location": path, "triggerType": "UPGRADE",
                         "formatType": "CANONICAL", "triggerNonce": None}
            info["lastSavepoint"] = savepoint
            info.setdefault("savepointHistory", []).append(savepoint)
        job_status["upgradeSavepointPath"] = path
        if obj["kind"] == KIND_DEPLOYMENT:
            self._jm_log(obj, f"Savepoint completed at {path}")

    def _create_operator_snapshot(self, obj: dict[str, Any], trigger: str, path: str | None = None) -> str:
        """``FlinkStateSnapshotUtils.createSavepointResource``: ``<name>-savepoint-<trigger>-<epochMillis>``,
        labelled with its trigger type only (the snapshot controller adds the rest); ``disposeOnDelete`` from
        ``kubernetes.operator.savepoint.dispose-on-delete`` (default false); an upgrade savepoint already exists."""
        conf = flat_conf(obj.get("spec") or {})
        dispose = conf.get("kubernetes.operator.savepoint.dispose-on-delete", "false").strip().lower() == "true"
        savepoint: dict[str, Any] = {"path": path or self._savepoint_dir(obj.get("spec") or {}),
                                     "formatType": conf.get("kubernetes.operator.savepoint.format.type", "CANONICAL"),
                                     "disposeOnDelete": dispose, "alreadyExists": trigger == "upgrade"}
        name = f"{obj['metadata']['name']}-savepoint-{trigger}-{epoch_ms_text()}"
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND_STATE_SNAPSHOT,
                "metadata": {"name": name, "namespace": obj["metadata"]["namespace"],
                             "labels": {"snapshot.trigger-type": trigger.upper()}},
                "spec": {"jobReference": {"kind": obj["kind"], "name": obj["metadata"]["name"]},
                         "savepoint": {k: v for k, v in savepoint.items() if v is not None}}}
        self._custom.create_namespaced_custom_object(GROUP, VERSION, obj["metadata"]["namespace"],
                                                     PLURALS[KIND_STATE_SNAPSHOT], body, _request_timeout=5)
        return name

    def _nonce_change(self, dep: dict[str, Any], status: dict[str, Any], sim: _SimulationState,
                      spec: dict[str, Any], last_spec: dict[str, Any]) -> None:
        """Only a trigger nonce changed: take a savepoint, no redeploy."""
        recon = status["reconciliationStatus"]
        first = json.loads(recon["lastReconciledSpec"])["resource_metadata"]["firstDeployment"]
        new_nonce = (spec.get("job") or {}).get("savepointTriggerNonce")
        old_nonce = (last_spec.get("job") or {}).get("savepointTriggerNonce")
        recon["lastReconciledSpec"] = spec_json(spec, first)
        if recon.get("lastStableSpec") and without_nonces(json.loads(recon["lastStableSpec"])["spec"]) == without_nonces(spec):
            recon["lastStableSpec"] = recon["lastReconciledSpec"]
        status["observedGeneration"] = dep["metadata"]["generation"]
        job_status = status.setdefault("jobStatus", {})
        if new_nonce is not None and new_nonce != old_nonce:
            if self._snapshot_resources_for(dep):
                self._create_operator_snapshot(dep, "manual")
            elif job_status.get("state") == "RUNNING":
                info = job_status.setdefault("savepointInfo", {})
                trigger_id = uuid.uuid4().hex
                if self._is_real(dep, sim):  # AbstractFlinkService.triggerSavepoint: Flink's trigger id
                    meta = dep["metadata"]
                    trigger_id = self.real.rest.trigger_savepoint(
                        job_status["jobId"], self.real.savepoint_dir(meta["namespace"], meta["name"]))
                    sim.flink_trigger = f"{job_status['jobId']}/{trigger_id}"
                info.update(triggerId=trigger_id, triggerTimestamp=epoch_ms(),
                            triggerType="MANUAL", formatType="CANONICAL")
                sim.savepoint_started = time.monotonic()
                sim.pending_savepoint_path = None
            else:
                status["error"] = exception_json("ReconciliationException",
                                                 "Cannot trigger savepoint: the job is not running")
        status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
        self._write_status(dep, status)

    def _maybe_progress_legacy_savepoint(self, dep: dict[str, Any], status: dict[str, Any], sim: _SimulationState,
                                         traits: ResourceTraits) -> None:
        info = (status.get("jobStatus") or {}).get("savepointInfo") or {}
        if not info.get("triggerId") or sim.savepoint_started is None:
            return
        real_path = real_failure = None
        if sim.flink_trigger is not None and self._is_real(dep, sim):
            job_id, trigger = sim.flink_trigger.split("/", 1)
            state, real_path, real_failure = self.real.rest.savepoint_result(job_id, trigger)
            if state != "COMPLETED":
                return
            sim.flink_trigger = None
            real_failure = real_failure or (None if real_path else "no location")
        elif traits.savepoint == "hang" or time.monotonic() - sim.savepoint_started < self.timings.savepoint:
            return
        status = copy.deepcopy(status)
        info = status["jobStatus"]["savepointInfo"]
        nonce = (dep["spec"].get("job") or {}).get("savepointTriggerNonce")
        triggered_at = info.get("triggerTimestamp")
        for key in ("triggerId", "triggerTimestamp", "triggerType", "formatType"):
            info.pop(key, None)
        sim.savepoint_started = None
        fresh = self._get(dep)
        if fresh is None:
            return
        if real_failure or (real_path is None and traits.savepoint == "fail" and self._savepoint_should_fail(traits, sim)):
            message = f"Savepoint failed: {real_failure or 'simulated checkpoint coordinator failure'}"
            status["error"] = exception_json("ReconciliationException", message)
            self._write_status(fresh, status)
            self.event(dep, "SavepointError", message.splitlines()[0], "Warning")
            return
        path = real_path or self._savepoint_path(dep["spec"], status["jobStatus"].get("jobId"))
        # SnapshotObserver.observeTriggeredSavepoint: the savepoint's timeStamp is its trigger timestamp.
        savepoint = {"timeStamp": triggered_at or epoch_ms(), "location": path, "triggerType": "MANUAL",
                     "formatType": "CANONICAL", "triggerNonce": nonce}
        info["lastSavepoint"] = savepoint
        info.setdefault("savepointHistory", []).append(savepoint)
        self._write_status(fresh, status)
        self._jm_log(dep, f"Savepoint completed at {path}")
        self.event(dep, "SavepointCompleted", f"Savepoint completed at {path}")

    def _savepoint_on_deletion(self, dep: dict[str, Any], status: dict[str, Any], sim: _SimulationState,
                               traits: ResourceTraits) -> bool:
        """``ApplicationReconciler.cleanupInternal``: with ``kubernetes.operator.job.savepoint-on-deletion`` a job
        that is deployed and not terminal is stopped with a savepoint (``cancelJob(SAVEPOINT)``: recorded as an
        UPGRADE savepoint, a FlinkStateSnapshot where snapshot resources are on) before the finalizer goes.

        The savepoint goes through the JobManager's REST API. When the JobManager is already gone — e.g. the
        garbage collector removed it because the client deleted with Foreground propagation (reference h,
        "Deletion propagation") — or the savepoint fails, the cleanup throws: nothing is written, the
        finalizer stays and the cleanup is retried, so the delete hangs.

        :return: whether the deletion may proceed.
        """
        conf = flat_conf(dep.get("spec") or {})
        if conf.get("kubernetes.operator.job.savepoint-on-deletion", "false").strip().lower() != "true":
            return True
        job_status = status.get("jobStatus") or {}
        if not (status.get("reconciliationStatus") or {}).get("lastReconciledSpec") \
                or job_status.get("state") in TERMINAL_JOB_STATES:
            return True
        if not self._jm_pods(dep) or traits.savepoint != "ok":
            if sim.cleanup_message is None:
                sim.cleanup_message = "savepoint on deletion failed"
                self.errors.append(f"cleanup of {dep['metadata']['name']}: the savepoint on deletion failed "
                                   "(JobManager unreachable or savepoint failing); retrying")
            return False
        cancel_ts = epoch_ms()
        if self._is_real(dep, sim):
            outcome = self._stop_real(dep, job_status, sim, "savepoint")
            if outcome == "wait":
                return False
            if isinstance(outcome, tuple):
                self.errors.append(f"cleanup of {dep['metadata']['name']}: the savepoint on deletion failed: {outcome[1]}")
                return False
            path = outcome
        else:
            path = self._savepoint_path(dep["spec"], job_status.get("jobId"))
        self._record_upgrade_savepoint(dep, copy.deepcopy(status), path, cancel_ts)
        return True
