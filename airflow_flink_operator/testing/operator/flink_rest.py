"""A minimal Flink REST API for the simulated JobManagers, reached through the API emulator's service proxy.

Every FlinkDeployment whose JobManager pod exists has a ``<name>-rest`` Service (Flink's native Kubernetes
integration creates it with the JobManager; port ``rest``, 8081), with a ready endpoint once the JobManager is
READY. Its jobs are the deployment's own (application mode) and, for a session cluster, its FlinkSessionJobs'.
What it answers, in the shapes of Flink's REST API (``flink-runtime`` ``rest.messages``):

- ``GET /overview`` (``ClusterOverviewWithVersion``) and ``GET /jobs/overview`` (``MultipleJobsDetails``);
- ``GET /jobs/<id>`` (``JobDetailsInfo``: ``jid``, ``name``, ``state``, ``start-time``...);
- ``GET /jobs/<id>/checkpoints`` (``CheckpointingStatistics``: ``counts``, ``summary``, ``latest.completed`` /
  ``savepoint`` / ``failed`` / ``restored``, ``history``; each checkpoint a ``CheckpointStatistics`` with
  ``className`` ``completed`` / ``failed`` / ``in_progress``, ``trigger_timestamp``, ``latest_ack_timestamp``,
  ``external_path`` or ``failure_timestamp`` / ``failure_message``), and ``/jobs/<id>/checkpoints/config``;
- a job without ``execution.checkpointing.interval``: ``404 {"errors": ["Checkpointing has not been enabled."]}``
  (``CheckpointingStatisticsHandler``); an unknown job: 404; any other path ``404 {"errors": ["Not found: ..."]}``.

Checkpoints follow Flink's ``CheckpointStatsTracker`` per JobManager run of a job: they start when the job runs,
one every :attr:`SimulatedFlinkRest.interval` seconds (the simulation's clock, not the configured interval), are
counted from zero for every new start (a new ``startTime``: a new JobManager or a resubmission) and stop while the
job does not run. Savepoints are not in this history. ``cluster.behave(name, checkpoints="fail")`` makes every
further checkpoint fail with ``checkpoint_failure`` as Flink's ``failure_message``; ``checkpoints="none"`` triggers
none (a job whose checkpoints never start). This module never judges: it reports, and the package decides.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any

from airflow_flink_operator.constants import PLURALS
from airflow_flink_operator.testing.apiserver.proxy import FLINK_REST_PORTS, ServiceBackend
from airflow_flink_operator.testing.operator.status import flat_conf

#: Flink's ``CheckpointFailureReason.IO_EXCEPTION`` message, what an unwritable checkpoint directory gives.
DEFAULT_CHECKPOINT_FAILURE = "An Exception occurred while triggering the checkpoint. IO-problem detected."
FLINK_VERSION = "1.20.1"
HISTORY_SIZE = 10  # ``web.checkpoints.history`` default


@dataclass
class _JobRun:
    """One JobManager run of a job: its checkpoint statistics (``CheckpointStatsTracker``)."""

    start_ms: int
    running_since_ms: int | None = None
    next_id: int = 1
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    completed: int = 0
    failed: int = 0
    latest_completed: dict[str, Any] | None = None  # kept apart from the bounded history, as Flink does
    latest_failed: dict[str, Any] | None = None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _stats_summary() -> dict[str, Any]:
    return {"min": 0, "max": 0, "avg": 0, "p50": 0, "p90": 0, "p95": 0, "p99": 0, "p999": 0}


class SimulatedFlinkRest:
    """The REST endpoints of the simulated operator's JobManagers (see the module).

    :param operator: the :class:`~.core.SimulatedFlinkOperator` (its emulator and per-resource traits).
    :param interval: seconds between two simulated checkpoints of a running job.

    :attr:`enabled` off: no Service answers (for a mode in which real JobManagers register their own);
    :attr:`requests` counts the requests answered.
    """

    def __init__(self, operator: Any, interval: float = 0.05) -> None:
        self.operator = operator
        self.interval = interval
        self.enabled = True
        #: requests answered so far (a test can wait for "it was asked again").
        self.requests = 0
        self._runs: dict[tuple[str, str, str], _JobRun] = {}

    # -- the Service --

    def resolve(self, namespace: str, service: str) -> ServiceBackend | None:
        """``<name>-rest`` of a FlinkDeployment whose JobManager pod exists (ready once it is READY)."""
        emulator = self.operator.emulator
        if not self.enabled or emulator is None or not service.endswith("-rest"):
            return None
        name = service[: -len("-rest")]
        dep = emulator.store.objects.get((PLURALS["FlinkDeployment"], namespace, name))
        if dep is None or not any((pod["metadata"].get("labels") or {}).get("app") == name
                                  and (pod["metadata"].get("labels") or {}).get("component") == "jobmanager"
                                  for (plural, ns, _), pod in emulator.store.objects.items()
                                  if plural == "pods" and ns == namespace):
            return None
        ready = (dep.get("status") or {}).get("jobManagerDeploymentStatus") == "READY"
        return ServiceBackend(functools.partial(self.handle, namespace, name), dict(FLINK_REST_PORTS), ready)

    # -- the REST API --

    def handle(self, namespace: str, cluster: str, method: str, path: str, query: dict[str, str],
               body: bytes) -> tuple[int, Any]:
        """Answer one request to the JobManager of ``cluster``."""
        self.requests += 1
        parts = [p for p in path.split("/") if p]
        if method != "GET":
            return 405, {"errors": [f"Method {method} not allowed: {path}"]}
        jobs = self._jobs(namespace, cluster)
        if parts == ["overview"]:
            running = sum(1 for job in jobs.values() if job[1].get("state") == "RUNNING")
            return 200, {"taskmanagers": 1, "slots-total": 4, "slots-available": 4 - running, "jobs-running": running,
                         "jobs-finished": 0, "jobs-cancelled": 0, "jobs-failed": 0, "flink-version": FLINK_VERSION,
                         "flink-commit": "simulated"}
        if parts == ["jobs", "overview"]:
            return 200, {"jobs": [self._job_details(job_id, job) for job_id, job in jobs.items()]}
        if len(parts) >= 2 and parts[0] == "jobs":
            job = jobs.get(parts[1])
            if job is None:
                return 404, {"errors": [f"Job {parts[1]} not found"]}
            if len(parts) == 2:
                return 200, self._job_details(parts[1], job)
            if parts[2:] == ["checkpoints"]:
                return self._checkpoints(namespace, cluster, parts[1], job)
            if parts[2:] == ["checkpoints", "config"]:
                interval = flat_conf(job[0].get("spec") or {}).get("execution.checkpointing.interval") \
                    or flat_conf(job[2]).get("execution.checkpointing.interval")
                if not interval:
                    return 404, {"errors": ["Checkpointing is not enabled for this job."]}
                return 200, {"mode": "exactly_once", "interval": int(self.interval * 1000), "timeout": 600000,
                             "externalization": {"enabled": True, "delete_on_cancellation": False}}
        return 404, {"errors": [f"Not found: {path}"]}

    def _jobs(self, namespace: str, cluster: str) -> dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
        """Job id → (resource, its ``jobStatus``, the cluster's spec) of the jobs this JobManager runs."""
        objects = self.operator.emulator.store.objects
        dep = objects.get((PLURALS["FlinkDeployment"], namespace, cluster)) or {}
        candidates = [dep] + [job for (plural, ns, _), job in objects.items()
                              if plural == PLURALS["FlinkSessionJob"] and ns == namespace
                              and (job.get("spec") or {}).get("deploymentName") == cluster]
        jobs = {}
        for resource in candidates:
            job_status = (resource.get("status") or {}).get("jobStatus") or {}
            if job_status.get("jobId") and job_status.get("startTime"):
                jobs[job_status["jobId"]] = (resource, job_status, dep.get("spec") or {})
        return jobs

    @staticmethod
    def _job_details(job_id: str, job: tuple[dict[str, Any], dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
        resource, job_status, _ = job
        start, now = int(job_status["startTime"]), _now_ms()
        return {"jid": job_id, "name": job_status.get("jobName") or resource["metadata"]["name"],
                "state": job_status.get("state"), "start-time": start, "end-time": -1, "duration": now - start,
                "now": now, "isStoppable": False, "timestamps": {"CREATED": start}, "vertices": [],
                "status-counts": {}, "plan": {"jid": job_id, "name": job_status.get("jobName"), "nodes": []}}

    def _checkpoints(self, namespace: str, cluster: str, job_id: str,
                     job: tuple[dict[str, Any], dict[str, Any], dict[str, Any]]) -> tuple[int, Any]:
        resource, job_status, cluster_spec = job
        key = "execution.checkpointing.interval"
        if not (flat_conf(resource.get("spec") or {}).get(key) or flat_conf(cluster_spec).get(key)):
            return 404, {"errors": ["Checkpointing has not been enabled."]}
        run = self._run(namespace, cluster, job_id, int(job_status["startTime"]))
        self._advance(run, job_status, self.operator._traits.get(resource["metadata"]["name"]),
                      flat_conf(resource.get("spec") or {}) or flat_conf(cluster_spec), job_id)
        del run.checkpoints[:-HISTORY_SIZE]
        history = list(reversed(run.checkpoints))
        in_progress = [c for c in run.checkpoints if c["status"] == "IN_PROGRESS"]
        return 200, {
            "counts": {"restored": 0, "total": run.next_id - 1, "in_progress": len(in_progress),
                       "completed": run.completed, "failed": run.failed},
            "summary": {name: _stats_summary() for name in ("checkpointed_size", "state_size", "end_to_end_duration",
                                                            "alignment_buffered", "processed_data",
                                                            "persisted_data")},
            "latest": {"completed": run.latest_completed, "savepoint": None, "failed": run.latest_failed,
                       "restored": None},
            "history": history,
        }

    def _run(self, namespace: str, cluster: str, job_id: str, start_ms: int) -> _JobRun:
        run = self._runs.get((namespace, cluster, job_id))
        if run is None or run.start_ms != start_ms:  # a new start: Flink's statistics begin again
            run = self._runs[(namespace, cluster, job_id)] = _JobRun(start_ms)
        return run

    def _advance(self, run: _JobRun, job_status: dict[str, Any], traits: Any, conf: dict[str, str],
                 job_id: str) -> None:
        """Bring the run's checkpoints up to now: one per interval while the job runs (since it switched to
        RUNNING, ``jobStatus.updateTime``; a long gap keeps only the newest :data:`HISTORY_SIZE`, as Flink's
        history does, and counts the others)."""
        now = _now_ms()
        if job_status.get("state") != "RUNNING":
            run.running_since_ms = None
            return
        if run.running_since_ms is None:
            try:
                switched = int(job_status.get("updateTime") or now)
            except ValueError:
                switched = now
            run.running_since_ms = min(max(switched, run.start_ms), now)
        mode = traits.checkpoints if traits is not None else "ok"
        if mode == "none":  # none triggered meanwhile: the next one comes an interval after the knob allows it
            run.running_since_ms = now
            return
        message = traits.checkpoint_failure if traits is not None else DEFAULT_CHECKPOINT_FAILURE
        step = max(int(self.interval * 1000), 1)
        base = (conf.get("execution.checkpointing.dir") or conf.get("state.checkpoints.dir")
                or "file:///flink-data/checkpoints").rstrip("/")
        last = max(run.checkpoints[-1]["trigger_timestamp"] if run.checkpoints else 0, run.running_since_ms)
        skipped = max((now - last) // step - HISTORY_SIZE, 0)
        if skipped:  # not kept in the history: only counted, as they would have been
            last += skipped * step
            run.next_id += skipped
            if mode == "fail":
                run.failed += skipped
            else:
                run.completed += skipped
        while last + step <= now:
            trigger = last + step
            last = trigger
            stats = {"className": "completed", "id": run.next_id, "status": "COMPLETED", "is_savepoint": False,
                     "savepointFormat": None, "trigger_timestamp": trigger, "latest_ack_timestamp": trigger + 1,
                     "checkpointed_size": 1024, "state_size": 1024, "end_to_end_duration": 1,
                     "alignment_buffered": 0, "processed_data": 0, "persisted_data": 0, "num_subtasks": 1,
                     "num_acknowledged_subtasks": 1, "checkpoint_type": "CHECKPOINT", "tasks": {}}
            if mode == "fail":
                stats.update(className="failed", status="FAILED", num_acknowledged_subtasks=0,
                             failure_timestamp=trigger + 1, failure_message=message)
                run.failed += 1
                run.latest_failed = stats
            else:
                stats.update(external_path=f"{base}/{job_id}/chk-{run.next_id}", discarded=False)
                run.completed += 1
                run.latest_completed = stats
            run.checkpoints.append(stats)
            run.next_id += 1
