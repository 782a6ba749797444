"""A simulated cluster in one object: the API emulator plus the simulated Flink operator.

Use it in your own DAG tests::

    from airflow_flink_operator.testing import SimulatedCluster

    with SimulatedCluster() as cluster:
        os.environ.update(cluster.airflow_connection_env())   # kubernetes_default → the emulator
        dag.test()
        assert cluster.status("FlinkDeployment", "orders")["lifecycleState"] == "STABLE"

or the ``flink_cluster`` pytest fixture (opt in with
``pytest_plugins = ["airflow_flink_operator.testing.pytest_plugin"]`` in a ``conftest.py``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from airflow_flink_operator.constants import KIND_DEPLOYMENT, PLURALS
from airflow_flink_operator.testing.apiserver import KubeApiEmulator
from airflow_flink_operator.testing.operator import ResourceTraits, SimTimings, SimulatedFlinkOperator


RESTRICTED_TOKEN = "airflow-restricted-token"
#: The pace of ``flink="local"``: real jobs take seconds, so the operator looks every 0.2 s, not 50 times a second.
LOCAL_FLINK_TIMINGS = SimTimings(tick=0.2, step=0.2, stable_after=1.0, savepoint=0.2, readiness_timeout=60.0,
                                 snapshot_retry=0.5)


def _load_role(role: dict[str, Any] | str | None) -> dict[str, Any] | None:
    if role is None or isinstance(role, dict):
        return role
    import yaml

    with open(role) as handle:
        return yaml.safe_load(handle)


class SimulatedCluster:
    """An API server on 127.0.0.1 with a simulated Flink Kubernetes Operator reconciling in it.

    :param crd_dir: CRD folder for API-side schema validation (default: ``$FLINK_CRD_DIR`` if set).
    :param serve_snapshots: whether the FlinkStateSnapshot CRD is installed (operator 1.10+).
    :param snapshot_resources: ``kubernetes.operator.snapshot.resource.enabled``: whether the operator runs its
        FlinkStateSnapshot controller and creates FlinkStateSnapshots for nonce/upgrade savepoints. With
        ``serve_snapshots=True, snapshot_resources=False`` the CRD is installed but nothing reconciles it
        (snapshots stay without status) and savepoints go the legacy ``savepointInfo`` way.
    :param timings: how fast the simulated operator moves.
    :param operator_version: the operator version simulated (its validator's rules).
    :param namespace: the kubeconfig's default namespace.
    :param rbac_role: a namespaced Role (dict or YAML file): the kubeconfig and Airflow connection
        this cluster hands out may then do only what the Role allows, in its namespace (403 otherwise).
    :param garbage_collector: run a garbage collector next to the API (as kube-controller-manager does);
        ``False`` is a bare kube-apiserver + etcd (envtest): ``foregroundDeletion`` is never removed.
    :param clock_digits: precision of the simulated operator's clock in FlinkStateSnapshot timestamps
        (3, 6 or 9 fraction digits; see :func:`~.operator.kubernetes_timestamp`).
    :param flink: ``"simulated"`` (default: jobs are status fields) or ``"local"``: jobs run on a real Flink
        session cluster started from the installed ``apache-flink`` distribution (needs Java 11+; see
        :mod:`~airflow_flink_operator.testing.flink_local`), while the simulated operator keeps the operator's
        part. The simulation then moves at a pace real jobs can follow (unless ``timings`` is given).
    :param flink_work_dir: ``flink="local"``: where the local Flink keeps its files (default: a temporary
        directory removed on :meth:`stop`).
    """

    def __init__(self, *, crd_dir: str | None = None, serve_snapshots: bool = True, snapshot_resources: bool = True,
                 timings: SimTimings | None = None, operator_version: str = "1.15", namespace: str = "default",
                 bookmark_interval: float = 1.0, rbac_role: dict[str, Any] | str | None = None,
                 clock_digits: int = 9, garbage_collector: bool = True, flink: str = "simulated",
                 flink_work_dir: str | None = None) -> None:
        if flink not in ("simulated", "local"):
            raise ValueError(f"flink must be 'simulated' or 'local', not {flink!r}")
        if flink == "local":
            from airflow_flink_operator.testing.flink_local import find_java, flink_home

            flink_home(), find_java(require_javac=True)  # FlinkUnavailable, saying what to install, before anything starts
            timings = timings or LOCAL_FLINK_TIMINGS
        self.flink_mode = flink
        self._flink_work_dir = flink_work_dir
        self.flink: Any = None  # the LocalFlinkCluster, once started
        if crd_dir is None:
            crd_dir = os.environ.get("FLINK_CRD_DIR") or None
        self.rbac_role = _load_role(rbac_role)
        if self.rbac_role is not None:
            namespace = self.rbac_role["metadata"]["namespace"]
        self.namespace = namespace
        roles = {RESTRICTED_TOKEN: self.rbac_role} if self.rbac_role is not None else None
        self.api = KubeApiEmulator(crd_dir=crd_dir, serve_snapshots=serve_snapshots, bookmark_interval=bookmark_interval,
                                   roles=roles, garbage_collector=garbage_collector)
        self._operator_args: dict[str, Any] = {"timings": timings, "snapshot_resources": snapshot_resources,
                                               "operator_version": operator_version, "clock_digits": clock_digits}
        self.real_jobs: Any = None  # flink="local": the operator's RealJobs (stand-ins for jobs without a jar here)
        self.operator: SimulatedFlinkOperator | None = None

    def start(self) -> SimulatedCluster:
        """Start the API server and the simulated operator (which has cluster-admin rights)."""
        if self.flink_mode == "local":
            from airflow_flink_operator.testing.flink_local import LocalFlinkCluster
            from airflow_flink_operator.testing.operator.realjobs import RealJobs

            self.flink = LocalFlinkCluster(self._flink_work_dir).start()
            self.real_jobs = RealJobs(self.flink)
            self._operator_args["real"] = self.real_jobs
        try:
            self.api.start()
            self.operator = SimulatedFlinkOperator(self.api.kubeconfig(self.namespace), emulator=self.api,
                                                   **self._operator_args).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both."""
        if self.operator is not None:
            self.operator.stop()
        self.api.stop()
        if self.flink is not None:
            self.flink.stop()
            self.flink = None

    def __enter__(self) -> SimulatedCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connecting --

    def kubeconfig(self) -> dict[str, Any]:
        """A kubeconfig dict for the emulator (with the restricted token when an RBAC Role is set)."""
        config = self.api.kubeconfig(self.namespace)
        if self.rbac_role is not None:
            config["users"][0]["user"]["token"] = RESTRICTED_TOKEN
        return config

    def airflow_connection_env(self, conn_id: str = "kubernetes_default") -> dict[str, str]:
        """``AIRFLOW_CONN_<ID>`` environment for an Airflow Kubernetes connection to this cluster."""
        value = json.dumps({"conn_type": "kubernetes",
                            "extra": {"kube_config": json.dumps(self.kubeconfig()), "namespace": self.namespace}})
        return {f"AIRFLOW_CONN_{conn_id.upper()}": value}

    def hook(self, **kwargs: Any) -> Any:
        """A :class:`~airflow_flink_operator.hooks.FlinkKubernetesHook` connected to this cluster."""
        from airflow_flink_operator.hooks import FlinkKubernetesHook

        kwargs.setdefault("config_dict", self.kubeconfig())
        kwargs.setdefault("kubernetes_conn_id", None)
        return FlinkKubernetesHook(**kwargs)

    def async_hook(self, **kwargs: Any) -> Any:
        """An :class:`~airflow_flink_operator.hooks.AsyncFlinkKubernetesHook` connected to this cluster."""
        from airflow_flink_operator.hooks import AsyncFlinkKubernetesHook

        kwargs.setdefault("config_dict", self.kubeconfig())
        kwargs.setdefault("conn_id", None)
        kwargs.setdefault("kubernetes_conn_id", None)  # else cncf falls back to kubernetes_default
        return AsyncFlinkKubernetesHook(**kwargs)

    # -- looking and steering --

    def behave(self, name: str, **traits: Any) -> ResourceTraits:
        """Set fault knobs / traits of a resource: see :class:`~.operator.ResourceTraits`."""
        assert self.operator is not None, "start the cluster first"
        return self.operator.behave(name, **traits)

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """A stored object (a copy), or ``None``."""
        return self.api.get_object(PLURALS.get(kind, kind), namespace or self.namespace, name)

    def list(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Stored objects of a kind (plural or Flink kind)."""
        return self.api.list_objects(PLURALS.get(kind, kind), namespace or self.namespace)

    def status(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        """The object's status (``{}`` if none or the object is gone)."""
        obj = self.get(kind, name, namespace)
        return (obj or {}).get("status") or {}

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02,
                 what: str = "condition") -> Any:
        """Poll ``predicate`` until truthy; raise ``TimeoutError`` naming ``what``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                errors = self.operator.errors[-3:] if self.operator else []
                raise TimeoutError(f"{what} not reached within {timeout}s (operator errors: {errors})")
            time.sleep(interval)

    def wait_for_lifecycle(self, name: str, state: str, kind: str = KIND_DEPLOYMENT, timeout: float = 10.0) -> dict:
        """Wait until the resource's ``lifecycleState`` is ``state``; return its status."""
        return self.wait_for(lambda: (s := self.status(kind, name)) and s.get("lifecycleState") == state and s,
                             timeout, what=f"{kind} {name} lifecycle {state}")

    def jobmanager_log(self, name: str, namespace: str | None = None) -> list[str]:
        """All JobManager log lines ever written for ``name`` (including deleted pods' lines kept here)."""
        ns = namespace or self.namespace
        lines: list[str] = []
        for (pod_ns, pod), pod_lines in self.api.pod_logs.items():
            if pod_ns == ns and pod.startswith(f"{name}-"):
                lines += pod_lines
        return lines
