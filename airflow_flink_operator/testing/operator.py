"""A simulated Flink Kubernetes Operator: reacts to Flink resources as the real one does.

It talks to the API only over HTTP with the official client, so the same simulation runs against
the emulator (:mod:`.apiserver`) and against a real kube-apiserver. What it mimics (see the
reference, sections c-e):

- FlinkDeployment: finalizer; validation errors written to ``status.error`` as the operator's
  ``FlinkResourceException`` JSON; CREATED → DEPLOYED → STABLE with the JobManager going
  DEPLOYING → DEPLOYED_NOT_READY → READY and the job CREATED → RUNNING; bounded jobs FINISHED;
  spec changes through UPGRADING per upgrade mode (savepoint taken, ``upgradeSavepointPath``,
  ``lastReconciledSpec``, ``observedGeneration``); suspend and resume; rollback to the last stable
  spec when enabled; deletion through the finalizer (session clusters wait for their jobs).
- FlinkSessionJob: runs only on an existing, ready session cluster.
- Savepoints by ``savepointTriggerNonce`` (legacy ``savepointInfo``) or, when snapshot resources are
  on and the CRD is served, by FlinkStateSnapshot: TRIGGER_PENDING → IN_PROGRESS → COMPLETED with a
  path, or FAILED (retried up to ``backoffLimit``) / ABANDONED with an error.
- Kubernetes Events for what happens, and a JobManager pod whose log (on the emulator) tells the story.

Fault knobs per resource: :meth:`SimulatedFlinkOperator.behave`.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from airflow_flink_operator.constants import GROUP, KIND_DEPLOYMENT, KIND_SESSION_JOB, KIND_STATE_SNAPSHOT, PLURALS, VERSION

log = logging.getLogger(__name__)

FINALIZERS = {
    KIND_DEPLOYMENT: "flinkdeployments.flink.apache.org/finalizer",
    KIND_SESSION_JOB: "flinksessionjobs.flink.apache.org/finalizer",
    KIND_STATE_SNAPSHOT: "flinkstatesnapshots.flink.apache.org/finalizer",
}
EXC = "org.apache.flink.kubernetes.operator.exception."
NONCE_FIELDS = ("savepointTriggerNonce", "checkpointTriggerNonce")


@dataclass
class SimTimings:
    """How fast the simulation moves (seconds). Defaults keep a test suite fast.

    :param tick: how often the operator looks at all resources.
    :param step: time between two status transitions (JobManager deploying → ready...).
    :param stable_after: running time before a spec is marked stable.
    :param savepoint: how long a savepoint takes.
    :param readiness_timeout: with rollback enabled, how long a new spec may stay unready.
    :param snapshot_retry: wait before retrying a failed snapshot.
    """

    tick: float = 0.02
    step: float = 0.03
    stable_after: float = 0.1
    savepoint: float = 0.05
    readiness_timeout: float = 0.4
    snapshot_retry: float = 0.05


@dataclass
class Behaviour:
    """Faults and traits of one resource, set through :meth:`SimulatedFlinkOperator.behave`."""

    bounded: float | None = None          # job FINISHES after this many running seconds
    fail_after: float | None = None       # job FAILS after this many running seconds (0: at start)
    failure_message: str = "Recovery is suppressed by FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=3, backoffTimeMS=10000)"
    restart_loop: bool = False            # job keeps RESTARTING
    jobmanager_error: bool = False        # JobManager deployment goes to ERROR
    savepoint: str = "ok"                 # "ok" | "fail" | "hang"
    savepoint_failures: int | None = None  # with "fail": fail this many times, then succeed
    upgrade: str = "ok"                   # "ok" | "never-ready" (with rollback enabled: rolled back)
    failed_savepoints: int = 0            # how many savepoints of this job failed so far


@dataclass
class _Memory:
    """What the simulation remembers about a resource beyond its status."""

    since: float = field(default_factory=time.monotonic)
    running_since: float | None = None
    savepoint_started: float | None = None
    pending_change: str | None = None  # "upgrade" | "suspend" | "rollback"
    previous: tuple[str | None, int | None] = (None, None)  # lastReconciledSpec, observedGeneration before
    pending_savepoint_path: str | None = None
    unready_since: float | None = None


def _ms() -> str:
    return str(int(time.time() * 1000))


def _exception(kind: str, message: str) -> str:
    return json.dumps({"type": EXC + kind if "." not in kind else kind, "message": message,
                       "additionalMetadata": {}, "throwableList": []})


def _spec_json(spec: dict[str, Any], first: bool) -> str:
    return json.dumps({"spec": spec, "resource_metadata": {"apiVersion": f"{GROUP}/{VERSION}", "firstDeployment": first}},
                      sort_keys=True)


def _without_nonces(spec: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(spec)
    for key in NONCE_FIELDS:
        (stripped.get("job") or {}).pop(key, None)
    return stripped


def compute_lifecycle(kind: str, status: dict[str, Any], deleting: bool) -> str:
    """``CommonStatus.getLifecycleState`` (reference, section c)."""
    if deleting:
        return "DELETING"
    recon = status.get("reconciliationStatus") or {}
    last = recon.get("lastReconciledSpec")
    if not last:
        return "FAILED" if status.get("error") else "CREATED"
    if recon.get("state") == "UPGRADING":
        return "UPGRADING"
    if recon.get("state") == "ROLLING_BACK":
        return "ROLLING_BACK"
    last_spec = json.loads(last).get("spec") or {}
    if (last_spec.get("job") or {}).get("state") == "suspended":
        return "SUSPENDED"
    if (status.get("jobStatus") or {}).get("state") == "FAILED":
        return "FAILED"
    if kind == KIND_DEPLOYMENT and status.get("jobManagerDeploymentStatus") in ("MISSING", "ERROR"):
        error = status.get("error") or ""
        if any(m in error for m in ("Manual restore required.", "HA metadata is not available",
                                    "configmaps have been deleted.")):
            return "FAILED"
    if recon.get("state") == "ROLLED_BACK":
        return "ROLLED_BACK"
    if last == recon.get("lastStableSpec"):
        return "STABLE"
    return "DEPLOYED"


def _flat_conf(spec: dict[str, Any]) -> dict[str, str]:
    from airflow_flink_operator.models.flink_config import flatten_config

    return flatten_config(spec.get("flinkConfiguration"))


class SimulatedFlinkOperator:
    """Runs the simulation in a background thread against an API server.

    :param kubeconfig: a kubeconfig dict for the API server.
    :param timings: how fast things move.
    :param snapshot_resources: ``kubernetes.operator.snapshot.resource.enabled``; savepoints by
        nonce then create FlinkStateSnapshots (if the CRD is served).
    :param operator_version: the version it pretends to be (its validator's rules).
    :param emulator: the emulator, if that is the API server: JobManager logs are written there.
    """

    def __init__(self, kubeconfig: dict[str, Any], *, timings: SimTimings | None = None,
                 snapshot_resources: bool = True, operator_version: str = "1.15", emulator: Any = None) -> None:
        from kubernetes import client, config

        self.timings = timings or SimTimings()
        self.snapshot_resources = snapshot_resources
        self.operator_version = operator_version
        self.emulator = emulator
        self._api_client = config.new_client_from_config_dict(kubeconfig)
        self._custom = client.CustomObjectsApi(self._api_client)
        self._core = client.CoreV1Api(self._api_client)
        self._behaviours: dict[str, Behaviour] = {}
        self._memory: dict[str, _Memory] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.paused = False
        self.errors: list[str] = []

    # -- control --

    def behave(self, name: str, **traits: Any) -> Behaviour:
        """Set traits of the resource named ``name`` (any namespace); see :class:`Behaviour`."""
        behaviour = self._behaviours.setdefault(name, Behaviour())
        for key, value in traits.items():
            if not hasattr(behaviour, key):
                raise TypeError(f"unknown behaviour {key!r}; see Behaviour")
            setattr(behaviour, key, value)
        return behaviour

    def start(self) -> SimulatedFlinkOperator:
        """Start reconciling in a background thread."""
        self._thread = threading.Thread(target=self._run, name="simulated-flink-operator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop reconciling."""
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        self._api_client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.paused:
                try:
                    self.reconcile_all()
                except Exception as exc:  # the API may be down on purpose; try again next tick
                    self.errors.append(repr(exc))
                    del self.errors[:-50]
            self._stop.wait(self.timings.tick)

    # -- API helpers --

    def _list(self, kind: str) -> list[dict[str, Any]]:
        return self._custom.list_cluster_custom_object(GROUP, VERSION, PLURALS[kind], _request_timeout=5)["items"]

    def _snapshots_served(self) -> bool:
        from kubernetes.client.exceptions import ApiException

        try:
            resources = self._custom.get_api_resources(GROUP, VERSION, _request_timeout=5).resources
        except ApiException:
            return False
        return any(r.name == PLURALS[KIND_STATE_SNAPSHOT] for r in resources)

    def _write_status(self, obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        if status == obj.get("status"):
            return obj
        body = copy.deepcopy(obj)
        body["status"] = status
        try:
            return self._custom.replace_namespaced_custom_object_status(
                GROUP, VERSION, obj["metadata"]["namespace"], PLURALS[obj["kind"]], obj["metadata"]["name"], body,
                _request_timeout=5)
        except ApiException as exc:
            if exc.status in (404, 409):
                return None  # changed or gone meanwhile: look again next tick
            raise

    def _set_finalizers(self, obj: dict[str, Any], finalizers: list[str]) -> bool:
        from kubernetes.client.exceptions import ApiException

        body = copy.deepcopy(obj)
        body["metadata"]["finalizers"] = finalizers
        try:
            self._custom.replace_namespaced_custom_object(
                GROUP, VERSION, obj["metadata"]["namespace"], PLURALS[obj["kind"]], obj["metadata"]["name"], body,
                _request_timeout=5)
            return True
        except ApiException as exc:
            if exc.status in (404, 409):
                return False
            raise

    def event(self, obj: dict[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        """Record a Kubernetes Event about ``obj``, as the operator's EventRecorder does."""
        meta = obj["metadata"]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = {
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta.get("uid")},
            "reason": reason, "message": message, "type": type_, "count": 1,
            "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": {"component": "flink-kubernetes-operator"}, "reportingComponent": "flink-kubernetes-operator",
        }
        try:
            self._core.create_namespaced_event(meta["namespace"], body, _request_timeout=5)
        except Exception as exc:
            self.errors.append(f"event: {exc!r}")

    def _jm_log(self, obj: dict[str, Any], line: str) -> None:
        if self.emulator is None:
            return
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        for pod in self.emulator.list_objects("pods", ns):
            labels = pod["metadata"].get("labels") or {}
            if labels.get("app") == name and labels.get("component") == "jobmanager":
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
                self.emulator.pod_logs.setdefault((ns, pod["metadata"]["name"]), []).append(
                    f"{stamp},000 INFO  {line}")

    def _create_jm_pod(self, obj: dict[str, Any]) -> None:
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        self._delete_jm_pods(obj)
        body = {"metadata": {"name": f"{name}-{uuid.uuid4().hex[:10]}-{uuid.uuid4().hex[:5]}", "namespace": ns,
                             "labels": {"app": name, "component": "jobmanager", "type": "flink-native-kubernetes"},
                             "ownerReferences": [{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": name,
                                                  "uid": obj["metadata"]["uid"]}]},
                "spec": {"containers": [{"name": "flink-main-container", "image": obj["spec"].get("image") or "flink"}]}}
        try:
            self._core.create_namespaced_pod(ns, body, _request_timeout=5)
        except Exception as exc:
            self.errors.append(f"pod: {exc!r}")

    def _delete_jm_pods(self, obj: dict[str, Any]) -> None:
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        try:
            pods = self._core.list_namespaced_pod(ns, label_selector=f"app={name},component=jobmanager",
                                                  _request_timeout=5).items
            for pod in pods:
                self._core.delete_namespaced_pod(pod.metadata.name, ns, _request_timeout=5)
        except Exception as exc:
            self.errors.append(f"pod delete: {exc!r}")

    # -- the loop --

    def reconcile_all(self) -> None:
        """One pass over every Flink resource."""
        deployments = self._list(KIND_DEPLOYMENT)
        session_jobs = self._list(KIND_SESSION_JOB)
        snapshots = self._list(KIND_STATE_SNAPSHOT) if self._snapshots_served() else []
        for dep in deployments:
            self._reconcile_deployment(dep, session_jobs)
        by_name = {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in deployments}
        for job in session_jobs:
            self._reconcile_session_job(job, by_name)
        resources = {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]): o
                     for o in deployments + session_jobs}
        for snapshot in snapshots:
            self._reconcile_snapshot(snapshot, resources)

    def _mem(self, obj: dict[str, Any]) -> _Memory:
        return self._memory.setdefault(obj["metadata"]["uid"], _Memory())

    def _behaviour(self, obj: dict[str, Any]) -> Behaviour:
        return self._behaviours.get(obj["metadata"]["name"], Behaviour())

    def _elapsed(self, mem: _Memory, seconds: float) -> bool:
        return time.monotonic() - mem.since >= seconds

    @staticmethod
    def _touch(mem: _Memory) -> None:
        mem.since = time.monotonic()

    def _ensure_finalizer(self, obj: dict[str, Any]) -> bool:
        finalizer = FINALIZERS[obj["kind"]]
        finalizers = obj["metadata"].get("finalizers") or []
        if finalizer in finalizers:
            return True
        self._set_finalizers(obj, [*finalizers, finalizer])
        return False

    def _finish_deletion(self, obj: dict[str, Any]) -> None:
        finalizer = FINALIZERS[obj["kind"]]
        finalizers = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]
        if self._set_finalizers(obj, finalizers):
            self._memory.pop(obj["metadata"]["uid"], None)

    def _validation_error(self, obj: dict[str, Any]) -> str | None:
        from pydantic import ValidationError

        from airflow_flink_operator.models import FlinkDeployment, FlinkSessionJob
        from airflow_flink_operator.validation import validate_deployment, validate_session_job

        manifest = {k: v for k, v in obj.items() if k in ("apiVersion", "kind", "spec")}
        manifest["metadata"] = {k: obj["metadata"][k] for k in ("name", "namespace") if k in obj["metadata"]}
        try:
            if obj["kind"] == KIND_DEPLOYMENT:
                problems, _ = validate_deployment(FlinkDeployment.model_validate(manifest), self.operator_version)
            else:
                problems, _ = validate_session_job(FlinkSessionJob.model_validate(manifest), self.operator_version,
                                                   frozenset({"https", "http", "s3", "file", "local"}))
                problems = [p for p in problems if not p.field.endswith("jarURI")]
        except ValidationError as exc:
            return str(exc).splitlines()[0]
        return f"{problems[0].field}: {problems[0].message}" if problems else None

    # -- FlinkDeployment --

    def _reconcile_deployment(self, dep: dict[str, Any], session_jobs: list[dict[str, Any]]) -> None:
        meta, spec = dep["metadata"], dep.get("spec") or {}
        status = copy.deepcopy(dep.get("status") or {})
        mem = self._mem(dep)
        behaviour = self._behaviour(dep)
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
                    status["error"] = _exception("ReconciliationException",
                                                 f"The session cluster has {len(running)} FlinkSessionJob(s); "
                                                 "deletion is blocked until they are deleted")
                    self._write_status(dep, status)
                    return
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
        if status.get("observedGeneration") != generation and mem.pending_change is None and not (
                retrying and not self._elapsed(mem, t.step * 3)):
            error = self._validation_error(dep)
            if error is None and last_spec is None and (spec.get("job") or {}).get("state") == "suspended":
                error = "Job must start in running state"
            if error is None and last_spec is not None and bool(spec.get("job")) != bool(last_spec.get("job")):
                error = "Cannot switch from session to job cluster" if spec.get("job") else \
                    "Cannot switch from job to session cluster"
            if error is not None:
                status["error"] = _exception("ValidationException", error)
                status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
                if self._write_status(dep, status) and (dep.get("status") or {}).get("error") != status["error"]:
                    self.event(dep, "ValidationError", error, "Warning")
                return
            status.pop("error", None)
            if last_spec is None:
                self._deploy(dep, status, mem, first=True)
                return
            if _without_nonces(spec) == _without_nonces(last_spec):
                self._nonce_change(dep, status, mem, spec, last_spec)
                return
            self._start_change(dep, status, mem, spec, last_spec)
            return

        if mem.pending_change is not None:
            self._progress_change(dep, status, mem, behaviour)
            return
        self._progress_deployment(dep, status, mem, behaviour, t)

    def _deploy(self, dep: dict[str, Any], status: dict[str, Any], mem: _Memory, first: bool,
                restore_from: str | None = None) -> None:
        spec = dep["spec"]
        recon = status.setdefault("reconciliationStatus", {})
        recon["lastReconciledSpec"] = _spec_json(spec, first)
        recon["state"] = "DEPLOYED"
        recon["reconciliationTimestamp"] = int(time.time() * 1000)
        status["observedGeneration"] = dep["metadata"].get("generation", 1)
        status["jobManagerDeploymentStatus"] = "DEPLOYING"
        if spec.get("job"):
            job_status = status.setdefault("jobStatus", {})
            job_status.update(state="RECONCILING", jobName=dep["metadata"]["name"])
            job_status.pop("jobId", None)
        status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
        if self._write_status(dep, status):
            self._touch(mem)
            mem.running_since = None
            mem.unready_since = time.monotonic()
            self._create_jm_pod(dep)
            self._jm_log(dep, f"Starting JobManager for {dep['metadata']['name']} (generation "
                              f"{dep['metadata'].get('generation')})")
            if restore_from:
                self._jm_log(dep, f"Restoring job from savepoint {restore_from}")
            elif spec.get("job", {}).get("initialSavepointPath") and first:
                self._jm_log(dep, f"Restoring job from savepoint {spec['job']['initialSavepointPath']}")
            self.event(dep, "Submit", "Starting deployment")

    def _progress_deployment(self, dep: dict[str, Any], status: dict[str, Any], mem: _Memory,
                             behaviour: Behaviour, t: SimTimings) -> None:
        spec = dep["spec"]
        recon = status.setdefault("reconciliationStatus", {})
        jm = status.get("jobManagerDeploymentStatus")
        suspended = (spec.get("job") or {}).get("state") == "suspended"
        if suspended or jm in (None, "ERROR", "MISSING"):
            return
        job_status = status.setdefault("jobStatus", {}) if spec.get("job") else None
        changed = False
        never_ready = behaviour.upgrade == "never-ready" and not json.loads(recon["lastReconciledSpec"])["resource_metadata"]["firstDeployment"]
        if behaviour.jobmanager_error and jm != "ERROR" and self._elapsed(mem, t.step):
            status["jobManagerDeploymentStatus"] = "ERROR"
            status["error"] = _exception("DeploymentFailedException",
                                         "CrashLoopBackOff: back-off restarting failed container flink-main-container")
            self.event(dep, "DeploymentFailed", "JobManager deployment failed: CrashLoopBackOff", "Warning")
            changed = True
        elif jm == "DEPLOYING" and self._elapsed(mem, t.step):
            status["jobManagerDeploymentStatus"] = "DEPLOYED_NOT_READY"
            changed = True
        elif jm == "DEPLOYED_NOT_READY" and self._elapsed(mem, t.step) and not never_ready:
            status["jobManagerDeploymentStatus"] = "READY"
            if job_status is not None:
                job_status.update(state="CREATED", jobId=uuid.uuid4().hex, startTime=_ms(), updateTime=_ms())
            changed = True
        elif jm == "READY" and job_status is not None and job_status.get("state") == "CREATED" and self._elapsed(mem, t.step):
            if behaviour.fail_after == 0:
                self._fail_job(dep, status, job_status, behaviour, "CREATED")
            else:
                job_status.update(state="RUNNING", updateTime=_ms())
                mem.running_since = time.monotonic()
                self._jm_log(dep, f"Job {job_status.get('jobId')} switched from CREATED to RUNNING")
                self.event(dep, "JobStatusChanged", "Job status changed from CREATED to RUNNING")
            changed = True
        elif job_status is not None and job_status.get("state") == "RUNNING" and mem.running_since is not None:
            running_for = time.monotonic() - mem.running_since
            if behaviour.fail_after is not None and running_for >= behaviour.fail_after:
                self._fail_job(dep, status, job_status, behaviour, "RUNNING")
                changed = True
            elif behaviour.restart_loop:
                job_status.update(state="RESTARTING", updateTime=_ms())
                self._jm_log(dep, f"Job {job_status.get('jobId')} switched from RUNNING to RESTARTING")
                changed = True
            elif behaviour.bounded is not None and running_for >= behaviour.bounded:
                job_status.update(state="FINISHED", updateTime=_ms())
                self._jm_log(dep, f"Job {job_status.get('jobId')} switched from RUNNING to FINISHED")
                self.event(dep, "JobStatusChanged", "Job status changed from RUNNING to FINISHED")
                changed = True
        elif job_status is not None and job_status.get("state") == "RESTARTING" and not behaviour.restart_loop:
            job_status.update(state="RUNNING", updateTime=_ms())
            changed = True

        # Stability: the reconciled spec becomes the last stable one after it ran a while.
        ready = status.get("jobManagerDeploymentStatus") == "READY" and (
            job_status is None or job_status.get("state") in ("RUNNING", "FINISHED"))
        if ready and recon.get("lastStableSpec") != recon.get("lastReconciledSpec") and recon.get("state") == "DEPLOYED":
            stable_since = mem.running_since or mem.since
            if time.monotonic() - stable_since >= t.stable_after:
                recon["lastStableSpec"] = recon["lastReconciledSpec"]
                mem.unready_since = None
                changed = True
        # Rollback: a new spec that does not become ready in time goes back to the last stable one.
        conf = _flat_conf(dep["spec"])
        rollback = conf.get("kubernetes.operator.deployment.rollback.enabled", "").lower() == "true"
        if (rollback and not ready and mem.unready_since is not None and recon.get("lastStableSpec")
                and recon.get("lastStableSpec") != recon.get("lastReconciledSpec")
                and time.monotonic() - mem.unready_since >= t.readiness_timeout):
            recon["state"] = "ROLLING_BACK"
            status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
            if self._write_status(dep, status):
                self.event(dep, "Rollback", "Rolling back to the last stable spec", "Warning")
                mem.pending_change = "rollback"
                self._touch(mem)
            return
        if changed:
            self._touch(mem)
        status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
        self._write_status(dep, status)
        self._maybe_progress_legacy_savepoint(dep, status, mem, behaviour)

    def _fail_job(self, dep: dict[str, Any], status: dict[str, Any], job_status: dict[str, Any],
                  behaviour: Behaviour, previous: str) -> None:
        job_status.update(state="FAILED", updateTime=_ms())
        status["error"] = json.dumps({
            "type": "org.apache.flink.runtime.JobException", "message": behaviour.failure_message,
            "additionalMetadata": {}, "throwableList": [
                {"type": "java.lang.RuntimeException", "message": "Simulated failure in the user function"}]})
        self._jm_log(dep, f"Job {job_status.get('jobId')} switched from {previous} to FAILED: {behaviour.failure_message}")
        self.event(dep, "JobStatusChanged", f"Job status changed from {previous} to FAILED", "Warning")

    def _savepoint_dir(self, spec: dict[str, Any]) -> str | None:
        conf = _flat_conf(spec)
        return conf.get("state.savepoints.dir") or conf.get("execution.checkpointing.savepoint-dir")

    def _savepoint_path(self, spec: dict[str, Any], job_id: str | None) -> str:
        base = (self._savepoint_dir(spec) or "file:///flink-data/savepoints").rstrip("/")
        return f"{base}/savepoint-{(job_id or 'unknown')[:6]}-{uuid.uuid4().hex[:12]}"

    def _start_change(self, dep: dict[str, Any], status: dict[str, Any], mem: _Memory,
                      spec: dict[str, Any], last_spec: dict[str, Any]) -> None:
        """A spec change: upgrade, suspend or resume, per the upgrade mode."""
        job, last_job = spec.get("job") or {}, last_spec.get("job") or {}
        recon = status["reconciliationStatus"]
        if job.get("state") == "suspended" and last_job.get("state") != "suspended":
            mem.pending_change = "suspend"
        elif job.get("state") != "suspended" and last_job.get("state") == "suspended":
            restore = None
            if (job.get("upgradeMode") or "stateless") != "stateless":
                restore = (status.get("jobStatus") or {}).get("upgradeSavepointPath")
            self._deploy(dep, status, mem, first=False, restore_from=restore)
            self.event(dep, "SpecChanged", "Resuming the suspended job")
            return
        elif job.get("state") == "suspended":
            # suspended → suspended: only the spec is updated.
            recon["lastReconciledSpec"] = _spec_json(spec, False)
            status["observedGeneration"] = dep["metadata"]["generation"]
            status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
            self._write_status(dep, status)
            return
        else:
            mem.pending_change = "upgrade"
        # Write the new spec with UPGRADING before acting (controller flow).
        mem.previous = (recon.get("lastReconciledSpec"), status.get("observedGeneration"))
        recon["lastReconciledSpec"] = _spec_json(spec, False)
        recon["state"] = "UPGRADING"
        status["observedGeneration"] = dep["metadata"]["generation"]
        status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
        if self._write_status(dep, status):
            self._touch(mem)
            mem.savepoint_started = None
            self.event(dep, "SpecChanged", f"{'Suspending' if mem.pending_change == 'suspend' else 'Upgrading'} "
                                           f"with upgrade mode {job.get('upgradeMode') or 'stateless'}")
        else:
            mem.pending_change = None

    def _progress_change(self, dep: dict[str, Any], status: dict[str, Any], mem: _Memory, behaviour: Behaviour) -> None:
        t = self.timings
        spec = dep["spec"]
        job = spec.get("job") or {}
        recon = status["reconciliationStatus"]
        job_status = status.setdefault("jobStatus", {}) if job else {}
        mode = job.get("upgradeMode") or "stateless"
        if mem.pending_change == "rollback":
            if not self._elapsed(mem, t.step):
                return
            stable = json.loads(recon["lastStableSpec"])["spec"]
            recon["lastReconciledSpec"] = recon["lastStableSpec"]
            recon["state"] = "ROLLED_BACK"
            status["jobManagerDeploymentStatus"] = "READY"
            if stable.get("job"):
                job_status.update(state="RUNNING", jobId=uuid.uuid4().hex, updateTime=_ms())
            status["error"] = _exception("UpgradeFailureException",
                                         "Deployment did not become stable in time; rolled back to the last stable spec")
            status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
            if self._write_status(dep, status):
                mem.pending_change = None
                self.event(dep, "Rollback", "Rolled back to the last stable spec", "Warning")
            return
        was_running = job_status.get("state") == "RUNNING"
        # Phase 1: savepoint (savepoint mode, job running), else straight on.
        if mode == "savepoint" and was_running and mem.pending_savepoint_path is None:
            if mem.savepoint_started is None:
                mem.savepoint_started = time.monotonic()
                self._jm_log(dep, "Triggering savepoint for upgrade")
                return
            if behaviour.savepoint == "hang" or time.monotonic() - mem.savepoint_started < t.savepoint:
                return
            if behaviour.savepoint == "fail" and self._savepoint_should_fail(behaviour, mem):
                # The change is not applied: the old spec keeps running, the error says why, and the
                # operator retries on a later reconcile.
                status["error"] = _exception("UpgradeFailureException",
                                             "Savepoint failed during upgrade: simulated checkpoint coordinator failure")
                recon["state"] = "DEPLOYED"
                recon["lastReconciledSpec"], status["observedGeneration"] = mem.previous
                status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
                if self._write_status(dep, status):
                    self.event(dep, "SavepointError", "Savepoint failed during upgrade", "Warning")
                    mem.pending_change = None
                    mem.savepoint_started = None
                    self._touch(mem)
                return
            mem.pending_savepoint_path = self._savepoint_path(spec, job_status.get("jobId"))
            self._record_upgrade_savepoint(dep, status, mem.pending_savepoint_path)
        path = mem.pending_savepoint_path
        if mem.pending_change == "suspend":
            if job:
                job_status.update(state="FINISHED" if path else "CANCELED", updateTime=_ms())
                if path:
                    job_status["upgradeSavepointPath"] = path
            status["jobManagerDeploymentStatus"] = "MISSING"
            recon["state"] = "DEPLOYED"
            status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
            if self._write_status(dep, status):
                self._delete_jm_pods(dep)
                self.event(dep, "Suspended", f"Job suspended{' with savepoint ' + path if path else ''}")
                mem.pending_change = None
                mem.pending_savepoint_path = None
                mem.running_since = None
            return
        # Upgrade: tear down, then deploy the new spec restoring from the savepoint.
        if path:
            job_status["upgradeSavepointPath"] = path
        restore = path if mode == "savepoint" else (job_status.get("upgradeSavepointPath") if mode == "last-state" else None)
        mem.pending_change = None
        mem.pending_savepoint_path = None
        self._deploy(dep, status, mem, first=False, restore_from=restore)

    def _savepoint_should_fail(self, behaviour: Behaviour, mem: _Memory) -> bool:
        """With ``savepoint_failures=N`` the job's first N savepoints fail (counted per job)."""
        if behaviour.savepoint_failures is None:
            return True
        if behaviour.failed_savepoints < behaviour.savepoint_failures:
            behaviour.failed_savepoints += 1
            return True
        return False

    def _record_upgrade_savepoint(self, dep: dict[str, Any], status: dict[str, Any], path: str) -> None:
        job_status = status.setdefault("jobStatus", {})
        if self.snapshot_resources and self._snapshots_served():
            self._create_operator_snapshot(dep, "upgrade", path=path)
        else:
            info = job_status.setdefault("savepointInfo", {})
            savepoint = {"timeStamp": int(time.time() * 1000), "location": path, "triggerType": "UPGRADE",
                         "formatType": "CANONICAL", "triggerNonce": None}
            info["lastSavepoint"] = savepoint
            info.setdefault("savepointHistory", []).append(savepoint)
        self._jm_log(dep, f"Savepoint completed at {path}")

    def _create_operator_snapshot(self, obj: dict[str, Any], trigger: str, path: str | None = None) -> str:
        name = f"{obj['metadata']['name']}-savepoint-{trigger}-{_ms()}"
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND_STATE_SNAPSHOT,
                "metadata": {"name": name, "namespace": obj["metadata"]["namespace"],
                             "labels": {"job-reference.kind": obj["kind"], "job-reference.name": obj["metadata"]["name"],
                                        "snapshot.trigger-type": trigger.upper(), "snapshot.type": "SAVEPOINT"}},
                "spec": {"jobReference": {"kind": obj["kind"], "name": obj["metadata"]["name"]},
                         "savepoint": {"path": path, "alreadyExists": True} if path else {}, "backoffLimit": 0}}
        self._custom.create_namespaced_custom_object(GROUP, VERSION, obj["metadata"]["namespace"],
                                                     PLURALS[KIND_STATE_SNAPSHOT], body, _request_timeout=5)
        return name

    def _nonce_change(self, dep: dict[str, Any], status: dict[str, Any], mem: _Memory,
                      spec: dict[str, Any], last_spec: dict[str, Any]) -> None:
        """Only a trigger nonce changed: take a savepoint, no redeploy."""
        recon = status["reconciliationStatus"]
        first = json.loads(recon["lastReconciledSpec"])["resource_metadata"]["firstDeployment"]
        new_nonce = (spec.get("job") or {}).get("savepointTriggerNonce")
        old_nonce = (last_spec.get("job") or {}).get("savepointTriggerNonce")
        recon["lastReconciledSpec"] = _spec_json(spec, first)
        if recon.get("lastStableSpec") and _without_nonces(json.loads(recon["lastStableSpec"])["spec"]) == _without_nonces(spec):
            recon["lastStableSpec"] = recon["lastReconciledSpec"]
        status["observedGeneration"] = dep["metadata"]["generation"]
        job_status = status.setdefault("jobStatus", {})
        if new_nonce is not None and new_nonce != old_nonce:
            if self.snapshot_resources and self._snapshots_served():
                self._create_operator_snapshot(dep, "manual")
            elif job_status.get("state") == "RUNNING":
                info = job_status.setdefault("savepointInfo", {})
                info.update(triggerId=uuid.uuid4().hex, triggerTimestamp=int(time.time() * 1000),
                            triggerType="MANUAL", formatType="CANONICAL")
                mem.savepoint_started = time.monotonic()
                mem.pending_savepoint_path = None
            else:
                status["error"] = _exception("ReconciliationException", "Cannot trigger savepoint: the job is not running")
        status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
        self._write_status(dep, status)

    def _maybe_progress_legacy_savepoint(self, dep: dict[str, Any], status: dict[str, Any], mem: _Memory,
                                         behaviour: Behaviour) -> None:
        info = (status.get("jobStatus") or {}).get("savepointInfo") or {}
        if not info.get("triggerId") or mem.savepoint_started is None:
            return
        if behaviour.savepoint == "hang" or time.monotonic() - mem.savepoint_started < self.timings.savepoint:
            return
        status = copy.deepcopy(status)
        info = status["jobStatus"]["savepointInfo"]
        nonce = (dep["spec"].get("job") or {}).get("savepointTriggerNonce")
        for key in ("triggerId", "triggerTimestamp", "triggerType", "formatType"):
            info.pop(key, None)
        mem.savepoint_started = None
        fresh = self._get(dep)
        if fresh is None:
            return
        if behaviour.savepoint == "fail" and self._savepoint_should_fail(behaviour, mem):
            status["error"] = _exception("ReconciliationException", "Savepoint failed: simulated checkpoint coordinator failure")
            self._write_status(fresh, status)
            self.event(dep, "SavepointError", "Savepoint failed: simulated checkpoint coordinator failure", "Warning")
            return
        path = self._savepoint_path(dep["spec"], status["jobStatus"].get("jobId"))
        savepoint = {"timeStamp": int(time.time() * 1000), "location": path, "triggerType": "MANUAL",
                     "formatType": "CANONICAL", "triggerNonce": nonce}
        info["lastSavepoint"] = savepoint
        info.setdefault("savepointHistory", []).append(savepoint)
        self._write_status(fresh, status)
        self._jm_log(dep, f"Savepoint completed at {path}")
        self.event(dep, "SavepointCompleted", f"Savepoint completed at {path}")

    def _get(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            return self._custom.get_namespaced_custom_object(GROUP, VERSION, obj["metadata"]["namespace"],
                                                             PLURALS[obj["kind"]], obj["metadata"]["name"],
                                                             _request_timeout=5)
        except ApiException:
            return None

    # -- FlinkSessionJob --

    def _reconcile_session_job(self, job: dict[str, Any], deployments: dict[tuple[str, str], dict[str, Any]]) -> None:
        meta, spec = job["metadata"], job.get("spec") or {}
        status = copy.deepcopy(job.get("status") or {})
        mem = self._mem(job)
        behaviour = self._behaviour(job)
        t = self.timings
        if meta.get("deletionTimestamp"):
            self._finish_deletion(job)
            return
        if not self._ensure_finalizer(job):
            return
        recon = status.setdefault("reconciliationStatus", {})
        generation = meta.get("generation", 1)
        cluster = deployments.get((meta["namespace"], spec.get("deploymentName") or ""))
        if status.get("observedGeneration") != generation:
            error = self._validation_error(job)
            if error is None and cluster is not None and (cluster.get("spec") or {}).get("job"):
                error = "Can not submit session job to application cluster"
            if error is not None:
                status["error"] = _exception("ValidationException", error)
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
            recon.update(lastReconciledSpec=_spec_json(spec, last is None), state="DEPLOYED",
                         reconciliationTimestamp=int(time.time() * 1000))
            status["observedGeneration"] = generation
            job_status = status.setdefault("jobStatus", {})
            if job_spec.get("state") == "suspended":
                if job_status.get("state") == "RUNNING" and (job_spec.get("upgradeMode") or "stateless") == "savepoint":
                    job_status["upgradeSavepointPath"] = self._savepoint_path({**cluster["spec"], **spec},
                                                                              job_status.get("jobId"))
                job_status.update(state="FINISHED" if job_status.get("upgradeSavepointPath") else "CANCELED")
            else:
                job_status.update(state="RECONCILING", jobName=meta["name"], jobId=None)
            status["lifecycleState"] = compute_lifecycle(KIND_SESSION_JOB, status, False)
            if self._write_status(job, status):
                self._touch(mem)
                mem.running_since = None
                self.event(job, "Submit", "Submitting session job")
            return
        job_status = status.setdefault("jobStatus", {})
        changed = False
        if job_status.get("state") == "RECONCILING" and self._elapsed(mem, t.step):
            job_status.update(state="RUNNING", jobId=uuid.uuid4().hex, startTime=_ms(), updateTime=_ms())
            mem.running_since = time.monotonic()
            changed = True
        elif job_status.get("state") == "RUNNING" and mem.running_since is not None:
            running_for = time.monotonic() - mem.running_since
            if behaviour.fail_after is not None and running_for >= behaviour.fail_after:
                job_status.update(state="FAILED")
                status["error"] = _exception("org.apache.flink.runtime.JobException", behaviour.failure_message)
                changed = True
            elif behaviour.bounded is not None and running_for >= behaviour.bounded:
                job_status.update(state="FINISHED")
                changed = True
        if job_status.get("state") in ("RUNNING", "FINISHED") and recon.get("lastStableSpec") != recon.get("lastReconciledSpec"):
            if mem.running_since and time.monotonic() - mem.running_since >= t.stable_after:
                recon["lastStableSpec"] = recon["lastReconciledSpec"]
                changed = True
        if changed:
            self._touch(mem)
        status["lifecycleState"] = compute_lifecycle(KIND_SESSION_JOB, status, False)
        self._write_status(job, status)

    # -- FlinkStateSnapshot --

    def _reconcile_snapshot(self, snap: dict[str, Any], resources: dict[tuple[str, str, str], dict[str, Any]]) -> None:
        meta, spec = snap["metadata"], snap.get("spec") or {}
        status = copy.deepcopy(snap.get("status") or {})
        mem = self._mem(snap)
        behaviour_name = (spec.get("jobReference") or {}).get("name") or ""
        behaviour = self._behaviours.get(behaviour_name, Behaviour())
        t = self.timings
        if meta.get("deletionTimestamp"):
            self._finish_deletion(snap)
            return
        if not self._ensure_finalizer(snap):
            return
        state = status.get("state")
        if state in ("COMPLETED", "ABANDONED") or (state == "FAILED" and not self._retry(snap, status, mem, t)):
            return
        ref = spec.get("jobReference") or {}
        savepoint = spec.get("savepoint")
        if state is None:
            if (savepoint is None) == (spec.get("checkpoint") is None):
                status.update(state="FAILED", error=_exception("ValidationException",
                              "Exactly one of checkpoint or savepoint configurations has to be set."))
                self._write_status(snap, status)
                return
            if savepoint and savepoint.get("alreadyExists"):
                status.update(state="COMPLETED", path=savepoint.get("path"), resultTimestamp=_ms(), failures=0)
                self._write_status(snap, status)
                return
            status.update(state="TRIGGER_PENDING", failures=status.get("failures", 0))
            if self._write_status(snap, status):
                self._touch(mem)
            return
        target = resources.get((ref.get("kind", KIND_DEPLOYMENT), meta["namespace"], ref.get("name", "")))
        job_state = ((target or {}).get("status") or {}).get("jobStatus", {}).get("state")
        if state == "TRIGGER_PENDING":
            if target is None:
                status.update(state="FAILED", error=_exception("ValidationException",
                              f"Target for snapshot {meta['namespace']}/{ref.get('name')} was not found"))
            elif job_state != "RUNNING":
                status.update(state="ABANDONED", error=_exception(
                    "ReconciliationException", f"Job {ref.get('name')} is not running (state {job_state}); snapshot abandoned"))
            elif savepoint is not None and not (savepoint.get("path") or self._savepoint_dir(target["spec"])):
                status.update(state="FAILED", error=_exception(
                    "ReconciliationException", "Savepoint path was not given and state.savepoints.dir is not set"))
            else:
                status.update(state="IN_PROGRESS", triggerId=uuid.uuid4().hex, triggerTimestamp=_ms())
                status.pop("error", None)
            if self._write_status(snap, status):
                self._touch(mem)
                if status["state"] != "IN_PROGRESS":
                    self.event(snap, "SavepointError", status.get("error", ""), "Warning")
            return
        if state == "IN_PROGRESS":
            if job_state not in ("RUNNING", None) and target is not None:
                status.update(state="ABANDONED", error=_exception(
                    "ReconciliationException", f"Job {ref.get('name')} stopped while the snapshot was in progress"))
                self._write_status(snap, status)
                return
            if behaviour.savepoint == "hang" or not self._elapsed(mem, t.savepoint):
                return
            if behaviour.savepoint == "fail" and self._savepoint_should_fail(behaviour, mem):
                status.update(state="FAILED", failures=int(status.get("failures", 0)) + 1, error=_exception(
                    "ReconciliationException", "Savepoint failed: simulated checkpoint coordinator failure"))
                if self._write_status(snap, status):
                    self._touch(mem)
                    self.event(snap, "SavepointError", "Savepoint failed: simulated checkpoint coordinator failure",
                               "Warning")
                return
            base = (savepoint or {}).get("path") or self._savepoint_dir(target["spec"]) if target else None
            path = f"{(base or 'file:///flink-data/checkpoints').rstrip('/')}/savepoint-{uuid.uuid4().hex[:12]}"
            status.update(state="COMPLETED", path=path, resultTimestamp=_ms())
            status.pop("error", None)
            labels = {**(meta.get("labels") or {}), "snapshot.state": "COMPLETED",
                      "snapshot.type": "SAVEPOINT" if savepoint is not None else "CHECKPOINT"}
            if self._write_status(snap, status):
                fresh = self._get(snap)
                if fresh is not None and fresh["metadata"].get("labels") != labels:
                    fresh["metadata"]["labels"] = labels
                    try:
                        self._custom.replace_namespaced_custom_object(GROUP, VERSION, meta["namespace"],
                                                                      PLURALS[KIND_STATE_SNAPSHOT], meta["name"], fresh,
                                                                      _request_timeout=5)
                    except Exception as exc:
                        self.errors.append(f"labels: {exc!r}")
                if target is not None:
                    self._jm_log(target, f"Savepoint completed at {path}")
                    self.event(snap, "SavepointCompleted", f"Savepoint completed at {path}")

    def _retry(self, snap: dict[str, Any], status: dict[str, Any], mem: _Memory, t: SimTimings) -> bool:
        """A FAILED snapshot is retried while failures <= backoffLimit (-1: forever)."""
        limit = (snap.get("spec") or {}).get("backoffLimit", -1)
        if limit is None:
            limit = -1
        failures = int(status.get("failures", 0))
        if limit != -1 and failures > limit:
            return False
        if "Target for snapshot" in (status.get("error") or "") or "Exactly one of" in (status.get("error") or ""):
            return False
        if not self._elapsed(mem, t.snapshot_retry * random.uniform(1, 1.5)):
            return False
        status.update(state="TRIGGER_PENDING")
        if self._write_status(snap, status):
            self._touch(mem)
        return False
