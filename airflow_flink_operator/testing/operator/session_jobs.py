"""FlinkSessionJob reconciliation: a job runs only on an existing, ready session cluster."""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

from airflow_flink_operator.constants import KIND_SESSION_JOB
from airflow_flink_operator.testing.operator.clock import epoch_ms, epoch_ms_text
from airflow_flink_operator.testing.operator.status import compute_lifecycle, exception_json, spec_json


class SessionJobMixin:
    """Part of :class:`~.core.SimulatedFlinkOperator`: the FlinkSessionJob controller."""

    def _reconcile_session_job(self, job: dict[str, Any], deployments: dict[tuple[str, str], dict[str, Any]]) -> None:
        meta, spec = job["metadata"], job.get("spec") or {}
        status = copy.deepcopy(job.get("status") or {})
        sim = self._sim_state(job)
        traits = self._traits_of(job)
        t = self.timings
        if meta.get("deletionTimestamp"):
            if self._is_real(job, sim) and ((job.get("status") or {}).get("jobStatus") or {}).get("jobId"):
                self.real.cancel(job["status"]["jobStatus"]["jobId"])
            self._finish_deletion(job)
            return
        if not self._ensure_finalizer(job):
            return
        recon = status.setdefault("reconciliationStatus", {})
        generation = meta.get("generation", 1)
        cluster = deployments.get((meta["namespace"], spec.get("deploymentName") or ""))
        if status.get("observedGeneration") != generation:
            if not self._picked_up(sim, generation, traits):
                return  # the status, failure fields included, stays until the new generation is reconciled
            error = self._validation_error(job)
            if error is None and cluster is not None and (cluster.get("spec") or {}).get("job"):
                error = "Can not submit session job to application cluster"
            if error is not None:
                status["error"] = exception_json("ValidationException", error)
                status["lifecycleState"] = compute_lifecycle(KIND_SESSION_JOB, status, False)
                if self._write_status(job, status) and (job.get("status") or {}).get("error") != status["error"]:
                    self.event(job, "ValidationError", error, "Warning")
                return
            if cluster is None or (cluster.get("status") or {}).get("jobManagerDeploymentStatus") != "READY":
                message = (f"Session cluster {meta['namespace']}/{spec.get('deploymentName')} not found"
                           if cluster is None else "Session cluster is not ready")
                if status.get("error") != message:
                    status["error"] = message
                    self._write_status(job, status)
                return
            job_spec = spec.get("job") or {}
            last = json.loads(recon["lastReconciledSpec"])["spec"] if recon.get("lastReconciledSpec") else None
            status.pop("error", None)
            recon.update(lastReconciledSpec=spec_json(spec, last is None), state="DEPLOYED",
                         reconciliationTimestamp=epoch_ms())
            status["observedGeneration"] = generation
            job_status = status.setdefault("jobStatus", {})
            real = self._is_real(job, sim)
            sim.flink_restore = job_spec.get("initialSavepointPath") if last is None else None
            if real and job_status.get("jobId") and job_status.get("state") not in ("FINISHED", "FAILED", "CANCELED"):
                # The running job is stopped first (SessionJobReconciler.cancelJob): with a savepoint in savepoint
                # mode (the new job starts from it), else cancelled. Blocking: session jobs are few and quick.
                mode = "savepoint" if (job_spec.get("upgradeMode") or "stateless") == "savepoint" else "stateless"
                outcome = self._stop_real(job, job_status, sim, mode)
                while outcome == "wait":
                    time.sleep(0.1)
                    outcome = self._stop_real(job, job_status, sim, mode)
                if isinstance(outcome, tuple):
                    status["error"] = exception_json("UpgradeFailureException", f"Savepoint failed: {outcome[1]}")
                    self._write_status(job, status)
                    return
                if outcome:
                    self._record_upgrade_savepoint(job, status, outcome, epoch_ms())
                    sim.flink_restore = outcome
            if job_spec.get("state") == "suspended":
                if not real and job_status.get("state") == "RUNNING" and (job_spec.get("upgradeMode") or "stateless") == "savepoint":
                    path = self._savepoint_path({**cluster["spec"], **spec}, job_status.get("jobId"))
                    self._record_upgrade_savepoint(job, status, path, epoch_ms())
                # AbstractFlinkService.cancelSessionJob: FINISHED and no job id, whatever the mode.
                job_status["state"] = "FINISHED"
                job_status.pop("jobId", None)  # null: the operator's JSON leaves it out
            else:
                # SessionJobReconciler.deploy: a new job id for every submission, recorded before it.
                job_status.update(state="RECONCILING", jobName=meta["name"], jobId=uuid.uuid4().hex)
            status["lifecycleState"] = compute_lifecycle(KIND_SESSION_JOB, status, False)
            if self._write_status(job, status):
                self._touch(sim)
                sim.running_since = None
                self.event(job, "Submit", "Submitting session job")
            return
        job_status = status.setdefault("jobStatus", {})
        changed = False
        if self._is_real(job, sim):
            if job_status.get("state") == "RECONCILING":
                self._submit_real(job, status, job_status, sim)
                changed = True
            else:
                changed = self._observe_real(job, status, job_status, sim)
        elif job_status.get("state") == "RECONCILING" and self._elapsed(sim, t.step):
            job_status.update(state="RUNNING", startTime=epoch_ms_text(), updateTime=epoch_ms_text())
            sim.running_since = time.monotonic()
            changed = True
        elif job_status.get("state") == "RUNNING" and sim.running_since is not None:
            running_for = time.monotonic() - sim.running_since
            if traits.fail_after is not None and running_for >= traits.fail_after:
                job_status.update(state="FAILED", updateTime=epoch_ms_text())
                status["error"] = exception_json("org.apache.flink.runtime.JobException", traits.failure_message)
                changed = True
            elif traits.bounded is not None and running_for >= traits.bounded:
                job_status.update(state="FINISHED", updateTime=epoch_ms_text())
                changed = True
        if job_status.get("state") in ("RUNNING", "FINISHED") and recon.get("lastStableSpec") != recon.get("lastReconciledSpec"):
            if sim.running_since and time.monotonic() - sim.running_since >= t.stable_after:
                recon["lastStableSpec"] = recon["lastReconciledSpec"]
                changed = True
        if changed:
            self._touch(sim)
        status["lifecycleState"] = compute_lifecycle(KIND_SESSION_JOB, status, False)
        self._write_status(job, status)
