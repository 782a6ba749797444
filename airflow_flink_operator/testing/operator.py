"""A simulated Flink Kubernetes Operator: reacts to Flink resources as the real one does.

It talks to the API only over HTTP with the official client, so the same simulation runs against
the emulator (:mod:`.apiserver`) and against a real kube-apiserver. What it mimics (see the
reference, sections c-e and h):

- FlinkDeployment: finalizer; validation errors written to ``status.error`` as the operator's
  ``FlinkResourceException`` JSON; CREATED → DEPLOYED → STABLE with the JobManager going
  DEPLOYING → DEPLOYED_NOT_READY → READY and the job RECONCILING → CREATED → RUNNING; bounded jobs
  FINISHED; spec changes through UPGRADING per upgrade mode (savepoint taken, ``upgradeSavepointPath``
  — a real path, or ``KUBERNETES_OPERATOR_LAST_STATE`` after a last-state deploy —,
  ``lastReconciledSpec``, ``observedGeneration``); suspend and resume; rollback to the last stable
  spec when enabled; deletion through the finalizer (session clusters wait for their jobs; with
  ``job.savepoint-on-deletion`` a savepoint first, through the JobManager, which must still exist).
  A fresh Flink job id per deployment, except a last-state redeploy, which keeps it.
- FlinkSessionJob: runs only on an existing, ready session cluster.
- Savepoints by ``savepointTriggerNonce`` (legacy ``savepointInfo``, epoch-ms numbers) or, when
  snapshot resources are on and the CRD is served, by FlinkStateSnapshot: TRIGGER_PENDING →
  IN_PROGRESS → COMPLETED with a path and ISO-8601 timestamps, or FAILED (retried up to
  ``backoffLimit``) / ABANDONED with an error. Deleting a COMPLETED savepoint snapshot with
  ``disposeOnDelete`` disposes its data through the referenced job (:attr:`disposed_savepoints`),
  or hangs on the finalizer when that job is gone or not running. With snapshot resources
  disabled, nothing reconciles FlinkStateSnapshots even if the CRD is installed.
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

from airflow_flink_operator.testing.bluegreen import reconcile_blue_green

log = logging.getLogger(__name__)

FINALIZERS = {
    KIND_DEPLOYMENT: "flinkdeployments.flink.apache.org/finalizer",
    KIND_SESSION_JOB: "flinksessionjobs.flink.apache.org/finalizer",
    KIND_STATE_SNAPSHOT: "flinkstatesnapshots.flink.apache.org/finalizer",
}
EXC = "org.apache.flink.kubernetes.operator.exception."
NONCE_FIELDS = ("savepointTriggerNonce", "checkpointTriggerNonce")
#: ``AbstractJobReconciler.LAST_STATE_DUMMY_SP_PATH``: what ``upgradeSavepointPath`` says after a last-state deploy.
LAST_STATE_DUMMY_SP_PATH = "KUBERNETES_OPERATOR_LAST_STATE"
#: ``JobStatus.isGloballyTerminalState`` (``ReconciliationUtils.isJobInTerminalState``).
TERMINAL_JOB_STATES = ("FAILED", "CANCELED", "FINISHED")


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
class ResourceTraits:
    """The faults and traits a test gives one resource (by name, any namespace) through
    :meth:`SimulatedFlinkOperator.behave`: how its job ends, fails or restarts, how its savepoints and
    upgrades go, how long the operator takes to notice a new generation."""

    bounded: float | None = None          # job FINISHES after this many running seconds
    fail_after: float | None = None       # job FAILS after this many running seconds (0: at start)
    failure_message: str = "Recovery is suppressed by FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=3, backoffTimeMS=10000)"
    restart_loop: bool = False            # job keeps RESTARTING
    jobmanager_error: bool = False        # JobManager deployment goes to ERROR
    savepoint: str = "ok"                 # "ok" | "fail" | "hang"
    savepoint_failures: int | None = None  # with "fail": fail this many times, then succeed
    upgrade: str = "ok"                   # "ok" | "never-ready" (with rollback enabled: rolled back)
    failed_savepoints: int = 0            # how many savepoints of this job failed so far
    pickup_delay: float = 0.0             # seconds before the operator reconciles a new generation


@dataclass
class _SimulationState:
    """What the simulation keeps about one resource beyond its status: the clock of its last step, the
    change in progress and its plan, the job's checkpoints, the last cleanup failure reported."""

    since: float = field(default_factory=time.monotonic)
    running_since: float | None = None
    savepoint_started: float | None = None
    pending_change: str | None = None  # "upgrade" | "suspend" | "rollback"
    previous: tuple[str | None, int | None] = (None, None)  # lastReconciledSpec, observedGeneration before
    pending_savepoint_path: str | None = None
    unready_since: float | None = None
    # How the job was last stopped (``JobUpgrade.restoreMode``, which the real operator records as the
    # upgrade mode of ``lastReconciledSpec``): decides how the next start restores.
    restore_mode: str | None = None
    upgrade_plan: tuple[str, str] | None = None  # (suspend mode, restore mode) of the change in progress
    checkpointed: bool = False  # the current Flink job has completed a checkpoint (HA metadata has one)
    checkpoints: int = 0
    cancel_ts: int | None = None  # when the stop-with-savepoint of the change in progress was triggered
    seen_generation: int | None = None  # a new generation noticed at seen_at, not yet reconciled
    seen_at: float = 0.0
    cleanup_message: str | None = None  # the last CleanupFailed event recorded for a snapshot


def _ms() -> str:
    """Epoch milliseconds as a string: ``jobStatus.startTime`` / ``updateTime`` (``String.valueOf``, reference h)."""
    return str(int(time.time() * 1000))


def _epoch_ms() -> int:
    """Epoch milliseconds as a number: ``savepointInfo.triggerTimestamp``, ``lastSavepoint.timeStamp`` (reference h)."""
    return int(time.time() * 1000)


def kubernetes_timestamp(epoch_ns: int | None = None, digits: int = 9) -> str:
    """``DateTimeUtils.kubernetes(Instant.now())``, the FlinkStateSnapshot ``triggerTimestamp`` / ``resultTimestamp``.

    The operator formats with ``DateTimeFormatter.ISO_INSTANT`` (``flink-autoscaler`` ``DateTimeUtils``), which
    prints the instant in UTC with ``Z`` whatever the JVM's zone, and the fraction in groups of three digits,
    only as many as the value needs (none for a whole second): ``2026-11-26T21:00:00Z``,
    ``2026-11-26T21:00:00.123Z``, ``...00.123456Z`` or ``...00.123456789Z``. ``Instant.now()`` on JDK 15+ on
    Linux (the operator image runs JDK 17) reads the clock to the nanosecond.

    :param epoch_ns: the instant (default: now).
    :param digits: the clock's precision in fraction digits: 3 (milliseconds), 6 or 9.
    """
    if epoch_ns is None:
        epoch_ns = time.time_ns()
    epoch_ns -= epoch_ns % 10 ** (9 - digits)
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if nanos % 1_000_000 == 0:
        fraction = f".{nanos // 1_000_000:03d}" if nanos else ""
    elif nanos % 1000 == 0:
        fraction = f".{nanos // 1000:06d}"
    else:
        fraction = f".{nanos:09d}"
    return f"{text}{fraction}Z"


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
    :param snapshot_resources: ``kubernetes.operator.snapshot.resource.enabled``. On (and the CRD served):
        FlinkStateSnapshots are reconciled and savepoints by nonce / upgrade create them. Off: nothing
        reconciles FlinkStateSnapshots, even with the CRD installed (``FlinkOperator.registerSnapshotController``
        skips the controller; reference h), and savepoints go the legacy ``savepointInfo`` way.
    :param operator_version: the version it pretends to be (its validator's rules).
    :param emulator: the emulator, if that is the API server: JobManager logs are written there.
    :param clock_digits: precision of the operator JVM's clock in fraction digits (3, 6 or 9), as it
        shows in FlinkStateSnapshot timestamps (see :func:`kubernetes_timestamp`).

    :attr:`disposed_savepoints` lists the savepoint paths whose data the operator disposed of
    (through the referenced job's REST API) when their FlinkStateSnapshot was deleted.
    """

    def __init__(self, kubeconfig: dict[str, Any], *, timings: SimTimings | None = None,
                 snapshot_resources: bool = True, operator_version: str = "1.15", emulator: Any = None,
                 clock_digits: int = 9) -> None:
        from kubernetes import client, config

        if clock_digits not in (3, 6, 9):
            raise ValueError(f"clock_digits must be 3, 6 or 9, not {clock_digits!r}")
        self.timings = timings or SimTimings()
        self.snapshot_resources = snapshot_resources
        self.clock_digits = clock_digits
        self.disposed_savepoints: list[str] = []
        self.passes = 0  # completed reconcile passes over all resources: lets a test wait for "nothing happened"
        self.operator_version = operator_version
        self.emulator = emulator
        self._api_client = config.new_client_from_config_dict(kubeconfig)
        self._custom = client.CustomObjectsApi(self._api_client)
        self._core = client.CoreV1Api(self._api_client)
        self._traits: dict[str, ResourceTraits] = {}
        self._sim_states: dict[str, _SimulationState] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.paused = False
        self.errors: list[str] = []

    # -- control --

    def behave(self, name: str, **traits: Any) -> ResourceTraits:
        """Set traits of the resource named ``name`` (any namespace); see :class:`ResourceTraits`."""
        resource_traits = self._traits.setdefault(name, ResourceTraits())
        for key, value in traits.items():
            if not hasattr(resource_traits, key):
                raise TypeError(f"unknown trait {key!r}; see ResourceTraits")
            setattr(resource_traits, key, value)
        return resource_traits

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
        # The snapshot controller runs only when snapshot resources are enabled (and the CRD exists):
        # FlinkOperator.registerSnapshotController, FlinkConfigManager (reference h).
        snapshots = self._list(KIND_STATE_SNAPSHOT) if self.snapshot_resources and self._snapshots_served() else []
        for dep in deployments:
            self._reconcile_deployment(dep, session_jobs)
        by_name = {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in deployments}
        for job in session_jobs:
            self._reconcile_session_job(job, by_name)
        resources = {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]): o
                     for o in deployments + session_jobs}
        for snapshot in snapshots:
            self._reconcile_snapshot(snapshot, resources)
        reconcile_blue_green(self)
        self.passes += 1

    def _sim_state(self, obj: dict[str, Any]) -> _SimulationState:
        return self._sim_states.setdefault(obj["metadata"]["uid"], _SimulationState())

    def _snapshot_resources_for(self, obj: dict[str, Any]) -> bool:
        """``FlinkStateSnapshotUtils.isSnapshotResourceEnabled``: the operator's setting and the job's own."""
        enabled = _flat_conf(obj.get("spec") or {}).get("kubernetes.operator.snapshot.resource.enabled", "true")
        return self.snapshot_resources and enabled.strip().lower() != "false" and self._snapshots_served()

    def _now_iso(self) -> str:
        return kubernetes_timestamp(digits=self.clock_digits)

    def _picked_up(self, sim: _SimulationState, generation: int, traits: ResourceTraits) -> bool:
        """Whether the operator has got round to a new generation (``pickup_delay`` after first seeing it)."""
        if traits.pickup_delay <= 0:
            return True
        if sim.seen_generation != generation:
            sim.seen_generation, sim.seen_at = generation, time.monotonic()
            return False
        return time.monotonic() - sim.seen_at >= traits.pickup_delay

    def _traits_of(self, obj: dict[str, Any]) -> ResourceTraits:
        return self._traits.get(obj["metadata"]["name"], ResourceTraits())

    def _elapsed(self, sim: _SimulationState, seconds: float) -> bool:
        return time.monotonic() - sim.since >= seconds

    @staticmethod
    def _touch(sim: _SimulationState) -> None:
        sim.since = time.monotonic()

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
            self._sim_states.pop(obj["metadata"]["uid"], None)

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
                    status["error"] = _exception("ReconciliationException",
                                                 f"The session cluster has {len(running)} FlinkSessionJob(s); "
                                                 "deletion is blocked until they are deleted")
                    self._write_status(dep, status)
                    return
            elif not self._savepoint_on_deletion(dep, status, sim, traits):
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
                status["error"] = _exception("ValidationException", error)
                status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
                if self._write_status(dep, status) and (dep.get("status") or {}).get("error") != status["error"]:
                    self.event(dep, "ValidationError", error, "Warning")
                return
            status.pop("error", None)
            if last_spec is None:
                self._deploy(dep, status, sim, first=True)
                return
            if _without_nonces(spec) == _without_nonces(last_spec):
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
        recon["lastReconciledSpec"] = _spec_json(spec, first)
        recon["state"] = "DEPLOYED"
        recon["reconciliationTimestamp"] = _epoch_ms()
        status["observedGeneration"] = dep["metadata"].get("generation", 1)
        status["jobManagerDeploymentStatus"] = "DEPLOYING"
        rotate = False
        if spec.get("job"):
            job_status = status.setdefault("jobStatus", {})
            initial = (spec["job"].get("initialSavepointPath") if first else None)
            if initial:
                job_status["upgradeSavepointPath"] = restore_from = initial
            if not restore_from and require_ha and sim.checkpointed:
                job_status["upgradeSavepointPath"] = LAST_STATE_DUMMY_SP_PATH
            rotate = not job_status.get("jobId") or not require_ha
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
        changed = False
        never_ready = traits.upgrade == "never-ready" and not json.loads(recon["lastReconciledSpec"])["resource_metadata"]["firstDeployment"]
        if traits.jobmanager_error and jm != "ERROR" and self._elapsed(sim, t.step):
            status["jobManagerDeploymentStatus"] = "ERROR"
            status["error"] = _exception("DeploymentFailedException",
                                         "CrashLoopBackOff: back-off restarting failed container flink-main-container")
            self.event(dep, "DeploymentFailed", "JobManager deployment failed: CrashLoopBackOff", "Warning")
            changed = True
        elif jm == "DEPLOYING" and self._elapsed(sim, t.step):
            status["jobManagerDeploymentStatus"] = "DEPLOYED_NOT_READY"
            changed = True
        elif jm == "DEPLOYED_NOT_READY" and self._elapsed(sim, t.step) and not never_ready:
            status["jobManagerDeploymentStatus"] = "READY"
            if job_status is not None:
                # The job id was assigned at deployment; startTime is the Flink job's start, observed
                # (JobStatusObserver: epoch-ms strings).
                job_status.setdefault("jobId", uuid.uuid4().hex)
                job_status.update(state="CREATED", startTime=_ms(), updateTime=_ms())
            changed = True
        elif jm == "READY" and job_status is not None and job_status.get("state") == "CREATED" and self._elapsed(sim, t.step):
            if traits.fail_after == 0:
                self._fail_job(dep, status, job_status, traits, "CREATED")
            else:
                job_status.update(state="RUNNING", updateTime=_ms())
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
                job_status.update(state="RESTARTING", updateTime=_ms())
                self._jm_log(dep, f"Job {job_status.get('jobId')} switched from RUNNING to RESTARTING")
                changed = True
            elif traits.bounded is not None and running_for >= traits.bounded:
                job_status.update(state="FINISHED", updateTime=_ms())
                self._observe_latest_checkpoint(dep["spec"], job_status, sim)
                self._jm_log(dep, f"Job {job_status.get('jobId')} switched from RUNNING to FINISHED")
                self.event(dep, "JobStatusChanged", "Job status changed from RUNNING to FINISHED")
                changed = True
        elif job_status is not None and job_status.get("state") == "RESTARTING" and not traits.restart_loop:
            job_status.update(state="RUNNING", updateTime=_ms())
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
        conf = _flat_conf(dep["spec"])
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
        status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
        self._write_status(dep, status)
        self._maybe_progress_legacy_savepoint(dep, status, sim, traits)

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
        conf = _flat_conf(dep.get("spec") or {})
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
        path = self._savepoint_path(dep["spec"], job_status.get("jobId"))
        self._record_upgrade_savepoint(dep, copy.deepcopy(status), path, _epoch_ms())
        return True

    def _jm_pods(self, obj: dict[str, Any]) -> list[Any]:
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        try:
            pods = self._core.list_namespaced_pod(ns, label_selector=f"app={name},component=jobmanager",
                                                  _request_timeout=5).items
        except Exception as exc:
            self.errors.append(f"pod list: {exc!r}")
            return []
        return [pod for pod in pods if pod.metadata.deletion_timestamp is None]

    def _observe_latest_checkpoint(self, spec: dict[str, Any], job_status: dict[str, Any], sim: _SimulationState) -> None:
        """``SnapshotObserver.observeLatestCheckpoint``: once the job is globally terminal, the latest
        checkpoint's location becomes ``upgradeSavepointPath`` (the next start restores from it)."""
        conf = _flat_conf(spec)
        base = conf.get("state.checkpoints.dir") or conf.get("execution.checkpointing.dir")
        if sim.checkpointed and base:
            job_status["upgradeSavepointPath"] = f"{base.rstrip('/')}/{job_status.get('jobId')}/chk-{sim.checkpoints}"

    def _fail_job(self, dep: dict[str, Any], status: dict[str, Any], job_status: dict[str, Any],
                  traits: ResourceTraits, previous: str) -> None:
        job_status.update(state="FAILED", updateTime=_ms())
        self._observe_latest_checkpoint(dep["spec"], job_status, self._sim_state(dep))
        status["error"] = json.dumps({
            "type": "org.apache.flink.runtime.JobException", "message": traits.failure_message,
            "additionalMetadata": {}, "throwableList": [
                {"type": "java.lang.RuntimeException", "message": "Simulated failure in the user function"}]})
        self._jm_log(dep, f"Job {job_status.get('jobId')} switched from {previous} to FAILED: {traits.failure_message}")
        self.event(dep, "JobStatusChanged", f"Job status changed from {previous} to FAILED", "Warning")

    def _savepoint_dir(self, spec: dict[str, Any]) -> str | None:
        conf = _flat_conf(spec)
        return conf.get("state.savepoints.dir") or conf.get("execution.checkpointing.savepoint-dir")

    def _savepoint_path(self, spec: dict[str, Any], job_id: str | None) -> str:
        base = (self._savepoint_dir(spec) or "file:///flink-data/savepoints").rstrip("/")
        return f"{base}/savepoint-{(job_id or 'unknown')[:6]}-{uuid.uuid4().hex[:12]}"

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
            recon["lastReconciledSpec"] = _spec_json(spec, False)
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
            status["jobStatus"].update(state="FINISHED", updateTime=_ms())
        # Write the new spec with UPGRADING before acting (controller flow).
        sim.previous = (recon.get("lastReconciledSpec"), status.get("observedGeneration"))
        recon["lastReconciledSpec"] = _spec_json(spec, False)
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
                job_status.update(state="RUNNING", startTime=_ms(), updateTime=_ms())
                sim.running_since = time.monotonic()
            status["error"] = _exception("UpgradeFailureException",
                                         "Deployment did not become stable in time; rolled back to the last stable spec")
            status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
            if self._write_status(dep, status):
                sim.pending_change = None
                self.event(dep, "Rollback", "Rolled back to the last stable spec", "Warning")
            return
        suspend_mode, restore_mode = sim.upgrade_plan or ("stateless", "stateless")
        # Phase 1: stop-with-savepoint (savepoint mode, job running), else straight on.
        if suspend_mode == "savepoint" and sim.pending_savepoint_path is None:
            if sim.savepoint_started is None:
                sim.savepoint_started = time.monotonic()
                sim.cancel_ts = _epoch_ms()
                self._jm_log(dep, "Triggering savepoint for upgrade")
                return
            if traits.savepoint == "hang" or time.monotonic() - sim.savepoint_started < t.savepoint:
                return
            if traits.savepoint == "fail" and self._savepoint_should_fail(traits, sim):
                # The change is not applied: the old spec keeps running, the error says why, and the
                # operator retries on a later reconcile.
                status["error"] = _exception("UpgradeFailureException",
                                             "Savepoint failed during upgrade: simulated checkpoint coordinator failure")
                recon["state"] = "DEPLOYED"
                recon["lastReconciledSpec"], status["observedGeneration"] = sim.previous
                status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
                if self._write_status(dep, status):
                    self.event(dep, "SavepointError", "Savepoint failed during upgrade", "Warning")
                    sim.pending_change = None
                    sim.savepoint_started = None
                    self._touch(sim)
                return
            sim.pending_savepoint_path = self._savepoint_path(spec, job_status.get("jobId"))
            self._record_upgrade_savepoint(dep, status, sim.pending_savepoint_path, sim.cancel_ts)
        path = sim.pending_savepoint_path
        if sim.pending_change == "suspend":
            if job:
                # AbstractFlinkService.cancelJob ends with the job FINISHED whatever the suspend mode; a
                # last-state or stateless stop leaves upgradeSavepointPath as it was (reference h).
                job_status.update(state="FINISHED", updateTime=_ms())
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
            savepoint = {"timeStamp": cancel_ts or _epoch_ms(), "location": path, "triggerType": "UPGRADE",
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
        conf = _flat_conf(obj.get("spec") or {})
        dispose = conf.get("kubernetes.operator.savepoint.dispose-on-delete", "false").strip().lower() == "true"
        savepoint: dict[str, Any] = {"path": path or self._savepoint_dir(obj.get("spec") or {}),
                                     "formatType": conf.get("kubernetes.operator.savepoint.format.type", "CANONICAL"),
                                     "disposeOnDelete": dispose, "alreadyExists": trigger == "upgrade"}
        name = f"{obj['metadata']['name']}-savepoint-{trigger}-{_ms()}"
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
        recon["lastReconciledSpec"] = _spec_json(spec, first)
        if recon.get("lastStableSpec") and _without_nonces(json.loads(recon["lastStableSpec"])["spec"]) == _without_nonces(spec):
            recon["lastStableSpec"] = recon["lastReconciledSpec"]
        status["observedGeneration"] = dep["metadata"]["generation"]
        job_status = status.setdefault("jobStatus", {})
        if new_nonce is not None and new_nonce != old_nonce:
            if self._snapshot_resources_for(dep):
                self._create_operator_snapshot(dep, "manual")
            elif job_status.get("state") == "RUNNING":
                info = job_status.setdefault("savepointInfo", {})
                info.update(triggerId=uuid.uuid4().hex, triggerTimestamp=_epoch_ms(),
                            triggerType="MANUAL", formatType="CANONICAL")
                sim.savepoint_started = time.monotonic()
                sim.pending_savepoint_path = None
            else:
                status["error"] = _exception("ReconciliationException", "Cannot trigger savepoint: the job is not running")
        status["lifecycleState"] = compute_lifecycle(KIND_DEPLOYMENT, status, False)
        self._write_status(dep, status)

    def _maybe_progress_legacy_savepoint(self, dep: dict[str, Any], status: dict[str, Any], sim: _SimulationState,
                                         traits: ResourceTraits) -> None:
        info = (status.get("jobStatus") or {}).get("savepointInfo") or {}
        if not info.get("triggerId") or sim.savepoint_started is None:
            return
        if traits.savepoint == "hang" or time.monotonic() - sim.savepoint_started < self.timings.savepoint:
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
        if traits.savepoint == "fail" and self._savepoint_should_fail(traits, sim):
            status["error"] = _exception("ReconciliationException", "Savepoint failed: simulated checkpoint coordinator failure")
            self._write_status(fresh, status)
            self.event(dep, "SavepointError", "Savepoint failed: simulated checkpoint coordinator failure", "Warning")
            return
        path = self._savepoint_path(dep["spec"], status["jobStatus"].get("jobId"))
        # SnapshotObserver.observeTriggeredSavepoint: the savepoint's timeStamp is its trigger timestamp.
        savepoint = {"timeStamp": triggered_at or _epoch_ms(), "location": path, "triggerType": "MANUAL",
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
        sim = self._sim_state(job)
        traits = self._traits_of(job)
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
            if not self._picked_up(sim, generation, traits):
                return  # the status, failure fields included, stays until the new generation is reconciled
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
                         reconciliationTimestamp=_epoch_ms())
            status["observedGeneration"] = generation
            job_status = status.setdefault("jobStatus", {})
            if job_spec.get("state") == "suspended":
                if job_status.get("state") == "RUNNING" and (job_spec.get("upgradeMode") or "stateless") == "savepoint":
                    path = self._savepoint_path({**cluster["spec"], **spec}, job_status.get("jobId"))
                    self._record_upgrade_savepoint(job, status, path, _epoch_ms())
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
        if job_status.get("state") == "RECONCILING" and self._elapsed(sim, t.step):
            job_status.update(state="RUNNING", startTime=_ms(), updateTime=_ms())
            sim.running_since = time.monotonic()
            changed = True
        elif job_status.get("state") == "RUNNING" and sim.running_since is not None:
            running_for = time.monotonic() - sim.running_since
            if traits.fail_after is not None and running_for >= traits.fail_after:
                job_status.update(state="FAILED", updateTime=_ms())
                status["error"] = _exception("org.apache.flink.runtime.JobException", traits.failure_message)
                changed = True
            elif traits.bounded is not None and running_for >= traits.bounded:
                job_status.update(state="FINISHED", updateTime=_ms())
                changed = True
        if job_status.get("state") in ("RUNNING", "FINISHED") and recon.get("lastStableSpec") != recon.get("lastReconciledSpec"):
            if sim.running_since and time.monotonic() - sim.running_since >= t.stable_after:
                recon["lastStableSpec"] = recon["lastReconciledSpec"]
                changed = True
        if changed:
            self._touch(sim)
        status["lifecycleState"] = compute_lifecycle(KIND_SESSION_JOB, status, False)
        self._write_status(job, status)

    # -- FlinkStateSnapshot --

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
                status.update(state="FAILED", error=_exception("ValidationException",
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
                status.update(state="FAILED", error=_exception("ValidationException",
                              f"Target for snapshot {meta['namespace']}/{ref.get('name')} was not found"))
            elif job_state != "RUNNING":
                # FlinkStateSnapshotUtils.snapshotAbandoned: no path, the error, a result timestamp.
                status.pop("path", None)
                status.update(state="ABANDONED", resultTimestamp=self._now_iso(), error=_exception(
                    "ReconciliationException", f"Job {ref.get('name')} is not running (state {job_state}); snapshot abandoned"))
            elif savepoint is not None and not (savepoint.get("path") or self._savepoint_dir(target["spec"])):
                status.update(state="FAILED", error=_exception(
                    "ReconciliationException", "Savepoint path was not given and state.savepoints.dir is not set"))
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
                status.update(state="ABANDONED", resultTimestamp=self._now_iso(), error=_exception(
                    "ReconciliationException", f"Job {ref.get('name')} stopped while the snapshot was in progress"))
                self._write_status(snap, status)
                return
            if traits.savepoint == "hang" or not self._elapsed(sim, t.savepoint):
                return
            if traits.savepoint == "fail" and self._savepoint_should_fail(traits, sim):
                status.update(state="FAILED", failures=int(status.get("failures", 0)) + 1, error=_exception(
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
