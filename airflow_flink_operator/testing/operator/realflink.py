"""The controllers' steps that touch a job, in ``flink="local"`` mode: done on a real local Flink through
:class:`~.realjobs.RealJobs` (REST), the way the operator's ``AbstractFlinkService`` does them, while the controllers
keep the operator's bookkeeping (status, snapshots, events) as in the plain simulation."""

from __future__ import annotations

import time
from typing import Any

from airflow_flink_operator.testing.flink_rest import FlinkRestError, trace_summary
from airflow_flink_operator.testing.operator.clock import epoch_ms_text
from airflow_flink_operator.testing.operator.realjobs import error_json
from airflow_flink_operator.testing.operator.state import _SimulationState

#: Outcome of a stop still under way.
WAIT = "wait"


class RealFlinkMixin:
    """Part of :class:`~.core.SimulatedFlinkOperator`: job steps on real Flink (``self.real`` set)."""

    real: Any = None

    def _is_real(self, obj: dict[str, Any], sim: _SimulationState) -> bool:
        """Whether this resource's job runs on the local Flink; decided once per resource and said once."""
        if self.real is None or not (obj.get("spec") or {}).get("job"):
            return False
        if sim.real_reason is None:
            reason = self.real.simulated_reason(obj)
            sim.real_reason = f"simulated: {reason}" if reason else "real"
            if reason:
                self.event(obj, "SimulatedJob", f"This job is simulated, not run: {reason}")
                self._jm_log(obj, f"SIMULATED job (not run on the local Flink): {reason}")
        return sim.real_reason == "real"

    def _runtime_info(self, status: dict[str, Any], sim: _SimulationState) -> None:
        """``status.clusterInfo`` (a free-form map the operator fills with Flink's version): what runs the job."""
        if self.real is None:
            return
        info = status.setdefault("clusterInfo", {})
        info["flink-version"] = self.real.version
        info["runtime"] = (f"local Flink {self.real.version}" if sim.real_reason in (None, "real")
                           else sim.real_reason)

    def _mounted_files(self, obj: dict[str, Any]) -> dict[str, str]:
        """ConfigMaps mounted into ``flink-main-container``, written under the cluster's work dir: mount → local dir."""
        spec = obj.get("spec") or {}
        pod = (spec.get("podTemplate") or {}).get("spec") or {}
        volumes = {v.get("name"): (v.get("configMap") or {}).get("name") for v in pod.get("volumes") or []
                   if v.get("configMap")}
        mounts: dict[str, str] = {}
        for container in pod.get("containers") or []:
            if container.get("name") != "flink-main-container":
                continue
            for mount in container.get("volumeMounts") or []:
                config_map = volumes.get(mount.get("name"))
                if not config_map:
                    continue
                data = self._core.read_namespaced_config_map(config_map, obj["metadata"]["namespace"],
                                                             _request_timeout=5).data or {}
                local = self.real.cluster.path("files", obj["metadata"]["namespace"], config_map)
                local.mkdir(parents=True, exist_ok=True)
                for key, value in data.items():
                    (local / key).write_text(value)
                mounts[mount["mountPath"]] = str(local)
        return mounts

    def _submit_real(self, obj: dict[str, Any], status: dict[str, Any], job_status: dict[str, Any],
                     sim: _SimulationState) -> None:
        """Submit the job (``AbstractFlinkService.submitApplicationCluster`` / ``submitJobToSessionCluster``)."""
        job_id = job_status["jobId"]
        try:
            label = self.real.submit(obj, job_id, sim.flink_restore, self._mounted_files(obj))
        except (FlinkRestError, OSError) as exc:
            job_status.update(state="FAILED", updateTime=epoch_ms_text())
            status["error"] = error_json(trace_summary(str(exc).split(": HTTP 400: ", 1)[-1]))
            self._jm_log(obj, f"Job {job_id} submission to the local Flink failed: {exc}")
            self.event(obj, "JobStatusChanged", "Job submission failed", "Warning")
            return
        restored = f" from {sim.flink_restore}" if sim.flink_restore else " (empty state)"
        self._jm_log(obj, f"Job {job_id} submitted to the local Flink ({label}){restored}")
        job_status.update(state="CREATED", updateTime=epoch_ms_text())

    def _observe_real(self, obj: dict[str, Any], status: dict[str, Any], job_status: dict[str, Any],
                      sim: _SimulationState) -> bool:
        """``JobStatusObserver``: the job's state, start time and, when FAILED, Flink's root exception."""
        if job_status.get("state") in ("FAILED", "FINISHED", "CANCELED") or not job_status.get("jobId"):
            return False
        state, start, root = self.real.observe(job_status["jobId"])
        if state == "MISSING" or state == job_status.get("state"):
            return False
        previous = job_status.get("state")
        job_status.update(state=state, updateTime=epoch_ms_text())
        if start:
            job_status["startTime"] = start
        if state == "RUNNING":
            sim.running_since = time.monotonic()
        if state == "FAILED":
            status["error"] = error_json(root)
        if state in ("FAILED", "FINISHED"):
            latest = self.real.latest_checkpoint(job_status["jobId"])
            if latest:
                sim.last_checkpoint = latest
                job_status["upgradeSavepointPath"] = latest  # SnapshotObserver.observeLatestCheckpoint
        self._jm_log(obj, f"Job {job_status['jobId']} switched from {previous} to {state}"
                          + (f": {root.splitlines()[0]}" if root else ""))
        self.event(obj, "JobStatusChanged", f"Job status changed from {previous} to {state}",
                   "Warning" if state == "FAILED" else "Normal")
        return True

    def _stop_real(self, obj: dict[str, Any], job_status: dict[str, Any], sim: _SimulationState,
                   suspend_mode: str) -> str | None | tuple[str, str]:
        """Stop the running job for a change (``AbstractFlinkService.cancelJob``) one step per reconcile.

        :return: :data:`WAIT`, the savepoint path (savepoint mode: stop-with-savepoint), ``None`` (stopped without
            one: last-state cancels with checkpoints retained, their latest kept for the restore; stateless cancels),
            or ``("failed", Flink's reason)``.
        """
        job_id = job_status.get("jobId")
        if suspend_mode == "noop" or not job_id:
            return None
        meta = obj["metadata"]
        try:
            if suspend_mode == "savepoint":
                if sim.flink_trigger is None:
                    sim.flink_trigger = self.real.rest.stop_with_savepoint(
                        job_id, self.real.savepoint_dir(meta["namespace"], meta["name"]))
                    return WAIT
                if sim.flink_trigger.startswith("stopped:"):
                    # The savepoint is complete; the job reaches FINISHED a moment later.
                    if not self.real.cancelled(job_id):
                        return WAIT
                    location, sim.flink_trigger = sim.flink_trigger[len("stopped:"):], None
                    return location
                state, location, reason = self.real.rest.savepoint_result(job_id, sim.flink_trigger)
                if state != "COMPLETED":
                    return WAIT
                if reason or not location:
                    sim.flink_trigger = None
                    return "failed", reason or "stop-with-savepoint returned no location"
                sim.flink_trigger = f"stopped:{location}"
                return WAIT
            if sim.flink_trigger is None:
                sim.flink_trigger = "cancel"
                self.real.cancel(job_id)
                return WAIT
            if not self.real.cancelled(job_id):
                return WAIT
            sim.flink_trigger = None
            if suspend_mode == "last-state":
                sim.last_checkpoint = self.real.latest_checkpoint(job_id)
            return None
        except FlinkRestError as exc:
            sim.flink_trigger = None
            return "failed", str(exc)

    def _register_rest(self, obj: dict[str, Any], present: bool) -> None:
        """The ``<name>-rest`` Service, proxied by the API server to the local JobManager's REST API."""
        api = self.emulator
        if self.real is None or api is None or not hasattr(api, "register_service"):
            return
        ns, service = obj["metadata"]["namespace"], f"{obj['metadata']['name']}-rest"
        if present:
            api.register_service(ns, service, self.real.cluster.rest_url)
        else:
            api.unregister_service(ns, service)
