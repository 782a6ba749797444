"""FlinkDeployment reconciliation: finalizer and deletion, validation of a new generation, deployment
(``ApplicationReconciler.deploy``), the JobManager and job moving through their states, stability, the
rollback trigger and job failures."""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

from airflow_flink_operator.constants import KIND_DEPLOYMENT
from airflow_flink_operator.testing.operator.clock import epoch_ms, epoch_ms_text
from airflow_flink_operator.testing.operator.state import ResourceTraits, SimTimings, _SimulationState
from airflow_flink_operator.testing.operator.status import (
    LAST_STATE_DUMMY_SP_PATH,
    compute_lifecycle,
    exception_json,
    flat_conf,
    spec_json,
    without_nonces,
)


class DeploymentMixin:
    """Part of :class:`~.core.SimulatedFlinkOperator`: the FlinkDeployment controller."""

    def _reconcile_deployment(self, dep: dict[str, Any], session_jobs: list[dict[str, Any]]) -> None:
        meta, spec = dep["metadata"], dep.get("spec") or {}
        status = copy.deepcopy(dep.get("status") or {})
        sim = self._sim_state(dep)
        traits = self._traits_of(dep)
        t = self.timings
        if meta.get("deletionTimestamp"):
            if status.get("lifecycleState") != "DELETING":
                status["lifecycleState"] = "DELETING"
                self._write_status(dep, status)
                self.event(dep, "Cleanup", "Cleaning up FlinkDeployment")
                return
            if not spec.get("job"):
                running = [j for j in session_jobs if j["metadata"]["namespace"] == meta["namespace"]
                           and (j.get("spec") or {}).get("deploymentName") == meta["name"]]
                if running:
                    status["error"] = exception_json("ReconciliationException",
                                                 f"The session cluster has {len(running)} FlinkSessionJob(s); "
                                                 "deletion is blocked until they are deleted")
                    self._write_status(dep, status)
                    return
            elif not self._savepoint_on_deletion(dep, status, sim, traits):
                return
            if self._is_real(dep, sim) and (status.get("jobStatus") or {}).get("jobId"):
                self.real.cancel(status["jobStatus"]["jobId"])
            self._register_rest(dep, False)
            self._delete_jm_pods(dep)
            self._finish_deletion(dep)
            return
        if not self._ensure_finalizer(dep):
            return
        recon = status.setdefault("reconciliationStatus", {})
        generation = meta.get("generation", 1)
        last_text = recon.get("lastReconciledSpec")
        last_spec = json.loads(last_text)["spec"] if last_text else None

        # A new generation: validate, then decide what kind of change it is.
        retrying = status.get("error") and "UpgradeFailureException" in status["error"]
        if status.get("observedGeneration") != generation and sim.pending_change is None and not (
                retrying and not self._elapsed(sim, t.step * 3)):
            # Until the operator reconciles the new generation, the status (failure fields included)
            # stays as it was: errors are cleared only when the new spec is recorded
            # (ReconciliationUtils.updateStatusForSpecReconciliation; reference h, last bullet).
            if not self._picked_up(sim, generation, traits):
                return
            error = self._validation_error(dep)
            if error is None and last_spec is None and (spec.get("job") or {}).get("state") == "suspended":
                error = "Job must start in running state"
            if error is None and last_spec is not None and bool(spec.get("job")) != bool(last_spec.get("job")):
                error = "Cannot switch from session to job cluster" if spec.get("job") else \
                    "Cannot switch from job to session cluster"
            if error is not None:
                status["error"] = exception_json("ValidationException", error)
                status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
                if self._write_status(dep, status) and (dep.get("status") or {}).get("error") != status["error"]:
                    self.event(dep, "ValidationError", error, "Warning")
                return
            status.pop("error", None)
            if last_spec is None:
                self._deploy(dep, status, sim, first=True)
                return
            if without_nonces(spec) == without_nonces(last_spec):
                self._nonce_change(dep, status, sim, spec, last_spec)
                return
            self._start_change(dep, status, sim, spec, last_spec)
            return

        if sim.pending_change is not None:
            self._progress_change(dep, status, sim, traits)
            return
        self._progress_deployment(dep, status, sim, traits, t)

    def _deploy(self, dep: dict[str, Any], status: dict[str, Any], sim: _SimulationState, first: bool,
                restore_from: str | None = None, require_ha: bool = False) -> None:
        """``ApplicationReconciler.deploy``: submit the spec, from a savepoint, the last state or empty.

        - first deployment with ``initialSavepointPath``: ``upgradeSavepointPath`` is set to it
          (``AbstractFlinkResourceReconciler.updateStatusBeforeFirstDeployment``);
        - ``restore_from`` (a savepoint): the path was recorded when it was taken; nothing changes here;
        - ``require_ha`` (last-state) with a checkpoint in the HA metadata: ``upgradeSavepointPath``
          becomes the literal ``KUBERNETES_OPERATOR_LAST_STATE``;
        - otherwise (stateless) ``upgradeSavepointPath`` is left as it was, an older real path included.

        The Flink job id is rotated on every deployment except a last-state one that already has an id
        (``ApplicationReconciler.setJobIdIfNecessary``), and recorded before the submission.
        """
        spec = dep["spec"]
        recon = status.setdefault("reconciliationStatus", {})
        recon["lastReconciledSpec"] = spec_json(spec, first)
        recon["state"] = "DEPLOYED"
        recon["reconciliationTimestamp"] = epoch_ms()
        status["observedGeneration"] = dep["metadata"].get("generation", 1)
        status["jobManagerDeploymentStatus"] = "DEPLOYING"
        rotate = False
        real = self._is_real(dep, sim)
        if spec.get("job"):
            job_status = status.setdefault("jobStatus", {})
            initial = (spec["job"].get("initialSavepointPath") if first else None)
            if initial:
                job_status["upgradeSavepointPath"] = restore_from = initial
            has_state = sim.last_checkpoint is not None if real else sim.checkpointed
            if not restore_from and require_ha and has_state:
                job_status["upgradeSavepointPath"] = LAST_STATE_DUMMY_SP_PATH
            # Real Flink: the next submission starts from the savepoint, or (last-state) the latest retained
            # checkpoint; a shared session cluster refuses a stopped job's id again, so the id rotates too.
            sim.flink_restore = restore_from or (sim.last_checkpoint if require_ha else None)
            sim.last_checkpoint = None
            rotate = not job_status.get("jobId") or not require_ha or real
            if rotate:
                job_status["jobId"] = uuid.uuid4().hex
            job_status.update(state="RECONCILING", jobName=dep["metadata"]["name"])
        status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
        if self._write_status(dep, status):
            self._touch(sim)
            sim.running_since = None
            sim.unready_since = time.monotonic()
            if rotate:
                sim.checkpointed, sim.checkpoints = False, 0  # a new job: no checkpoint of its own yet
            self._create_jm_pod(dep)
            self._jm_log(dep, f"Starting JobManager for {dep['metadata']['name']} (generation "
                              f"{dep['metadata'].get('generation')})")
            if restore_from:
                self._jm_log(dep, f"Restoring job from savepoint {restore_from}")
            elif require_ha and sim.checkpointed:
                self._jm_log(dep, "Restoring job from the latest checkpoint in the HA metadata")
            self.event(dep, "Submit", "Starting deployment")

    def _progress_deployment(self, dep: dict[str, Any], status: dict[str, Any], sim: _SimulationState,
                             traits: ResourceTraits, t: SimTimings) -> None:
        spec = dep["spec"]
        recon = status.setdefault("reconciliationStatus", {})
        jm = status.get("jobManagerDeploymentStatus")
        suspended = (spec.get("job") or {}).get("state") == "suspended"
        if suspended or jm in (None, "ERROR", "MISSING"):
            return
        job_status = status.setdefault("jobStatus", {}) if spec.get("job") else None
        real = self._is_real(dep, sim)
        changed = False
        never_ready = traits.upgrade == "never-ready" and not json.loads(recon["lastReconciledSpec"])["resource_metadata"]["firstDeployment"]
        if traits.jobmanager_error and jm != "ERROR" and self._elapsed(sim, t.step):
            status["jobManagerDeploymentStatus"] = "ERROR"
            status["error"] = exception_json("DeploymentFailedException",
                                         "CrashLoopBackOff: back-off restarting failed container flink-main-container")
            self.event(dep, "DeploymentFailed", "JobManager deployment failed: CrashLoopBackOff", "Warning")
            changed = True
        elif jm == "DEPLOYING" and self._elapsed(sim, t.step):
            status["jobManagerDeploymentStatus"] = "DEPLOYED_NOT_READY"
            changed = True
        elif jm == "DEPLOYED_NOT_READY" and self._elapsed(sim, t.step) and not never_ready:
            status["jobManagerDeploymentStatus"] = "READY"
            if job_status is None or real:  # simulated jobs keep the simulated JobManager REST
                self._register_rest(dep, True)
            if job_status is not None and real:
                self._submit_real(dep, status, job_status, sim)
            elif job_status is not None:
                # The job id was assigned at deployment; startTime is the Flink job's start, observed
                # (JobStatusObserver: epoch-ms strings).
                job_status.setdefault("jobId", uuid.uuid4().hex)
                job_status.update(state="CREATED", startTime=epoch_ms_text(), updateTime=epoch_ms_text())
            changed = True
        elif real and job_status is not None:
            changed = self._observe_real(dep, status, job_status, sim)
        elif jm == "READY" and job_status is not None and job_status.get("state") == "CREATED" and self._elapsed(sim, t.step):
            if traits.fail_after == 0:
                self._fail_job(dep, status, job_status, traits, "CREATED")
            else:
                job_status.update(state="RUNNING", updateTime=epoch_ms_text())
                sim.running_since = time.monotonic()
                sim.checkpointed, sim.checkpoints = True, sim.checkpoints + 1  # simplification: checkpoints at once
                self._jm_log(dep, f"Job {job_status.get('jobId')} switched from CREATED to RUNNING")
                self.event(dep, "JobStatusChanged", "Job status changed from CREATED to RUNNING")
            changed = True
        elif job_status is not None and job_status.get("state") == "RUNNING" and sim.running_since is not None:
            running_for = time.monotonic() - sim.running_since
            if traits.fail_after is not None and running_for >= traits.fail_after:
                self._fail_job(dep, status, job_status, traits, "RUNNING")
                changed = True
            elif traits.restart_loop:
                job_status.update(state="RESTARTING", updateTime=epoch_ms_text())
                self._jm_log(dep, f"Job {job_status.get('jobId')} switched from RUNNING to RESTARTING")
                changed = True
            elif traits.bounded is not None and running_for >= traits.bounded:
                job_status.update(state="FINISHED", updateTime=epoch_ms_text())
                self._observe_latest_checkpoint(dep["spec"], job_status, sim)
                self._jm_log(dep, f"Job {job_status.get('jobId')} switched from RUNNING to FINISHED")
                self.event(dep, "JobStatusChanged", "Job status changed from RUNNING to FINISHED")
                changed = True
        elif job_status is not None and job_status.get("state") == "RESTARTING" and not traits.restart_loop:
            job_status.update(state="RUNNING", updateTime=epoch_ms_text())
            changed = True

        # Stability: the reconciled spec becomes the last stable one after it ran a while.
        ready = status.get("jobManagerDeploymentStatus") == "READY" and (
            job_status is None or job_status.get("state") in ("RUNNING", "FINISHED"))
        if ready and recon.get("lastStableSpec") != recon.get("lastReconciledSpec") and recon.get("state") == "DEPLOYED":
            stable_since = sim.running_since or sim.since
            if time.monotonic() - stable_since >= t.stable_after:
                recon["lastStableSpec"] = recon["lastReconciledSpec"]
                sim.unready_since = None
                changed = True
        # Rollback: a new spec that does not become ready in time goes back to the last stable one.
        conf = flat_conf(dep["spec"])
        rollback = conf.get("kubernetes.operator.deployment.rollback.enabled", "").lower() == "true"
        if (rollback and not ready and sim.unready_since is not None and recon.get("lastStableSpec")
                and recon.get("lastStableSpec") != recon.get("lastReconciledSpec")
                and time.monotonic() - sim.unready_since >= t.readiness_timeout):
            recon["state"] = "ROLLING_BACK"
            status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
            if self._write_status(dep, status):
                self.event(dep, "Rollback", "Rolling back to the last stable spec", "Warning")
                sim.pending_change = "rollback"
                self._touch(sim)
            return
        if changed:
            self._touch(sim)
        self._runtime_info(status, sim)
        status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
        self._write_status(dep, status)
        self._maybe_progress_legacy_savepoint(dep, status, sim, traits)

    def _fail_job(self, dep: dict[str, Any], status: dict[str, Any], job_status: dict[str, Any],
                  traits: ResourceTraits, previous: str) -> None:
        job_status.update(state="FAILED", updateTime=epoch_ms_text())
        self._observe_latest_checkpoint(dep["spec"], job_status, self._sim_state(dep))
        status["error"] = json.dumps({
            "type": "org.apache.flink.runtime.JobException", "message": traits.failure_message,
            "additionalMetadata": {}, "throwableList": [
                {"type": "java.lang.RuntimeException", "message": "Simulated failure in the user function"}]})
        self._jm_log(dep, f"Job {job_status.get('jobId')} switched from {previous} to FAILED: {traits.failure_message}")
        self.event(dep, "JobStatusChanged", f"Job status changed from {previous} to FAILED", "Warning")

    def _observe_latest_checkpoint(self, spec: dict[str, Any], job_status: dict[str, Any], sim: _SimulationState) -> None:
        """``SnapshotObserver.observeLatestCheckpoint``: once the job is globally terminal, the latest
        checkpoint's location becomes ``upgradeSavepointPath`` (the next start restores from it)."""
        conf = flat_conf(spec)
        base = conf.get("state.checkpoints.dir") or conf.get("execution.checkpointing.dir")
        if sim.checkpointed and base:
            job_status["upgradeSavepointPath"] = f"{base.rstrip('/')}/{job_status.get('jobId')}/chk-{sim.checkpoints}"
