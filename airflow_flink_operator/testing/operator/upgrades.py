"""FlinkDeployment spec changes (``AbstractJobReconciler``): upgrade, suspend and resume per upgrade mode,
the stop-with-savepoint of a change, and rollback to the last stable spec."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from airflow_flink_operator.constants import KIND_DEPLOYMENT
from airflow_flink_operator.testing.operator.clock import epoch_ms, epoch_ms_text
from airflow_flink_operator.testing.operator.state import ResourceTraits, _SimulationState
from airflow_flink_operator.testing.operator.status import (
    LAST_STATE_DUMMY_SP_PATH,
    TERMINAL_JOB_STATES,
    compute_lifecycle,
    exception_json,
    spec_json,
)


class SpecChangeMixin:
    """Part of :class:`~.core.SimulatedFlinkOperator`: what a new spec of a running deployment does."""

    @staticmethod
    def _job_upgrade(mode: str, job_state: str | None) -> tuple[str, str]:
        """``AbstractJobReconciler.getJobUpgrade`` simplified: (suspend mode, restore mode) for a change.

        Stateless cancels; a globally terminal job is not stopped again and restores from the state recorded
        in the status (``useStatusSavepoint``); a running savepoint-mode job stops with a savepoint; anything
        else stateful goes the last-state way (``last-state-fallback.enabled`` defaults to true; HA assumed).
        """
        terminal = job_state in TERMINAL_JOB_STATES
        if mode == "stateless":
            return ("noop" if terminal else "stateless"), "stateless"
        if terminal:
            return "noop", "savepoint"
        if mode == "savepoint" and job_state == "RUNNING":
            return "savepoint", "savepoint"
        return "last-state", "last-state"

    @staticmethod
    def _status_savepoint(job_status: dict[str, Any]) -> str | None:
        """``AbstractJobReconciler.restoreJob``: a savepoint restore uses ``upgradeSavepointPath``, else the
        legacy ``savepointInfo.lastSavepoint.location``."""
        last = (job_status.get("savepointInfo") or {}).get("lastSavepoint") or {}
        return job_status.get("upgradeSavepointPath") or last.get("location")

    def _start_change(self, dep: dict[str, Any], status: dict[str, Any], sim: _SimulationState,
                      spec: dict[str, Any], last_spec: dict[str, Any]) -> None:
        """A spec change: upgrade, suspend or resume, per the upgrade mode."""
        job, last_job = spec.get("job") or {}, last_spec.get("job") or {}
        recon = status["reconciliationStatus"]
        job_status = status.get("jobStatus") or {}
        if job.get("state") == "suspended" and last_job.get("state") != "suspended":
            sim.pending_change = "suspend"
        elif job.get("state") != "suspended" and last_job.get("state") == "suspended":
            # Resume: the upgrade mode is inherited from how the job was stopped unless stateless is asked
            # for, and HA is required when it was stopped the last-state way (reconcileSpecChange, restoreJob).
            stopped_as = sim.restore_mode or last_job.get("upgradeMode") or "stateless"
            mode = "stateless" if (job.get("upgradeMode") or "stateless") == "stateless" else stopped_as
            restore = self._status_savepoint(status.setdefault("jobStatus", {})) if mode == "savepoint" else None
            self._deploy(dep, status, sim, first=False, restore_from=restore, require_ha=stopped_as == "last-state")
            self.event(dep, "SpecChanged", "Resuming the suspended job")
            return
        elif job.get("state") == "suspended":
            # suspended → suspended: only the spec is updated.
            recon["lastReconciledSpec"] = spec_json(spec, False)
            status["observedGeneration"] = dep["metadata"]["generation"]
            status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
            self._write_status(dep, status)
            return
        else:
            sim.pending_change = "upgrade"
        sim.upgrade_plan = self._job_upgrade(job.get("upgradeMode") or "stateless", job_status.get("state")) \
            if job else ("stateless", "stateless")
        if job and sim.upgrade_plan[0] == "noop":
            # An already terminal job is "cancelled" in the same reconcile that records the new spec
            # (AbstractFlinkService.cancelJob ends with FINISHED).
            status["jobStatus"].update(state="FINISHED", updateTime=epoch_ms_text())
        # Write the new spec with UPGRADING before acting (controller flow).
        sim.previous = (recon.get("lastReconciledSpec"), status.get("observedGeneration"))
        recon["lastReconciledSpec"] = spec_json(spec, False)
        recon["state"] = "UPGRADING"
        status["observedGeneration"] = dep["metadata"]["generation"]
        status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
        if self._write_status(dep, status):
            self._touch(sim)
            sim.savepoint_started = None
            self.event(dep, "SpecChanged", f"{'Suspending' if sim.pending_change == 'suspend' else 'Upgrading'} "
                                           f"with upgrade mode {job.get('upgradeMode') or 'stateless'}")
        else:
            sim.pending_change = None

    def _progress_change(self, dep: dict[str, Any], status: dict[str, Any], sim: _SimulationState, traits: ResourceTraits) -> None:
        t = self.timings
        spec = dep["spec"]
        job = spec.get("job") or {}
        recon = status["reconciliationStatus"]
        job_status = status.setdefault("jobStatus", {}) if job else {}
        if sim.pending_change == "rollback":
            if not self._elapsed(sim, t.step):
                return
            stable = json.loads(recon["lastStableSpec"])["spec"]
            recon["lastReconciledSpec"] = recon["lastStableSpec"]
            recon["state"] = "ROLLED_BACK"
            status["jobManagerDeploymentStatus"] = "READY"
            if stable.get("job"):
                # The last stable spec is redeployed as an upgrade: the unready new job is not running, so a
                # stateful mode goes the last-state way (same job id, dummy path); stateless gets a new job.
                _, restore_mode = self._job_upgrade(stable["job"].get("upgradeMode") or "stateless",
                                                    job_status.get("state"))
                if restore_mode == "last-state" and job_status.get("jobId"):
                    if sim.checkpointed:
                        job_status["upgradeSavepointPath"] = LAST_STATE_DUMMY_SP_PATH
                else:
                    job_status["jobId"] = uuid.uuid4().hex
                    sim.checkpointed, sim.checkpoints = False, 0
                job_status.update(state="RUNNING", startTime=epoch_ms_text(), updateTime=epoch_ms_text())
                sim.running_since = time.monotonic()
            status["error"] = exception_json("UpgradeFailureException",
                                         "Deployment did not become stable in time; rolled back to the last stable spec")
            status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
            if self._write_status(dep, status):
                sim.pending_change = None
                self.event(dep, "Rollback", "Rolled back to the last stable spec", "Warning")
            return
        suspend_mode, restore_mode = sim.upgrade_plan or ("stateless", "stateless")
        real = self._is_real(dep, sim)
        if real and job and sim.pending_savepoint_path is None:
            # Phase 1 on real Flink: stop-with-savepoint, or cancel (checkpoints retained), one step per pass.
            if sim.cancel_ts is None:
                sim.cancel_ts = epoch_ms()
            outcome = self._stop_real(dep, job_status, sim, suspend_mode)
            if outcome == "wait":
                return
            sim.cancel_ts, cancel_ts = None, sim.cancel_ts
            if isinstance(outcome, tuple):
                # The job may have failed meanwhile: observe it, so the next attempt sees a terminal job and
                # restores from its last state instead of asking a dead job for a savepoint again.
                self._observe_real(dep, status, job_status, sim)
                self._upgrade_savepoint_failed(dep, status, sim, f"Savepoint failed during upgrade: {outcome[1]}")
                return
            if outcome:
                sim.pending_savepoint_path = outcome
                self._record_upgrade_savepoint(dep, status, outcome, cancel_ts)
        # Phase 1: stop-with-savepoint (savepoint mode, job running), else straight on.
        if not (real and job) and suspend_mode == "savepoint" and sim.pending_savepoint_path is None:
            if sim.savepoint_started is None:
                sim.savepoint_started = time.monotonic()
                sim.cancel_ts = epoch_ms()
                self._jm_log(dep, "Triggering savepoint for upgrade")
                return
            if traits.savepoint == "hang" or time.monotonic() - sim.savepoint_started < t.savepoint:
                return
            if traits.savepoint == "fail" and self._savepoint_should_fail(traits, sim):
                self._upgrade_savepoint_failed(dep, status, sim,
                                               "Savepoint failed during upgrade: simulated checkpoint coordinator failure")
                return
            sim.pending_savepoint_path = self._savepoint_path(spec, job_status.get("jobId"))
            self._record_upgrade_savepoint(dep, status, sim.pending_savepoint_path, sim.cancel_ts)
        path = sim.pending_savepoint_path
        if sim.pending_change == "suspend":
            if job:
                # AbstractFlinkService.cancelJob ends with the job FINISHED whatever the suspend mode; a
                # last-state or stateless stop leaves upgradeSavepointPath as it was (reference h).
                job_status.update(state="FINISHED", updateTime=epoch_ms_text())
            status["jobManagerDeploymentStatus"] = "MISSING"
            recon["state"] = "DEPLOYED"
            status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
            if self._write_status(dep, status):
                self._delete_jm_pods(dep)
                self.event(dep, "Suspended", f"Job suspended{' with savepoint ' + path if path else ''}")
                sim.pending_change = None
                sim.pending_savepoint_path = None
                sim.running_since = None
                sim.restore_mode = restore_mode
            return
        # Upgrade: tear down, then deploy the new spec restoring per the restore mode.
        restore = self._status_savepoint(job_status) if restore_mode == "savepoint" else None
        sim.pending_change = None
        sim.pending_savepoint_path = None
        sim.restore_mode = restore_mode
        self._deploy(dep, status, sim, first=False, restore_from=restore, require_ha=restore_mode == "last-state")

    def _upgrade_savepoint_failed(self, dep: dict[str, Any], status: dict[str, Any], sim: _SimulationState,
                                  message: str) -> None:
        """The stop-with-savepoint of a change failed: the change is not applied, the old spec keeps running,
        the error says why, and the operator retries on a later reconcile."""
        recon = status["reconciliationStatus"]
        status["error"] = exception_json("UpgradeFailureException", message)
        recon["state"] = "DEPLOYED"
        recon["lastReconciledSpec"], status["observedGeneration"] = sim.previous
        status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
        if self._write_status(dep, status):
            self.event(dep, "SavepointError", message.splitlines()[0], "Warning")
            sim.pending_change = None
            sim.savepoint_started = None
            self._touch(sim)
