"""The simulated operator: :class:`SimulatedFlinkOperator` runs one reconcile pass per tick over every Flink
resource (the controllers are the mixins of this package) and keeps the per-resource bookkeeping they share."""

from __future__ import annotations

import threading
import time
from typing import Any

from airflow_flink_operator.constants import KIND_DEPLOYMENT, KIND_SESSION_JOB, KIND_STATE_SNAPSHOT
from airflow_flink_operator.testing.operator.api import OperatorApiMixin
from airflow_flink_operator.testing.operator.bluegreen import reconcile_blue_green
from airflow_flink_operator.testing.operator.deployments import DeploymentMixin
from airflow_flink_operator.testing.operator.flink_rest import SimulatedFlinkRest
from airflow_flink_operator.testing.operator.realflink import RealFlinkMixin
from airflow_flink_operator.testing.operator.savepoints import SavepointMixin
from airflow_flink_operator.testing.operator.session_jobs import SessionJobMixin
from airflow_flink_operator.testing.operator.snapshots import SnapshotMixin
from airflow_flink_operator.testing.operator.state import ResourceTraits, SimTimings, _SimulationState
from airflow_flink_operator.testing.operator.status import FINALIZERS
from airflow_flink_operator.testing.operator.upgrades import SpecChangeMixin


class SimulatedFlinkOperator(DeploymentMixin, SpecChangeMixin, SavepointMixin, SessionJobMixin, SnapshotMixin,
                             RealFlinkMixin, OperatorApiMixin):
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
    :param real: a :class:`~.realjobs.RealJobs` on a local Flink: jobs then run there (``flink="local"``).

    :attr:`disposed_savepoints` lists the savepoint paths whose data the operator disposed of
    (through the referenced job's REST API) when their FlinkStateSnapshot was deleted.
    """

    def __init__(self, kubeconfig: dict[str, Any], *, timings: SimTimings | None = None,
                 snapshot_resources: bool = True, operator_version: str = "1.15", emulator: Any = None,
                 clock_digits: int = 9, real: Any = None) -> None:
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
        self.real = real
        self._api_client = config.new_client_from_config_dict(kubeconfig)
        self._custom = client.CustomObjectsApi(self._api_client)
        self._core = client.CoreV1Api(self._api_client)
        self._traits: dict[str, ResourceTraits] = {}
        self._sim_states: dict[str, _SimulationState] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.paused = False
        self.errors: list[str] = []
        #: the JobManagers' REST API, through the emulator's service proxy (:mod:`.flink_rest`).
        self.flink_rest = SimulatedFlinkRest(self)
        if emulator is not None:
            emulator.service_resolver = self.flink_rest.resolve

    @property
    def bluegreen(self) -> Any:
        """The FlinkBlueGreenDeployment controller and its knobs (:class:`~.bluegreen.SimulatedBlueGreenController`)."""
        from airflow_flink_operator.testing.operator.bluegreen import controller_of

        return controller_of(self)

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
